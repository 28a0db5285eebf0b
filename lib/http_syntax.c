/*
 * HTTP/1.1 message syntax shared by the two parsers (see http_syntax.h).
 */
#include <string.h>
#include <strings.h>

#include "http_syntax.h"

int llmbi_http_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

int llmbi_http_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

int llmbi_http_name_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

int llmbi_http_list_has(const char *v, size_t n, const char *token)
{
    size_t i = 0;
    while (i < n) {
        size_t start, end;
        while (i < n && (llmbi_http_ows(v[i]) || v[i] == ','))
            i++;
        start = i;
        while (i < n && v[i] != ',')
            i++;
        end = i;
        while (end > start && llmbi_http_ows(v[end - 1]))
            end--;
        if (llmbi_http_name_is(v + start, end - start, token))
            return 1;
    }
    return 0;
}

int llmbi_http_digits(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        if (v[i] < '0' || v[i] > '9')
            return -1;
        d = (unsigned)(v[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

int llmbi_http_field(const char *p, size_t n, size_t *name_len, size_t *v0, size_t *v1)
{
    size_t i = 0, a, b;
    while (i < n && llmbi_http_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ':')
        return -1;
    a = i + 1;
    while (a < n && llmbi_http_ows(p[a]))
        a++;
    b = n;
    while (b > a && llmbi_http_ows(p[b - 1]))
        b--;
    for (size_t k = a; k < b; k++) {
        unsigned char ch = (unsigned char)p[k];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return -1;
    }
    *name_len = i;
    *v0 = a;
    *v1 = b;
    return 0;
}

long llmbi_http_head_end(const char *buf, size_t len, size_t start, size_t *scan, size_t max)
{
    size_t pos = *scan > start ? *scan : start;
    for (;;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n;
        if (!nl) {
            *scan = pos;
            return len >= max ? -1 : 0;
        }
        n = (size_t)(nl - (buf + pos));
        if (n > 0 && buf[pos + n - 1] == '\r')
            n--;
        if (n == 0 && pos > start) {
            size_t end = (size_t)(nl - buf) + 1;
            if (end > max)
                return -1;
            *scan = end;
            return (long)end;
        }
        pos = (size_t)(nl - buf) + 1;
        if (pos > max)
            return -1;
    }
}

int llmbi_http_next_line(const char *buf, size_t end, size_t *pos, size_t *line, size_t *n)
{
    const char *nl = memchr(buf + *pos, '\n', end - *pos);
    size_t len = nl ? (size_t)(nl - (buf + *pos)) : end - *pos;
    *line = *pos;
    *pos += len + (nl ? 1 : 0);
    if (len > 0 && buf[*line + len - 1] == '\r')
        len--;
    *n = len;
    if (memchr(buf + *line, '\r', len) || memchr(buf + *line, '\0', len))
        return -1;
    return 0;
}
