/*
 * Schedule internals: a seeded random generator, and the arrival sequence
 * the runner's workers walk.
 */
#ifndef LLMB_SCHEDULE_INTERNAL_H
#define LLMB_SCHEDULE_INTERNAL_H

#include <stdint.h>

#include "llmbench/schedule.h"

struct llmb_schedule {
    llmb_schedule_kind kind;
    double seconds; /* delay or interval */
    double rate;
    llmb_arrival arrival;
    double burstiness;
    uint64_t seed;
    unsigned concurrency;
    unsigned max_concurrency;
};

/** xoshiro256** state, seeded through splitmix64. */
typedef struct llmbi_rng {
    uint64_t s[4];
} llmbi_rng;

void llmbi_rng_seed(llmbi_rng *r, uint64_t seed);
uint64_t llmbi_rng_next(llmbi_rng *r);
/** Uniform in the open interval (0, 1). */
double llmbi_rng_uniform(llmbi_rng *r);
/** Exponential with mean 1. */
double llmbi_rng_exponential(llmbi_rng *r);
/** Gamma with shape k > 0 and scale 1 (mean k). */
double llmbi_rng_gamma(llmbi_rng *r, double k);

/**
 * The due times of an interval or rate schedule, in order: arrival number
 * `index` (from 0) is due `due_ns` after the origin.
 */
typedef struct llmbi_arrivals {
    llmb_schedule s;
    llmbi_rng rng;
    uint64_t index;
    double t_s; /* due time of `index`, for the random kinds */
    uint64_t due_ns;
} llmbi_arrivals;

void llmbi_arrivals_init(llmbi_arrivals *a, const llmb_schedule *s);
/** Move to the next arrival. */
void llmbi_arrivals_advance(llmbi_arrivals *a);

#endif /* LLMB_SCHEDULE_INTERNAL_H */
