/*
 * Log-bucketed histogram (see histogram.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"

#define EXACT_LIMIT (2u * LLMBI_HIST_SUB) /* values below are counted one by one */

static size_t octave_size(unsigned k)
{
    return k == 0 ? EXACT_LIMIT : LLMBI_HIST_SUB;
}

static int top_bit(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

/* Octave and slot of a value. */
static void locate(uint64_t v, unsigned *k, unsigned *slot)
{
    int e;
    if (v < EXACT_LIMIT) {
        *k = 0;
        *slot = (unsigned)v;
        return;
    }
    e = top_bit(v); /* >= 11 */
    *k = (unsigned)(e - LLMBI_HIST_SUB_BITS);
    *slot = (unsigned)((v >> (e - LLMBI_HIST_SUB_BITS)) - LLMBI_HIST_SUB);
}

/* The midpoint of a bucket, in ns. */
static double midpoint(unsigned k, unsigned slot)
{
    double lo, width;
    if (k == 0)
        return (double)slot;
    width = ldexp(1.0, (int)k);
    lo = ((double)LLMBI_HIST_SUB + (double)slot) * width;
    return lo + (width - 1.0) / 2.0;
}

void llmbi_hist_init(llmbi_hist *h)
{
    memset(h, 0, sizeof *h);
}

void llmbi_hist_free(llmbi_hist *h)
{
    for (unsigned k = 0; k < LLMBI_HIST_OCTAVES; k++)
        free(h->octave[k]);
    memset(h, 0, sizeof *h);
}

static uint64_t *octave(llmbi_hist *h, unsigned k)
{
    if (!h->octave[k])
        h->octave[k] = calloc(octave_size(k), sizeof(uint64_t));
    return h->octave[k];
}

static void add_moments(llmbi_hist *h, uint64_t v, uint64_t n)
{
    double d;
    if (h->count == 0) {
        h->min = h->max = v;
        h->shift = (double)v;
    }
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    d = (double)v - h->shift;
    h->sum += (double)v * (double)n;
    h->sum_sq += d * d * (double)n;
    h->count += n;
}

llmb_status llmbi_hist_add(llmbi_hist *h, uint64_t v)
{
    unsigned k, slot;
    uint64_t *o;
    locate(v, &k, &slot);
    o = octave(h, k);
    if (!o)
        return LLMB_ERR_NOMEM;
    o[slot]++;
    add_moments(h, v, 1);
    return LLMB_OK;
}

llmb_status llmbi_hist_merge(llmbi_hist *dst, const llmbi_hist *src)
{
    double n1 = (double)dst->count, n2 = (double)src->count;
    double m1, m2, ss1, ss2, shift;

    if (src->count == 0)
        return LLMB_OK;
    for (unsigned k = 0; k < LLMBI_HIST_OCTAVES; k++) {
        uint64_t *o;
        if (!src->octave[k])
            continue;
        o = octave(dst, k);
        if (!o)
            return LLMB_ERR_NOMEM;
        for (size_t i = 0; i < octave_size(k); i++)
            o[i] += src->octave[k][i];
    }
    if (dst->count == 0) {
        dst->count = src->count;
        dst->min = src->min;
        dst->max = src->max;
        dst->sum = src->sum;
        dst->sum_sq = src->sum_sq;
        dst->shift = src->shift;
        return LLMB_OK;
    }
    /* Combine the moments about one common shift (the destination's). */
    shift = dst->shift;
    m1 = dst->sum / n1 - shift;
    m2 = src->sum / n2 - shift;
    ss1 = dst->sum_sq - n1 * (dst->sum / n1 - dst->shift) * (dst->sum / n1 - dst->shift) +
          n1 * m1 * m1;
    ss2 = src->sum_sq - n2 * (src->sum / n2 - src->shift) * (src->sum / n2 - src->shift) +
          n2 * m2 * m2;
    dst->sum_sq = ss1 + ss2;
    dst->sum += src->sum;
    dst->count += src->count;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return LLMB_OK;
}

/* The value of the rank-th smallest sample (0-based), as its bucket midpoint,
 * clamped to the exact extremes. */
static double value_at_rank(const llmbi_hist *h, uint64_t rank)
{
    uint64_t seen = 0;
    if (rank == 0)
        return (double)h->min;
    if (rank >= h->count - 1)
        return (double)h->max;
    for (unsigned k = 0; k < LLMBI_HIST_OCTAVES; k++) {
        const uint64_t *o = h->octave[k];
        if (!o)
            continue;
        for (size_t i = 0; i < octave_size(k); i++) {
            seen += o[i];
            if (seen > rank) {
                double v = midpoint(k, (unsigned)i);
                if (v < (double)h->min)
                    v = (double)h->min;
                if (v > (double)h->max)
                    v = (double)h->max;
                return v;
            }
        }
    }
    return (double)h->max;
}

double llmbi_hist_percentile(const llmbi_hist *h, double p)
{
    double r, lo, frac, a, b;
    if (h->count == 0 || isnan(p))
        return NAN;
    if (p <= 0.0)
        return (double)h->min;
    if (p >= 100.0)
        return (double)h->max;
    r = (double)(h->count - 1) * p / 100.0;
    lo = floor(r);
    frac = r - lo;
    a = value_at_rank(h, (uint64_t)lo);
    if (frac == 0.0)
        return a;
    b = value_at_rank(h, (uint64_t)lo + 1);
    return a + frac * (b - a);
}

double llmbi_hist_mean(const llmbi_hist *h)
{
    return h->count ? h->sum / (double)h->count : NAN;
}

double llmbi_hist_std(const llmbi_hist *h)
{
    double n = (double)h->count, m;
    if (h->count == 0)
        return NAN;
    m = h->sum / n - h->shift;
    /* sum_sq is about the shift; move it to the mean. */
    m = h->sum_sq / n - m * m;
    return m > 0.0 ? sqrt(m) : 0.0;
}

size_t llmbi_hist_bytes(const llmbi_hist *h)
{
    size_t b = 0;
    for (unsigned k = 0; k < LLMBI_HIST_OCTAVES; k++)
        if (h->octave[k])
            b += octave_size(k) * sizeof(uint64_t);
    return b;
}
