/*
 * Fuzz target: the built-in transport's HTTP/1.1 response parser. The
 * oracle: the input parsed whole and parsed cut into pieces (sizes taken from
 * its first bytes) must give the same result, head and body, and no input may
 * crash, leak or overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fnv.h"
#include "h1_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct digest {
    uint64_t h;
    int heads;
    long status;
    size_t body;
} digest;

static void mix(digest *d, const void *p, size_t n)
{
    d->h = fnv1a(d->h, p, n);
}

static void on_head(void *user, const llmbi_h1_parser *p)
{
    digest *d = user;
    d->heads++;
    d->status = p->status;
    mix(d, p->content_type, strlen(p->content_type));
    mix(d, &p->keep_alive, sizeof p->keep_alive);
}

static int on_body(void *user, const char *p, size_t n)
{
    digest *d = user;
    if (n == 0)
        abort();
    mix(d, p, n);
    d->body += n;
    return 0;
}

static const llmbi_h1_callbacks cb = {on_head, on_body};

static llmbi_h1_result parse(const uint8_t *data, size_t size, const uint8_t *cuts, size_t n_cuts,
                             digest *d)
{
    llmbi_h1_parser p;
    llmbi_h1_result res = LLMBI_H1_MORE;
    size_t at = 0, k = 0;
    memset(d, 0, sizeof *d);
    d->h = FNV_OFFSET;
    llmbi_h1_parser_init(&p);
    while (at < size && res == LLMBI_H1_MORE) {
        size_t n = n_cuts ? (size_t)cuts[k++ % n_cuts] + 1 : size - at, used = 0;
        if (n > size - at)
            n = size - at;
        res = llmbi_h1_feed(&p, (const char *)data + at, n, &cb, d, &used);
        if (used > n || (res == LLMBI_H1_MORE && used != n))
            abort();
        at += n;
    }
    if (res == LLMBI_H1_MORE)
        res = llmbi_h1_eof(&p);
    llmbi_h1_parser_free(&p);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    digest whole, split;
    llmbi_h1_result a, b;
    size_t n_cuts = size > 0 ? data[0] % 8 : 0;
    if (size < 1 + n_cuts)
        return 0;
    a = parse(data + 1 + n_cuts, size - 1 - n_cuts, NULL, 0, &whole);
    b = parse(data + 1 + n_cuts, size - 1 - n_cuts, data + 1, n_cuts, &split);
    if (a != b || whole.h != split.h || whole.heads != split.heads ||
        whole.status != split.status || whole.body != split.body)
        abort();
    if (whole.heads > 1)
        abort();
    return 0;
}
