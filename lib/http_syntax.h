/*
 * HTTP/1.1 message syntax (RFC 9110, RFC 9112) shared by the mock engine's
 * request parser and the built-in transport's response parser.
 */
#ifndef LLMB_HTTP_SYNTAX_H
#define LLMB_HTTP_SYNTAX_H

#include <stddef.h>
#include <stdint.h>

/** RFC 9110 tchar: what a method or a field name may be made of. */
int llmbi_http_tchar(unsigned char ch);
/** Optional white space: a space or a tab. */
int llmbi_http_ows(char ch);
/** Whether p[0, n) is `name`, in any case. */
int llmbi_http_name_is(const char *p, size_t n, const char *name);
/** Does a comma-separated field value hold `token` (any case) as one element? */
int llmbi_http_list_has(const char *v, size_t n, const char *token);
/** A decimal number of digits only (no sign, no space), without overflow; 0 or -1. */
int llmbi_http_digits(const char *v, size_t n, uint64_t *out);
/**
 * Split a field line "name: value" (no line end): the name's length and the
 * value's bounds, surrounding white space trimmed. -1 if the name is not a
 * token (obsolete line folding included) or the value holds a control byte.
 */
int llmbi_http_field(const char *p, size_t n, size_t *name_len, size_t *v0, size_t *v1);
/**
 * Find the empty line that ends a head in buf[start, len), resuming the search
 * at *scan (0 the first time). Returns the offset just past it, 0 if it has
 * not arrived (with *scan where to resume), or -1 once the head passes `max`.
 */
long llmbi_http_head_end(const char *buf, size_t len, size_t start, size_t *scan, size_t max);
/**
 * The next line of a head: buf[*pos, end) holds it; sets *line and *n (the
 * line end dropped) and moves *pos past it. -1 for a CR or NUL inside a line.
 */
int llmbi_http_next_line(const char *buf, size_t end, size_t *pos, size_t *line, size_t *n);

#endif /* LLMB_HTTP_SYNTAX_H */
