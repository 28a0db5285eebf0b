/*
 * The mock engine's HTTP/1.1 request heads (RFC 9112) and its byte buffer.
 * Plain C over bytes, so that a unit test or a fuzzer can drive it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mock_internal.h"

int llmbi_mock_buf_append(llmbi_mock_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        char *d;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
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

/* RFC 9110 tchar: what a method or a header name may be made of. */
static int is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int name_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* Does a comma-separated header value hold `token` (any case) as one element? */
static int list_has(const char *v, size_t n, const char *token)
{
    size_t i = 0;
    while (i < n) {
        size_t start, end;
        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        start = i;
        while (i < n && v[i] != ',')
            i++;
        end = i;
        while (end > start && is_ows(v[end - 1]))
            end--;
        if (name_is(v + start, end - start, token))
            return 1;
    }
    return 0;
}

/* Content-Length: digits only; a second header must agree (RFC 9112 6.3). */
static int parse_length(const char *v, size_t n, llmbi_mock_head *h)
{
    uint64_t x = 0;
    size_t i;
    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (v[i] < '0' || v[i] > '9')
            return -1;
        d = (unsigned)(v[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    if (h->has_length && h->content_length != x)
        return -1;
    h->has_length = 1;
    h->content_length = x;
    return 0;
}

static int parse_request_line(const char *p, size_t n, size_t base, llmbi_mock_head *h)
{
    size_t i = 0, t0, t1, q;
    while (i < n && is_tchar((unsigned char)p[i]))
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

static int parse_field(const char *p, size_t n, llmbi_mock_head *h)
{
    size_t i = 0, v0, v1;
    /* Line folding (a line starting with white space) is obsolete: refuse it. */
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ':')
        return -1;
    v0 = i + 1;
    while (v0 < n && is_ows(p[v0]))
        v0++;
    v1 = n;
    while (v1 > v0 && is_ows(p[v1 - 1]))
        v1--;
    for (size_t k = v0; k < v1; k++) {
        unsigned char ch = (unsigned char)p[k];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return -1;
    }
    if (name_is(p, i, "content-length"))
        return parse_length(p + v0, v1 - v0, h);
    if (name_is(p, i, "transfer-encoding")) {
        if (!name_is(p + v0, v1 - v0, "identity"))
            h->te_other = 1;
    } else if (name_is(p, i, "connection")) {
        if (list_has(p + v0, v1 - v0, "close"))
            h->conn_close = 1;
        if (list_has(p + v0, v1 - v0, "keep-alive"))
            h->conn_keep_alive = 1;
    } else if (name_is(p, i, "expect")) {
        if (name_is(p + v0, v1 - v0, "100-continue"))
            h->expect_continue = 1;
        else if (v1 > v0)
            h->expect_other = 1;
    }
    return 0;
}

llmbi_mock_head_result llmbi_mock_parse_head(const char *buf, size_t len, size_t *scan,
                                             llmbi_mock_head *h)
{
    size_t start = 0, pos, end = 0, line;
    int first = 1;

    while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
        start++;
    if (start >= LLMBI_MOCK_HEAD_MAX)
        return LLMBI_MOCK_HEAD_TOO_BIG;
    /* Find the empty line that ends the head, resuming where the last call stopped. */
    pos = *scan > start ? *scan : start;
    for (;;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n;
        if (!nl) {
            *scan = pos;
            return len >= LLMBI_MOCK_HEAD_MAX ? LLMBI_MOCK_HEAD_TOO_BIG : LLMBI_MOCK_HEAD_PARTIAL;
        }
        n = (size_t)(nl - (buf + pos));
        if (n > 0 && buf[pos + n - 1] == '\r')
            n--;
        if (n == 0 && pos > start) {
            end = (size_t)(nl - buf) + 1;
            break;
        }
        pos = (size_t)(nl - buf) + 1;
        if (pos > LLMBI_MOCK_HEAD_MAX)
            return LLMBI_MOCK_HEAD_TOO_BIG;
    }
    if (end > LLMBI_MOCK_HEAD_MAX)
        return LLMBI_MOCK_HEAD_TOO_BIG;
    *scan = end;

    memset(h, 0, sizeof *h);
    h->head_len = end;
    for (line = start; line < end;) {
        const char *nl = memchr(buf + line, '\n', end - line);
        size_t n = (size_t)(nl - (buf + line));
        size_t next = line + n + 1;
        if (n > 0 && buf[line + n - 1] == '\r')
            n--;
        if (n == 0)
            break;
        if (memchr(buf + line, '\r', n) || memchr(buf + line, '\0', n))
            return LLMBI_MOCK_HEAD_BAD;
        if (first) {
            if (parse_request_line(buf + line, n, line, h) != 0)
                return LLMBI_MOCK_HEAD_BAD;
            first = 0;
        } else if (parse_field(buf + line, n, h) != 0) {
            return LLMBI_MOCK_HEAD_BAD;
        }
        line = next;
    }
    return LLMBI_MOCK_HEAD_DONE;
}
