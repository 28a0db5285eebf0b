/*
 * Integration test harness.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "llmbench/clock.h"

extern char **environ;

void harness_enter_tmpdir(char *path, size_t size)
{
    snprintf(path, size, "/tmp/llmb_it_XXXXXX");
    assert_non_null(mkdtemp(path));
    assert_int_equal(chdir(path), 0);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void harness_leave_tmpdir(const char *path)
{
    assert_int_equal(chdir("/"), 0);
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char test_dir[256];

/* Mocks started and not yet stopped: a test that fails between mock_start and
 * mock_stop leaves through cmocka's longjmp, and the teardown ends them. */
static pid_t live_mocks[16];

static void live_mock_forget(pid_t pid)
{
    for (size_t i = 0; i < sizeof live_mocks / sizeof live_mocks[0]; i++)
        if (live_mocks[i] == pid)
            live_mocks[i] = 0;
}

int harness_setup(void **state)
{
    (void)state;
    harness_enter_tmpdir(test_dir, sizeof test_dir);
    return 0;
}

int harness_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof live_mocks / sizeof live_mocks[0]; i++) {
        if (live_mocks[i] > 0) {
            kill(live_mocks[i], SIGKILL);
            waitpid(live_mocks[i], NULL, 0);
            live_mocks[i] = 0;
        }
    }
    harness_leave_tmpdir(test_dir);
    return 0;
}

const char *tool_path(const char *name)
{
    static char buf[4][1024];
    static int next;
    const char *dir = getenv("LLMB_TOOLS_DIR");
    char *out = buf[next++ % 4];
    if (!dir)
        fail_msg("LLMB_TOOLS_DIR is not set (run the tests through meson test)");
    snprintf(out, sizeof buf[0], "%s/%s", dir, name);
    return out;
}

char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    size_t n = 0, cap = 0;
    if (!fp)
        return NULL;
    for (;;) {
        size_t got;
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            data = realloc(data, cap);
            assert_non_null(data);
        }
        got = fread(data + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
    }
    fclose(fp);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

/* The open-file and file-size limits for the next spawned tool; 0 leaves them alone. */
static unsigned long next_nofile, next_fsize;

/* Spawns argv with stdout and stderr into files; returns the pid. */
static pid_t spawn(const char *const *env_extra, const char *const *argv, const char *out_path,
                   const char *err_path)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Whatever ends the test program (a crash, meson's timeout) ends its tools too. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(125);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int devnull = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || devnull < 0)
            _exit(127);
        dup2(devnull, 0);
        dup2(o, 1);
        dup2(e, 2);
        for (size_t i = 0; env_extra && env_extra[i]; i++)
            putenv((char *)env_extra[i]);
        if (next_nofile) {
            struct rlimit rl = {next_nofile, next_nofile};
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(126);
        }
        if (next_fsize) {
            struct rlimit rl = {next_fsize, next_fsize};
            /* An ignored signal stays ignored across exec. */
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(126);
        }
        execv(tool_path(argv[0]), (char *const *)argv);
        _exit(127);
    }
    return pid;
}

void run_tool(run_result *res, double limit_s, const char *const *env_extra,
              const char *const *argv)
{
    run_tool_signal(res, limit_s, env_extra, argv, 0, 0);
}

void run_tool_fsize(run_result *res, double limit_s, const char *const *env_extra,
                    const char *const *argv, unsigned long fsize)
{
    next_fsize = fsize;
    run_tool_signal(res, limit_s, env_extra, argv, 0, 0);
}

void run_tool_nofile(run_result *res, double limit_s, const char *const *env_extra,
                     const char *const *argv, unsigned long nofile)
{
    next_nofile = nofile;
    run_tool_signal(res, limit_s, env_extra, argv, 0, 0);
}

void run_tool_signal(run_result *res, double limit_s, const char *const *env_extra,
                     const char *const *argv, int sig, double after_s)
{
    static int counter;
    char out_path[64], err_path[64];
    uint64_t start = llmb_now_ns();
    uint64_t deadline = start + llmb_s_to_ns(limit_s);
    uint64_t signal_at = start + llmb_s_to_ns(after_s);
    int status = 0;
    pid_t pid;

    memset(res, 0, sizeof *res);
    snprintf(res->tool, sizeof res->tool, "%s", argv[0]);
    snprintf(out_path, sizeof out_path, ".run%d.out", counter);
    snprintf(err_path, sizeof err_path, ".run%d.err", counter++);
    pid = spawn(env_extra, argv, out_path, err_path);
    next_nofile = next_fsize = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        assert_true(w >= 0);
        if (w == pid)
            break;
        if (sig && llmb_now_ns() >= signal_at) {
            kill(pid, sig); /* our own child only */
            sig = 0;
        }
        if (llmb_now_ns() > deadline && !res->timed_out) {
            res->timed_out = 1;
            kill(pid, SIGKILL); /* our own child only */
        }
        usleep(2000);
    }
    res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    res->out = read_file(out_path, NULL);
    res->err = read_file(err_path, NULL);
    assert_non_null(res->out);
    assert_non_null(res->err);
    unlink(out_path);
    unlink(err_path);
    if (res->timed_out)
        fail_msg("%s did not finish within %.0f s; stderr: %s", argv[0], limit_s, res->err);
}

void expect_exit(const run_result *res, int code)
{
    if (res->exit_code != code)
        fail_msg("%s exited %d, expected %d; stderr: %s", res->tool, res->exit_code, code,
                 res->err);
}

void run_result_free(run_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

void mock_start(mock_proc *m, const char *const *extra_args)
{
    const char *argv[32];
    static int counter;
    char out_path[512];
    size_t n = 0;
    uint64_t deadline = llmb_now_ns() + 10 * LLMB_NS_PER_S;

    memset(m, 0, sizeof *m);
    argv[n++] = "llm-mock";
    argv[n++] = "--port";
    argv[n++] = "0";
    for (size_t i = 0; extra_args && extra_args[i]; i++) {
        assert_true(n < 30);
        argv[n++] = extra_args[i];
    }
    argv[n] = NULL;
    snprintf(out_path, sizeof out_path, ".mock%d.out", counter);
    snprintf(m->err_path, sizeof m->err_path, ".mock%d.err", counter++);
    m->pid = spawn(NULL, argv, out_path, m->err_path);
    for (size_t i = 0; i < sizeof live_mocks / sizeof live_mocks[0]; i++) {
        if (live_mocks[i] == 0) {
            live_mocks[i] = m->pid;
            break;
        }
    }
    while (m->port == 0) {
        char *text = read_file(out_path, NULL);
        const char *p = text ? strstr(text, "listening on http://127.0.0.1:") : NULL;
        if (p && strchr(p, '\n'))
            m->port = (unsigned)strtoul(p + strlen("listening on http://127.0.0.1:"), NULL, 10);
        free(text);
        if (m->port)
            break;
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
            char *err = read_file(m->err_path, NULL);
            live_mock_forget(m->pid);
            fail_msg("llm-mock exited at start: %s", err ? err : "");
        }
        if (llmb_now_ns() > deadline) {
            kill(m->pid, SIGKILL);
            waitpid(m->pid, NULL, 0);
            live_mock_forget(m->pid);
            fail_msg("llm-mock did not start within 10 s");
        }
        usleep(2000);
    }
    snprintf(m->base_url, sizeof m->base_url, "http://127.0.0.1:%u/v1", m->port);
}

int mock_stop(mock_proc *m)
{
    int status = 0;
    uint64_t deadline = llmb_now_ns() + 10 * LLMB_NS_PER_S;
    if (m->pid <= 0)
        return -1;
    kill(m->pid, SIGTERM);
    while (waitpid(m->pid, &status, WNOHANG) == 0) {
        if (llmb_now_ns() > deadline) {
            kill(m->pid, SIGKILL);
            waitpid(m->pid, &status, 0);
            break;
        }
        usleep(2000);
    }
    live_mock_forget(m->pid);
    m->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

llmb_table *load_results(const char *path)
{
    llmb_table *t = NULL;
    llmb_error e;
    if (llmb_table_read_file(path, &t, &e) != LLMB_OK)
        fail_msg("cannot read %s: %s", path, e.text);
    if (llmb_results_check(t, NULL, &e) != LLMB_OK)
        fail_msg("%s is not a results table: %s", path, e.text);
    return t;
}

double cell_num(const llmb_table *t, size_t row, const char *column)
{
    long col = llmb_table_find(t, column);
    double v;
    llmb_error e;
    if (col < 0)
        fail_msg("no column %s", column);
    if (llmb_table_number(t, row, (size_t)col, &v, &e) != LLMB_OK)
        fail_msg("%s", e.text);
    return v;
}

const char *cell_str(const llmb_table *t, size_t row, const char *column)
{
    long col = llmb_table_find(t, column);
    if (col < 0)
        fail_msg("no column %s", column);
    return llmb_table_cell(t, row, (size_t)col);
}
