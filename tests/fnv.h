/*
 * FNV-1a over bytes: the tests' and fuzz targets' fingerprint of what they
 * compare (two renderings, a response read whole and read in pieces).
 */
#ifndef LLMB_TEST_FNV_H
#define LLMB_TEST_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME  1099511628211ULL

/* The hash h continued over n bytes at p. */
static inline uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

#endif /* LLMB_TEST_FNV_H */
