/*
 * Schedule internals: the runner asks when the next request is due.
 */
#ifndef LLMB_SCHEDULE_INTERNAL_H
#define LLMB_SCHEDULE_INTERNAL_H

#include <stdint.h>

#include "llmbench/schedule.h"

struct llmb_schedule {
    llmb_schedule_kind kind;
    double seconds;
};

/** What the schedule may look at: the run so far, times relative to its origin. */
typedef struct llmbi_sched_state {
    uint64_t sent;        /* requests sent so far */
    uint64_t in_flight;   /* sent and not finished */
    uint64_t last_end_ns; /* end of the most recently finished request */
} llmbi_sched_state;

/** "Not until a request finishes". */
#define LLMBI_SCHED_WAIT UINT64_MAX

/**
 * When request number st->sent (0-based) is due, in ns from the origin; an
 * absolute time, so lateness in sending one never shifts the next.
 */
uint64_t llmbi_schedule_next_ns(const llmb_schedule *s, const llmbi_sched_state *st);

#endif /* LLMB_SCHEDULE_INTERNAL_H */
