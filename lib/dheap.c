/*
 * The deadline heap (see dheap.h).
 */
#include <stdlib.h>

#include "dheap.h"
#include "internal.h"

static void put(llmbi_dheap *h, size_t i, llmbi_dheap_node *n)
{
    h->v[i] = n;
    n->idx = i;
}

static void up(llmbi_dheap *h, size_t i)
{
    llmbi_dheap_node *n = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->key <= n->key)
            break;
        put(h, i, h->v[parent]);
        i = parent;
    }
    put(h, i, n);
}

static void down(llmbi_dheap *h, size_t i)
{
    llmbi_dheap_node *n = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && h->v[child + 1]->key < h->v[child]->key)
            child++;
        if (n->key <= h->v[child]->key)
            break;
        put(h, i, h->v[child]);
        i = child;
    }
    put(h, i, n);
}

int llmbi_dheap_reserve(llmbi_dheap *h, size_t n)
{
    return llmbi_grow((void **)&h->v, &h->cap, n, sizeof *h->v, 64);
}

int llmbi_dheap_set(llmbi_dheap *h, llmbi_dheap_node *n, uint64_t key)
{
    n->key = key;
    if (n->idx == LLMBI_DHEAP_OUT) {
        if (llmbi_dheap_reserve(h, h->len + 1) != 0)
            return -1;
        put(h, h->len++, n);
        up(h, h->len - 1);
        return 0;
    }
    up(h, n->idx);
    down(h, n->idx);
    return 0;
}

void llmbi_dheap_remove(llmbi_dheap *h, llmbi_dheap_node *n)
{
    size_t i = n->idx;
    llmbi_dheap_node *last;
    if (i == LLMBI_DHEAP_OUT)
        return;
    n->idx = LLMBI_DHEAP_OUT;
    last = h->v[--h->len];
    if (last == n)
        return;
    put(h, i, last);
    up(h, i);
    down(h, last->idx);
}

void llmbi_dheap_free(llmbi_dheap *h)
{
    free(h->v);
    h->v = NULL;
    h->len = h->cap = 0;
}
