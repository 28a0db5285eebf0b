/*
 * Metrics internals shared with the runner: what one request in flight keeps
 * for the statistics, folded in when it finishes (so that a request that
 * fails never reaches the latency statistics, and a finished one's memory is
 * returned at once).
 */
#ifndef LLMB_METRICS_INTERNAL_H
#define LLMB_METRICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/metrics.h"

typedef struct llmbi_req_stats {
    uint32_t *gaps; /* inter-chunk gaps in ns; UINT32_MAX marks one kept in `long_gaps` */
    size_t n_gaps, cap_gaps;
    uint64_t *long_gaps; /* gaps of 4.29 s or more, in order */
    size_t n_long, cap_long;
    uint32_t *per_sec; /* content chunks per second of the run, from `first_sec` */
    uint32_t first_sec;
    size_t n_secs, cap_secs;
} llmbi_req_stats;

/** A content chunk arrived at t_ns (from the origin); prev_ns is the one before, or 0. */
llmb_status llmbi_req_chunk(llmbi_req_stats *rs, uint64_t prev_ns, uint64_t t_ns, int first);
/** Free what a request kept. */
void llmbi_req_stats_free(llmbi_req_stats *rs);
/** Bytes a request's statistics hold (for memory accounting). */
size_t llmbi_req_stats_bytes(const llmbi_req_stats *rs);
/**
 * A request finished: count it, and fold its gaps and chunks into the
 * statistics if it succeeded and is not warmup. Frees rs's memory.
 */
llmb_status llmbi_metrics_finish(llmb_metrics *m, const llmb_record *r, llmbi_req_stats *rs);
/** A request was sent at sent_ns (from the origin); in_flight, counting it, are in flight.
 *  Only first attempts count towards the rate the requests were sent at. */
void llmbi_metrics_sent(llmb_metrics *m, uint64_t sent_ns, int warmup, int first_attempt,
                        uint64_t in_flight);

#endif /* LLMB_METRICS_INTERNAL_H */
