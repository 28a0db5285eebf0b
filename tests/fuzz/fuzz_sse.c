/*
 * Fuzz target: SSE framing. The oracle: parsing the input whole and parsing
 * it cut into pieces (sizes taken from the input itself) must give the same
 * events, and no input may crash, leak or overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fnv.h"
#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct digest {
    uint64_t h;
    size_t events;
} digest;

static void mix(digest *d, const void *p, size_t n)
{
    d->h = fnv1a(d->h, p, n);
}

static int on_event(void *user, const char *event, const char *payload, size_t len)
{
    digest *d = user;
    size_t elen = strlen(event);
    if (payload[len] != '\0')
        abort();
    mix(d, &elen, sizeof elen);
    mix(d, event, elen);
    mix(d, &len, sizeof len);
    mix(d, payload, len);
    d->events++;
    return 0;
}

static llmb_status parse(const uint8_t *data, size_t size, const uint8_t *cuts, size_t ncuts,
                         digest *d)
{
    /* A small cap, so that the limit paths are reached too. */
    llmbi_sse *p = llmbi_sse_new(512, on_event, d);
    llmb_status st = LLMB_OK;
    size_t off = 0, k = 0;
    if (!p)
        abort();
    d->h = FNV_OFFSET;
    d->events = 0;
    while (st == LLMB_OK && off < size) {
        size_t n = ncuts ? (size_t)cuts[k++ % ncuts] + 1 : size;
        if (n > size - off)
            n = size - off;
        st = llmbi_sse_feed(p, (const char *)data + off, n);
        off += n;
    }
    if (st == LLMB_OK)
        st = llmbi_sse_finish(p, data[0] & 1);
    llmbi_sse_free(p);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    digest whole, split;
    llmb_status a, b;
    if (size < 1)
        return 0;
    a = parse(data, size, NULL, 0, &whole);
    /* The first 8 bytes double as piece sizes for the split parse. */
    b = parse(data, size, data, size < 8 ? size : 8, &split);
    if (a != b)
        abort();
    if (a == LLMB_OK && (whole.h != split.h || whole.events != split.events))
        abort();
    return 0;
}
