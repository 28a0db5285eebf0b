/*
 * libllmbench: the request runner. One event loop (libcurl's multi socket
 * interface on epoll, with a timer) sends each request when the schedule says
 * it is due, timestamps every arrival before parsing it, decodes the stream
 * incrementally, and hands each finished request to a callback at once.
 * No thread per request: all requests of a run share the calling thread.
 */
#ifndef LLMBENCH_RUNNER_H
#define LLMBENCH_RUNNER_H

#include <stdint.h>

#include "llmbench/common.h"
#include "llmbench/endpoint.h"
#include "llmbench/metrics.h"
#include "llmbench/record.h"
#include "llmbench/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmb_runner llmb_runner;

/** The prompt the original scripts sent. */
#define LLMB_DEFAULT_PROMPT "Write a long essay on the topic of spring."

/** Called once per finished request, on the run's thread; see llmb_record for lifetimes. */
typedef void (*llmb_record_fn)(const llmb_record *rec, void *user);

/** Where a run stands. */
typedef struct llmb_progress {
    uint64_t planned;    /**< requests the run will send */
    uint64_t sent;       /**< requests sent so far, retries included */
    uint64_t resent;     /**< of those, retries (attempts after the first) */
    uint64_t finished;   /**< requests finished (succeeded or failed) */
    uint64_t failed;     /**< of those, failed */
    uint64_t in_flight;  /**< sent and not finished */
    uint64_t elapsed_ns; /**< since the run's origin */
} llmb_progress;

/** Called on the run's thread every progress_interval_s while running, and once at the end. */
typedef void (*llmb_progress_fn)(const llmb_progress *p, void *user);

/** Called once when the run starts, before any request: origin_ns is its CLOCK_MONOTONIC
 *  origin, the zero of every record's times. */
typedef void (*llmb_start_fn)(uint64_t origin_ns, void *user);

/** What to send and whom to tell. Start from LLMB_RUN_OPTIONS_INIT. */
typedef struct llmb_run_options {
    /** Requests to measure (default 5); 0 means "until duration_s", which must then be set. */
    uint64_t requests;
    uint64_t warmup;    /**< requests sent first, marked, and left out of the statistics */
    double duration_s;  /**< send no request after this long from the start; 0 = no limit */
    unsigned threads;   /**< event loops, each on its own thread (default 1; see below) */
    const char *prompt; /**< the prompt text (default LLMB_DEFAULT_PROMPT) */
    long max_tokens;    /**< max_tokens sent with each request; 0 = not sent */
    /** Keep every content chunk's arrival time in the record (for traces); memory then
     *  grows with each stream's length. */
    int keep_chunk_times;
    /** Prefix of each request's X-Request-Id header ("<run_id>-<request>"); NULL: a random
     *  one. At most 32 characters of [A-Za-z0-9._-]. */
    const char *run_id;
    const llmb_metrics_options *metrics; /**< percentiles and objectives; NULL: defaults */
    llmb_record_fn on_record;            /**< may be NULL */
    void *record_user;                   /**< passed to on_record */
    llmb_progress_fn on_progress;        /**< may be NULL */
    void *progress_user;                 /**< passed to on_progress */
    /** Call on_progress at least this often while running (default 0.25 s). */
    double progress_interval_s;
    llmb_start_fn on_start; /**< may be NULL */
    void *start_user;       /**< passed to on_start */
    /** Largest event accepted, bytes (default 1 MiB); a bigger one fails its request, so a
     *  hostile server cannot make a stream's memory grow without bound. */
    size_t max_event_bytes;
    /** End a request as timed out after this long without a byte (counted from the send);
     *  0 = no limit. The whole-request limit is the endpoint's request timeout. */
    double idle_timeout_s;
    /** Send a request again, up to this many times, after a failure a retry may cure
     *  (HTTP 429 and 5xx, a refused or reset connection), waiting as its Retry-After
     *  says or 0.5 s doubling. 0 (the default): never, since retries change what is
     *  measured. Every attempt is a record. */
    unsigned retries;
    /** Accept a stream without usage as a success (its tokens counted from chunks);
     *  by default it fails, since the counts are then only estimates. */
    int allow_no_usage;
} llmb_run_options;

/* clang-format off */
#define LLMB_RUN_OPTIONS_INIT                                                                      \
    {5, 0, 0.0, 1, LLMB_DEFAULT_PROMPT, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0.25, NULL, NULL,  \
     0, 0.0, 0, 0}
/* clang-format on */

/**
 * A runner for one run. The endpoint, schedule and strings in the options are
 * copied where needed: they may be freed once this returns. The endpoint must
 * have a model (set one, or call llmb_endpoint_discover_model first).
 * Free with llmb_runner_free.
 *
 * With threads > 1 the run uses that many event loops, each on its own
 * thread with its own share of the schedule (every n-th arrival of an open
 * loop, a share of the slots of a closed one) and its own statistics, merged
 * when the run ends. The sequential schedule always uses one, and so does a
 * capped open loop, so that the cap is shared in the order requests are due.
 * on_record is then called from several threads, but never two at once;
 * on_progress only from the thread that called llmb_runner_run.
 */
LLMB_API llmb_status llmb_runner_new(const llmb_endpoint *ep, const llmb_schedule *sched,
                                     const llmb_run_options *opts, llmb_runner **out,
                                     llmb_error *err);
/**
 * Run to the end: every request sent and finished, each reported through
 * on_record. Returns LLMB_OK when the run completed (individual requests may
 * still have failed: they are records with an error class), LLMB_ERR_STOPPED
 * when llmb_runner_stop ended it early (requests in flight are then reported
 * as cancelled, with what they had received), or another status if the
 * event loop itself failed (see llmb_runner_errmsg). A runner runs once.
 */
LLMB_API llmb_status llmb_runner_run(llmb_runner *r);
/**
 * Ask a running llmb_runner_run to stop sending and cancel what is in flight.
 * Safe to call from a signal handler or another thread.
 */
LLMB_API void llmb_runner_stop(llmb_runner *r);
/**
 * The statistics of the run so far (warmup left out), with the options'
 * percentiles and objectives: pass to llmb_metrics_summarize. Owned by the
 * runner; complete once llmb_runner_run has returned; valid until
 * llmb_runner_free.
 */
LLMB_API const llmb_metrics *llmb_runner_metrics(const llmb_runner *r);
/** The event loops the run uses: the options' threads, or fewer where the schedule
 *  needs one (sequential, a capped open loop) or has fewer slots or requests. */
LLMB_API unsigned llmb_runner_threads(const llmb_runner *r);
/** The X-Request-Id prefix of this run. */
LLMB_API const char *llmb_runner_run_id(const llmb_runner *r);
/** CLOCK_MONOTONIC ns at which the run started (records are relative to it); 0 before. */
LLMB_API uint64_t llmb_runner_origin_ns(const llmb_runner *r);
/** Current progress (also valid after the run). */
LLMB_API void llmb_runner_progress(const llmb_runner *r, llmb_progress *out);
/** Text of the last failure of the runner itself; "" if none. Valid until the next call. */
LLMB_API const char *llmb_runner_errmsg(const llmb_runner *r);
/** Free; NULL does nothing. Must not be called while llmb_runner_run is running. */
LLMB_API void llmb_runner_free(llmb_runner *r);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_RUNNER_H */
