/*
 * Monotonic time in nanoseconds and sleeping until an absolute deadline.
 */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "llmbench/clock.h"

uint64_t llmb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * LLMB_NS_PER_S + (uint64_t)ts.tv_nsec;
}

llmb_status llmb_sleep_until_ns(uint64_t deadline_ns)
{
    struct timespec ts;
    int rc;
    ts.tv_sec = (time_t)(deadline_ns / LLMB_NS_PER_S);
    ts.tv_nsec = (long)(deadline_ns % LLMB_NS_PER_S);
    rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    if (rc == EINTR)
        return LLMB_ERR_STOPPED;
    return rc == 0 ? LLMB_OK : LLMB_ERR_SYSTEM;
}

uint64_t llmb_s_to_ns(double seconds)
{
    /* 1.8e10 s is about 584 years: the largest span a uint64_t of ns holds. */
    if (!(seconds > 0.0))
        return 0;
    if (seconds >= 1.8e10)
        return UINT64_MAX;
    return (uint64_t)llround(seconds * 1e9);
}
