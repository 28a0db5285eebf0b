/*
 * libllmbench: aggregating records into a summary, and writing the summary as
 * a table, as JSON (with vLLM's saved-result key names where the quantity is
 * the same) or as a CSV row (one per level of a sweep).
 *
 * Every latency quantity is kept two ways: all samples, up to a limit, for
 * exact percentiles; and a log-bucketed histogram of stated precision (a
 * percentile read from it is within 0.1 % of the true one), which takes over
 * beyond the limit so that memory stays bounded however long the run.
 * Accumulators merge, so each thread of a run keeps its own and they are
 * combined at the end.
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

/** Most percentiles a summary reports. */
#define LLMB_MAX_PERCENTILES 16

/** Statistics of one latency quantity, in milliseconds; all NAN when count is 0. */
typedef struct llmb_stat {
    uint64_t count;
    double mean, std, min, max; /**< exact; std is the population one */
    double median, p90, p99;    /**< always computed */
    /** At llmb_summary.percentiles[i], by linear interpolation between order statistics. */
    double pct[LLMB_MAX_PERCENTILES];
    int exact; /**< percentiles from every sample (1) or from the histogram (0) */
} llmb_stat;

/** How records are aggregated. Start from LLMB_METRICS_OPTIONS_INIT. */
typedef struct llmb_metrics_options {
    /** Percentiles to report (0 < p < 100); NULL: 50, 90, 99. Copied. */
    const double *percentiles;
    size_t n_percentiles;
    /** Service-level objectives for goodput, in ms; 0 = no objective on it. */
    double slo_ttft_ms, slo_tpot_ms, slo_e2e_ms;
    /** Samples kept per quantity for exact percentiles (default 1,000,000). */
    size_t exact_limit;
} llmb_metrics_options;

#define LLMB_METRICS_OPTIONS_INIT                                                                  \
    {                                                                                              \
        NULL, 0, 0.0, 0.0, 0.0, 1000000                                                            \
    }

/** The summary of a run. Only successful, non-warmup requests enter tokens and latencies. */
typedef struct llmb_summary {
    uint64_t completed; /**< requests that succeeded */
    uint64_t failed;    /**< requests that failed, any class */
    uint64_t failed_by_class[LLMB_FAIL_CLASS_COUNT_];
    uint64_t warmup;        /**< warmup requests, left out of everything else */
    uint64_t warmup_failed; /**< of those, failed (not in `failed`) */
    uint64_t retried;       /**< failed attempts that were tried again (not in `failed`) */
    uint64_t retried_by_class[LLMB_FAIL_CLASS_COUNT_];
    uint64_t counted_by_usage;  /**< successful requests whose counts came from usage */
    uint64_t counted_by_chunks; /**< ... from counting chunks */
    /** From the first measured request's intended send to the last one's end, s. */
    double duration_s;
    uint64_t total_input_tokens;   /**< over successful requests whose prompt count is known */
    uint64_t input_tokens_unknown; /**< successful requests with no prompt count (no usage) */
    uint64_t total_output_tokens;
    double request_throughput;     /**< completed / duration, req/s */
    double output_throughput;      /**< total output tokens / duration, tok/s */
    double total_token_throughput; /**< (input + output tokens) / duration, tok/s */
    /** Requests sent (excluding warmup) and the rate they were sent at:
     *  (sent - 1) / (last send - first send), req/s. NAN with fewer than 2. */
    uint64_t sent;
    double achieved_request_rate;
    /** Goodput: successful requests that met every objective given. */
    int has_slo;
    uint64_t good;
    double request_goodput; /**< good / duration, req/s */
    /** Peak output tokens per second, in 1 s buckets of content-chunk arrivals. */
    double max_output_tokens_per_s;
    /** Most requests in flight during one 1 s bucket (as vLLM counts it). */
    uint64_t max_concurrent_requests;
    /** Most requests in flight at one instant (summed over threads: an upper bound). */
    uint64_t peak_in_flight;
    size_t n_percentiles;
    double percentiles[LLMB_MAX_PERCENTILES];
    llmb_stat ttft_ms;           /**< time to first token, from the actual send */
    llmb_stat tpot_ms;           /**< time per output token after the first */
    llmb_stat itl_ms;            /**< every gap between content chunks, pooled */
    llmb_stat e2el_ms;           /**< end-to-end latency, from the actual send */
    llmb_stat corrected_ttft_ms; /**< time to first token, from the intended send */
    llmb_stat corrected_e2el_ms; /**< end-to-end latency, from the intended send */
    /** Every request's send time minus its scheduled time: the client's own lateness,
     *  plus any wait for a concurrency cap. */
    llmb_stat send_delay_ms;
} llmb_summary;

typedef struct llmb_metrics llmb_metrics;

/** A new, empty accumulator with default options; NULL when out of memory. */
LLMB_API llmb_metrics *llmb_metrics_new(void);
/** A new, empty accumulator; NULL on bad options (more than LLMB_MAX_PERCENTILES, p
 *  outside (0, 100), a negative objective) or no memory. */
LLMB_API llmb_metrics *llmb_metrics_new_opts(const llmb_metrics_options *opts);
LLMB_API void llmb_metrics_free(llmb_metrics *m);
/**
 * Add one finished request (the record is read, not kept). Its inter-chunk
 * gaps enter the ITL statistics only when it carries chunk_ns.
 */
LLMB_API llmb_status llmb_metrics_add(llmb_metrics *m, const llmb_record *rec);
/** Add everything `src` holds to `dst` (same options expected; dst's are kept). */
LLMB_API llmb_status llmb_metrics_merge(llmb_metrics *dst, const llmb_metrics *src);
/** Compute the summary of everything added so far. */
LLMB_API llmb_status llmb_metrics_summarize(const llmb_metrics *m, llmb_summary *out);

/**
 * The p-th percentile (0 <= p <= 100) of n sorted values, by linear
 * interpolation between the closest ranks (numpy's default): with
 * h = (n - 1) p / 100, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
 * NAN when n is 0.
 */
LLMB_API double llmb_percentile(const double *sorted, size_t n, double p);

/**
 * Parse a percentile list such as "50,90,99,99.9" into out (at most `max`
 * values, each in (0, 100)); returns how many, or 0 with *err set.
 */
LLMB_API size_t llmb_parse_percentiles(const char *text, double *out, size_t max, llmb_error *err);
/**
 * Parse service-level objectives "ttft:MS,tpot:MS,e2e:MS" (any subset, any
 * order) into opts' slo fields. LLMB_ERR_INVALID with *err on bad text.
 */
LLMB_API llmb_status llmb_parse_slo(const char *text, llmb_metrics_options *opts, llmb_error *err);

/** What a summary describes: the run's settings. Strings may be NULL. */
typedef struct llmb_run_info {
    const char *tool;              /**< "llm-seq", ... */
    const llmb_endpoint *endpoint; /**< provider, base URL, API and model (never the key) */
    const llmb_schedule *schedule; /**< kind and parameters */
    uint64_t requests;             /**< planned, excluding warmup (0 = bounded by duration) */
    uint64_t warmup;               /**< warmup requests planned */
    double duration_s;             /**< the duration bound, 0 = none */
    unsigned threads;              /**< event loops used */
    uint64_t sent;                 /**< actually sent, warmup included, retries not */
    int stopped;                   /**< the run was stopped before its end */
    long max_tokens;               /**< 0 = not sent */
    const char *prompt;
    time_t start_time;                   /**< wall-clock start of the run */
    const llmb_metrics_options *metrics; /**< the objectives used, for the record; may be NULL */
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
/**
 * Write the summary as one CSV row (RFC 4180) to `fp`, preceded by the header
 * row when `header` is non-zero: a sweep writes one row per level. The
 * columns are documented in the README.
 */
LLMB_API llmb_status llmb_summary_write_csv(const llmb_summary *s, const llmb_run_info *info,
                                            int header, FILE *fp);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_METRICS_H */
