/*
 * libllmbench: aggregating records into a summary, and writing the summary as
 * a table or as JSON (with vLLM's saved-result key names where the quantity
 * is the same).
 */
#ifndef LLMBENCH_METRICS_H
#define LLMBENCH_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "llmbench/common.h"
#include "llmbench/endpoint.h"
#include "llmbench/record.h"
#include "llmbench/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Statistics of one latency quantity, in milliseconds; all NAN when count is 0. */
typedef struct llmb_stat {
    uint64_t count;
    double mean, std, min, max;
    double median, p90, p99; /**< linear interpolation between order statistics */
} llmb_stat;

/** The summary of a run. Only successful requests enter tokens and latencies. */
typedef struct llmb_summary {
    uint64_t completed; /**< requests that succeeded */
    uint64_t failed;    /**< requests that failed, any class */
    uint64_t failed_by_class[LLMB_FAIL_CLASS_COUNT_];
    uint64_t counted_by_usage;  /**< successful requests whose counts came from usage */
    uint64_t counted_by_chunks; /**< ... from counting chunks */
    double duration_s;          /**< run origin to the last request's end */
    uint64_t total_input_tokens;   /**< over successful requests whose prompt count is known */
    uint64_t input_tokens_unknown; /**< successful requests with no prompt count (no usage) */
    uint64_t total_output_tokens;
    double request_throughput;     /**< completed / duration, req/s */
    double output_throughput;      /**< total output tokens / duration, tok/s */
    double total_token_throughput; /**< (input + output tokens) / duration, tok/s */
    llmb_stat ttft_ms;             /**< time to first token */
    llmb_stat tpot_ms;             /**< time per output token after the first */
    llmb_stat itl_ms;              /**< every gap between content chunks, pooled */
    llmb_stat e2el_ms;             /**< end-to-end latency */
    /** Every request's send time minus its scheduled time: the client's own lateness. */
    llmb_stat send_delay_ms;
} llmb_summary;

typedef struct llmb_metrics llmb_metrics;

/** A new, empty accumulator; NULL when out of memory. Free with llmb_metrics_free. */
LLMB_API llmb_metrics *llmb_metrics_new(void);
LLMB_API void llmb_metrics_free(llmb_metrics *m);
/** Add one finished request (the record is read, not kept). */
LLMB_API llmb_status llmb_metrics_add(llmb_metrics *m, const llmb_record *rec);
/** Compute the summary of everything added so far. */
LLMB_API llmb_status llmb_metrics_summarize(const llmb_metrics *m, llmb_summary *out);

/**
 * The p-th percentile (0 <= p <= 100) of n sorted values, by linear
 * interpolation between the closest ranks (numpy's default): with
 * h = (n - 1) p / 100, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
 * NAN when n is 0.
 */
LLMB_API double llmb_percentile(const double *sorted, size_t n, double p);

/** What a summary describes: the run's settings. Strings may be NULL. */
typedef struct llmb_run_info {
    const char *tool;              /**< "llm-seq", ... */
    const llmb_endpoint *endpoint; /**< provider, base URL, API and model (never the key) */
    const llmb_schedule *schedule; /**< kind and parameter */
    uint64_t requests;             /**< planned */
    uint64_t sent;                 /**< actually sent (fewer when stopped early) */
    int stopped;                   /**< the run was stopped before its end */
    long max_tokens;               /**< 0 = not sent */
    const char *prompt;
    time_t start_time; /**< wall-clock start of the run */
} llmb_run_info;

/** Write the summary as a JSON object to `path` (created or replaced). */
LLMB_API llmb_status llmb_summary_write_json(const llmb_summary *s, const llmb_run_info *info,
                                             const char *path, llmb_error *err);
/** Write the summary as a JSON object to an open stream (not closed). */
LLMB_API llmb_status llmb_summary_write_json_to(const llmb_summary *s, const llmb_run_info *info,
                                                FILE *fp);
/** Write the summary as an aligned text table to `fp`. */
LLMB_API llmb_status llmb_summary_write_table(const llmb_summary *s, const llmb_run_info *info,
                                              FILE *fp);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_METRICS_H */
