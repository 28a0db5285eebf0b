/*
 * Clock: monotonic nanoseconds, absolute sleeps, second conversions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "llmbench/clock.h"

static void test_clock_monotonic(void **state)
{
    uint64_t a = llmb_now_ns(), b;
    (void)state;
    for (int i = 0; i < 1000; i++) {
        b = llmb_now_ns();
        assert_true(b >= a);
        a = b;
    }
}

static void test_clock_sleep_until_absolute(void **state)
{
    uint64_t start = llmb_now_ns();
    uint64_t deadline = start + 20 * LLMB_NS_PER_MS;
    (void)state;
    assert_int_equal(llmb_sleep_until_ns(deadline), LLMB_OK);
    /* Never early; a past deadline returns at once. */
    assert_true(llmb_now_ns() >= deadline);
    assert_int_equal(llmb_sleep_until_ns(start), LLMB_OK);
}

static void test_clock_seconds_to_ns(void **state)
{
    (void)state;
    assert_int_equal(llmb_s_to_ns(0.06125), 61250000ULL);
    assert_int_equal(llmb_s_to_ns(2.0), 2000000000ULL);
    assert_int_equal(llmb_s_to_ns(1e-9), 1);
    assert_int_equal(llmb_s_to_ns(-1.0), 0);
    assert_int_equal(llmb_s_to_ns(NAN), 0);
    assert_true(llmb_s_to_ns(1e300) == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_monotonic),
        cmocka_unit_test(test_clock_sleep_until_absolute),
        cmocka_unit_test(test_clock_seconds_to_ns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
