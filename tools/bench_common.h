/*
 * The body shared by llm-seq and llm-conc: options, the run, per-request
 * lines, progress, the CSV, the summary and the exit status.
 */
#ifndef LLMB_TOOLS_BENCH_COMMON_H
#define LLMB_TOOLS_BENCH_COMMON_H

typedef enum tool_mode {
    TOOL_MODE_SEQUENTIAL, /* llm-seq: one request after another, a pause between */
    TOOL_MODE_CONCURRENT  /* llm-conc: requests started at a fixed interval */
} tool_mode;

/** The whole tool: returns the process exit status. */
int tool_bench_main(int argc, char **argv, tool_mode mode);

#endif /* LLMB_TOOLS_BENCH_COMMON_H */
