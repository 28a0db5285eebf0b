/*
 * libllmbench: the per-request record.
 *
 * One llmb_record describes one finished request: when it was due, when it was
 * sent, when every content chunk arrived, when it ended, how many tokens went
 * in and out (and where those counts came from), and how it failed, if it did.
 * Times are nanoseconds of CLOCK_MONOTONIC relative to the run's origin (the
 * instant the run started), so a record can be read without the origin.
 */
#ifndef LLMBENCH_RECORD_H
#define LLMBENCH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where a record's token counts came from. */
typedef enum llmb_token_source {
    LLMB_TOKENS_UNKNOWN = 0, /**< nothing was counted (request failed before output) */
    LLMB_TOKENS_USAGE,       /**< the server's usage report */
    LLMB_TOKENS_CHUNKS,      /**< no usage report: generated = number of content chunks */
    LLMB_TOKENS_SOURCE_COUNT_
} llmb_token_source;

/** What kind of failure ended a request; LLMB_FAIL_NONE for success. */
typedef enum llmb_error_class {
    LLMB_FAIL_NONE = 0,  /**< success */
    LLMB_FAIL_HTTP,      /**< the server answered with an HTTP error status */
    LLMB_FAIL_CONNECT,   /**< the connection could not be made (refused, unreachable) */
    LLMB_FAIL_DNS,       /**< the host name could not be resolved */
    LLMB_FAIL_TLS,       /**< the TLS handshake or certificate check failed */
    LLMB_FAIL_TIMEOUT,   /**< the request took longer than allowed */
    LLMB_FAIL_RESET,     /**< the connection broke after the request was sent */
    LLMB_FAIL_PROTOCOL,  /**< the response was not a valid event stream */
    LLMB_FAIL_SERVER,    /**< the stream carried an error event */
    LLMB_FAIL_CANCELLED, /**< the run was stopped while the request was in flight */
    LLMB_FAIL_OTHER,     /**< anything else */
    LLMB_FAIL_CLASS_COUNT_
} llmb_error_class;

/** Short lower-case name of an error class ("http", "timeout", ...); "" for NONE. */
LLMB_API const char *llmb_error_class_name(llmb_error_class c);

/** Name of a token source: "usage", "chunks" or "" for unknown. */
LLMB_API const char *llmb_token_source_name(llmb_token_source s);

/**
 * One finished request. The library fills it and passes it to the run's
 * record callback; the pointers inside (`chunk_ns`, `error`, `x_request_id`)
 * stay valid only until that callback returns. Copy what you keep.
 *
 * Latencies come in two readings: raw, from the actual send (sent_ns), and
 * corrected, from the intended send (intended_ns). When the client or a
 * concurrency cap delays a send, the raw reading hides that wait and the
 * corrected one includes it, as a user arriving at the intended time would
 * see it.
 */
typedef struct llmb_record {
    uint64_t request;        /**< 1-based request number in the run */
    uint64_t intended_ns;    /**< when the schedule wanted it sent */
    uint64_t sent_ns;        /**< when it was actually handed to the transport */
    uint64_t end_ns;         /**< when the response ended (or the failure happened) */
    uint64_t first_chunk_ns; /**< arrival of the first content chunk; valid if n_chunks > 0 */
    uint64_t last_chunk_ns;  /**< arrival of the last content chunk; valid if n_chunks > 0 */
    uint64_t itl_max_ns;     /**< largest gap between consecutive content chunks */
    size_t n_chunks;         /**< content chunks received */
    /**
     * Arrival time of every content chunk, in order (n_chunks entries), when
     * the run keeps them (llmb_run_options.keep_chunk_times); NULL otherwise,
     * so that a long stream's memory does not grow with its length.
     */
    const uint64_t *chunk_ns;
    int64_t prompt_tokens;    /**< -1 when unknown */
    int64_t generated_tokens; /**< -1 when unknown */
    llmb_token_source token_source;
    long http_status; /**< 0 when no response status was received */
    llmb_error_class error_class;
    const char *error;        /**< "" on success, else a one-line readable message */
    int warmup;               /**< a warmup request, left out of the statistics */
    const char *x_request_id; /**< the X-Request-Id header it carried ("" if none) */
    unsigned attempt;         /**< 1 for the first try; more when the run retries failures */
    int will_retry;           /**< this failed attempt is followed by another */
    double retry_after_s;     /**< the server's Retry-After, in seconds; -1 when none */
} llmb_record;

/**
 * Fill a record's chunk fields (first_chunk_ns, last_chunk_ns, itl_max_ns,
 * n_chunks, chunk_ns) from an array of arrival times, for records built by
 * hand. The array is referenced, not copied.
 */
LLMB_API void llmb_record_set_chunks(llmb_record *r, const uint64_t *chunk_ns, size_t n);

/* Derived metrics. Each returns NAN where the quantity does not exist. */

/** Time taken = end - sent, in seconds (as the original scripts measured it). */
LLMB_API double llmb_record_time_taken_s(const llmb_record *r);
/** End-to-end latency = end - sent, in milliseconds. */
LLMB_API double llmb_record_e2e_ms(const llmb_record *r);
/** Time to first token = first content chunk - sent, in ms; NAN without content. */
LLMB_API double llmb_record_ttft_ms(const llmb_record *r);
/** Generated tokens / time taken; NAN when the count is unknown or time is 0. */
LLMB_API double llmb_record_tokens_per_s(const llmb_record *r);
/** (E2E - TTFT) / (generated - 1), in ms; NAN unless generated > 1 and TTFT exists. */
LLMB_API double llmb_record_tpot_ms(const llmb_record *r);
/** Mean of the gaps between consecutive content chunks, in ms; NAN with < 2 chunks. */
LLMB_API double llmb_record_itl_mean_ms(const llmb_record *r);
/** Largest gap between consecutive content chunks, in ms; NAN with < 2 chunks. */
LLMB_API double llmb_record_itl_max_ms(const llmb_record *r);
/** Wait before sending = sent - intended, in ms (client lateness and concurrency caps). */
LLMB_API double llmb_record_wait_ms(const llmb_record *r);
/** Corrected time to first token = first content chunk - intended, in ms. */
LLMB_API double llmb_record_corrected_ttft_ms(const llmb_record *r);
/** Corrected end-to-end latency = end - intended, in ms. */
LLMB_API double llmb_record_corrected_e2e_ms(const llmb_record *r);
/** Non-zero when the request succeeded. */
LLMB_API int llmb_record_ok(const llmb_record *r);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_RECORD_H */
