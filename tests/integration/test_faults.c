/*
 * Integration: every fault a server under stress can show, from llm-mock,
 * through llm-seq and llm-conc: each faulted request is a failed row with its
 * class and message, the others succeed, the summary counts the failures by
 * class, and the exit status says some failed. Then the client-side failures
 * (refused, unresolvable, TLS), retries, lost writes, and secrets.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "../loopback.h"
#include "harness.h"

typedef struct fault_case {
    const char *kind;        /* llm-mock --fault */
    const char *tool_arg[3]; /* extra options for the tool, NULL-terminated */
    const char *error_class; /* expected in the CSV and the summary */
    const char *error_text;  /* a part of the expected message */
    int chunks;              /* content chunks a failed row keeps; -1: not checked */
} fault_case;

/* The mock sends 6 tokens per request; faults that strike mid-stream do so
 * after 3 (its default), and the client must keep those 3. */
static const fault_case cases[] = {
    {"status", {NULL}, "http", "HTTP 500: ", 0},
    {"429", {NULL}, "http", "HTTP 429: ", 0},
    {"reset", {NULL}, "reset", "", 3},
    {"stall", {"--idle-timeout", "0.4", NULL}, "timeout", "idle timeout", 3},
    {"stall", {"--timeout", "0.6", NULL}, "timeout", "imed out", 3},
    {"malformed", {NULL}, "protocol", "malformed event", 3},
    {"oversize", {"--max-event-bytes", "65536", NULL}, "protocol", "larger than 65536", 3},
    {"html", {NULL}, "protocol", "not an event stream (Content-Type: text/html", 0},
    {"no-done", {NULL}, "protocol", "without [DONE]", 6},
    {"no-usage", {NULL}, "protocol", "without usage", 6},
    {"error-event", {NULL}, "server", "error event: ", 3},
};

/* Both transports must see every fault the same way. */
static const char *const transports[] = {"builtin", "libcurl"};

/* Runs one tool against a mock that faults every second request. */
static void run_case(const fault_case *fc, const char *tool, const char *transport)
{
    const char *margs[] = {"--ttft-ms",     "10", "--itl-ms", "5", "--fault", fc->kind,
                           "--fault-every", "2",  NULL};
    const char *argv[32];
    size_t n = 0, failed = 0, ok = 0;
    mock_proc m;
    run_result res;
    llmb_table *t;
    json_t *j;

    mock_start(&m, margs);
    argv[n++] = tool;
    argv[n++] = "--base-url";
    argv[n++] = m.base_url;
    argv[n++] = "--requests";
    argv[n++] = "4";
    argv[n++] = "--max-tokens";
    argv[n++] = "6";
    argv[n++] = "--summary";
    argv[n++] = "s.json";
    argv[n++] = "--transport";
    argv[n++] = transport;
    if (strcmp(tool, "llm-seq") == 0) {
        argv[n++] = "--delay";
        argv[n++] = "0";
    } else {
        argv[n++] = "--interval";
        argv[n++] = "0.02";
    }
    for (size_t i = 0; fc->tool_arg[i]; i++)
        argv[n++] = fc->tool_arg[i];
    argv[n] = NULL;
    run_tool(&res, 60, NULL, argv);
    mock_stop(&m);

    if (res.exit_code != 1)
        fail_msg("%s (%s) with %s faults: exit %d (expected 1); stderr: %s", tool, transport,
                 fc->kind, res.exit_code, res.err);
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 4);
    for (size_t r = 0; r < 4; r++) {
        const char *cls = cell_str(t, r, "error_class");
        if (*cls == '\0') {
            ok++;
            assert_string_equal(cell_str(t, r, "error"), "");
            continue;
        }
        failed++;
        if (strcmp(cls, fc->error_class) != 0 || !strstr(cell_str(t, r, "error"), fc->error_text))
            fail_msg("%s (%s) with %s faults: row %zu is '%s: %s', expected '%s' with '%s'", tool,
                     transport, fc->kind, r + 1, cls, cell_str(t, r, "error"), fc->error_class,
                     fc->error_text);
        if (fc->chunks >= 0 && cell_num(t, r, "chunks") != fc->chunks)
            fail_msg("%s (%s) with %s faults: a failed row kept %g chunks, expected %d", tool,
                     transport, fc->kind, cell_num(t, r, "chunks"), fc->chunks);
        /* Rates describe whole generations: none for a failure. */
        assert_string_equal(cell_str(t, r, "tokens_per_s"), "");
        if (strcmp(fc->kind, "429") == 0)
            assert_true(cell_num(t, r, "retry_after_s") == 1);
    }
    assert_int_equal(failed, 2);
    assert_int_equal(ok, 2);
    llmb_table_free(t);

    j = json_load_file("s.json", 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "completed")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "failed_by_class"), fc->error_class)),
        2);
    /* Failures never reach the latencies: two samples, each a healthy one. */
    assert_true(json_real_value(json_object_get(j, "max_e2el_ms")) < 500);
    json_decref(j);
    assert_non_null(strstr(res.out, "Failed requests:                 2"));
    run_result_free(&res);
    unlink("results.csv");
    unlink("s.json");
}

static void test_faults_each_kind_sequential(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t k = 0; k < 2; k++)
            run_case(&cases[i], "llm-seq", transports[k]);
}

static void test_faults_each_kind_concurrent(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t k = 0; k < 2; k++)
            run_case(&cases[i], "llm-conc", transports[k]);
}

/* A client-side failure for every request of both tools, on both transports
 * when the URL is plain http:// (libcurl's alone for https://). */
static void expect_all_fail(const char *url, const char *error_class, const char *const *env)
{
    const char *tools[] = {"llm-seq", "llm-conc"};
    size_t runs = strncmp(url, "http:", 5) == 0 ? 4 : 2;
    for (size_t k = 0; k < runs; k++) {
        const char *tr = runs == 4 ? transports[k / 2] : "libcurl";
        const char *argv[] = {tools[k % 2], "--base-url", url,      "--model",
                              "m",          "--requests", "2",      "--connect-timeout",
                              "5",          "--summary",  "s.json", "--transport",
                              tr,           NULL};
        run_result res;
        llmb_table *t;
        json_t *j;
        run_tool(&res, 60, env, argv);
        if (res.exit_code != 1)
            fail_msg("%s %s (%s): exit %d, stderr %s", tools[k % 2], url, tr, res.exit_code,
                     res.err);
        t = load_results("results.csv");
        assert_int_equal(llmb_table_rows(t), 2);
        for (size_t r = 0; r < 2; r++) {
            if (strcmp(cell_str(t, r, "error_class"), error_class) != 0)
                fail_msg("%s %s (%s): class '%s' (%s), expected %s", tools[k % 2], url, tr,
                         cell_str(t, r, "error_class"), cell_str(t, r, "error"), error_class);
            assert_true(strlen(cell_str(t, r, "error")) > 0);
            assert_string_equal(cell_str(t, r, "status"), "");
        }
        llmb_table_free(t);
        j = json_load_file("s.json", 0, NULL);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(j, "failed_by_class"), error_class)),
            2);
        json_decref(j);
        run_result_free(&res);
    }
}

/* A server that answers every connection with plain HTTP at once and closes:
 * a TLS client reads that where a handshake should be. */
typedef struct plain_server {
    int fd;
    unsigned port;
    int stop;
    pthread_t th;
} plain_server;

static void *plain_main(void *arg)
{
    plain_server *p = arg;
    static const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    while (!p->stop) {
        struct pollfd pfd = {p->fd, POLLIN, 0};
        int c;
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        c = accept(p->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (write(c, reply, sizeof reply - 1) < 0) {
            /* the client left first */
        }
        close(c);
    }
    return NULL;
}

static void plain_up(plain_server *p)
{
    memset(p, 0, sizeof *p);
    p->fd = loopback_socket(16, &p->port);
    assert_int_equal(pthread_create(&p->th, NULL, plain_main, p), 0);
}

static void plain_down(plain_server *p)
{
    p->stop = 1;
    pthread_join(p->th, NULL);
    close(p->fd);
}

static void test_faults_client_side(void **state)
{
    /* The resolver is told to give up quickly, in case it has no server to ask. */
    const char *env[] = {"RES_OPTIONS=attempts:1 timeout:2", NULL};
    plain_server p;
    char tls_url[80];
    (void)state;
    /* Nothing listens on port 1. */
    expect_all_fail("http://127.0.0.1:1/v1", "connect", NULL);
    /* .invalid never resolves (RFC 6761). */
    expect_all_fail("http://no-such-host.invalid:8000/v1", "dns", env);
    /* TLS to a server that speaks plain HTTP: the handshake fails. */
    plain_up(&p);
    snprintf(tls_url, sizeof tls_url, "https://127.0.0.1:%u/v1", p.port);
    expect_all_fail(tls_url, "tls", NULL);
    plain_down(&p);
}

static void test_faults_retries(void **state)
{
    /* Every second request gets a 500; with --retries 1 each of those is
     * sent again (the mock's next request, which succeeds). Every attempt is
     * a row; the request's outcome is its last attempt's. */
    const char *margs[] = {"--ttft-ms",     "10", "--itl-ms", "5", "--fault", "status",
                           "--fault-every", "2",  NULL};
    mock_proc m;
    run_result res;
    llmb_table *t;
    json_t *j;
    size_t retried = 0, second_attempts = 0;
    (void)state;
    mock_start(&m, margs);
    {
        const char *argv[] = {"llm-seq", "--base-url", m.base_url,     "--requests", "2",
                              "--delay", "0",          "--max-tokens", "3",          "--retries",
                              "1",       "--summary",  "s.json",       NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 3);
    for (size_t r = 0; r < 3; r++) {
        if (cell_num(t, r, "attempt") == 2) {
            second_attempts++;
            assert_string_equal(cell_str(t, r, "error_class"), "");
            assert_true(cell_num(t, r, "request") == 2);
            /* Measured from the first attempt's due time: the wait includes
             * the failed try and the back-off (0.5 s). */
            assert_true(cell_num(t, r, "wait_ms") >= 500);
        } else if (*cell_str(t, r, "error_class")) {
            retried++;
            assert_true(cell_num(t, r, "request") == 2);
        }
    }
    assert_int_equal(retried, 1);
    assert_int_equal(second_attempts, 1);
    llmb_table_free(t);
    j = json_load_file("s.json", 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "completed")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "retried_attempts")), 1);
    /* Retries are not requests of their own. */
    assert_int_equal(json_integer_value(json_object_get(j, "sent")), 2);
    json_decref(j);
    assert_non_null(strstr(res.out, "[will retry]"));
    run_result_free(&res);
    {
        /* The chart shows each request once, as its last attempt ended. */
        const char *argv[] = {"llm-graph", "-o", "r.png", NULL};
        run_tool(&res, 30, NULL, argv);
        expect_exit(&res, 0);
        assert_non_null(strstr(res.out, "2 requests, 0 failed"));
        run_result_free(&res);
    }
}

static void test_faults_failed_warmup_counts(void **state)
{
    /* Request 2 of the mock fails: it is a warmup request here. It is left out
     * of the statistics, but the run did not go well, and says so. */
    const char *margs[] = {"--ttft-ms",     "5", "--itl-ms", "1", "--fault", "status",
                           "--fault-every", "2", NULL};
    mock_proc m;
    run_result res;
    json_t *j;
    (void)state;
    mock_start(&m, margs);
    {
        const char *argv[] = {"llm-seq",    "--base-url", m.base_url, "--warmup", "2",
                              "--requests", "1",          "--delay",  "0",        "--max-tokens",
                              "2",          "--summary",  "s.json",   NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 1);
    assert_non_null(strstr(res.out, "Warmup requests:                 2 (1 failed"));
    j = json_load_file("s.json", 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "warmup_failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "completed")), 1);
    json_decref(j);
    run_result_free(&res);
}

static void test_faults_write_error_reported(void **state)
{
    /* The results file may grow to 1,200 bytes: the header and a few rows fit,
     * then writes fail. The run goes on, the error is said once, and the exit
     * status is not success. */
    const char *margs[] = {"--ttft-ms", "5", "--itl-ms", "1", NULL};
    mock_proc m;
    run_result res;
    (void)state;
    mock_start(&m, margs);
    {
        const char *argv[] = {"llm-conc",     "--base-url", m.base_url, "--requests", "20",
                              "--max-tokens", "2",          "--quiet",  NULL};
        run_tool_fsize(&res, 60, NULL, argv, 1200);
    }
    mock_stop(&m);
    expect_exit(&res, 1);
    assert_non_null(strstr(res.err, "cannot write results.csv: File too large"));
    run_result_free(&res);
    {
        /* A summary that cannot be written at the end is an error too. */
        const char *argv[] = {"llm-seq", "--base-url", "http://127.0.0.1:1/v1",
                              "--model", "m",          "--requests",
                              "1",       "--summary",  "/dev/full",
                              NULL};
        run_tool(&res, 30, NULL, argv);
        expect_exit(&res, 1);
        assert_non_null(strstr(res.err, "/dev/full"));
        run_result_free(&res);
    }
}

static void test_faults_api_key_never_shown(void **state)
{
    /* A canary key, through every tool, failing requests, verbose output and
     * error bodies: it must appear nowhere. */
    static const char canary[] = "sk-canary-31d5e7a9b4";
    const char *env[] = {"LLMB_CANARY=sk-canary-31d5e7a9b4", "OPENAI_API_KEY=sk-canary-31d5e7a9b4",
                         NULL};
    const char *margs[] = {"--ttft-ms",     "5", "--itl-ms", "1", "--fault", "status",
                           "--fault-every", "2", NULL};
    const char *files[] = {"results.csv", "s.json", "t.jsonl", "sweep.csv"};
    mock_proc m;
    run_result res[6];
    size_t nres = 0;
    (void)state;
    {
        FILE *fp = fopen("key.txt", "w");
        fprintf(fp, "%s\n", canary);
        fclose(fp);
    }
    mock_start(&m, margs);
    {
        const char *argv[] = {"llm-conc", "--provider", "openai",    "--base-url",
                              m.base_url, "--model",    "m",         "--sweep-concurrency",
                              "1,2",      "--requests", "4",         "--max-tokens",
                              "3",        "--verbose",  "--summary", "s.json",
                              "--trace",  "t.jsonl",    NULL};
        run_tool(&res[nres++], 60, env, argv);
    }
    {
        const char *argv[] = {"llm-seq",  "--base-url",   m.base_url, "--api-key-file",
                              "key.txt",  "--requests",   "3",        "--delay",
                              "0",        "--max-tokens", "3",        "--verbose",
                              "--output", "seq.csv",      NULL};
        run_tool(&res[nres++], 60, env, argv);
    }
    mock_stop(&m);
    {
        const char *argv[] = {"llm-seq", "--base-url",    "http://127.0.0.1:1/v1", "--model",
                              "m",       "--api-key-env", "LLMB_CANARY",           "--requests",
                              "1",       "--output",      "refused.csv",           NULL};
        run_tool(&res[nres++], 60, env, argv);
    }
    {
        const char *argv[] = {"llm-graph", "seq.csv", "-o", "g.png", NULL};
        run_tool(&res[nres++], 60, env, argv);
    }
    {
        const char *argv[] = {"llm-mock", "--help", NULL};
        run_tool(&res[nres++], 60, env, argv);
    }
    for (size_t i = 0; i < nres; i++) {
        if (strstr(res[i].out, canary) || strstr(res[i].err, canary))
            fail_msg("the API key appears in the output of run %zu", i);
        run_result_free(&res[i]);
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *data = read_file(files[i], NULL);
        if (!data)
            fail_msg("%s was not written", files[i]);
        if (strstr(data, canary))
            fail_msg("the API key appears in %s", files[i]);
        free(data);
    }
    {
        /* The mock's log of requests is not kept, but the PNG and CSVs are. */
        const char *more[] = {"seq.csv", "refused.csv", "g.png"};
        for (size_t i = 0; i < 3; i++) {
            size_t len;
            char *data = read_file(more[i], &len);
            assert_non_null(data);
            assert_null(memmem(data, len, canary, sizeof canary - 1));
            free(data);
        }
    }
}

static void test_faults_bad_values_refused(void **state)
{
    static const struct {
        const char *tool, *opt, *value, *message;
    } bad[] = {
        {"llm-conc", "--rate", "0", "--rate"},
        {"llm-conc", "--rate", "-5", "--rate"},
        {"llm-conc", "--concurrency", "0", "--concurrency"},
        {"llm-conc", "--threads", "0", "--threads"},
        {"llm-conc", "--percentiles", "50,100", "--percentiles"},
        {"llm-conc", "--slo", "ttft=5", "--slo"},
        {"llm-conc", "--arrival", "uniform", "--arrival"},
        {"llm-conc", "--sweep-rate", "1,x", "--sweep-rate"},
        {"llm-seq", "--idle-timeout", "0", "--idle-timeout"},
        {"llm-seq", "--max-event-bytes", "10", "--max-event-bytes"},
        {"llm-seq", "--retries", "-1", "--retries"},
        {"llm-seq", "--warmup", "x", "--warmup"},
        {"llm-seq", "--duration", "-1", "--duration"},
        {"llm-seq", "--base-url", "http://h:99999/v1", "port"},
        {"llm-seq", "--api-key-file", "/nonexistent/key", "/nonexistent/key"},
        {"llm-seq", "--transport", "curl", "--transport"},
        {"llm-mock", "--fault", "explode", "--fault"},
        {"llm-mock", "--slots", "-2", "--slots"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[] = {bad[i].tool, bad[i].opt, bad[i].value, NULL};
        run_result res;
        run_tool(&res, 30, NULL, argv);
        if (res.exit_code != 2 || !strstr(res.err, bad[i].message))
            fail_msg("%s %s %s: exit %d, stderr '%s'", bad[i].tool, bad[i].opt, bad[i].value,
                     res.exit_code, res.err);
        run_result_free(&res);
    }
    {
        /* Options that do not go together. */
        const char *pairs[][5] = {
            {"llm-conc", "--rate", "5", "--concurrency", "3"},
            {"llm-conc", "--sweep-rate", "1,2", "--sweep-concurrency", "1,2"},
            {"llm-conc", "--quiet", "--verbose", NULL, NULL},
            {"llm-conc", "--arrival", "gamma", NULL, NULL},
            {"llm-seq", "--transport", "builtin", "--base-url", "https://127.0.0.1:9/v1"},
        };
        for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
            const char *argv[6] = {pairs[i][0], pairs[i][1], pairs[i][2],
                                   pairs[i][3], pairs[i][4], NULL};
            run_result res;
            run_tool(&res, 30, NULL, argv);
            if (res.exit_code != 2)
                fail_msg("%s %s %s: exit %d", argv[0], argv[1], argv[2], res.exit_code);
            run_result_free(&res);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_faults_each_kind_sequential, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_faults_each_kind_concurrent, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_faults_client_side, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_faults_retries, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_faults_failed_warmup_counts, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_faults_write_error_reported, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_faults_api_key_never_shown, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_faults_bad_values_refused, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
