/*
 * A log-bucketed histogram of nanosecond values with a stated precision:
 * values below 2048 ns are counted exactly; above, every power of two is cut
 * into 1024 equal buckets, so a bucket's midpoint is within 1/2048 (0.05 %)
 * of any value in it, and a percentile read from it within 0.1 % of the true
 * one. Octaves are allocated only when a value falls in them, so a histogram
 * of latencies from microseconds to minutes takes a few hundred kilobytes.
 * Histograms merge by adding counts, so per-thread ones combine exactly.
 */
#ifndef LLMB_HISTOGRAM_H
#define LLMB_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/common.h"

#define LLMBI_HIST_SUB_BITS 10
#define LLMBI_HIST_SUB      (1u << LLMBI_HIST_SUB_BITS)
/* Octave 0 holds values 0..2047 exactly; octave k >= 1 holds [2^(k+10), 2^(k+11)). */
#define LLMBI_HIST_OCTAVES 54

typedef struct llmbi_hist {
    uint64_t *octave[LLMBI_HIST_OCTAVES]; /* octave 0 has 2048 counters, the others 1024 */
    uint64_t count;
    uint64_t min, max;
    double sum;    /* for the mean: exact enough in double for any run */
    double sum_sq; /* of (value - shift), for the variance */
    double shift;  /* the first value, to keep sum_sq well conditioned */
} llmbi_hist;

void llmbi_hist_init(llmbi_hist *h);
void llmbi_hist_free(llmbi_hist *h);
/** Count one value; LLMB_ERR_NOMEM if a new octave could not be allocated. */
llmb_status llmbi_hist_add(llmbi_hist *h, uint64_t v);
/** Add every count of src to dst. */
llmb_status llmbi_hist_merge(llmbi_hist *dst, const llmbi_hist *src);
/**
 * The p-th percentile (0..100), interpolated linearly between the closest
 * ranks as numpy does, each rank's value being its bucket's midpoint. NAN
 * when empty.
 */
double llmbi_hist_percentile(const llmbi_hist *h, double p);
double llmbi_hist_mean(const llmbi_hist *h);
/** Population standard deviation. */
double llmbi_hist_std(const llmbi_hist *h);
/** Bytes allocated for counters (for memory accounting). */
size_t llmbi_hist_bytes(const llmbi_hist *h);

#endif /* LLMB_HISTOGRAM_H */
