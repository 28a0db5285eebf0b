/*
 * Integration test harness: run the real tools as child processes, start and
 * stop llm-mock on a free loopback port, and read what they wrote.
 */
#ifndef LLMB_TEST_HARNESS_H
#define LLMB_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "llmbench/csv.h"

/** A process that ran: its exit status and what it printed. */
typedef struct run_result {
    char tool[32]; /* argv[0] */
    int exit_code; /* -1 if it was killed (by a signal or the time limit) */
    int timed_out;
    char *out; /* standard output, NUL-terminated, malloc'ed */
    char *err; /* standard error */
} run_result;

/** A running mock engine. */
typedef struct mock_proc {
    pid_t pid;
    unsigned port;
    char base_url[64];
    char err_path[512];
} mock_proc;

/** A fresh, empty working directory under /tmp (the harness chdirs into it). */
void harness_enter_tmpdir(char *path, size_t size);
/** Remove the directory made by harness_enter_tmpdir and everything in it. */
void harness_leave_tmpdir(const char *path);
/** cmocka setup and teardown: each test in a fresh temporary directory. */
int harness_setup(void **state);
int harness_teardown(void **state);

/** Path of a built tool ("llm-seq"), from LLMB_TOOLS_DIR. Static storage per call. */
const char *tool_path(const char *name);

/**
 * Run a tool with a NULL-terminated argv (argv[0] is the tool's name) in the
 * current directory, with `env_extra` ("NAME=value" strings, NULL-terminated,
 * may be NULL) added to the environment; kill it after `limit_s` seconds.
 */
void run_tool(run_result *res, double limit_s, const char *const *env_extra,
              const char *const *argv);
void run_result_free(run_result *res);
/** Fail the test, showing the tool's stderr, unless it exited with `code`. */
void expect_exit(const run_result *res, int code);
/** As run_tool, with the tool's file-size limit set to `fsize` bytes (SIGXFSZ ignored,
 *  so a write past it fails with EFBIG instead of killing the tool). */
void run_tool_fsize(run_result *res, double limit_s, const char *const *env_extra,
                    const char *const *argv, unsigned long fsize);
/** As run_tool, with the tool's open-file limit (soft and hard) set to `nofile`. */
void run_tool_nofile(run_result *res, double limit_s, const char *const *env_extra,
                     const char *const *argv, unsigned long nofile);
/** As run_tool, sending `sig` to the tool `after_s` seconds after it started. */
void run_tool_signal(run_result *res, double limit_s, const char *const *env_extra,
                     const char *const *argv, int sig, double after_s);

/**
 * Start llm-mock on port 0 with extra arguments (NULL-terminated, may be
 * NULL); waits for its "listening" line. Fails the test if it does not start.
 */
void mock_start(mock_proc *m, const char *const *extra_args);
/** Stop it with SIGTERM and reap it; returns its exit status. */
int mock_stop(mock_proc *m);

/** Read a whole file (NUL-terminated, malloc'ed); NULL if it cannot be read. */
char *read_file(const char *path, size_t *len);

/** Parse a results CSV, failing the test if it cannot be read or is not one. */
llmb_table *load_results(const char *path);
/** A results cell as a number (the test fails if it is not one). */
double cell_num(const llmb_table *t, size_t row, const char *column);
/** A results cell as text. */
const char *cell_str(const llmb_table *t, size_t row, const char *column);

#endif /* LLMB_TEST_HARNESS_H */
