/*
 * A binary min-heap of deadlines whose items know their place in it, so that
 * one can be moved or taken out in O(log n): for the mock engine's
 * connections and the built-in transport's transfers. An item embeds a
 * llmbi_dheap_node; LLMBI_CONTAINER_OF gets the item back from it.
 */
#ifndef LLMB_DHEAP_H
#define LLMB_DHEAP_H

#include <stddef.h>
#include <stdint.h>

#define LLMBI_DHEAP_OUT SIZE_MAX

typedef struct llmbi_dheap_node {
    uint64_t key; /* the deadline; kept after the node leaves the heap */
    size_t idx;   /* place in the heap, LLMBI_DHEAP_OUT when not in it */
} llmbi_dheap_node;

typedef struct llmbi_dheap {
    llmbi_dheap_node **v;
    size_t len, cap;
} llmbi_dheap;

#define LLMBI_CONTAINER_OF(ptr, type, member)                                                      \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/** A node in no heap yet. */
static inline void llmbi_dheap_node_init(llmbi_dheap_node *n)
{
    n->key = 0;
    n->idx = LLMBI_DHEAP_OUT;
}

/** Room for `n` nodes, so that llmbi_dheap_set cannot fail below that; 0 or -1. */
int llmbi_dheap_reserve(llmbi_dheap *h, size_t n);
/** Put the node in at `key`, or move it there if it is in; -1 only when room runs out. */
int llmbi_dheap_set(llmbi_dheap *h, llmbi_dheap_node *n, uint64_t key);
/** Take the node out; nothing if it is not in. */
void llmbi_dheap_remove(llmbi_dheap *h, llmbi_dheap_node *n);
/** The earliest node, NULL when the heap is empty. */
static inline llmbi_dheap_node *llmbi_dheap_top(const llmbi_dheap *h)
{
    return h->len ? h->v[0] : NULL;
}
void llmbi_dheap_free(llmbi_dheap *h);

#endif /* LLMB_DHEAP_H */
