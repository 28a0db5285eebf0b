/*
 * Schedules: when each request is due; the random generator behind the
 * Poisson and gamma arrivals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "llmbench/clock.h"
#include "schedule.h"

#define MAX_SECONDS     3600.0
#define MAX_RATE        1e6
#define MAX_CONCURRENCY 1000000u

/* ---- Random numbers: xoshiro256**, seeded by splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void llmbi_rng_seed(llmbi_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

uint64_t llmbi_rng_next(llmbi_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double llmbi_rng_uniform(llmbi_rng *r)
{
    /* 53 random bits, shifted half a step off 0 so that neither end occurs. */
    return ((double)(llmbi_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

double llmbi_rng_exponential(llmbi_rng *r)
{
    return -log(llmbi_rng_uniform(r));
}

static double normal(llmbi_rng *r)
{
    /* Box-Muller; one of the pair is enough here. */
    double u = llmbi_rng_uniform(r), v = llmbi_rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

double llmbi_rng_gamma(llmbi_rng *r, double k)
{
    double d, c;
    if (k < 1.0) {
        /* Gamma(k) = Gamma(k + 1) * U^(1/k) for shapes below one. */
        return llmbi_rng_gamma(r, k + 1.0) * pow(llmbi_rng_uniform(r), 1.0 / k);
    }
    /* Marsaglia and Tsang's squeeze method. */
    d = k - 1.0 / 3.0;
    c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = normal(r), v = 1.0 + c * x, u;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        u = llmbi_rng_uniform(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
            return d * v;
    }
}

/* ---- Arrivals ---- */

static uint64_t due_of(const llmbi_arrivals *a)
{
    const llmb_schedule *s = &a->s;
    if (s->kind == LLMB_SCHEDULE_INTERVAL)
        return llmb_s_to_ns((double)a->index * s->seconds);
    if (s->arrival == LLMB_ARRIVAL_CONSTANT)
        return llmb_s_to_ns((double)a->index / s->rate);
    return llmb_s_to_ns(a->t_s);
}

void llmbi_arrivals_init(llmbi_arrivals *a, const llmb_schedule *s)
{
    memset(a, 0, sizeof *a);
    a->s = *s;
    llmbi_rng_seed(&a->rng, s->seed);
    a->due_ns = due_of(a);
}

void llmbi_arrivals_advance(llmbi_arrivals *a)
{
    const llmb_schedule *s = &a->s;
    if (s->kind == LLMB_SCHEDULE_RATE) {
        /* Each gap is drawn in turn and added to an absolute time in
         * seconds: a double keeps sub-nanosecond precision for days. */
        if (s->arrival == LLMB_ARRIVAL_POISSON)
            a->t_s += llmbi_rng_exponential(&a->rng) / s->rate;
        else if (s->arrival == LLMB_ARRIVAL_GAMMA)
            a->t_s += llmbi_rng_gamma(&a->rng, s->burstiness) / (s->rate * s->burstiness);
    }
    a->index++;
    a->due_ns = due_of(a);
}

/* ---- Schedules ---- */

const char *llmb_arrival_name(llmb_arrival a)
{
    switch (a) {
    case LLMB_ARRIVAL_CONSTANT:
        return "constant";
    case LLMB_ARRIVAL_POISSON:
        return "poisson";
    case LLMB_ARRIVAL_GAMMA:
        return "gamma";
    }
    return "";
}

llmb_status llmb_arrival_from_name(const char *name, llmb_arrival *out)
{
    static const llmb_arrival all[] = {LLMB_ARRIVAL_CONSTANT, LLMB_ARRIVAL_POISSON,
                                       LLMB_ARRIVAL_GAMMA};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, llmb_arrival_name(all[i])) == 0) {
            *out = all[i];
            return LLMB_OK;
        }
    }
    return LLMB_ERR_INVALID;
}

static llmb_status make(const llmb_schedule *tmpl, llmb_schedule **out, llmb_error *err)
{
    llmb_schedule *s = malloc(sizeof *s);
    if (!s) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    *s = *tmpl;
    *out = s;
    return LLMB_OK;
}

static llmb_status seconds_schedule(llmb_schedule_kind kind, double seconds, const char *what,
                                    llmb_schedule **out, llmb_error *err)
{
    llmb_schedule s;
    *out = NULL;
    /* An hour between requests is already more than any run wants; larger
     * values are almost certainly a unit mistake (ms given as s). */
    if (!isfinite(seconds) || seconds < 0.0 || seconds > MAX_SECONDS) {
        llmbi_error_set(err, "%s must be a number of seconds from 0 to 3600, not %g", what,
                        seconds);
        return LLMB_ERR_INVALID;
    }
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.seconds = seconds;
    return make(&s, out, err);
}

llmb_status llmb_schedule_sequential(double delay_s, llmb_schedule **out, llmb_error *err)
{
    return seconds_schedule(LLMB_SCHEDULE_SEQUENTIAL, delay_s, "the delay", out, err);
}

llmb_status llmb_schedule_interval(double interval_s, llmb_schedule **out, llmb_error *err)
{
    return seconds_schedule(LLMB_SCHEDULE_INTERVAL, interval_s, "the interval", out, err);
}

llmb_status llmb_schedule_rate(double rate, llmb_arrival arrival, double burstiness, uint64_t seed,
                               llmb_schedule **out, llmb_error *err)
{
    llmb_schedule s;
    *out = NULL;
    if (!isfinite(rate) || rate <= 0.0 || rate > MAX_RATE) {
        llmbi_error_set(err, "the rate must be more than 0 and at most 1000000 requests/s, not %g",
                        rate);
        return LLMB_ERR_INVALID;
    }
    if ((unsigned)arrival > LLMB_ARRIVAL_GAMMA) {
        llmbi_error_set(err, "unknown arrival process");
        return LLMB_ERR_INVALID;
    }
    if (arrival == LLMB_ARRIVAL_GAMMA &&
        (!isfinite(burstiness) || burstiness <= 0.0 || burstiness > 1000.0)) {
        llmbi_error_set(err, "the burstiness must be more than 0 and at most 1000, not %g",
                        burstiness);
        return LLMB_ERR_INVALID;
    }
    memset(&s, 0, sizeof s);
    s.kind = LLMB_SCHEDULE_RATE;
    s.rate = rate;
    s.arrival = arrival;
    /* Poisson is gamma of shape 1; constant has no shape to speak of. */
    s.burstiness = arrival == LLMB_ARRIVAL_GAMMA ? burstiness : 1.0;
    s.seed = seed;
    return make(&s, out, err);
}

llmb_status llmb_schedule_concurrency(unsigned n, llmb_schedule **out, llmb_error *err)
{
    llmb_schedule s;
    *out = NULL;
    if (n < 1 || n > MAX_CONCURRENCY) {
        llmbi_error_set(err, "the concurrency must be from 1 to %u, not %u", MAX_CONCURRENCY, n);
        return LLMB_ERR_INVALID;
    }
    memset(&s, 0, sizeof s);
    s.kind = LLMB_SCHEDULE_CONCURRENCY;
    s.concurrency = n;
    return make(&s, out, err);
}

llmb_status llmb_schedule_set_max_concurrency(llmb_schedule *s, unsigned n, llmb_error *err)
{
    if (s->kind != LLMB_SCHEDULE_INTERVAL && s->kind != LLMB_SCHEDULE_RATE) {
        llmbi_error_set(err, "only an interval or rate schedule takes a concurrency cap");
        return LLMB_ERR_INVALID;
    }
    if (n > MAX_CONCURRENCY) {
        llmbi_error_set(err, "the concurrency cap must be at most %u, not %u", MAX_CONCURRENCY, n);
        return LLMB_ERR_INVALID;
    }
    s->max_concurrency = n;
    return LLMB_OK;
}

llmb_schedule *llmb_schedule_copy(const llmb_schedule *s)
{
    llmb_schedule *c = malloc(sizeof *c);
    if (c)
        *c = *s;
    return c;
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
    switch (s->kind) {
    case LLMB_SCHEDULE_SEQUENTIAL:
        return "sequential";
    case LLMB_SCHEDULE_INTERVAL:
        return "concurrent";
    case LLMB_SCHEDULE_RATE:
        return "rate";
    case LLMB_SCHEDULE_CONCURRENCY:
        return "concurrency";
    }
    return "";
}

double llmb_schedule_seconds(const llmb_schedule *s)
{
    return s->kind == LLMB_SCHEDULE_SEQUENTIAL || s->kind == LLMB_SCHEDULE_INTERVAL ? s->seconds
                                                                                    : 0.0;
}

double llmb_schedule_level(const llmb_schedule *s)
{
    switch (s->kind) {
    case LLMB_SCHEDULE_RATE:
        return s->rate;
    case LLMB_SCHEDULE_CONCURRENCY:
        return (double)s->concurrency;
    default:
        return s->seconds;
    }
}

double llmb_schedule_rate_value(const llmb_schedule *s)
{
    return s->kind == LLMB_SCHEDULE_RATE ? s->rate : 0.0;
}

llmb_arrival llmb_schedule_arrival(const llmb_schedule *s)
{
    return s->arrival;
}

double llmb_schedule_burstiness(const llmb_schedule *s)
{
    return s->burstiness;
}

uint64_t llmb_schedule_seed(const llmb_schedule *s)
{
    return s->seed;
}

unsigned llmb_schedule_concurrency_value(const llmb_schedule *s)
{
    return s->kind == LLMB_SCHEDULE_CONCURRENCY ? s->concurrency : 0;
}

unsigned llmb_schedule_max_concurrency(const llmb_schedule *s)
{
    return s->max_concurrency;
}
