/*
 * libllmbench: when requests are sent. A schedule is a description (kind and
 * parameters); the runner that uses it keeps the state of where it is.
 */
#ifndef LLMBENCH_SCHEDULE_H
#define LLMBENCH_SCHEDULE_H

#include <stddef.h>

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
    LLMB_SCHEDULE_INTERVAL        /**< request i starts at i * interval, whatever the others do */
} llmb_schedule_kind;

/**
 * Sequential: the first request starts at once; each next one starts
 * `delay_s` seconds after the previous one ended. delay_s >= 0 and finite.
 */
LLMB_API llmb_status llmb_schedule_sequential(double delay_s, llmb_schedule **out, llmb_error *err);
/**
 * Staggered concurrent: request i (from 0) is due at i * interval_s after the
 * run's start, all in flight together. interval_s >= 0 and finite.
 */
LLMB_API llmb_status llmb_schedule_interval(double interval_s, llmb_schedule **out,
                                            llmb_error *err);
/** Free; NULL does nothing. */
LLMB_API void llmb_schedule_free(llmb_schedule *s);

LLMB_API llmb_schedule_kind llmb_schedule_get_kind(const llmb_schedule *s);
/** "sequential" or "concurrent": the mode named in CSV rows and chart titles. */
LLMB_API const char *llmb_schedule_name(const llmb_schedule *s);
/** The schedule's parameter in seconds: delay_s or interval_s. */
LLMB_API double llmb_schedule_seconds(const llmb_schedule *s);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_SCHEDULE_H */
