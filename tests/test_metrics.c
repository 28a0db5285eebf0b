/*
 * Metrics: percentiles against hand-computed values (numpy's linear method),
 * the summary's arithmetic, failures kept out of latencies, JSON output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "llmbench/metrics.h"
#include "record_fixture.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_metrics_percentile_hand_computed(void **state)
{
    const double ten[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const double five[] = {15, 20, 35, 40, 50};
    const double four[] = {1, 3, 7, 15};
    const double one[] = {42};
    (void)state;
    /* h = (n-1) p / 100; x[floor h] + frac(h) (x[floor h + 1] - x[floor h]) */
    NEAR(llmb_percentile(ten, 10, 50), 5.5);
    NEAR(llmb_percentile(ten, 10, 90), 9.1);  /* h = 8.1 */
    NEAR(llmb_percentile(ten, 10, 99), 9.91); /* h = 8.91 */
    NEAR(llmb_percentile(ten, 10, 0), 1);
    NEAR(llmb_percentile(ten, 10, 100), 10);
    NEAR(llmb_percentile(five, 5, 40), 29); /* h = 1.6: 20 + 0.6 * 15 */
    NEAR(llmb_percentile(five, 5, 50), 35);
    NEAR(llmb_percentile(four, 4, 10), 1.6); /* h = 0.3: 1 + 0.3 * 2 */
    NEAR(llmb_percentile(four, 4, 75), 9);   /* h = 2.25: 7 + 0.25 * 8 */
    NEAR(llmb_percentile(one, 1, 99), 42);
    assert_true(isnan(llmb_percentile(one, 0, 50)));
}

static void test_metrics_summary(void **state)
{
    llmb_metrics *m = llmb_metrics_new();
    llmb_summary s;
    uint64_t b1[8], b2[8], b3[8];
    llmb_record r1 = make(1, 0, 40, 10, 5, 10, 5, b1);   /* e2e 80 */
    llmb_record r2 = make(2, 100, 60, 20, 3, 20, 3, b2); /* e2e 100, ends at 200 ms */
    llmb_record bad = make(3, 150, 500, 0, 1, 99, 99, b3);
    (void)state;
    bad.error_class = LLMB_FAIL_HTTP;
    bad.error = "HTTP 500";
    bad.end_ns = 1000000000; /* the run lasts until the failure at 1 s */
    assert_int_equal(llmb_metrics_add(m, &r1), LLMB_OK);
    assert_int_equal(llmb_metrics_add(m, &r2), LLMB_OK);
    assert_int_equal(llmb_metrics_add(m, &bad), LLMB_OK);
    assert_int_equal(llmb_metrics_summarize(m, &s), LLMB_OK);
    assert_int_equal(s.completed, 2);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.failed_by_class[LLMB_FAIL_HTTP], 1);
    assert_int_equal(s.total_input_tokens, 30);
    assert_int_equal(s.total_output_tokens, 8);
    NEAR(s.duration_s, 1.0);
    NEAR(s.request_throughput, 2.0);
    NEAR(s.output_throughput, 8.0);
    NEAR(s.total_token_throughput, 38.0);
    /* The failure's 500 ms "TTFT" must not leak into the statistics. */
    assert_int_equal(s.ttft_ms.count, 2);
    NEAR(s.ttft_ms.mean, 50);
    NEAR(s.ttft_ms.median, 50);
    NEAR(s.ttft_ms.p90, 58); /* 40 + 0.9 * 20 */
    NEAR(s.ttft_ms.p99, 59.8);
    NEAR(s.ttft_ms.std, 10);
    NEAR(s.ttft_ms.min, 40);
    NEAR(s.ttft_ms.max, 60);
    /* ITL pools every gap: four of 10 ms and two of 20 ms. */
    assert_int_equal(s.itl_ms.count, 6);
    NEAR(s.itl_ms.mean, 80.0 / 6.0);
    NEAR(s.itl_ms.median, 10);
    /* TPOT per request: (80-40)/4 = 10 and (100-60)/2 = 20. */
    NEAR(s.tpot_ms.mean, 15);
    NEAR(s.e2el_ms.mean, 90);
    assert_int_equal(s.counted_by_usage, 2);
    llmb_metrics_free(m);
}

static void test_metrics_empty(void **state)
{
    llmb_metrics *m = llmb_metrics_new();
    llmb_summary s;
    (void)state;
    assert_int_equal(llmb_metrics_summarize(m, &s), LLMB_OK);
    assert_int_equal(s.completed, 0);
    assert_true(isnan(s.ttft_ms.mean));
    assert_true(s.request_throughput == 0.0);
    llmb_metrics_free(m);
    llmb_metrics_free(NULL);
}

static void test_metrics_json_keys(void **state)
{
    llmb_metrics *m = llmb_metrics_new();
    llmb_summary s;
    llmb_run_info info;
    llmb_endpoint *ep;
    llmb_schedule *sc;
    uint64_t b[8];
    llmb_record r = make(1, 0, 40, 10, 5, 10, 5, b);
    char path[] = "/tmp/llmb_test_summary_XXXXXX";
    int fd = mkstemp(path);
    json_t *root;
    const char *keys[] = {"completed",
                          "failed",
                          "duration",
                          "total_input_tokens",
                          "total_output_tokens",
                          "request_throughput",
                          "output_throughput",
                          "total_token_throughput",
                          "mean_ttft_ms",
                          "median_ttft_ms",
                          "p90_ttft_ms",
                          "p99_ttft_ms",
                          "std_ttft_ms",
                          "mean_tpot_ms",
                          "median_tpot_ms",
                          "p99_tpot_ms",
                          "mean_itl_ms",
                          "p99_itl_ms",
                          "mean_e2el_ms",
                          "median_e2el_ms",
                          "p99_e2el_ms",
                          "model_id",
                          "backend",
                          "base_url",
                          "schedule",
                          "interval_s",
                          "tool",
                          "date",
                          "start_time"};
    llmb_error e;
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(llmb_endpoint_new("vllm", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_model(ep, "m", &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_api_key(ep, "sk-canary-123", &e), LLMB_OK);
    assert_int_equal(llmb_schedule_interval(0.5, &sc, &e), LLMB_OK);
    llmb_metrics_add(m, &r);
    llmb_metrics_summarize(m, &s);
    memset(&info, 0, sizeof info);
    info.tool = "test";
    info.endpoint = ep;
    info.schedule = sc;
    info.requests = 1;
    info.start_time = 0;
    assert_int_equal(llmb_summary_write_json(&s, &info, path, &e), LLMB_OK);
    root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!json_object_get(root, keys[i]))
            fail_msg("summary JSON has no key %s", keys[i]);
    }
    assert_int_equal(json_integer_value(json_object_get(root, "completed")), 1);
    NEAR(json_real_value(json_object_get(root, "mean_ttft_ms")), 40);
    assert_string_equal(json_string_value(json_object_get(root, "start_time")),
                        "1970-01-01T00:00:00Z");
    /* The API key never appears in the summary. */
    {
        char *text = json_dumps(root, 0);
        assert_null(strstr(text, "canary"));
        free(text);
    }
    json_decref(root);
    assert_int_equal(llmb_summary_write_json(&s, &info, "/nonexistent/dir/s.json", &e),
                     LLMB_ERR_IO);
    assert_non_null(strstr(e.text, "/nonexistent/dir/s.json"));
    unlink(path);
    llmb_schedule_free(sc);
    llmb_endpoint_free(ep);
    llmb_metrics_free(m);
}

static void test_metrics_goodput(void **state)
{
    llmb_metrics_options o = LLMB_METRICS_OPTIONS_INIT;
    llmb_metrics *m;
    llmb_summary s;
    uint64_t b1[8], b2[8], b3[8], b4[8];
    llmb_record fast, slow_ttft, slow_tpot, failed;
    (void)state;
    assert_int_equal(llmb_parse_slo("ttft:45,tpot:15", &o, NULL), LLMB_OK);
    m = llmb_metrics_new_opts(&o);
    assert_non_null(m);
    fast = make(1, 0, 40, 10, 5, 10, 5, b1);      /* TTFT 40, TPOT 10: good */
    slow_ttft = make(2, 0, 50, 10, 5, 10, 5, b2); /* TTFT 50: misses */
    slow_tpot = make(3, 0, 40, 20, 5, 10, 5, b3); /* TPOT 20: misses */
    failed = make(4, 0, 10, 1, 5, 10, 5, b4);     /* fast, but failed: a miss */
    failed.error_class = LLMB_FAIL_RESET;
    failed.error = "reset";
    llmb_metrics_add(m, &fast);
    llmb_metrics_add(m, &slow_ttft);
    llmb_metrics_add(m, &slow_tpot);
    llmb_metrics_add(m, &failed);
    assert_int_equal(llmb_metrics_summarize(m, &s), LLMB_OK);
    assert_true(s.has_slo);
    assert_int_equal(s.good, 1);
    assert_int_equal(s.completed, 3);
    NEAR(s.duration_s, 0.12); /* from 0 to the end of the slow-TPOT request: 40 + 4 x 20 ms */
    NEAR(s.request_goodput, 1 / 0.12);
    llmb_metrics_free(m);
    /* Without objectives there is no goodput. */
    m = llmb_metrics_new();
    llmb_metrics_add(m, &fast);
    llmb_metrics_summarize(m, &s);
    assert_false(s.has_slo);
    assert_true(isnan(s.request_goodput));
    llmb_metrics_free(m);
}

static void test_metrics_warmup_excluded(void **state)
{
    llmb_metrics *m = llmb_metrics_new();
    llmb_summary s;
    uint64_t b1[8], b2[8];
    llmb_record warm = make(1, 0, 900, 10, 5, 10, 5, b1);
    llmb_record real = make(2, 1000, 40, 10, 5, 10, 5, b2);
    (void)state;
    warm.warmup = 1;
    real.intended_ns = 1000000000ULL;
    llmb_metrics_add(m, &warm);
    llmb_metrics_add(m, &real);
    llmb_metrics_summarize(m, &s);
    assert_int_equal(s.warmup, 1);
    assert_int_equal(s.completed, 1);
    assert_int_equal(s.ttft_ms.count, 1);
    NEAR(s.ttft_ms.mean, 40);
    assert_int_equal(s.total_output_tokens, 5);
    /* The window starts at the first measured request, not at the warmup. */
    NEAR(s.duration_s, 0.08);
    llmb_metrics_free(m);
}

static void test_metrics_histogram_beyond_limit(void **state)
{
    /* With room for 100 exact samples, 5000 records switch the percentiles to
     * the histogram, which stays within 0.1 % of the exact answer. */
    llmb_metrics_options o = LLMB_METRICS_OPTIONS_INIT;
    const double pct[] = {50, 99, 99.9};
    llmb_metrics *small, *big;
    llmb_summary a, b;
    (void)state;
    o.exact_limit = 100;
    o.percentiles = pct;
    o.n_percentiles = 3;
    small = llmb_metrics_new_opts(&o);
    o.exact_limit = 1000000;
    big = llmb_metrics_new_opts(&o);
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t buf[2];
        llmb_record r = make(i + 1, 0, 20 + (i * 7919) % 1000, 3, 2, 1, 2, buf);
        llmb_metrics_add(small, &r);
        llmb_metrics_add(big, &r);
    }
    llmb_metrics_summarize(small, &a);
    llmb_metrics_summarize(big, &b);
    assert_false(a.ttft_ms.exact);
    assert_true(b.ttft_ms.exact);
    assert_int_equal(a.n_percentiles, 3);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(a.ttft_ms.pct[i] - b.ttft_ms.pct[i]) / b.ttft_ms.pct[i] < 0.001);
    NEAR(a.ttft_ms.mean, b.ttft_ms.mean);
    NEAR(a.ttft_ms.max, b.ttft_ms.max);
    llmb_metrics_free(small);
    llmb_metrics_free(big);
}

static void test_metrics_merge_equals_whole(void **state)
{
    llmb_metrics *x = llmb_metrics_new(), *y = llmb_metrics_new(), *all = llmb_metrics_new();
    llmb_summary sx, sall;
    (void)state;
    for (uint64_t i = 0; i < 300; i++) {
        uint64_t buf[6];
        llmb_record r = make(i + 1, i * 10, 30 + i % 17, 5 + i % 3, 6, 10, 6, buf);
        if (i % 5 == 0) {
            r.error_class = LLMB_FAIL_TIMEOUT;
            r.error = "slow";
        }
        llmb_metrics_add(i % 2 ? x : y, &r);
        llmb_metrics_add(all, &r);
    }
    assert_int_equal(llmb_metrics_merge(x, y), LLMB_OK);
    llmb_metrics_summarize(x, &sx);
    llmb_metrics_summarize(all, &sall);
    assert_int_equal(sx.completed, sall.completed);
    assert_int_equal(sx.failed_by_class[LLMB_FAIL_TIMEOUT], 60);
    assert_int_equal(sx.itl_ms.count, sall.itl_ms.count);
    NEAR(sx.duration_s, sall.duration_s);
    NEAR(sx.ttft_ms.p99, sall.ttft_ms.p99);
    NEAR(sx.itl_ms.median, sall.itl_ms.median);
    NEAR(sx.e2el_ms.std, sall.e2el_ms.std);
    NEAR(sx.max_output_tokens_per_s, sall.max_output_tokens_per_s);
    llmb_metrics_free(x);
    llmb_metrics_free(y);
    llmb_metrics_free(all);
}

static void test_metrics_peaks(void **state)
{
    /* Three requests; their content chunks land in seconds 0 and 1. */
    llmb_metrics *m = llmb_metrics_new();
    llmb_summary s;
    uint64_t b1[4] = {100000000, 200000000, 300000000, 400000000};
    uint64_t b2[4] = {500000000, 900000000, 1100000000, 1200000000};
    uint64_t b3[2] = {1300000000, 1400000000};
    llmb_record r1, r2, r3;
    (void)state;
    memset(&r1, 0, sizeof r1);
    r1.error = r1.x_request_id = "";
    r2 = r3 = r1;
    r1.request = 1;
    r1.generated_tokens = 4;
    llmb_record_set_chunks(&r1, b1, 4);
    r1.end_ns = b1[3];
    r2.request = 2;
    r2.generated_tokens = 8; /* two tokens per chunk, says the server */
    r2.sent_ns = r2.intended_ns = 400000000;
    llmb_record_set_chunks(&r2, b2, 4);
    r2.end_ns = b2[3];
    r3.request = 3;
    r3.generated_tokens = 2;
    r3.sent_ns = r3.intended_ns = 1250000000;
    llmb_record_set_chunks(&r3, b3, 2);
    r3.end_ns = b3[1];
    llmb_metrics_add(m, &r1);
    llmb_metrics_add(m, &r2);
    llmb_metrics_add(m, &r3);
    llmb_metrics_summarize(m, &s);
    /* Second 0: 4 (r1) + 2 chunks x 2 (r2) = 8; second 1: 2 x 2 + 2 = 6. */
    NEAR(s.max_output_tokens_per_s, 8);
    /* vLLM's count: requests active during a second; r2 spans both. */
    assert_int_equal(s.max_concurrent_requests, 2);
    llmb_metrics_free(m);
}

static void test_metrics_parsers(void **state)
{
    double p[LLMB_MAX_PERCENTILES];
    llmb_metrics_options o = LLMB_METRICS_OPTIONS_INIT;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_parse_percentiles("50,90,99,99.9", p, LLMB_MAX_PERCENTILES, &e), 4);
    NEAR(p[3], 99.9);
    assert_int_equal(llmb_parse_percentiles("50,100", p, LLMB_MAX_PERCENTILES, &e), 0);
    assert_int_equal(llmb_parse_percentiles("50,,90", p, LLMB_MAX_PERCENTILES, &e), 0);
    assert_int_equal(llmb_parse_percentiles("", p, LLMB_MAX_PERCENTILES, &e), 0);
    assert_int_equal(llmb_parse_percentiles("1,2,3", p, 2, &e), 0);
    assert_int_equal(llmb_parse_slo("e2e:10000,ttft:500", &o, &e), LLMB_OK);
    NEAR(o.slo_e2e_ms, 10000);
    NEAR(o.slo_ttft_ms, 500);
    NEAR(o.slo_tpot_ms, 0);
    assert_int_equal(llmb_parse_slo("ttft:-5", &o, &e), LLMB_ERR_INVALID);
    assert_int_equal(llmb_parse_slo("latency:5", &o, &e), LLMB_ERR_INVALID);
    assert_int_equal(llmb_parse_slo("ttft", &o, &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "ttft:500"));
    {
        llmb_metrics_options bad = LLMB_METRICS_OPTIONS_INIT;
        const double out_of_range[] = {50, 100};
        bad.percentiles = out_of_range;
        bad.n_percentiles = 2;
        assert_null(llmb_metrics_new_opts(&bad));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_percentile_hand_computed),
        cmocka_unit_test(test_metrics_summary),
        cmocka_unit_test(test_metrics_empty),
        cmocka_unit_test(test_metrics_json_keys),
        cmocka_unit_test(test_metrics_goodput),
        cmocka_unit_test(test_metrics_warmup_excluded),
        cmocka_unit_test(test_metrics_histogram_beyond_limit),
        cmocka_unit_test(test_metrics_merge_equals_whole),
        cmocka_unit_test(test_metrics_peaks),
        cmocka_unit_test(test_metrics_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
