/*
 * libllmbench: time. Every duration and instant in the library is a uint64_t
 * count of nanoseconds of CLOCK_MONOTONIC, with the unit in the name.
 */
#ifndef LLMBENCH_CLOCK_H
#define LLMBENCH_CLOCK_H

#include <stdint.h>

#include "llmbench/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LLMB_NS_PER_MS 1000000ULL
#define LLMB_NS_PER_S  1000000000ULL

/** Now, in nanoseconds of CLOCK_MONOTONIC. */
LLMB_API uint64_t llmb_now_ns(void);

/**
 * Sleep until CLOCK_MONOTONIC reaches `deadline_ns` (an absolute time, so that
 * repeated sleeps never accumulate drift). Returns at once if it has passed.
 * Returns LLMB_ERR_STOPPED if a signal handler interrupted the sleep.
 */
LLMB_API llmb_status llmb_sleep_until_ns(uint64_t deadline_ns);

/** Seconds (finite, >= 0, at most about 584 years) to nanoseconds, rounded. */
LLMB_API uint64_t llmb_s_to_ns(double seconds);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_CLOCK_H */
