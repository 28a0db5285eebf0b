/*
 * libllmbench: when requests are sent. A schedule is a description (kind and
 * parameters); the runner that uses it keeps the state of where it is.
 *
 * Every due time is absolute, counted from the run's start: a request sent
 * late never shifts the ones after it. Open-loop schedules (interval, rate)
 * send each request at its due time whatever the server is doing; the
 * closed-loop one (concurrency) starts a request when another ends. The
 * runner records both the due ("intended") and the actual send time of every
 * request, so latencies can be read from either.
 */
#ifndef LLMBENCH_SCHEDULE_H
#define LLMBENCH_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmb_schedule llmb_schedule;

/** Default pause of the sequential schedule, seconds (as the original script). */
#define LLMB_DEFAULT_DELAY_S 2.0
/** Default gap between starts of the staggered concurrent schedule, seconds. */
#define LLMB_DEFAULT_INTERVAL_S 0.06125

typedef enum llmb_schedule_kind {
    LLMB_SCHEDULE_SEQUENTIAL = 0, /**< one at a time, a pause after each ends */
    LLMB_SCHEDULE_INTERVAL,       /**< request i starts at i * interval, whatever the others do */
    LLMB_SCHEDULE_RATE,           /**< open loop: arrivals at a rate (constant, Poisson, gamma) */
    LLMB_SCHEDULE_CONCURRENCY     /**< closed loop: exactly N requests in flight */
} llmb_schedule_kind;

/** How open-loop arrivals are spaced. */
typedef enum llmb_arrival {
    LLMB_ARRIVAL_CONSTANT = 0, /**< exactly 1/rate apart */
    LLMB_ARRIVAL_POISSON,      /**< exponential gaps: a Poisson process */
    LLMB_ARRIVAL_GAMMA /**< gamma gaps of shape B (burstiness): B < 1 burstier, B = 1 Poisson */
} llmb_arrival;

/** "constant", "poisson" or "gamma". */
LLMB_API const char *llmb_arrival_name(llmb_arrival a);
/** Parse an arrival name; LLMB_ERR_INVALID for others. */
LLMB_API llmb_status llmb_arrival_from_name(const char *name, llmb_arrival *out);

/**
 * Sequential: the first request starts at once; each next one starts
 * `delay_s` seconds after the previous one ended. 0 <= delay_s <= 3600.
 */
LLMB_API llmb_status llmb_schedule_sequential(double delay_s, llmb_schedule **out, llmb_error *err);
/**
 * Staggered concurrent: request i (from 0) is due at i * interval_s after the
 * run's start, all in flight together. 0 <= interval_s <= 3600.
 */
LLMB_API llmb_status llmb_schedule_interval(double interval_s, llmb_schedule **out,
                                            llmb_error *err);
/**
 * Open loop at `rate` requests per second (0 < rate <= 1e6). The first
 * request is due at once; the gaps after it follow `arrival`: 1/rate each,
 * exponential with mean 1/rate, or gamma with shape `burstiness` (> 0) and
 * mean 1/rate. `seed` makes the random gaps reproducible.
 */
LLMB_API llmb_status llmb_schedule_rate(double rate, llmb_arrival arrival, double burstiness,
                                        uint64_t seed, llmb_schedule **out, llmb_error *err);
/**
 * Closed loop: `n` requests in flight at all times (1 <= n <= 1000000); each
 * one that ends is replaced at once by the next.
 */
LLMB_API llmb_status llmb_schedule_concurrency(unsigned n, llmb_schedule **out, llmb_error *err);
/**
 * Cap an open-loop schedule (interval or rate) at `n` requests in flight; 0
 * removes the cap. A request due while the cap is reached waits for a
 * request to end; its wait shows as the gap between its intended and actual
 * send times. LLMB_ERR_INVALID for the other kinds.
 */
LLMB_API llmb_status llmb_schedule_set_max_concurrency(llmb_schedule *s, unsigned n,
                                                       llmb_error *err);
/** A copy (the caller frees it), or NULL when out of memory. */
LLMB_API llmb_schedule *llmb_schedule_copy(const llmb_schedule *s);
/** Free; NULL does nothing. */
LLMB_API void llmb_schedule_free(llmb_schedule *s);

LLMB_API llmb_schedule_kind llmb_schedule_get_kind(const llmb_schedule *s);
/**
 * "sequential", "concurrent" (interval), "rate" or "concurrency": the mode
 * named in CSV rows and summaries.
 */
LLMB_API const char *llmb_schedule_name(const llmb_schedule *s);
/** The delay or interval in seconds (sequential and interval schedules), else 0. */
LLMB_API double llmb_schedule_seconds(const llmb_schedule *s);
/**
 * The schedule's one number: the delay or interval (s), the rate (req/s) or
 * the concurrency. Sweeps vary it.
 */
LLMB_API double llmb_schedule_level(const llmb_schedule *s);
LLMB_API double llmb_schedule_rate_value(const llmb_schedule *s);
LLMB_API llmb_arrival llmb_schedule_arrival(const llmb_schedule *s);
LLMB_API double llmb_schedule_burstiness(const llmb_schedule *s);
LLMB_API uint64_t llmb_schedule_seed(const llmb_schedule *s);
LLMB_API unsigned llmb_schedule_concurrency_value(const llmb_schedule *s);
/** The in-flight cap of an open-loop schedule, 0 when none. */
LLMB_API unsigned llmb_schedule_max_concurrency(const llmb_schedule *s);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_SCHEDULE_H */
