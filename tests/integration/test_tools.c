/*
 * Integration: the real tools against llm-mock over loopback.
 */
#include <math.h>
#include <png.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "llmbench/mock.h"
#include "llmbench/runner.h"

/* The mock's timing in these tests, and how far a measurement may stray from
 * it on a loaded 2-core CI machine while still catching a real error (a
 * client that took the role chunk as the first token would be ~40 ms off; one
 * that measured from the wrong instant, a whole gap or more). */
#define TTFT_MS       40.0
#define ITL_MS        8.0
#define TTFT_SLACK_MS 15.0
#define ITL_SLACK_MS  2.0

static void expect_usage_error(const char *const *argv, const char *message);

static const char *const timing_args[] = {"--ttft-ms", "40", "--itl-ms", "8", NULL};

static uint64_t expected_prompt_tokens(void)
{
    return llmb_mock_prompt_tokens(LLMB_DEFAULT_PROMPT, strlen(LLMB_DEFAULT_PROMPT));
}

/* Every row: exact counts from usage, TTFT and gaps close to the mock's. */
static void check_rows(const llmb_table *t, size_t rows, double max_tokens)
{
    assert_int_equal(llmb_table_rows(t), rows);
    for (size_t r = 0; r < rows; r++) {
        double ttft = cell_num(t, r, "ttft_ms");
        double itl = cell_num(t, r, "itl_mean_ms");
        double taken = cell_num(t, r, "time_taken_s");
        double gen = cell_num(t, r, "generated_tokens");
        assert_true(cell_num(t, r, "request") == (double)(r + 1) || rows > 1);
        assert_string_equal(cell_str(t, r, "error"), "");
        assert_string_equal(cell_str(t, r, "error_class"), "");
        assert_string_equal(cell_str(t, r, "token_source"), "usage");
        assert_true(cell_num(t, r, "status") == 200);
        assert_true(cell_num(t, r, "prompt_tokens") == (double)expected_prompt_tokens());
        assert_true(gen == max_tokens);
        assert_true(cell_num(t, r, "chunks") == max_tokens);
        if (ttft < TTFT_MS - 0.5 || ttft > TTFT_MS + TTFT_SLACK_MS)
            fail_msg("row %zu: TTFT %.3f ms, the mock's is %.0f ms", r + 1, ttft, TTFT_MS);
        if (fabs(itl - ITL_MS) > ITL_SLACK_MS)
            fail_msg("row %zu: mean ITL %.3f ms, the mock's is %.0f ms", r + 1, itl, ITL_MS);
        /* tokens/s is generated / time taken, as the original scripts had it. */
        assert_true(fabs(cell_num(t, r, "tokens_per_s") - gen / taken) < 0.01);
        assert_true(fabs(cell_num(t, r, "e2e_ms") - taken * 1000.0) < 0.01);
        /* TPOT = (E2E - TTFT) / (generated - 1). */
        assert_true(
            fabs(cell_num(t, r, "tpot_ms") - (cell_num(t, r, "e2e_ms") - ttft) / (gen - 1)) < 0.01);
    }
}

/* The summary JSON agrees with the CSV it summarises. */
static void check_summary(const char *path, const llmb_table *t, const char *tool)
{
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    size_t rows = llmb_table_rows(t);
    double sum_out = 0, sum_in = 0, sum_ttft = 0, sum_e2e = 0, end = 0;

    if (!s)
        fail_msg("summary %s: %s", path, je.text);
    for (size_t r = 0; r < rows; r++) {
        sum_out += cell_num(t, r, "generated_tokens");
        sum_in += cell_num(t, r, "prompt_tokens");
        sum_ttft += cell_num(t, r, "ttft_ms");
        sum_e2e += cell_num(t, r, "e2e_ms");
        end = fmax(end, cell_num(t, r, "start_s") + cell_num(t, r, "time_taken_s"));
    }
    assert_string_equal(json_string_value(json_object_get(s, "tool")), tool);
    assert_string_equal(json_string_value(json_object_get(s, "model_id")), "mock-model");
    assert_string_equal(json_string_value(json_object_get(s, "backend")), "mock");
    assert_int_equal(json_integer_value(json_object_get(s, "completed")), rows);
    assert_int_equal(json_integer_value(json_object_get(s, "failed")), 0);
    assert_true(json_integer_value(json_object_get(s, "total_output_tokens")) == sum_out);
    assert_true(json_integer_value(json_object_get(s, "total_input_tokens")) == sum_in);
    assert_true(fabs(json_real_value(json_object_get(s, "mean_ttft_ms")) - sum_ttft / rows) <
                0.001);
    assert_true(fabs(json_real_value(json_object_get(s, "mean_e2el_ms")) - sum_e2e / rows) < 0.001);
    assert_true(fabs(json_real_value(json_object_get(s, "duration")) - end) < 0.0001);
    assert_true(fabs(json_real_value(json_object_get(s, "output_throughput")) - sum_out / end) <
                0.01);
    assert_true(fabs(json_real_value(json_object_get(s, "mean_itl_ms")) - ITL_MS) < ITL_SLACK_MS);
    json_decref(s);
}

static void test_tools_seq_against_mock(void **state)
{
    mock_proc m;
    run_result res;
    llmb_table *t;
    (void)state;
    mock_start(&m, timing_args);
    {
        const char *argv[] = {"llm-seq", "--base-url", m.base_url, "--requests",
                              "3",       "--delay",    "0.2",      "--max-tokens",
                              "16",      "--summary",  "s.json",   NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    /* One line per request, printed as it finished, then the summary. */
    assert_non_null(strstr(res.out, "request 1/3: "));
    assert_non_null(strstr(res.out, "request 3/3: "));
    assert_non_null(strstr(res.out, "TTFT"));
    assert_non_null(strstr(res.out, "Successful requests:"));
    t = load_results("results.csv");
    check_rows(t, 3, 16);
    /* Sequential: each starts only after the previous ended plus the pause. */
    for (size_t r = 1; r < 3; r++) {
        double prev_end = cell_num(t, r - 1, "start_s") + cell_num(t, r - 1, "time_taken_s");
        double start = cell_num(t, r, "start_s");
        if (start < prev_end + 0.2 || start > prev_end + 0.2 + 0.05)
            fail_msg("request %zu started %.4f s after the previous ended", r + 1,
                     start - prev_end);
        assert_string_equal(cell_str(t, r, "schedule"), "sequential");
        assert_string_equal(cell_str(t, r, "provider"), "mock");
        assert_string_equal(cell_str(t, r, "model"), "mock-model");
    }
    check_summary("s.json", t, "llm-seq");
    llmb_table_free(t);
    run_result_free(&res);
}

static void test_tools_conc_against_mock(void **state)
{
    mock_proc m;
    run_result res;
    llmb_table *t;
    (void)state;
    mock_start(&m, timing_args);
    {
        const char *argv[] = {"llm-conc",   "--base-url", m.base_url,     "--requests", "8",
                              "--interval", "0.02",       "--max-tokens", "20",         "--summary",
                              "s.json",     "--output",   "conc.csv",     NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    t = load_results("conc.csv");
    check_rows(t, 8, 20);
    for (size_t r = 0; r < 8; r++) {
        /* Rows come in completion order; the request number says which. */
        double n = cell_num(t, r, "request");
        double intended = cell_num(t, r, "intended_s");
        double start = cell_num(t, r, "start_s");
        assert_true(fabs(intended - (n - 1) * 0.02) < 1e-6);
        if (start < intended || start > intended + 0.01)
            fail_msg("request %.0f due at %.4f s was sent at %.4f s", n, intended, start);
        assert_string_equal(cell_str(t, r, "schedule"), "concurrent");
    }
    /* All in flight together: the last started before the first finished
     * (20 tokens at 8 ms take about 200 ms; the last starts at 140 ms). */
    {
        double first_end = 1e9, last_start = 0;
        for (size_t r = 0; r < 8; r++) {
            first_end = fmin(first_end, cell_num(t, r, "start_s") + cell_num(t, r, "time_taken_s"));
            last_start = fmax(last_start, cell_num(t, r, "start_s"));
        }
        assert_true(last_start < first_end);
    }
    check_summary("s.json", t, "llm-conc");
    llmb_table_free(t);
    run_result_free(&res);
}

static void png_size(const char *path, unsigned *w, unsigned *h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        fail_msg("%s is not a readable PNG: %s", path, img.message);
    *w = img.width;
    *h = img.height;
    png_image_free(&img);
}

static void test_tools_graph_from_run(void **state)
{
    mock_proc m;
    run_result res;
    unsigned w, h;
    (void)state;
    mock_start(&m, timing_args);
    {
        const char *argv[] = {"llm-conc",     "--base-url", m.base_url, "--requests", "4",
                              "--max-tokens", "8",          "--quiet",  NULL};
        run_tool(&res, 60, NULL, argv);
        expect_exit(&res, 0);
        run_result_free(&res);
    }
    mock_stop(&m);
    {
        /* The default: results.csv in, images/<title>.png out. */
        const char *argv[] = {"llm-graph", NULL};
        run_tool(&res, 60, NULL, argv);
        expect_exit(&res, 0);
        png_size("images/mock-model (Concurrent) (mock).png", &w, &h);
        assert_int_equal(w, 1000);
        assert_int_equal(h, 600);
        run_result_free(&res);
    }
    {
        const char *argv[] = {"llm-graph", "results.csv", "-o",      "small.png", "--width", "640",
                              "--height",  "480",         "--title", "My run",    NULL};
        run_tool(&res, 60, NULL, argv);
        expect_exit(&res, 0);
        png_size("small.png", &w, &h);
        assert_int_equal(w, 640);
        assert_int_equal(h, 480);
        run_result_free(&res);
    }
}

static void test_tools_graph_rejects_bad_csv(void **state)
{
    run_result res;
    FILE *fp = fopen("bad.csv", "w");
    (void)state;
    fputs("request,time_taken_s,prompt_tokens,generated_tokens,tokens_per_s\n"
          "1,1.5,11,100,66.7\n"
          "2,1.4,11,100,fast\n",
          fp);
    fclose(fp);
    {
        const char *argv[] = {"llm-graph", "bad.csv", "-o", "bad.png", NULL};
        run_tool(&res, 30, NULL, argv);
    }
    expect_exit(&res, 1);
    assert_non_null(strstr(res.err, "line 3, column 14"));
    assert_non_null(strstr(res.err, "tokens_per_s"));
    assert_int_equal(access("bad.png", F_OK), -1);
    run_result_free(&res);

    fp = fopen("trunc.csv", "w");
    fputs("request,time_taken_s,prompt_tokens,generated_tokens,tokens_per_s\n1,1.5,11\n", fp);
    fclose(fp);
    {
        const char *argv[] = {"llm-graph", "trunc.csv", "-o", "t.png", NULL};
        run_tool(&res, 30, NULL, argv);
    }
    expect_exit(&res, 1);
    assert_non_null(strstr(res.err, "line 2"));
    assert_non_null(strstr(res.err, "truncated"));
    run_result_free(&res);
    {
        const char *argv[] = {"llm-graph", "missing.csv", NULL};
        run_tool(&res, 30, NULL, argv);
    }
    expect_exit(&res, 1);
    assert_non_null(strstr(res.err, "missing.csv"));
    run_result_free(&res);
    {
        /* "-" reads standard input, here empty. */
        const char *argv[] = {"llm-graph", "-", "-o", "stdin.png", NULL};
        run_tool(&res, 30, NULL, argv);
    }
    expect_exit(&res, 1);
    assert_non_null(strstr(res.err, "empty"));
    assert_int_equal(access("stdin.png", F_OK), -1);
    run_result_free(&res);
}

static void test_tools_graph_orders_bars_and_refuses_duplicates(void **state)
{
    run_result res;
    FILE *fp = fopen("dup.csv", "w");
    (void)state;
    fputs("request,time_taken_s,prompt_tokens,generated_tokens,tokens_per_s\n"
          "2,1,1,1,20\n1,1,1,1,10\n2,1,1,1,30\n",
          fp);
    fclose(fp);
    {
        const char *argv[] = {"llm-graph", "dup.csv", "-o", "dup.png", NULL};
        run_tool(&res, 30, NULL, argv);
    }
    expect_exit(&res, 1);
    assert_non_null(strstr(res.err, "request 2 appears twice (lines 2 and 4)"));
    assert_int_equal(access("dup.png", F_OK), -1);
    run_result_free(&res);
}

static void test_tools_summary_options(void **state)
{
    mock_proc m;
    run_result res;
    json_t *j;
    (void)state;
    {
        /* A summary that cannot be written is refused before any request. */
        const char *argv[] = {"llm-seq", "--base-url", "http://127.0.0.1:1/v1",   "--model",
                              "m",       "--summary",  "/nonexistent-dir/s.json", NULL};
        run_tool(&res, 30, NULL, argv);
        expect_exit(&res, 1);
        assert_non_null(strstr(res.err, "--summary: cannot create /nonexistent-dir/s.json"));
        assert_int_equal(access("results.csv", F_OK), -1);
        run_result_free(&res);
    }
    {
        const char *argv[] = {"llm-seq", "--output", "x.out", "--summary", "x.out", NULL};
        expect_usage_error(argv, "different files");
    }
    mock_start(&m, timing_args);
    {
        /* --summary - puts the JSON alone on standard output. */
        const char *argv[] = {"llm-conc",     "--base-url", m.base_url,  "--requests", "2",
                              "--max-tokens", "3",          "--summary", "-",          NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    j = json_loads(res.out, 0, NULL);
    if (!j)
        fail_msg("standard output is not the JSON summary: %s", res.out);
    assert_int_equal(json_integer_value(json_object_get(j, "completed")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "sent")), 2);
    assert_true(json_is_false(json_object_get(j, "stopped")));
    assert_non_null(strstr(res.err, "Successful requests:"));
    json_decref(j);
    run_result_free(&res);
}

static void stop_by_signal(int sig)
{
    /* Requests take 50 + 9 x 500 ms; the tool is interrupted at 0.8 s, when
     * three of six are in flight (sent at 0, 0.3 and 0.6 s). */
    const char *args[] = {"--ttft-ms", "50", "--itl-ms", "500", NULL};
    mock_proc m;
    run_result res;
    llmb_table *t;
    json_t *j;
    mock_start(&m, args);
    {
        const char *argv[] = {"llm-conc", "--base-url", m.base_url, "--requests",
                              "6",        "--interval", "0.3",      "--max-tokens",
                              "10",       "--summary",  "s.json",   NULL};
        run_tool_signal(&res, 30, NULL, argv, sig, 0.8);
    }
    mock_stop(&m);
    expect_exit(&res, 1);
    assert_non_null(strstr(res.err, "stopped by a signal"));
    assert_non_null(strstr(res.out, "3 of 6 requests were not sent"));
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 3);
    for (size_t r = 0; r < 3; r++) {
        assert_string_equal(cell_str(t, r, "error_class"), "cancelled");
        /* What each had received is kept: its first token, at least. */
        assert_true(cell_num(t, r, "chunks") >= 1);
        assert_true(cell_num(t, r, "status") == 200);
    }
    llmb_table_free(t);
    j = json_load_file("s.json", 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "stopped")));
    assert_int_equal(json_integer_value(json_object_get(j, "sent")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 3);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "failed_by_class"), "cancelled")), 3);
    json_decref(j);
    run_result_free(&res);
}

/* The most requests of a results table in flight at one instant. */
static size_t max_overlap(const llmb_table *t)
{
    size_t rows = llmb_table_rows(t), best = 0;
    for (size_t i = 0; i < rows; i++) {
        double at = cell_num(t, i, "start_s");
        size_t n = 0;
        for (size_t j = 0; j < rows; j++) {
            double s0 = cell_num(t, j, "start_s"), s1 = s0 + cell_num(t, j, "time_taken_s");
            if (s0 <= at && at < s1)
                n++;
        }
        if (n > best)
            best = n;
    }
    return best;
}

static json_t *load_json(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("%s: %s", path, je.text);
    return j;
}

static void test_tools_sigint_records_in_flight(void **state)
{
    (void)state;
    stop_by_signal(SIGINT);
}

static void test_tools_sigterm_records_in_flight(void **state)
{
    (void)state;
    stop_by_signal(SIGTERM);
}

static void test_tools_closed_loop_never_exceeds_n(void **state)
{
    mock_proc m;
    run_result res;
    llmb_table *t;
    json_t *j;
    (void)state;
    mock_start(&m, timing_args);
    {
        const char *argv[] = {"llm-conc", "--base-url", m.base_url, "--concurrency",
                              "3",        "--requests", "12",       "--max-tokens",
                              "5",        "--summary",  "s.json",   "--quiet",
                              NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 12);
    /* Exactly 3 in flight: never more, and 3 at some point. */
    assert_int_equal(max_overlap(t), 3);
    for (size_t r = 0; r < 12; r++) {
        assert_string_equal(cell_str(t, r, "schedule"), "concurrency");
        assert_true(cell_num(t, r, "level") == 3);
        /* A closed loop sends as soon as a slot frees: no wait beyond the client's own. */
        assert_true(cell_num(t, r, "wait_ms") < 5);
    }
    j = load_json("s.json");
    assert_int_equal(json_integer_value(json_object_get(j, "peak_in_flight")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "max_concurrency")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "completed")), 12);
    json_decref(j);
    llmb_table_free(t);
    run_result_free(&res);
}

static void test_tools_open_loop_cap_records_wait(void **state)
{
    /* Requests due every 10 ms, each taking about 72 ms (40 + 4 x 8), at most 2
     * in flight: the later ones wait, and the wait is recorded. */
    mock_proc m;
    run_result res;
    llmb_table *t;
    double most_wait = 0;
    (void)state;
    mock_start(&m, timing_args);
    {
        const char *argv[] = {"llm-conc", "--base-url", m.base_url, "--rate",
                              "100",      "--arrival",  "constant", "--max-concurrency",
                              "2",        "--requests", "8",        "--max-tokens",
                              "5",        "--quiet",    NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 8);
    assert_true(max_overlap(t) <= 2);
    for (size_t r = 0; r < 8; r++) {
        double n = cell_num(t, r, "request"), wait = cell_num(t, r, "wait_ms");
        assert_true(fabs(cell_num(t, r, "intended_s") - (n - 1) * 0.01) < 1e-6);
        /* wait = start - intended, and the corrected readings add it back. */
        assert_true(fabs(wait - (cell_num(t, r, "start_s") - cell_num(t, r, "intended_s")) * 1e3) <
                    0.01);
        assert_true(fabs(cell_num(t, r, "corrected_ttft_ms") - (cell_num(t, r, "ttft_ms") + wait)) <
                    0.01);
        assert_true(fabs(cell_num(t, r, "corrected_e2e_ms") - (cell_num(t, r, "e2e_ms") + wait)) <
                    0.01);
        if (wait > most_wait)
            most_wait = wait;
    }
    /* Request 8, due at 70 ms, cannot start before about three generations. */
    assert_true(most_wait > 100);
    llmb_table_free(t);
    run_result_free(&res);
}

static void test_tools_warmup_and_duration(void **state)
{
    mock_proc m;
    run_result res;
    llmb_table *t;
    json_t *j;
    size_t warm = 0;
    (void)state;
    mock_start(&m, timing_args);
    {
        /* 20 req/s for 1 s: requests due at 0, 50, ..., 950 ms; the first 3 are warmup. */
        const char *argv[] = {
            "llm-conc", "--base-url", m.base_url, "--rate",   "20", "--arrival",
            "constant", "--duration", "1",        "--warmup", "3",  "--max-tokens",
            "3",        "--summary",  "s.json",   "--quiet",  NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 20);
    for (size_t r = 0; r < 20; r++) {
        double n = cell_num(t, r, "request");
        assert_true(cell_num(t, r, "intended_s") < 1.0);
        assert_true(cell_num(t, r, "warmup") == (n <= 3 ? 1 : 0));
        warm += n <= 3;
    }
    assert_int_equal(warm, 3);
    j = load_json("s.json");
    assert_int_equal(json_integer_value(json_object_get(j, "completed")), 17);
    assert_int_equal(json_integer_value(json_object_get(j, "warmup_requests")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "num_prompts")), 0);
    assert_true(json_real_value(json_object_get(j, "duration_limit_s")) == 1.0);
    /* The statistics start with the first measured request, due at 150 ms. */
    assert_true(json_real_value(json_object_get(j, "duration")) < 0.95);
    json_decref(j);
    llmb_table_free(t);
    run_result_free(&res);
}

static void test_tools_sweep(void **state)
{
    mock_proc m;
    run_result res;
    llmb_table *t, *sw;
    json_t *j;
    (void)state;
    mock_start(&m, timing_args);
    {
        const char *argv[] = {"llm-conc",  "--base-url", m.base_url, "--sweep-concurrency",
                              "1,2",       "--requests", "4",        "--max-tokens",
                              "3",         "--summary",  "s.json",   "--sweep-output",
                              "sweep.csv", "--quiet",    NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 8);
    for (size_t r = 0; r < 8; r++)
        assert_true(cell_num(t, r, "level") == (r < 4 ? 1 : 2));
    llmb_table_free(t);
    {
        llmb_error e;
        if (llmb_table_read_file("sweep.csv", &sw, &e) != LLMB_OK)
            fail_msg("sweep.csv: %s", e.text);
    }
    assert_int_equal(llmb_table_rows(sw), 2);
    for (size_t r = 0; r < 2; r++) {
        double v;
        llmb_error e;
        assert_int_equal(llmb_table_number(sw, r, (size_t)llmb_table_find(sw, "level"), &v, &e),
                         LLMB_OK);
        assert_true(v == (double)(r + 1));
        assert_int_equal(llmb_table_number(sw, r, (size_t)llmb_table_find(sw, "completed"), &v, &e),
                         LLMB_OK);
        assert_true(v == 4);
        assert_true(llmb_table_find(sw, "p99_ttft_ms") >= 0);
        assert_true(llmb_table_find(sw, "request_throughput") >= 0);
    }
    llmb_table_free(sw);
    j = load_json("s.json");
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 1), "max_concurrency")),
                     2);
    json_decref(j);
    run_result_free(&res);
    {
        /* One chart is one level: llm-graph asks which, and names them. */
        const char *argv[] = {"llm-graph", NULL};
        run_tool(&res, 30, NULL, argv);
        expect_exit(&res, 1);
        assert_non_null(
            strstr(res.err, "several levels of a sweep (1, 2); choose one with --level"));
        run_result_free(&res);
    }
    {
        const char *argv[] = {"llm-graph", "--level", "2", NULL};
        unsigned w, h;
        run_tool(&res, 30, NULL, argv);
        expect_exit(&res, 0);
        png_size("images/mock-model (Concurrency 2) (mock).png", &w, &h);
        assert_non_null(strstr(res.out, "4 requests"));
        run_result_free(&res);
    }
}

static void test_tools_trace_and_threads(void **state)
{
    mock_proc m;
    run_result res;
    char *text, *line, run_id[64] = "";
    size_t lines = 0;
    uint64_t seen = 0;
    llmb_table *t;
    (void)state;
    mock_start(&m, timing_args);
    {
        const char *argv[] = {
            "llm-conc", "--base-url", m.base_url, "--rate",    "50", "--arrival",
            "constant", "--requests", "10",       "--threads", "2",  "--max-tokens",
            "4",        "--trace",    "t.jsonl",  "--quiet",   NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    /* Two threads share the arrivals: every request once, on time. */
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 10);
    for (size_t r = 0; r < 10; r++) {
        double n = cell_num(t, r, "request");
        assert_true(fabs(cell_num(t, r, "intended_s") - (n - 1) * 0.02) < 1e-6);
        seen |= 1ULL << (int)n;
    }
    assert_int_equal(seen, 0x7FE); /* requests 1..10 */
    llmb_table_free(t);
    text = read_file("t.jsonl", NULL);
    assert_non_null(text);
    for (line = text; *line; lines++) {
        char *nl = strchr(line, '\n');
        json_t *j;
        if (nl)
            *nl = '\0';
        j = json_loads(line, 0, NULL);
        if (!j)
            fail_msg("trace line %zu is not JSON: %s", lines + 1, line);
        if (lines == 0) {
            /* The header: the run's origin on CLOCK_MONOTONIC and its id. */
            assert_true(json_integer_value(json_object_get(j, "origin_ns")) > 0);
            snprintf(run_id, sizeof run_id, "%s", json_string_value(json_object_get(j, "run_id")));
            assert_true(strlen(run_id) > 0);
        } else {
            json_t *chunks = json_object_get(j, "chunks_ns");
            char want[80];
            snprintf(want, sizeof want, "%s-%lld", run_id,
                     (long long)json_integer_value(json_object_get(j, "request")));
            assert_string_equal(json_string_value(json_object_get(j, "x_request_id")), want);
            assert_int_equal(json_array_size(chunks), 4);
            /* Every chunk after the send, in order, before the end. */
            for (size_t k = 0; k < 4; k++) {
                json_int_t c = json_integer_value(json_array_get(chunks, k));
                assert_true(c > json_integer_value(json_object_get(j, "sent_ns")));
                assert_true(c <= json_integer_value(json_object_get(j, "end_ns")));
                if (k)
                    assert_true(c >= json_integer_value(json_array_get(chunks, k - 1)));
            }
        }
        json_decref(j);
        line = nl ? nl + 1 : line + strlen(line);
    }
    assert_int_equal(lines, 11);
    free(text);
    run_result_free(&res);
}

static void test_tools_file_limit_said_clearly(void **state)
{
    /* 40 streams at once in a process allowed 24 open files: the tool warns
     * before the run, and the requests that found no file are recorded with a
     * message that says why, not as the server's fault. */
    const char *args[] = {"--ttft-ms", "200", "--itl-ms", "10", NULL};
    mock_proc m;
    run_result res;
    llmb_table *t;
    size_t limited = 0;
    (void)state;
    mock_start(&m, args);
    {
        const char *argv[] = {"llm-conc", "--base-url", m.base_url, "--concurrency",
                              "40",       "--requests", "40",       "--max-tokens",
                              "2",        "--quiet",    NULL};
        run_tool_nofile(&res, 60, NULL, argv, 24);
    }
    mock_stop(&m);
    expect_exit(&res, 1);
    assert_non_null(strstr(res.err, "open-file limit (24) is too low for 40 streams"));
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 40);
    for (size_t r = 0; r < 40; r++)
        if (strstr(cell_str(t, r, "error"), "open-file limit")) {
            assert_string_equal(cell_str(t, r, "error_class"), "other");
            limited++;
        }
    assert_true(limited > 0);
    llmb_table_free(t);
    run_result_free(&res);
}

static void test_tools_queueing_measured(void **state)
{
    /* A mock with two batch slots under four requests at once: the two that
     * queue see their first token one whole generation (20 + 3 x 5 ms) later,
     * and the client measures it. */
    const char *args[] = {"--ttft-ms", "20", "--itl-ms", "5", "--slots", "2", NULL};
    mock_proc m;
    run_result res;
    llmb_table *t;
    size_t fast = 0, queued = 0;
    (void)state;
    mock_start(&m, args);
    {
        const char *argv[] = {"llm-conc", "--base-url", m.base_url, "--concurrency",
                              "4",        "--requests", "4",        "--max-tokens",
                              "4",        "--quiet",    NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    t = load_results("results.csv");
    for (size_t r = 0; r < 4; r++) {
        double ttft = cell_num(t, r, "ttft_ms");
        if (ttft < 20 + TTFT_SLACK_MS)
            fast++;
        else if (ttft >= 55 - 1 && ttft < 55 + TTFT_SLACK_MS)
            queued++;
    }
    assert_int_equal(fast, 2);
    assert_int_equal(queued, 2);
    llmb_table_free(t);
    run_result_free(&res);
}

static void test_tools_usage_styles(void **state)
{
    /* Usage in the last content chunk, as Groq's x_groq, or not at all. */
    const char *styles[] = {"last", "groq", "none"};
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        const char *args[] = {"--ttft-ms", "20", "--itl-ms", "5", "--usage", styles[i], NULL};
        mock_proc m;
        run_result res;
        llmb_table *t;
        mock_start(&m, args);
        {
            /* A server without usage fails unless that is accepted. */
            const char *argv[] = {
                "llm-seq",      "--base-url", m.base_url, "--requests", "2",      "--delay", "0",
                "--max-tokens", "12",         "--quiet",  "--summary",  "s.json", NULL,      NULL};
            if (strcmp(styles[i], "none") == 0) {
                run_tool(&res, 60, NULL, argv);
                expect_exit(&res, 1);
                t = load_results("results.csv");
                assert_string_equal(cell_str(t, 0, "error_class"), "protocol");
                assert_non_null(strstr(cell_str(t, 0, "error"), "without usage"));
                assert_string_equal(cell_str(t, 0, "token_source"), "chunks");
                llmb_table_free(t);
                run_result_free(&res);
                argv[12] = "--allow-no-usage";
            }
            run_tool(&res, 60, NULL, argv);
        }
        mock_stop(&m);
        if (res.exit_code != 0)
            fail_msg("usage %s: llm-seq exited %d: %s", styles[i], res.exit_code, res.err);
        t = load_results("results.csv");
        assert_int_equal(llmb_table_rows(t), 2);
        for (size_t r = 0; r < 2; r++) {
            assert_true(cell_num(t, r, "generated_tokens") == 12);
            assert_true(cell_num(t, r, "chunks") == 12);
            if (strcmp(styles[i], "none") == 0) {
                /* Counted from chunks, and said so; the prompt count is unknown. */
                assert_string_equal(cell_str(t, r, "token_source"), "chunks");
                assert_string_equal(cell_str(t, r, "prompt_tokens"), "");
            } else {
                assert_string_equal(cell_str(t, r, "token_source"), "usage");
                assert_true(cell_num(t, r, "prompt_tokens") == (double)expected_prompt_tokens());
            }
        }
        if (strcmp(styles[i], "none") == 0) {
            /* Unknown prompt counts are unknown in the summary, not zero. */
            json_t *j = json_load_file("s.json", 0, NULL);
            assert_non_null(j);
            assert_true(json_is_null(json_object_get(j, "total_input_tokens")));
            assert_true(json_is_null(json_object_get(j, "total_token_throughput")));
            assert_int_equal(json_integer_value(json_object_get(j, "total_output_tokens")), 24);
            json_decref(j);
            assert_non_null(strstr(res.out, "Counted from chunks"));
            assert_non_null(strstr(res.out, "unknown (no usage from the server)"));
        }
        llmb_table_free(t);
        run_result_free(&res);
    }
}

static void test_tools_completions_api_and_model_discovery(void **state)
{
    const char *args[] = {"--ttft-ms", "20", "--itl-ms", "5", "--model", "served/model-x", NULL};
    mock_proc m;
    run_result res;
    llmb_table *t;
    (void)state;
    mock_start(&m, args);
    {
        /* vLLM's preset has no default model: the tool asks /v1/models. */
        const char *argv[] = {"llm-conc", "--provider",  "vllm",       "--base-url", m.base_url,
                              "--api",    "completions", "--requests", "2",          "--max-tokens",
                              "6",        "--prompt",    "abcdefghij", "--quiet",    NULL};
        run_tool(&res, 60, NULL, argv);
    }
    mock_stop(&m);
    expect_exit(&res, 0);
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 2);
    assert_string_equal(cell_str(t, 0, "model"), "served/model-x");
    assert_string_equal(cell_str(t, 0, "provider"), "vllm");
    assert_true(cell_num(t, 0, "generated_tokens") == 6);
    assert_true(cell_num(t, 0, "prompt_tokens") == 3); /* ceil(10 / 4) */
    llmb_table_free(t);
    run_result_free(&res);
}

static void test_tools_connection_refused(void **state)
{
    run_result res;
    llmb_table *t;
    (void)state;
    {
        /* Port 1 on loopback: nothing listens, every request fails to connect. */
        const char *argv[] = {"llm-seq", "--base-url", "http://127.0.0.1:1/v1",
                              "--model", "m",          "--requests",
                              "2",       "--delay",    "0",
                              NULL};
        run_tool(&res, 60, NULL, argv);
    }
    expect_exit(&res, 1);
    assert_non_null(strstr(res.out, "FAILED (connect)"));
    assert_non_null(strstr(res.out, "Failed requests:                 2 (connect 2)"));
    t = load_results("results.csv");
    assert_int_equal(llmb_table_rows(t), 2);
    assert_string_equal(cell_str(t, 0, "error_class"), "connect");
    assert_true(strlen(cell_str(t, 0, "error")) > 0);
    assert_string_equal(cell_str(t, 0, "tokens_per_s"), "");
    llmb_table_free(t);
    run_result_free(&res);
}

static void expect_usage_error(const char *const *argv, const char *message)
{
    run_result res;
    run_tool(&res, 30, NULL, argv);
    if (res.exit_code != 2 || !strstr(res.err, message))
        fail_msg("%s: exit %d, stderr '%s', expected 2 and '%s'", argv[0], res.exit_code, res.err,
                 message);
    run_result_free(&res);
}

static void test_tools_usage_errors(void **state)
{
    (void)state;
    {
        const char *a[] = {"llm-seq", "--requests", "0", NULL};
        expect_usage_error(a, "--requests");
    }
    {
        const char *a[] = {"llm-seq", "--requests", "-3", NULL};
        expect_usage_error(a, "--requests");
    }
    {
        const char *a[] = {"llm-conc", "--interval", "abc", NULL};
        expect_usage_error(a, "--interval");
    }
    {
        const char *a[] = {"llm-seq", "--interval", "1", NULL};
        expect_usage_error(a, "unknown option '--interval'");
    }
    {
        const char *a[] = {"llm-conc", "--provider", "bogus", NULL};
        expect_usage_error(a, "unknown provider 'bogus'");
    }
    {
        const char *a[] = {"llm-seq", "--base-url", "localhost:8000", NULL};
        expect_usage_error(a, "http://");
    }
    {
        const char *a[] = {"llm-seq", "--max-tokens", NULL};
        expect_usage_error(a, "needs a value");
    }
    {
        const char *a[] = {"llm-graph", "--width", "5", NULL};
        expect_usage_error(a, "--width");
    }
    {
        const char *a[] = {"llm-mock", "--usage", "sometimes", NULL};
        expect_usage_error(a, "--usage");
    }
    {
        /* openai needs a key; the message names the variable. */
        const char *a[] = {
            "llm-seq", "--provider", "openai", "--api-key-env", "LLMB_SURELY_UNSET_VAR", NULL};
        expect_usage_error(a, "LLMB_SURELY_UNSET_VAR");
    }
}

static void test_tools_help(void **state)
{
    const char *tools[] = {"llm-seq", "llm-conc", "llm-graph", "llm-mock"};
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        run_result res;
        const char *argv[] = {tools[i], "--help", NULL};
        run_tool(&res, 30, NULL, argv);
        expect_exit(&res, 0);
        assert_non_null(strstr(res.out, "Usage: "));
        run_result_free(&res);
    }
}

static void test_tools_api_key_never_shown(void **state)
{
    static const char canary[] = "sk-canary-7f3a9c1e5b";
    const char *env[] = {"LLMB_TEST_CANARY_KEY=sk-canary-7f3a9c1e5b", NULL};
    mock_proc m;
    run_result ok, bad;
    (void)state;
    mock_start(&m, timing_args);
    {
        const char *argv[] = {"llm-seq",
                              "--base-url",
                              m.base_url,
                              "--requests",
                              "2",
                              "--delay",
                              "0",
                              "--max-tokens",
                              "4",
                              "--api-key-env",
                              "LLMB_TEST_CANARY_KEY",
                              "--summary",
                              "s.json",
                              NULL};
        run_tool(&ok, 60, env, argv);
    }
    mock_stop(&m);
    {
        const char *argv[] = {"llm-conc",
                              "--base-url",
                              "http://127.0.0.1:1/v1",
                              "--model",
                              "m",
                              "--requests",
                              "2",
                              "--api-key-env",
                              "LLMB_TEST_CANARY_KEY",
                              "--output",
                              "bad.csv",
                              "--summary",
                              "bad.json",
                              NULL};
        run_tool(&bad, 60, env, argv);
    }
    expect_exit(&ok, 0);
    expect_exit(&bad, 1);
    {
        const char *files[] = {"results.csv", "s.json", "bad.csv", "bad.json"};
        const char *texts[] = {ok.out, ok.err, bad.out, bad.err};
        for (size_t i = 0; i < 4; i++) {
            char *data = read_file(files[i], NULL);
            assert_non_null(data);
            if (strstr(data, canary))
                fail_msg("the API key appears in %s", files[i]);
            free(data);
            if (strstr(texts[i], canary))
                fail_msg("the API key appears in output %zu", i);
        }
    }
    run_result_free(&ok);
    run_result_free(&bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tools_seq_against_mock, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_conc_against_mock, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_graph_from_run, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_graph_rejects_bad_csv, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_graph_orders_bars_and_refuses_duplicates,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_summary_options, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_sigint_records_in_flight, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_sigterm_records_in_flight, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_closed_loop_never_exceeds_n, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_open_loop_cap_records_wait, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_warmup_and_duration, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_sweep, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_trace_and_threads, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_file_limit_said_clearly, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_queueing_measured, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_usage_styles, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_completions_api_and_model_discovery,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_connection_refused, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_usage_errors, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_help, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_tools_api_key_never_shown, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
