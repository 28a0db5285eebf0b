/*
 * The mock engine's HTTP/1.1 request heads (RFC 9112), the X-Mock-Fault
 * header, and its byte buffer. Plain C over bytes, so that a unit test or a
 * fuzzer can drive it.
 */
#include <stdlib.h>
#include <string.h>

#include "http_syntax.h"
#include "internal.h"
#include "mock_internal.h"

int llmbi_mock_buf_reserve(llmbi_mock_buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len)
        return -1;
    return llmbi_grow((void **)&b->data, &b->cap, b->len + n, 1, 256);
}

int llmbi_mock_buf_append(llmbi_mock_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (llmbi_mock_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void llmbi_mock_buf_consume(llmbi_mock_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void llmbi_mock_buf_shrink(llmbi_mock_buf *b, size_t keep_cap)
{
    char *d;
    if (b->cap <= keep_cap)
        return;
    if (b->len == 0) {
        llmbi_mock_buf_free(b);
        return;
    }
    if (b->len > keep_cap)
        return;
    d = realloc(b->data, keep_cap);
    if (d) {
        b->data = d;
        b->cap = keep_cap;
    }
}

void llmbi_mock_buf_free(llmbi_mock_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Content-Length: digits only; a second header must agree (RFC 9112 6.3). */
static int parse_length(const char *v, size_t n, llmbi_mock_head *h)
{
    uint64_t x;
    if (llmbi_http_digits(v, n, &x) != 0)
        return -1;
    if (h->has_length && h->content_length != x)
        return -1;
    h->has_length = 1;
    h->content_length = x;
    return 0;
}

static int parse_request_line(const char *p, size_t n, size_t base, llmbi_mock_head *h)
{
    size_t i = 0, t0, t1, q;
    while (i < n && llmbi_http_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return -1;
    h->method_off = base;
    h->method_len = i;
    t0 = ++i;
    while (i < n && p[i] != ' ')
        i++;
    t1 = i;
    if (t1 == t0 || i >= n || p[t0] != '/')
        return -1;
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || (p[i + 7] != '0' && p[i + 7] != '1'))
        return -1;
    h->version_minor = (unsigned)(p[i + 7] - '0');
    for (q = t0; q < t1; q++) {
        unsigned char ch = (unsigned char)p[q];
        if (ch < 0x21 || ch == 0x7f)
            return -1;
        if (ch == '?' || ch == '#')
            break;
    }
    h->path_off = base + t0;
    h->path_len = q - t0;
    return 0;
}

static int parse_field(const char *p, size_t n, size_t base, llmbi_mock_head *h)
{
    size_t i, v0, v1;
    /* Line folding (a line starting with white space) is obsolete: refused. */
    if (llmbi_http_field(p, n, &i, &v0, &v1) != 0)
        return -1;
    if (llmbi_http_name_is(p, i, "content-length"))
        return parse_length(p + v0, v1 - v0, h);
    if (llmbi_http_name_is(p, i, "transfer-encoding")) {
        if (!llmbi_http_name_is(p + v0, v1 - v0, "identity"))
            h->te_other = 1;
    } else if (llmbi_http_name_is(p, i, "connection")) {
        if (llmbi_http_list_has(p + v0, v1 - v0, "close"))
            h->conn_close = 1;
        if (llmbi_http_list_has(p + v0, v1 - v0, "keep-alive"))
            h->conn_keep_alive = 1;
    } else if (llmbi_http_name_is(p, i, "x-mock-fault")) {
        /* Only counted here: two of them are refused later, with a reason. */
        if (h->fault_headers++ == 0) {
            h->fault_off = base + v0;
            h->fault_len = v1 - v0;
        }
    } else if (llmbi_http_name_is(p, i, "expect")) {
        if (llmbi_http_name_is(p + v0, v1 - v0, "100-continue"))
            h->expect_continue = 1;
        else if (v1 > v0)
            h->expect_other = 1;
    }
    return 0;
}

llmbi_mock_head_result llmbi_mock_parse_head(const char *buf, size_t len, size_t *scan,
                                             llmbi_mock_head *h)
{
    size_t start = 0, pos, end;
    int first = 1;
    long e;

    while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
        start++;
    if (start >= LLMBI_MOCK_HEAD_MAX)
        return LLMBI_MOCK_HEAD_TOO_BIG;
    e = llmbi_http_head_end(buf, len, start, scan, LLMBI_MOCK_HEAD_MAX);
    if (e < 0)
        return LLMBI_MOCK_HEAD_TOO_BIG;
    if (e == 0)
        return LLMBI_MOCK_HEAD_PARTIAL;
    end = (size_t)e;

    memset(h, 0, sizeof *h);
    h->head_len = end;
    for (pos = start; pos < end;) {
        size_t line, n;
        if (llmbi_http_next_line(buf, end, &pos, &line, &n) != 0)
            return LLMBI_MOCK_HEAD_BAD;
        if (n == 0)
            break;
        if (first) {
            if (parse_request_line(buf + line, n, line, h) != 0)
                return LLMBI_MOCK_HEAD_BAD;
            first = 0;
        } else if (parse_field(buf + line, n, line, h) != 0) {
            return LLMBI_MOCK_HEAD_BAD;
        }
    }
    return LLMBI_MOCK_HEAD_DONE;
}

/* ---- faults ---- */

/* Which parameters each kind takes, as bits. */
#define P_AFTER (1u << 0)
#define P_CODE  (1u << 1)
#define P_RETRY (1u << 2)
#define P_SIZE  (1u << 3)

static const struct {
    const char *name;
    unsigned params;
} fault_kinds[LLMB_MOCK_FAULT_KINDS] = {
    [LLMB_MOCK_FAULT_NONE] = {"none", 0},
    [LLMB_MOCK_FAULT_STATUS] = {"status", P_CODE | P_RETRY},
    [LLMB_MOCK_FAULT_429] = {"429", P_RETRY},
    [LLMB_MOCK_FAULT_RESET] = {"reset", P_AFTER},
    [LLMB_MOCK_FAULT_STALL] = {"stall", P_AFTER},
    [LLMB_MOCK_FAULT_MALFORMED] = {"malformed", P_AFTER},
    [LLMB_MOCK_FAULT_OVERSIZE] = {"oversize", P_AFTER | P_SIZE},
    [LLMB_MOCK_FAULT_HTML] = {"html", P_CODE},
    [LLMB_MOCK_FAULT_NO_DONE] = {"no-done", 0},
    [LLMB_MOCK_FAULT_NO_USAGE] = {"no-usage", 0},
    [LLMB_MOCK_FAULT_ERROR_EVENT] = {"error-event", P_AFTER},
};

#define KIND_LIST                                                                                  \
    "none, status, 429, reset, stall, malformed, oversize, html, no-done, no-usage, error-event"

const char *llmb_mock_fault_name(llmb_mock_fault kind)
{
    if ((unsigned)kind >= LLMB_MOCK_FAULT_KINDS)
        return NULL;
    return fault_kinds[kind].name;
}

int llmbi_mock_fault_lookup(const char *p, size_t n)
{
    for (int k = 0; k < LLMB_MOCK_FAULT_KINDS; k++) {
        if (llmbi_http_name_is(p, n, fault_kinds[k].name))
            return k;
    }
    return -1;
}

llmb_status llmb_mock_fault_from_name(const char *name, llmb_mock_fault *out)
{
    int k;
    if (!name || !out)
        return LLMB_ERR_INVALID;
    k = llmbi_mock_fault_lookup(name, strlen(name));
    if (k < 0)
        return LLMB_ERR_INVALID;
    *out = (llmb_mock_fault)k;
    return LLMB_OK;
}

int llmbi_mock_fault_status(const llmbi_mock_fault *f)
{
    switch (f->kind) {
    case LLMB_MOCK_FAULT_429:
        return 429;
    case LLMB_MOCK_FAULT_STATUS:
        return f->status >= 400 ? f->status : 500;
    case LLMB_MOCK_FAULT_HTML:
        return f->status > 0 ? f->status : 200;
    default:
        return 0;
    }
}

/* Client bytes fit for an error text: printable ASCII, at most 40 of them. */
static void quote(char *dst, size_t cap, const char *src, size_t n)
{
    size_t i, k = 0;
    for (i = 0; i < n && i < 40 && k + 4 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[k++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (i < n && k + 3 < cap) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k] = '\0';
}

/* A decimal value in [min, max]; -1 otherwise. */
static int parse_decimal(const char *p, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t x;
    if (n > 20 || llmbi_http_digits(p, n, &x) != 0)
        return -1;
    if (x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

static const struct {
    const char *name;
    unsigned bit;
    uint64_t min, max;
} fault_params[] = {
    {"after", P_AFTER, 0, LLMBI_MOCK_TOKENS_MAX},
    {"code", P_CODE, 200, 599},
    {"retry-after", P_RETRY, 0, LLMBI_MOCK_RETRY_MAX},
    {"size", P_SIZE, LLMBI_MOCK_OVERSIZE_MIN, LLMBI_MOCK_OVERSIZE_MAX},
};

#define N_PARAMS (sizeof fault_params / sizeof fault_params[0])

/* Set one parameter, NAME=VALUE in p[0..n); -1 with a reason. */
static int fault_param(const char *p, size_t n, llmbi_mock_fault *f, char *msg, size_t msg_size)
{
    const char *eq = memchr(p, '=', n);
    size_t name_len, v0, v1;
    char shown[48];
    uint64_t x;

    name_len = eq ? (size_t)(eq - p) : n;
    while (name_len > 0 && llmbi_http_ows(p[name_len - 1]))
        name_len--;
    quote(shown, sizeof shown, p, name_len);
    for (size_t i = 0; i < N_PARAMS; i++) {
        if (!llmbi_http_name_is(p, name_len, fault_params[i].name))
            continue;
        if (!(fault_kinds[f->kind].params & fault_params[i].bit)) {
            llmbi_format(msg, msg_size, "X-Mock-Fault: '%s' does not apply to %s",
                         fault_params[i].name, fault_kinds[f->kind].name);
            return -1;
        }
        v0 = eq ? (size_t)(eq - p) + 1 : n;
        while (v0 < n && llmbi_http_ows(p[v0]))
            v0++;
        v1 = n;
        if (!eq ||
            parse_decimal(p + v0, v1 - v0, fault_params[i].min, fault_params[i].max, &x) != 0) {
            llmbi_format(msg, msg_size, "X-Mock-Fault: '%s' needs a whole number from %llu to %llu",
                         fault_params[i].name, (unsigned long long)fault_params[i].min,
                         (unsigned long long)fault_params[i].max);
            return -1;
        }
        switch (fault_params[i].bit) {
        case P_AFTER:
            f->after = x;
            break;
        case P_CODE:
            if (f->kind == LLMB_MOCK_FAULT_STATUS && x < 400) {
                llmbi_format(msg, msg_size, "X-Mock-Fault: a status code must be 400 to 599");
                return -1;
            }
            f->status = (int)x;
            break;
        case P_RETRY:
            f->retry_after = (unsigned)x;
            break;
        default:
            f->size = (size_t)x;
            break;
        }
        return 0;
    }
    llmbi_format(msg, msg_size,
                 "X-Mock-Fault: unknown parameter '%s'; use after, code, retry-after or size",
                 shown);
    return -1;
}

int llmbi_mock_parse_fault(const char *v, size_t n, const llmbi_mock_fault *defaults,
                           llmbi_mock_fault *out, char *msg, size_t msg_size)
{
    llmbi_mock_fault f = *defaults;
    size_t i = 0, end;
    char shown[48];
    int kind;

    while (i < n && llmbi_http_ows(v[i]))
        i++;
    end = i;
    while (end < n && v[end] != ';')
        end++;
    {
        size_t k = end;
        while (k > i && llmbi_http_ows(v[k - 1]))
            k--;
        kind = llmbi_mock_fault_lookup(v + i, k - i);
        if (kind < 0) {
            quote(shown, sizeof shown, v + i, k - i);
            llmbi_format(msg, msg_size, "X-Mock-Fault: unknown kind '%s'; use one of " KIND_LIST,
                         shown);
            return -1;
        }
    }
    f.kind = (llmb_mock_fault)kind;
    /* Parameters, each after a ';'. */
    while (end < n) {
        size_t start = end + 1, k;
        end = start;
        while (end < n && v[end] != ';')
            end++;
        while (start < end && llmbi_http_ows(v[start]))
            start++;
        k = end;
        while (k > start && llmbi_http_ows(v[k - 1]))
            k--;
        if (k == start) {
            llmbi_format(msg, msg_size, "X-Mock-Fault: empty parameter after ';'");
            return -1;
        }
        if (fault_param(v + start, k - start, &f, msg, msg_size) != 0)
            return -1;
    }
    *out = f;
    return 0;
}
