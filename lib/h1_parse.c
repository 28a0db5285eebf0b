/*
 * The built-in transport's HTTP/1.1 response parser (see h1_parse.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h1_parse.h"
#include "http_syntax.h"
#include "internal.h"

enum { FRAME_NONE, FRAME_CHUNKED, FRAME_LENGTH, FRAME_EOF };

/* Where the chunked decoder is (RFC 9112 section 7.1). */
enum {
    CS_SIZE,    /* the chunk size's hex digits */
    CS_EXT,     /* a chunk extension, skipped to the line end */
    CS_SIZE_LF, /* the LF after the size line's CR */
    CS_DATA,    /* chunk data */
    CS_DATA_CR, /* the CRLF after the data */
    CS_DATA_LF,
    CS_TRAILER_START, /* the start of a trailer line, or of the final empty line */
    CS_TRAILER_LINE,  /* inside a trailer field, skipped */
    CS_END_LF,        /* the LF that ends the message */
    CS_DONE
};

void llmbi_h1_parser_init(llmbi_h1_parser *p)
{
    memset(p, 0, sizeof *p);
    p->retry_after_s = -1;
}

void llmbi_h1_parser_free(llmbi_h1_parser *p)
{
    free(p->head);
    p->head = NULL;
    p->head_len = p->head_cap = p->scan_from = 0;
}

int llmbi_h1_started(const llmbi_h1_parser *p)
{
    return p->any;
}

static llmbi_h1_result fail(llmbi_h1_parser *p, const char *why)
{
    llmbi_format(p->error, sizeof p->error, "%s", why);
    return LLMBI_H1_ERROR;
}

double llmbi_parse_retry_after(const char *v, size_t n)
{
    char buf[64];
    char *end;
    double secs;
    struct tm tm;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    errno = 0;
    secs = strtod(buf, &end);
    if (end != buf && *end == '\0' && errno == 0 && secs >= 0 && secs < 1e9)
        return secs;
    memset(&tm, 0, sizeof tm);
    end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end && *end == '\0') {
        double d = difftime(timegm(&tm), time(NULL));
        return d > 0 ? d : 0;
    }
    return -1;
}

/* "HTTP/1.x SSS[ reason]": the minor version and the status. */
static int status_line(llmbi_h1_parser *p, const char *s, size_t n, int *minor)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    if (n > 12 && s[12] != ' ')
        return -1;
    *minor = s[7] - '0';
    p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    return p->status >= 100 && p->status <= 599 ? 0 : -1;
}

/* Reads the complete head in p->head[0, end). */
static llmbi_h1_result parse_head(llmbi_h1_parser *p, size_t end)
{
    const char *h = p->head;
    size_t pos = 0, line, n, nl, v0, v1;
    int minor = 1, close = 0, keep = 0, chunked = 0, te = 0, has_len = 0;
    uint64_t len = 0;

    while (pos < end && (h[pos] == '\r' || h[pos] == '\n'))
        pos++;
    if (llmbi_http_next_line(h, end, &pos, &line, &n) != 0 || status_line(p, h + line, n, &minor))
        return fail(p, "malformed status line");
    p->content_type[0] = '\0';
    p->retry_after_s = -1;
    while (pos < end) {
        const char *f;
        if (llmbi_http_next_line(h, end, &pos, &line, &n) != 0)
            return fail(p, "a control byte inside a header line");
        if (n == 0)
            break;
        f = h + line;
        if (llmbi_http_field(f, n, &nl, &v0, &v1) != 0)
            return fail(p, "malformed header field");
        if (llmbi_http_name_is(f, nl, "content-type")) {
            size_t k = v1 - v0 < sizeof p->content_type ? v1 - v0 : sizeof p->content_type - 1;
            memcpy(p->content_type, f + v0, k);
            p->content_type[k] = '\0';
        } else if (llmbi_http_name_is(f, nl, "retry-after")) {
            p->retry_after_s = llmbi_parse_retry_after(f + v0, v1 - v0);
        } else if (llmbi_http_name_is(f, nl, "content-length")) {
            uint64_t x;
            if (llmbi_http_digits(f + v0, v1 - v0, &x) != 0 || (has_len && x != len))
                return fail(p, "malformed Content-Length");
            has_len = 1;
            len = x;
        } else if (llmbi_http_name_is(f, nl, "transfer-encoding")) {
            /* Chunked must be the last coding; anything else runs to the close. */
            size_t k = v1;
            while (k > v0 && f[k - 1] != ',' && f[k - 1] != ' ' && f[k - 1] != '\t')
                k--;
            te = 1;
            chunked = llmbi_http_name_is(f + k, v1 - k, "chunked");
        } else if (llmbi_http_name_is(f, nl, "connection")) {
            close |= llmbi_http_list_has(f + v0, v1 - v0, "close");
            keep |= llmbi_http_list_has(f + v0, v1 - v0, "keep-alive");
        }
    }
    if (p->status < 200)
        return LLMBI_H1_MORE; /* an interim response: the real one follows */
    p->keep_alive = !close && (minor >= 1 || keep);
    if (p->status == 204 || p->status == 304) {
        p->framing = FRAME_NONE;
    } else if (te) {
        p->framing = chunked ? FRAME_CHUNKED : FRAME_EOF;
    } else if (has_len) {
        p->framing = len > 0 ? FRAME_LENGTH : FRAME_NONE;
        p->remaining = len;
    } else {
        p->framing = FRAME_EOF;
    }
    if (p->framing == FRAME_EOF)
        p->keep_alive = 0;
    p->chunk_state = CS_SIZE;
    p->head_done = 1;
    return LLMBI_H1_MORE;
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The chunked body: buf[*i, n). */
static llmbi_h1_result chunks(llmbi_h1_parser *p, const char *buf, size_t n, size_t *i,
                              const llmbi_h1_callbacks *cb, void *user)
{
    while (*i < n) {
        char c = buf[*i];
        switch (p->chunk_state) {
        case CS_SIZE: {
            int d = hex(c);
            if (d >= 0) {
                if (p->remaining > (UINT64_MAX >> 4))
                    return fail(p, "chunk size too large");
                p->remaining = p->remaining * 16 + (uint64_t)d;
                p->chunk_digits++;
                (*i)++;
                continue;
            }
            if (p->chunk_digits == 0)
                return fail(p, "malformed chunk size");
            if (c == ';' || c == ' ' || c == '\t')
                p->chunk_state = CS_EXT;
            else if (c == '\r')
                p->chunk_state = CS_SIZE_LF;
            else if (c == '\n')
                p->chunk_state = p->remaining ? CS_DATA : CS_TRAILER_START;
            else
                return fail(p, "malformed chunk size");
            (*i)++;
            continue;
        }
        case CS_EXT:
        case CS_SIZE_LF:
            if (c == '\n')
                p->chunk_state = p->remaining ? CS_DATA : CS_TRAILER_START;
            else if (p->chunk_state == CS_SIZE_LF)
                return fail(p, "malformed chunk size line");
            (*i)++;
            continue;
        case CS_DATA: {
            size_t take = n - *i;
            if ((uint64_t)take > p->remaining)
                take = (size_t)p->remaining;
            if (cb->on_body && cb->on_body(user, buf + *i, take)) {
                *i += take;
                return LLMBI_H1_ABORT;
            }
            *i += take;
            p->remaining -= take;
            if (p->remaining == 0)
                p->chunk_state = CS_DATA_CR;
            continue;
        }
        case CS_DATA_CR:
        case CS_DATA_LF:
            if (c == '\n') {
                p->chunk_state = CS_SIZE;
                p->chunk_digits = 0;
            } else if (c == '\r' && p->chunk_state == CS_DATA_CR) {
                p->chunk_state = CS_DATA_LF;
            } else {
                return fail(p, "no line end after chunk data");
            }
            (*i)++;
            continue;
        case CS_TRAILER_START:
            p->chunk_state = c == '\r' ? CS_END_LF : c == '\n' ? CS_DONE : CS_TRAILER_LINE;
            (*i)++;
            if (p->chunk_state == CS_DONE)
                return LLMBI_H1_DONE;
            continue;
        case CS_TRAILER_LINE:
            if (c == '\n')
                p->chunk_state = CS_TRAILER_START;
            (*i)++;
            continue;
        case CS_END_LF:
            if (c != '\n')
                return fail(p, "malformed end of chunked body");
            p->chunk_state = CS_DONE;
            (*i)++;
            return LLMBI_H1_DONE;
        default:
            return LLMBI_H1_DONE;
        }
    }
    return LLMBI_H1_MORE;
}

/* Takes bytes into the head; returns how many of buf[0, n) the head used
 * (all of them while it is incomplete), -1 when it grows too big, -2 when
 * memory runs out. */
static long take_head(llmbi_h1_parser *p, const char *buf, size_t n, long *end)
{
    size_t room = LLMBI_H1_HEAD_MAX + 1 - p->head_len;
    size_t add = n < room ? n : room;
    size_t start = 0;
    if (llmbi_grow((void **)&p->head, &p->head_cap, p->head_len + add + 1, 1, 1024) != 0)
        return -2;
    memcpy(p->head + p->head_len, buf, add);
    p->head_len += add;
    while (start < p->head_len && (p->head[start] == '\r' || p->head[start] == '\n'))
        start++;
    *end = llmbi_http_head_end(p->head, p->head_len, start, &p->scan_from, LLMBI_H1_HEAD_MAX);
    if (*end < 0)
        return -1;
    if (*end == 0)
        return (long)add;
    return (long)add - (long)(p->head_len - (size_t)*end);
}

llmbi_h1_result llmbi_h1_feed(llmbi_h1_parser *p, const char *buf, size_t n,
                              const llmbi_h1_callbacks *cb, void *user, size_t *used)
{
    size_t i = 0;
    llmbi_h1_result res;

    *used = 0;
    if (n > 0)
        p->any = 1;
    while (!p->head_done) {
        long end = 0, took;
        if (i == n)
            return LLMBI_H1_MORE;
        took = take_head(p, buf + i, n - i, &end);
        if (took == -2)
            return fail(p, "out of memory");
        if (took < 0)
            return fail(p, "response head larger than 65536 bytes");
        i += (size_t)took;
        *used = i;
        if (end == 0)
            return LLMBI_H1_MORE;
        res = parse_head(p, (size_t)end);
        p->head_len = 0;
        p->scan_from = 0;
        if (res != LLMBI_H1_MORE)
            return res;
        if (p->head_done) {
            llmbi_h1_parser_free(p);
            if (cb->on_head)
                cb->on_head(user, p);
        }
    }
    switch (p->framing) {
    case FRAME_NONE:
        res = LLMBI_H1_DONE;
        break;
    case FRAME_LENGTH: {
        size_t take = n - i;
        if ((uint64_t)take > p->remaining)
            take = (size_t)p->remaining;
        res = LLMBI_H1_MORE;
        if (take > 0 && cb->on_body && cb->on_body(user, buf + i, take))
            res = LLMBI_H1_ABORT;
        i += take;
        p->remaining -= take;
        if (p->remaining == 0 && res == LLMBI_H1_MORE)
            res = LLMBI_H1_DONE;
        break;
    }
    case FRAME_EOF:
        res = LLMBI_H1_MORE;
        if (i < n && cb->on_body && cb->on_body(user, buf + i, n - i))
            res = LLMBI_H1_ABORT;
        i = n;
        break;
    default:
        if (p->chunk_state == CS_DONE)
            res = LLMBI_H1_DONE;
        else
            res = chunks(p, buf, n, &i, cb, user);
        break;
    }
    *used = i;
    return res;
}

llmbi_h1_result llmbi_h1_eof(llmbi_h1_parser *p)
{
    if (!p->head_done)
        return fail(p, p->head_len == 0 ? "the server closed the connection without a response"
                                        : "the connection closed inside the response head");
    switch (p->framing) {
    case FRAME_NONE:
    case FRAME_EOF:
        return LLMBI_H1_DONE;
    case FRAME_LENGTH:
        return p->remaining == 0 ? LLMBI_H1_DONE
                                 : fail(p, "the connection closed before the body's end");
    default:
        return p->chunk_state == CS_DONE ? LLMBI_H1_DONE
                                         : fail(p, "the connection closed before the last chunk");
    }
}
