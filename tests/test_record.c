/*
 * Per-request record: the metrics derived from its times and counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "llmbench/record.h"
#include "record_fixture.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_record_derived_metrics(void **state)
{
    uint64_t buf[8];
    llmb_record r = make(1, 100, 50, 10, 5, 11, 5, buf);
    (void)state;
    /* Chunks at 150,160,...,190 ms after origin; sent at 100 ms. */
    NEAR(llmb_record_ttft_ms(&r), 50);
    NEAR(llmb_record_e2e_ms(&r), 90);
    NEAR(llmb_record_time_taken_s(&r), 0.09);
    NEAR(llmb_record_tokens_per_s(&r), 5 / 0.09);
    NEAR(llmb_record_tpot_ms(&r), (90.0 - 50.0) / 4.0);
    NEAR(llmb_record_itl_mean_ms(&r), 10);
    NEAR(llmb_record_itl_max_ms(&r), 10);
    buf[3] += 7000000; /* one gap of 17 ms, the next of 3 ms */
    llmb_record_set_chunks(&r, buf, 5);
    NEAR(llmb_record_itl_max_ms(&r), 17);
    r = make(2, 0, 30, 0, 1, 4, 1, buf);
    assert_true(isnan(llmb_record_tpot_ms(&r))); /* one token: no TPOT */
    assert_true(isnan(llmb_record_itl_mean_ms(&r)));
    r = make(3, 0, 30, 0, 0, -1, -1, buf);
    assert_true(isnan(llmb_record_ttft_ms(&r)));
    assert_true(isnan(llmb_record_tokens_per_s(&r)));
    assert_string_equal(llmb_error_class_name(LLMB_FAIL_TIMEOUT), "timeout");
    assert_string_equal(llmb_error_class_name(LLMB_FAIL_NONE), "");
    assert_string_equal(llmb_token_source_name(LLMB_TOKENS_CHUNKS), "chunks");
}

static void test_record_clamps_backwards_times(void **state)
{
    llmb_record r;
    (void)state;
    memset(&r, 0, sizeof r);
    r.sent_ns = 5000000;
    r.end_ns = 1000000; /* a hand-built record with the end before the send */
    r.generated_tokens = 3;
    NEAR(llmb_record_e2e_ms(&r), 0);
    assert_true(isnan(llmb_record_tokens_per_s(&r)));
    assert_true(llmb_record_ok(&r));
    r.error_class = LLMB_FAIL_RESET;
    assert_false(llmb_record_ok(&r));
    assert_string_equal(llmb_error_class_name((llmb_error_class)99), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_derived_metrics),
        cmocka_unit_test(test_record_clamps_backwards_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
