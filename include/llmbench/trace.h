/*
 * libllmbench: per-chunk traces. A trace is a JSON-lines file: for each run,
 * one line with the run's CLOCK_MONOTONIC origin and settings, then one line
 * per finished request with the arrival of every content chunk, all times in
 * nanoseconds from that origin, so that they can be matched with a server's
 * own log on the same machine (by X-Request-Id, and by time).
 */
#ifndef LLMBENCH_TRACE_H
#define LLMBENCH_TRACE_H

#include <stdint.h>

#include "llmbench/common.h"
#include "llmbench/metrics.h"
#include "llmbench/record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmb_trace llmb_trace;

/** Create (or replace) a trace file at `path`; "-" is standard output. */
LLMB_API llmb_status llmb_trace_open(const char *path, llmb_trace **out, llmb_error *err);
/**
 * Start a run in the trace: the line {"origin_ns": N, "run_id": ..., settings}.
 * `origin_ns` is llmb_runner_origin_ns() (absolute CLOCK_MONOTONIC).
 */
LLMB_API llmb_status llmb_trace_begin(llmb_trace *t, uint64_t origin_ns, const char *run_id,
                                      const llmb_run_info *info, llmb_error *err);
/**
 * One finished request (its chunk_ns must be kept: run with keep_chunk_times).
 * The line is flushed at once.
 */
LLMB_API llmb_status llmb_trace_write(llmb_trace *t, const llmb_record *rec, llmb_error *err);
/** Close and free (NULL does nothing); reports a write error seen at any point. */
LLMB_API llmb_status llmb_trace_close(llmb_trace *t, llmb_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_TRACE_H */
