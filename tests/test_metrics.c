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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_percentile_hand_computed),
        cmocka_unit_test(test_metrics_summary),
        cmocka_unit_test(test_metrics_empty),
        cmocka_unit_test(test_metrics_json_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
