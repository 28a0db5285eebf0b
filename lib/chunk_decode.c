/*
 * The fast decoder of streamed chunks: one pass over the event's bytes, no
 * allocation, validating the whole text as JSON exactly as strictly as
 * jansson does (grammar, UTF-8, escapes, surrogates, integer and real
 * overflow, nesting depth, one value only) while picking out the few fields
 * a benchmark needs. It runs for every event of every stream, so it is
 * written for speed; the jansson-based decoder in provider.c says the same
 * thing more simply, and a fuzz target checks that the two always agree.
 *
 * Where a key repeats, the last occurrence wins, as jansson keeps it.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "provider.h"

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */
#define TEXT_MAX  4096 /* bytes of a message string kept for the error text */
#define KEY_MAX   32   /* longer keys are none of ours */

typedef struct scan {
    const unsigned char *p, *end;
    int depth;
    const char *why; /* set on the first error */
} scan;

/* A string decoded into a caller's buffer: its whole length, and as much of
 * it as fits. */
typedef struct text {
    size_t len;
    size_t kept;
    size_t cap;
    char *buf;
} text;

/* A string value noted where it stands in the input, decoded only if needed. */
typedef struct slice {
    const unsigned char *at; /* the opening quote */
} slice;

enum kind { ABSENT = 0, IS_NULL, IS_STRING, IS_OBJECT, IS_OTHER };

typedef struct usage {
    int valid;
    int64_t prompt, completion;
} usage;

/* What the top-level keys said, each the last of its name. */
typedef struct found {
    int content, finished;          /* from "choices" */
    usage top_usage;                /* from "usage" */
    usage groq_usage;               /* from "x_groq": {"usage": ...} */
    enum kind error_kind;           /* "error" */
    enum kind error_msg;            /* "error": {"message": ...} */
    slice error_text;               /* the error string, or its message string */
    const unsigned char *error_raw; /* the error value's text, for one that is neither */
    size_t error_raw_len;
    int object_is_error;    /* "object": "error" */
    enum kind message_kind; /* "message" */
    slice message;
    enum kind detail_kind; /* "detail" */
    slice detail;
} found;

static int fail(scan *s, const char *why)
{
    if (!s->why)
        s->why = why;
    return -1;
}

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(scan *s, unsigned *out)
{
    unsigned v = 0;
    if (s->end - s->p < 4)
        return fail(s, "a \\u escape is cut short");
    for (int i = 0; i < 4; i++) {
        unsigned char c = s->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return fail(s, "invalid \\u escape");
    }
    s->p += 4;
    *out = v;
    return 0;
}

static void keep(text *t, const void *bytes, size_t n)
{
    if (t) {
        size_t room = t->cap - 1 - t->kept;
        size_t k = n < room ? n : room;
        memcpy(t->buf + t->kept, bytes, k);
        t->kept += k;
        t->buf[t->kept] = '\0';
        t->len += n;
    }
}

/* The length of a valid UTF-8 sequence at p (within end), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    /* No overlong forms, no surrogates, nothing past U+10FFFF. */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A string, at its opening quote; decoded into t when t is not NULL. */
static int string(scan *s, text *t)
{
    if (t) {
        t->len = t->kept = 0;
        t->buf[0] = '\0';
    }
    s->p++; /* the opening quote */
    for (;;) {
        const unsigned char *run = s->p;
        /* The common case: a run of plain bytes. */
        while (s->p < s->end && *s->p != '"' && *s->p != '\\' && *s->p >= 0x20 && *s->p < 0x80)
            s->p++;
        keep(t, run, (size_t)(s->p - run));
        if (s->p >= s->end)
            return fail(s, "a string is not closed");
        if (*s->p == '"') {
            s->p++;
            return 0;
        }
        if (*s->p < 0x20)
            return fail(s, "a control character in a string");
        if (*s->p >= 0x80) {
            size_t n = utf8_len(s->p, s->end);
            if (n == 0)
                return fail(s, "invalid UTF-8 in a string");
            keep(t, s->p, n);
            s->p += n;
            continue;
        }
        /* A backslash escape. */
        s->p++;
        if (s->p >= s->end)
            return fail(s, "a string is not closed");
        switch (*s->p++) {
        case '"':
            keep(t, "\"", 1);
            break;
        case '\\':
            keep(t, "\\", 1);
            break;
        case '/':
            keep(t, "/", 1);
            break;
        case 'b':
            keep(t, "\b", 1);
            break;
        case 'f':
            keep(t, "\f", 1);
            break;
        case 'n':
            keep(t, "\n", 1);
            break;
        case 'r':
            keep(t, "\r", 1);
            break;
        case 't':
            keep(t, "\t", 1);
            break;
        case 'u': {
            unsigned u, lo;
            uint32_t cp;
            unsigned char out[4];
            size_t n;
            if (hex4(s, &u))
                return -1;
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                    return fail(s, "a lone high surrogate");
                s->p += 2;
                if (hex4(s, &lo))
                    return -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(s, "a high surrogate without its low one");
                cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                return fail(s, "a lone low surrogate");
            } else {
                cp = u;
            }
            if (cp == 0)
                return fail(s, "\\u0000 is not allowed");
            if (cp < 0x80) {
                out[0] = (unsigned char)cp;
                n = 1;
            } else if (cp < 0x800) {
                out[0] = (unsigned char)(0xC0 | (cp >> 6));
                out[1] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 2;
            } else if (cp < 0x10000) {
                out[0] = (unsigned char)(0xE0 | (cp >> 12));
                out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                out[2] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 3;
            } else {
                out[0] = (unsigned char)(0xF0 | (cp >> 18));
                out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                out[3] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 4;
            }
            keep(t, out, n);
            break;
        }
        default:
            return fail(s, "invalid escape in a string");
        }
    }
}

/* A number, checked as jansson checks it. *is_int and *ival say whether it
 * is an integer (no fraction, no exponent) and its value. */
static int number(scan *s, int *is_int, int64_t *ival)
{
    const unsigned char *start = s->p;
    char small[64], *copy = small;
    size_t n;
    int rc = 0;

    *is_int = 1;
    if (*s->p == '-')
        s->p++;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return fail(s, "invalid number");
    if (*s->p == '0') {
        s->p++;
        if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            return fail(s, "a number with a leading zero");
    } else {
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
    }
    if (s->p < s->end && *s->p == '.') {
        *is_int = 0;
        s->p++;
        if (s->p >= s->end || *s->p < '0' || *s->p > '9')
            return fail(s, "invalid number");
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        *is_int = 0;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (s->p >= s->end || *s->p < '0' || *s->p > '9')
            return fail(s, "invalid number");
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
    }
    /* The value itself: an integer must fit in 64 bits, a real in a double. */
    n = (size_t)(s->p - start);
    if (n >= sizeof small) {
        if (*is_int)
            return fail(s, "too big integer");
        copy = malloc(n + 1);
        if (!copy)
            return fail(s, "out of memory");
    }
    memcpy(copy, start, n);
    copy[n] = '\0';
    errno = 0;
    if (*is_int) {
        long long v = strtoll(copy, NULL, 10);
        if (errno == ERANGE)
            rc = fail(s, "too big integer");
        *ival = v;
    } else {
        double d = strtod(copy, NULL);
        if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
            rc = fail(s, "real number overflow");
    }
    if (copy != small)
        free(copy);
    return rc;
}

static int literal(scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "invalid literal");
    s->p += n;
    return 0;
}

static int value(scan *s, enum kind *kind);

/* Any value we do not look into: validated, then passed over. */
static int skip(scan *s)
{
    enum kind k;
    return value(s, &k);
}

/* Calls `member` for each key of an object (at its '{'); the callback must
 * consume the value. */
typedef int (*member_fn)(scan *s, const char *key, size_t key_len, void *ctx);

static int object(scan *s, member_fn member, void *ctx)
{
    if (++s->depth > MAX_DEPTH)
        return fail(s, "nested too deeply");
    s->p++; /* '{' */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        char kb[KEY_MAX + 1];
        text key = {0, 0, sizeof kb, kb};
        const char *k;
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"')
            return fail(s, "a key must be a string");
        if (string(s, &key))
            return -1;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return fail(s, "':' expected after a key");
        s->p++;
        skip_ws(s);
        /* A key that is too long or holds a NUL cannot be one of ours. */
        k = key.len <= KEY_MAX ? key.buf : "";
        if (member ? member(s, k, key.len <= KEY_MAX ? key.len : 0, ctx) : skip(s))
            return -1;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            s->depth--;
            return 0;
        }
        return fail(s, "',' or '}' expected in an object");
    }
}

/* Calls `element` for each element of an array (at its '['). */
typedef int (*element_fn)(scan *s, void *ctx);

static int array(scan *s, element_fn element, void *ctx, size_t *count)
{
    size_t n = 0;
    if (++s->depth > MAX_DEPTH)
        return fail(s, "nested too deeply");
    s->p++; /* '[' */
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        if (count)
            *count = 0;
        return 0;
    }
    for (;;) {
        skip_ws(s);
        if (element ? element(s, ctx) : skip(s))
            return -1;
        n++;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            if (count)
                *count = n;
            return 0;
        }
        return fail(s, "',' or ']' expected in an array");
    }
}

static int value(scan *s, enum kind *kind)
{
    int is_int;
    int64_t iv;
    if (s->p >= s->end)
        return fail(s, "a value is missing");
    switch (*s->p) {
    case '{':
        *kind = IS_OBJECT;
        return object(s, NULL, NULL);
    case '[':
        *kind = IS_OTHER;
        return array(s, NULL, NULL, NULL);
    case '"':
        *kind = IS_STRING;
        return string(s, NULL);
    case 't':
        *kind = IS_OTHER;
        return literal(s, "true", 4);
    case 'f':
        *kind = IS_OTHER;
        return literal(s, "false", 5);
    case 'n':
        *kind = IS_NULL;
        return literal(s, "null", 4);
    default:
        *kind = IS_OTHER;
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number(s, &is_int, &iv);
        return fail(s, "invalid token");
    }
}

/* A value whose kind matters and, for a string, where it stands. */
static int value_slice(scan *s, enum kind *kind, slice *sl)
{
    if (s->p < s->end && *s->p == '"') {
        *kind = IS_STRING;
        sl->at = s->p;
        return string(s, NULL);
    }
    return value(s, kind);
}

/* Decodes a string already validated, at its opening quote. */
static void decode(const unsigned char *at, const unsigned char *end, text *t)
{
    scan s = {at, end, 0, NULL};
    string(&s, t);
}

#define KEY_IS(lit) (key_len == sizeof(lit) - 1 && memcmp(key, lit, sizeof(lit) - 1) == 0)

/* ---- usage: {"prompt_tokens": P, "completion_tokens": C} ---- */

typedef struct usage_ctx {
    int p_int, c_int;
    int64_t p, c;
} usage_ctx;

static int usage_member(scan *s, const char *key, size_t key_len, void *ctx)
{
    usage_ctx *u = ctx;
    int is_int = 0;
    int64_t v = 0;
    int *flag = KEY_IS("prompt_tokens")       ? &u->p_int
                : KEY_IS("completion_tokens") ? &u->c_int
                                              : NULL;
    if (!flag)
        return skip(s);
    if (s->p < s->end && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
        if (number(s, &is_int, &v))
            return -1;
    } else if (skip(s)) {
        return -1;
    }
    *flag = is_int;
    if (is_int)
        *(flag == &u->p_int ? &u->p : &u->c) = v;
    return 0;
}

static int usage_value(scan *s, usage *out)
{
    usage_ctx u = {0, 0, 0, 0};
    memset(out, 0, sizeof *out);
    if (s->p >= s->end || *s->p != '{')
        return skip(s);
    if (object(s, usage_member, &u))
        return -1;
    if (u.p_int || u.c_int) {
        out->valid = 1;
        out->prompt = u.p_int && u.p >= -1 ? u.p : -1;
        out->completion = u.c_int && u.c >= -1 ? u.c : -1;
    }
    return 0;
}

/* ---- x_groq: {"usage": ...} ---- */

static int groq_member(scan *s, const char *key, size_t key_len, void *ctx)
{
    if (KEY_IS("usage"))
        return usage_value(s, ctx);
    return skip(s);
}

/* ---- choices: [{"delta": {...}, "text": ..., "finish_reason": ...}] ---- */

typedef struct delta_ctx {
    int content, reasoning_content, reasoning, tool_calls; /* each: last occurrence non-empty */
} delta_ctx;

static int delta_member(scan *s, const char *key, size_t key_len, void *ctx)
{
    delta_ctx *d = ctx;
    int *flag = KEY_IS("content")             ? &d->content
                : KEY_IS("reasoning_content") ? &d->reasoning_content
                : KEY_IS("reasoning")         ? &d->reasoning
                : KEY_IS("tool_calls")        ? &d->tool_calls
                                              : NULL;
    if (!flag)
        return skip(s);
    *flag = 0;
    if (flag == &d->tool_calls) {
        size_t n = 0;
        if (s->p < s->end && *s->p == '[') {
            if (array(s, NULL, NULL, &n))
                return -1;
            *flag = n > 0;
            return 0;
        }
        return skip(s);
    }
    if (s->p < s->end && *s->p == '"') {
        const unsigned char *before = s->p;
        if (string(s, NULL))
            return -1;
        *flag = s->p - before > 2; /* more than the two quotes: not empty */
        return 0;
    }
    return skip(s);
}

typedef struct choice_ctx {
    llmb_api api;
    int delta_content, text_content, finished;
} choice_ctx;

static int choice_member(scan *s, const char *key, size_t key_len, void *ctx)
{
    choice_ctx *c = ctx;
    if (KEY_IS("delta")) {
        delta_ctx d = {0, 0, 0, 0};
        c->delta_content = 0;
        if (s->p < s->end && *s->p == '{') {
            if (object(s, delta_member, &d))
                return -1;
            c->delta_content = d.content || d.reasoning_content || d.reasoning || d.tool_calls;
            return 0;
        }
        return skip(s);
    }
    if (KEY_IS("text")) {
        c->text_content = 0;
        if (s->p < s->end && *s->p == '"') {
            const unsigned char *before = s->p;
            if (string(s, NULL))
                return -1;
            c->text_content = s->p - before > 2;
            return 0;
        }
        return skip(s);
    }
    if (KEY_IS("finish_reason")) {
        enum kind k;
        if (value(s, &k))
            return -1;
        c->finished = k != IS_NULL;
        return 0;
    }
    return skip(s);
}

typedef struct choices_ctx {
    llmb_api api;
    int content, finished;
} choices_ctx;

static int choice_element(scan *s, void *ctx)
{
    choices_ctx *all = ctx;
    choice_ctx c;
    if (s->p >= s->end || *s->p != '{')
        return skip(s); /* not an object: nothing to read from it */
    memset(&c, 0, sizeof c);
    c.api = all->api;
    if (object(s, choice_member, &c))
        return -1;
    if (all->api == LLMB_API_COMPLETIONS ? c.text_content : c.delta_content)
        all->content = 1;
    if (c.finished)
        all->finished = 1;
    return 0;
}

/* ---- "error": {"message": ...} ---- */

static int error_member(scan *s, const char *key, size_t key_len, void *ctx)
{
    found *f = ctx;
    if (KEY_IS("message"))
        return value_slice(s, &f->error_msg, &f->error_text);
    return skip(s);
}

/* ---- the top level ---- */

typedef struct top_ctx {
    llmb_api api;
    found *f;
} top_ctx;

static int top_member(scan *s, const char *key, size_t key_len, void *ctx)
{
    top_ctx *t = ctx;
    found *f = t->f;
    if (KEY_IS("choices")) {
        choices_ctx c = {t->api, 0, 0};
        f->content = f->finished = 0;
        if (s->p < s->end && *s->p == '[') {
            if (array(s, choice_element, &c, NULL))
                return -1;
            f->content = c.content;
            f->finished = c.finished;
            return 0;
        }
        return skip(s);
    }
    if (KEY_IS("usage"))
        return usage_value(s, &f->top_usage);
    if (KEY_IS("x_groq")) {
        memset(&f->groq_usage, 0, sizeof f->groq_usage);
        if (s->p < s->end && *s->p == '{')
            return object(s, groq_member, &f->groq_usage);
        return skip(s);
    }
    if (KEY_IS("error")) {
        const unsigned char *start = s->p;
        int rc;
        f->error_msg = ABSENT;
        if (s->p < s->end && *s->p == '{') {
            f->error_kind = IS_OBJECT;
            rc = object(s, error_member, f);
        } else {
            rc = value_slice(s, &f->error_kind, &f->error_text);
        }
        f->error_raw = start;
        f->error_raw_len = (size_t)(s->p - start);
        return rc;
    }
    if (KEY_IS("object")) {
        char buf[8];
        text o = {0, 0, sizeof buf, buf};
        enum kind k = IS_OTHER;
        int rc;
        if (s->p < s->end && *s->p == '"') {
            k = IS_STRING;
            rc = string(s, &o);
        } else {
            rc = value(s, &k);
        }
        f->object_is_error =
            rc == 0 && k == IS_STRING && o.len == 5 && memcmp(buf, "error", 5) == 0;
        return rc;
    }
    if (KEY_IS("message"))
        return value_slice(s, &f->message_kind, &f->message);
    if (KEY_IS("detail"))
        return value_slice(s, &f->detail_kind, &f->detail);
    return skip(s);
}

/* The error message, by the same rules as error_text() in provider.c. */
static int error_message(const found *f, const unsigned char *end, llmbi_chunk *out)
{
    enum kind m = ABSENT;
    const slice *mt = NULL;
    if (f->error_kind == IS_OBJECT) {
        m = f->error_msg;
        mt = &f->error_text;
    } else if (f->error_kind == IS_STRING) {
        m = IS_STRING;
        mt = &f->error_text;
    }
    if (m == ABSENT && f->object_is_error) {
        m = f->message_kind;
        mt = &f->message;
    }
    if (m == ABSENT && f->error_kind == ABSENT) {
        m = f->detail_kind;
        mt = &f->detail;
    }
    if (m == IS_STRING) {
        char buf[TEXT_MAX];
        text t = {0, 0, sizeof buf, buf};
        decode(mt->at, end, &t);
        llmbi_clean_text(buf, t.kept, out->error, sizeof out->error);
        if (!out->error[0])
            llmbi_clean_text("(empty error message)", 21, out->error, sizeof out->error);
        return 1;
    }
    if (f->error_kind != ABSENT && f->error_kind != IS_NULL) {
        llmbi_clean_text((const char *)f->error_raw, f->error_raw_len, out->error,
                         sizeof out->error);
        out->error_is_dump = 1;
        return 1;
    }
    return 0;
}

llmb_status llmbi_decode_chunk(llmb_api api, const char *data, size_t len, llmbi_chunk *out,
                               llmb_error *err)
{
    scan s;
    found found_, *f = &found_;
    top_ctx t;

    memset(out, 0, sizeof *out);
    memset(f, 0, sizeof *f);
    out->prompt_tokens = out->completion_tokens = -1;
    s.p = (const unsigned char *)data;
    s.end = s.p + len;
    s.depth = 0;
    s.why = NULL;
    t.api = api;
    t.f = f;
    skip_ws(&s);
    if (s.p >= s.end) {
        fail(&s, "the event is empty");
    } else if (*s.p == '{') {
        if (object(&s, top_member, &t) == 0) {
            skip_ws(&s);
            if (s.p < s.end)
                fail(&s, "text after the JSON value");
        }
    } else if (*s.p == '[') {
        if (skip(&s) == 0) {
            skip_ws(&s);
            if (s.p < s.end)
                fail(&s, "text after the JSON value");
            else
                s.why = "not an object";
        }
    } else {
        fail(&s, "'{' expected");
    }
    if (s.why) {
        if (strcmp(s.why, "not an object") == 0)
            llmbi_error_set(err, "event is not a JSON object");
        else
            llmbi_error_set_at(err, 1, (unsigned long)(s.p - (const unsigned char *)data) + 1,
                               "event is not valid JSON: %s", s.why);
        return LLMB_ERR_PARSE;
    }
    out->has_content = f->content;
    out->finished = f->finished;
    if (f->top_usage.valid) {
        out->has_usage = 1;
        out->prompt_tokens = f->top_usage.prompt;
        out->completion_tokens = f->top_usage.completion;
    } else if (f->groq_usage.valid) {
        out->has_usage = 1;
        out->prompt_tokens = f->groq_usage.prompt;
        out->completion_tokens = f->groq_usage.completion;
    }
    out->is_error = error_message(f, s.end, out);
    return LLMB_OK;
}
