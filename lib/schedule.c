/*
 * Schedules: when each request is due.
 */
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include "llmbench/clock.h"
#include "schedule.h"

static llmb_status make(llmb_schedule_kind kind, double seconds, const char *what,
                        llmb_schedule **out, llmb_error *err)
{
    llmb_schedule *s;
    *out = NULL;
    /* An hour between requests is already more than any run wants; larger
     * values are almost certainly a unit mistake (ms given as s). */
    if (!isfinite(seconds) || seconds < 0.0 || seconds > 3600.0) {
        llmbi_error_set(err, "%s must be a number of seconds from 0 to 3600, not %g", what,
                        seconds);
        return LLMB_ERR_INVALID;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    s->kind = kind;
    s->seconds = seconds;
    *out = s;
    return LLMB_OK;
}

llmb_status llmb_schedule_sequential(double delay_s, llmb_schedule **out, llmb_error *err)
{
    return make(LLMB_SCHEDULE_SEQUENTIAL, delay_s, "the delay", out, err);
}

llmb_status llmb_schedule_interval(double interval_s, llmb_schedule **out, llmb_error *err)
{
    return make(LLMB_SCHEDULE_INTERVAL, interval_s, "the interval", out, err);
}

void llmb_schedule_free(llmb_schedule *s)
{
    free(s);
}

llmb_schedule_kind llmb_schedule_get_kind(const llmb_schedule *s)
{
    return s->kind;
}

const char *llmb_schedule_name(const llmb_schedule *s)
{
    return s->kind == LLMB_SCHEDULE_SEQUENTIAL ? "sequential" : "concurrent";
}

double llmb_schedule_seconds(const llmb_schedule *s)
{
    return s->seconds;
}

uint64_t llmbi_schedule_next_ns(const llmb_schedule *s, const llmbi_sched_state *st)
{
    switch (s->kind) {
    case LLMB_SCHEDULE_SEQUENTIAL:
        if (st->sent == 0)
            return 0;
        if (st->in_flight > 0)
            return LLMBI_SCHED_WAIT;
        return st->last_end_ns + llmb_s_to_ns(s->seconds);
    case LLMB_SCHEDULE_INTERVAL:
        /* i * interval computed afresh for each i: no drift from summing. */
        return llmb_s_to_ns((double)st->sent * s->seconds);
    }
    return LLMBI_SCHED_WAIT;
}
