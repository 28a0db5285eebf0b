/*
 * Server-sent events framing. Incremental: a line or event cut between two
 * reads is kept until its end arrives, so the result never depends on where
 * the transport split the bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sse.h"

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

struct llmbi_sse {
    llmbi_sse_event_fn fn;
    void *user;
    size_t max;
    buf line;  /* the current, incomplete line */
    buf data;  /* data lines of the current event, each followed by LF */
    buf event; /* event type of the current event */
    int has_data;
    int pending_cr;  /* the last byte was CR: a following LF belongs to it */
    int bom_done;    /* the start of the stream has been checked for a BOM */
    size_t bom_seen; /* BOM bytes matched so far at the very start */
    llmb_status failed;
};

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

static llmb_status buf_append(buf *b, const char *s, size_t n, size_t max)
{
    if (n > max || b->len > max - n)
        return LLMB_ERR_LIMIT;
    /* +1 keeps room for a terminating NUL. */
    if (llmbi_grow((void **)&b->p, &b->cap, b->len + n + 1, 1, 256) != 0)
        return LLMB_ERR_NOMEM;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return LLMB_OK;
}

llmbi_sse *llmbi_sse_new(size_t max_event_bytes, llmbi_sse_event_fn fn, void *user)
{
    llmbi_sse *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fn = fn;
    p->user = user;
    p->max = max_event_bytes ? max_event_bytes : LLMBI_SSE_DEFAULT_MAX_EVENT;
    return p;
}

void llmbi_sse_free(llmbi_sse *p)
{
    if (!p)
        return;
    free(p->line.p);
    free(p->data.p);
    free(p->event.p);
    free(p);
}

void llmbi_sse_reset(llmbi_sse *p)
{
    p->line.len = p->data.len = p->event.len = 0;
    p->has_data = p->pending_cr = p->bom_done = 0;
    p->bom_seen = 0;
    p->failed = LLMB_OK;
}

size_t llmbi_sse_buffered(const llmbi_sse *p)
{
    return p->line.cap + p->data.cap + p->event.cap;
}

static llmb_status dispatch(llmbi_sse *p)
{
    int stop;
    const char *data;
    size_t n;

    if (!p->has_data) {
        p->event.len = 0;
        return LLMB_OK;
    }
    /* Every data line added a trailing LF; the last one is not part of the payload. */
    n = p->data.len;
    if (n > 0)
        n--;
    data = n > 0 ? p->data.p : "";
    if (n > 0)
        p->data.p[n] = '\0';
    stop = p->fn(p->user, p->event.len ? p->event.p : "", data, n);
    p->data.len = 0;
    p->event.len = 0;
    p->has_data = 0;
    return stop ? LLMB_ERR_STOPPED : LLMB_OK;
}

/* One complete line, without its terminator. */
static llmb_status process_line(llmbi_sse *p, const char *s, size_t n)
{
    const char *colon;
    const char *value;
    size_t name_len, value_len;
    llmb_status st;

    if (n == 0)
        return dispatch(p);
    if (s[0] == ':')
        return LLMB_OK; /* comment, e.g. a keep-alive ": ping" */
    colon = memchr(s, ':', n);
    if (colon) {
        name_len = (size_t)(colon - s);
        value = colon + 1;
        value_len = n - name_len - 1;
        if (value_len > 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
    } else {
        name_len = n;
        value = "";
        value_len = 0;
    }
    if (name_len == 4 && memcmp(s, "data", 4) == 0) {
        st = buf_append(&p->data, value, value_len, p->max);
        if (st == LLMB_OK)
            st = buf_append(&p->data, "\n", 1, p->max + 1);
        p->has_data = 1;
        return st;
    }
    if (name_len == 5 && memcmp(s, "event", 5) == 0) {
        p->event.len = 0;
        return buf_append(&p->event, value, value_len, p->max);
    }
    /* "id", "retry" and unknown fields do not matter to a benchmark client. */
    return LLMB_OK;
}

/* Strips a UTF-8 BOM at the very start of the stream, even when it arrives
 * split over several reads. Returns how many input bytes it consumed. */
static size_t skip_bom(llmbi_sse *p, const char *s, size_t n, llmb_status *st)
{
    size_t used = 0;
    *st = LLMB_OK;
    while (!p->bom_done && used < n) {
        if ((unsigned char)s[used] == bom[p->bom_seen]) {
            p->bom_seen++;
            used++;
            if (p->bom_seen == sizeof bom)
                p->bom_done = 1;
            continue;
        }
        /* Not a BOM after all: the bytes matched so far are ordinary text. */
        p->bom_done = 1;
        if (p->bom_seen) {
            *st = buf_append(&p->line, (const char *)bom, p->bom_seen, p->max);
            p->bom_seen = 0;
        }
    }
    return used;
}

llmb_status llmbi_sse_feed(llmbi_sse *p, const char *s, size_t n)
{
    llmb_status st = LLMB_OK;

    if (p->failed)
        return p->failed;
    if (!p->bom_done) {
        size_t used = skip_bom(p, s, n, &st);
        s += used;
        n -= used;
        if (st)
            goto out;
    }
    while (n > 0) {
        size_t i;
        if (p->pending_cr) {
            p->pending_cr = 0;
            if (*s == '\n') {
                s++;
                n--;
                continue;
            }
        }
        for (i = 0; i < n && s[i] != '\n' && s[i] != '\r'; i++)
            ;
        if (i == n) {
            /* No line end yet: keep the piece. */
            st = buf_append(&p->line, s, n, p->max);
            goto out;
        }
        if (p->line.len == 0) {
            /* The whole line is in this read: no copy needed. */
            if (i > p->max) {
                st = LLMB_ERR_LIMIT;
                goto out;
            }
            st = process_line(p, s, i);
        } else {
            st = buf_append(&p->line, s, i, p->max);
            if (st == LLMB_OK)
                st = process_line(p, p->line.p, p->line.len);
            p->line.len = 0;
        }
        if (s[i] == '\r')
            p->pending_cr = 1;
        s += i + 1;
        n -= i + 1;
        if (st)
            goto out;
    }
out:
    if (st != LLMB_OK)
        p->failed = st;
    return st;
}

llmb_status llmbi_sse_finish(llmbi_sse *p, int flush)
{
    llmb_status st = LLMB_OK;
    if (p->failed)
        return p->failed;
    if (flush) {
        if (!p->bom_done && p->bom_seen) {
            /* A stream of only a partial BOM: treat those bytes as text. */
            st = buf_append(&p->line, (const char *)bom, p->bom_seen, p->max);
        }
        if (st == LLMB_OK && p->line.len > 0)
            st = process_line(p, p->line.p, p->line.len);
        if (st == LLMB_OK)
            st = dispatch(p);
    }
    p->line.len = p->data.len = p->event.len = 0;
    p->has_data = 0;
    if (st != LLMB_OK)
        p->failed = st;
    return st;
}
