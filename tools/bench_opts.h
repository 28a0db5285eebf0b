/*
 * Command-line options of llm-seq and llm-conc: parsing, checking, help, and
 * the schedule of each level (one, or one per value of a sweep).
 */
#ifndef LLMB_TOOLS_BENCH_OPTS_H
#define LLMB_TOOLS_BENCH_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/llmbench.h"

#include "bench_common.h"

#define BENCH_MAX_LEVELS 64

typedef enum bench_sweep { SWEEP_NONE = 0, SWEEP_RATE, SWEEP_CONCURRENCY } bench_sweep;

typedef struct bench_opts {
    const char *tool;
    tool_mode mode;
    /* Server. */
    const char *provider;
    const char *base_url;
    const char *model;
    const char *api;
    const char *api_key_env;
    const char *api_key_file;
    double timeout_s;
    double connect_timeout_s;
    double idle_timeout_s;
    uint64_t max_event_bytes;
    uint64_t retries;
    int allow_no_usage;
    int insecure;
    const char *transport; /* NULL: auto */
    /* Load. */
    uint64_t requests;
    int requests_given;
    uint64_t warmup;
    double duration_s;
    uint64_t threads;
    const char *prompt;
    uint64_t max_tokens;
    double seconds; /* --delay or --interval */
    int seconds_given;
    double rate;
    int rate_given;
    llmb_arrival arrival;
    int arrival_given;
    double burstiness;
    int burstiness_given;
    uint64_t seed;
    int seed_given;
    uint64_t concurrency;
    uint64_t max_concurrency;
    bench_sweep sweep;
    int two_sweeps; /* both sweep options were given */
    double levels[BENCH_MAX_LEVELS];
    size_t n_levels;
    /* Statistics. */
    llmb_metrics_options mopts;
    double percentiles[LLMB_MAX_PERCENTILES];
    /* Output. */
    const char *output;
    const char *summary;
    const char *trace;
    const char *sweep_output;
    int quiet;
    int verbose;
} bench_opts;

/** Defaults for the tool of this mode. */
void bench_opts_init(bench_opts *o, tool_mode mode);
/** Parse and check; -1 on a usage error (printed), 1 when --help or --version ran, 0 to run. */
int bench_parse(int argc, char **argv, bench_opts *o);
/** How many levels the run has: 1, or the number of sweep values. */
size_t bench_level_count(const bench_opts *o);
/** The schedule of level i (0-based). */
llmb_status bench_schedule(const bench_opts *o, size_t i, llmb_schedule **out, llmb_error *err);

#endif /* LLMB_TOOLS_BENCH_OPTS_H */
