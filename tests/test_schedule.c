/*
 * Schedules: due times are absolute, the sequential one waits for the
 * previous request, and bad values are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "schedule.h"

static void test_schedule_interval_absolute(void **state)
{
    llmb_schedule *s;
    llmb_error e;
    llmbi_sched_state st;
    (void)state;
    assert_int_equal(llmb_schedule_interval(0.06125, &s, &e), LLMB_OK);
    assert_string_equal(llmb_schedule_name(s), "concurrent");
    assert_int_equal(llmb_schedule_get_kind(s), LLMB_SCHEDULE_INTERVAL);
    memset(&st, 0, sizeof st);
    for (uint64_t i = 0; i < 100000; i += 997) {
        st.sent = i;
        st.in_flight = i; /* the others do not matter */
        /* i * 61.25 ms exactly, never a running sum. */
        assert_int_equal(llmbi_schedule_next_ns(s, &st), i * 61250000ULL);
    }
    llmb_schedule_free(s);
}

static void test_schedule_sequential_waits(void **state)
{
    llmb_schedule *s;
    llmb_error e;
    llmbi_sched_state st;
    (void)state;
    assert_int_equal(llmb_schedule_sequential(2.0, &s, &e), LLMB_OK);
    assert_string_equal(llmb_schedule_name(s), "sequential");
    memset(&st, 0, sizeof st);
    assert_int_equal(llmbi_schedule_next_ns(s, &st), 0);
    st.sent = 1;
    st.in_flight = 1;
    assert_true(llmbi_schedule_next_ns(s, &st) == LLMBI_SCHED_WAIT);
    st.in_flight = 0;
    st.last_end_ns = 1234567890;
    assert_int_equal(llmbi_schedule_next_ns(s, &st), 1234567890ULL + 2000000000ULL);
    assert_true(llmb_schedule_seconds(s) == 2.0);
    llmb_schedule_free(s);
}

static void test_schedule_rejects_bad_values(void **state)
{
    llmb_schedule *s = (llmb_schedule *)1;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_schedule_interval(-1, &s, &e), LLMB_ERR_INVALID);
    assert_null(s);
    assert_int_equal(llmb_schedule_sequential(NAN, &s, &e), LLMB_ERR_INVALID);
    assert_int_equal(llmb_schedule_sequential(INFINITY, &s, &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "delay"));
    assert_int_equal(llmb_schedule_interval(0, &s, &e), LLMB_OK);
    llmb_schedule_free(s);
    llmb_schedule_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_interval_absolute),
        cmocka_unit_test(test_schedule_sequential_waits),
        cmocka_unit_test(test_schedule_rejects_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
