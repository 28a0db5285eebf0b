/*
 * Names shared between library files but not exported (prefix llmbi_).
 */
#ifndef LLMB_INTERNAL_H
#define LLMB_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "llmbench/common.h"

#if defined(__GNUC__)
#define LLMBI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define LLMBI_PRINTF(fmt, args)
#endif

/** Fill *err (if not NULL) with a formatted message and no position. */
void llmbi_error_set(llmb_error *err, const char *fmt, ...) LLMBI_PRINTF(2, 3);
/** Fill *err (if not NULL) with a formatted message at line/column. */
void llmbi_error_set_at(llmb_error *err, unsigned long line, unsigned long column, const char *fmt,
                        ...) LLMBI_PRINTF(4, 5);
/** Format into a fixed buffer of `size` bytes, always NUL-terminated, truncating. */
void llmbi_format(char *buf, size_t size, const char *fmt, ...) LLMBI_PRINTF(3, 4);

/** strdup that returns NULL for NULL. */
char *llmbi_strdup(const char *s);

/**
 * Make the array *p (of `elem`-byte items, *cap of them allocated) hold at
 * least `need` items: the capacity starts at `first` and doubles. Returns 0,
 * or -1 (the array left as it was) when memory runs out or the size would
 * overflow.
 */
int llmbi_grow_to(void **p, size_t *cap, size_t need, size_t elem, size_t first);
/* Inline, so that the common case (room enough) costs no call on hot paths. */
static inline int llmbi_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    return need <= *cap ? 0 : llmbi_grow_to(p, cap, need, elem, first);
}

/*
 * Intrusive doubly linked lists: an item is any struct with `prev` and `next`
 * pointers to its own type, a list is a pointer to its first item. Evaluate
 * their arguments more than once: pass plain names.
 */
#define LLMBI_LIST_PUSH(head, item)                                                                \
    do {                                                                                           \
        (item)->prev = NULL;                                                                       \
        (item)->next = (head);                                                                     \
        if (head)                                                                                  \
            (head)->prev = (item);                                                                 \
        (head) = (item);                                                                           \
    } while (0)
/* Harmless for an item in no list (no links, not the head). */
#define LLMBI_LIST_UNLINK(head, item)                                                              \
    do {                                                                                           \
        if ((item)->prev)                                                                          \
            (item)->prev->next = (item)->next;                                                     \
        else if ((head) == (item))                                                                 \
            (head) = (item)->next;                                                                 \
        if ((item)->next)                                                                          \
            (item)->next->prev = (item)->prev;                                                     \
        (item)->prev = (item)->next = NULL;                                                        \
    } while (0)

#endif /* LLMB_INTERNAL_H */
