/*
 * Schedules: absolute due times, arrival processes (mean rate, shape, seed),
 * the split between workers, and refused values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "schedule.h"

#define N_GAPS 200000

/* Gaps (s) between consecutive due times of a rate schedule. */
static double *gaps_of(const llmb_schedule *s, size_t n)
{
    llmbi_arrivals a;
    double *g = malloc(n * sizeof *g);
    uint64_t prev;
    assert_non_null(g);
    llmbi_arrivals_init(&a, s);
    assert_int_equal(a.due_ns, 0); /* the first request is due at once */
    prev = a.due_ns;
    for (size_t i = 0; i < n; i++) {
        llmbi_arrivals_advance(&a);
        assert_true(a.due_ns >= prev); /* due times never go back */
        g[i] = (double)(a.due_ns - prev) / 1e9;
        prev = a.due_ns;
    }
    return g;
}

static void mean_cv(const double *g, size_t n, double *mean, double *cv)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sum += g[i];
    *mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        sq += (g[i] - *mean) * (g[i] - *mean);
    *cv = sqrt(sq / (double)n) / *mean;
}

static void test_schedule_interval_absolute(void **state)
{
    llmb_schedule *s;
    llmb_error e;
    llmbi_arrivals a;
    (void)state;
    assert_int_equal(llmb_schedule_interval(0.06125, &s, &e), LLMB_OK);
    assert_string_equal(llmb_schedule_name(s), "concurrent");
    assert_int_equal(llmb_schedule_get_kind(s), LLMB_SCHEDULE_INTERVAL);
    llmbi_arrivals_init(&a, s);
    for (uint64_t i = 0; i < 100000; i++) {
        /* i * 61.25 ms exactly, never a running sum. */
        assert_int_equal(a.due_ns, i * 61250000ULL);
        llmbi_arrivals_advance(&a);
    }
    llmb_schedule_free(s);
}

static void test_schedule_constant_rate_absolute(void **state)
{
    llmb_schedule *s;
    llmb_error e;
    llmbi_arrivals a;
    (void)state;
    assert_int_equal(llmb_schedule_rate(3.0, LLMB_ARRIVAL_CONSTANT, 1.0, 0, &s, &e), LLMB_OK);
    assert_string_equal(llmb_schedule_name(s), "rate");
    llmbi_arrivals_init(&a, s);
    for (uint64_t i = 0; i < 300000; i++) {
        /* i / 3 s rounded to the ns: the millionth is not a microsecond off. */
        assert_int_equal(a.due_ns, (uint64_t)llround((double)i * 1e9 / 3.0));
        llmbi_arrivals_advance(&a);
    }
    assert_true(llmb_schedule_level(s) == 3.0);
    llmb_schedule_free(s);
}

static void test_schedule_poisson_rate_and_shape(void **state)
{
    llmb_schedule *s;
    llmb_error e;
    double *g, mean, cv;
    size_t below = 0;
    (void)state;
    assert_int_equal(llmb_schedule_rate(50.0, LLMB_ARRIVAL_POISSON, 1.0, 42, &s, &e), LLMB_OK);
    g = gaps_of(s, N_GAPS);
    mean_cv(g, N_GAPS, &mean, &cv);
    /* Mean gap 1/rate (its standard error here is 0.22 %), CV 1 as for an
     * exponential, and P(gap < mean) = 1 - 1/e. */
    assert_true(fabs(mean - 0.02) / 0.02 < 0.01);
    assert_true(fabs(cv - 1.0) < 0.02);
    for (size_t i = 0; i < N_GAPS; i++)
        below += g[i] < 0.02;
    assert_true(fabs((double)below / N_GAPS - (1.0 - exp(-1.0))) < 0.005);
    free(g);
    llmb_schedule_free(s);
}

static void test_schedule_gamma_burstiness(void **state)
{
    const double shapes[] = {0.25, 1.0, 4.0};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        llmb_schedule *s;
        llmb_error e;
        double *g, mean, cv;
        assert_int_equal(llmb_schedule_rate(10.0, LLMB_ARRIVAL_GAMMA, shapes[k], 7, &s, &e),
                         LLMB_OK);
        g = gaps_of(s, N_GAPS);
        mean_cv(g, N_GAPS, &mean, &cv);
        /* Gamma of shape B, mean 1/rate: the CV is 1/sqrt(B), so a smaller B
         * bunches the same rate into bursts. */
        if (fabs(mean - 0.1) / 0.1 > 0.015)
            fail_msg("shape %g: mean gap %g s, expected 0.1", shapes[k], mean);
        if (fabs(cv - 1.0 / sqrt(shapes[k])) > 0.04 / sqrt(shapes[k]))
            fail_msg("shape %g: CV %g, expected %g", shapes[k], cv, 1.0 / sqrt(shapes[k]));
        free(g);
        llmb_schedule_free(s);
    }
}

static void test_schedule_seed_reproducible(void **state)
{
    llmb_schedule *a, *b, *c;
    llmb_error e;
    double *ga, *gb, *gc;
    (void)state;
    assert_int_equal(llmb_schedule_rate(5, LLMB_ARRIVAL_POISSON, 1, 1234, &a, &e), LLMB_OK);
    assert_int_equal(llmb_schedule_rate(5, LLMB_ARRIVAL_POISSON, 1, 1234, &b, &e), LLMB_OK);
    assert_int_equal(llmb_schedule_rate(5, LLMB_ARRIVAL_POISSON, 1, 1235, &c, &e), LLMB_OK);
    ga = gaps_of(a, 1000);
    gb = gaps_of(b, 1000);
    gc = gaps_of(c, 1000);
    assert_memory_equal(ga, gb, 1000 * sizeof(double));
    assert_memory_not_equal(ga, gc, 1000 * sizeof(double));
    free(ga);
    free(gb);
    free(gc);
    llmb_schedule_free(a);
    llmb_schedule_free(b);
    llmb_schedule_free(c);
}

static void test_schedule_split_between_workers(void **state)
{
    /* Worker k of n walks arrivals k, k+n, ...: together exactly the
     * single-worker sequence, with the same due times. */
    llmb_schedule *s;
    llmb_error e;
    llmbi_arrivals one, w[3];
    uint64_t all[300];
    (void)state;
    assert_int_equal(llmb_schedule_rate(100, LLMB_ARRIVAL_GAMMA, 0.5, 9, &s, &e), LLMB_OK);
    llmbi_arrivals_init(&one, s);
    for (size_t i = 0; i < 300; i++) {
        all[i] = one.due_ns;
        llmbi_arrivals_advance(&one);
    }
    for (unsigned k = 0; k < 3; k++) {
        llmbi_arrivals_init(&w[k], s);
        for (unsigned j = 0; j < k; j++)
            llmbi_arrivals_advance(&w[k]);
    }
    for (size_t i = 0; i < 300; i++) {
        llmbi_arrivals *a = &w[i % 3];
        assert_int_equal(a->index, i);
        assert_int_equal(a->due_ns, all[i]);
        for (int j = 0; j < 3; j++)
            llmbi_arrivals_advance(a);
    }
    llmb_schedule_free(s);
}

static void test_schedule_sequential_and_concurrency(void **state)
{
    llmb_schedule *s;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_schedule_sequential(2.0, &s, &e), LLMB_OK);
    assert_string_equal(llmb_schedule_name(s), "sequential");
    assert_true(llmb_schedule_seconds(s) == 2.0);
    assert_int_equal(llmb_schedule_set_max_concurrency(s, 4, &e), LLMB_ERR_INVALID);
    llmb_schedule_free(s);
    assert_int_equal(llmb_schedule_concurrency(8, &s, &e), LLMB_OK);
    assert_string_equal(llmb_schedule_name(s), "concurrency");
    assert_int_equal(llmb_schedule_concurrency_value(s), 8);
    assert_true(llmb_schedule_level(s) == 8.0);
    assert_int_equal(llmb_schedule_set_max_concurrency(s, 4, &e), LLMB_ERR_INVALID);
    llmb_schedule_free(s);
    assert_int_equal(llmb_schedule_rate(10, LLMB_ARRIVAL_POISSON, 1, 0, &s, &e), LLMB_OK);
    assert_int_equal(llmb_schedule_set_max_concurrency(s, 4, &e), LLMB_OK);
    assert_int_equal(llmb_schedule_max_concurrency(s), 4);
    {
        llmb_schedule *c = llmb_schedule_copy(s);
        assert_non_null(c);
        assert_int_equal(llmb_schedule_max_concurrency(c), 4);
        llmb_schedule_free(c);
    }
    llmb_schedule_free(s);
}

static void test_schedule_rejects_bad_values(void **state)
{
    llmb_schedule *s = (llmb_schedule *)1;
    llmb_error e;
    llmb_arrival a;
    (void)state;
    assert_int_equal(llmb_schedule_interval(-1, &s, &e), LLMB_ERR_INVALID);
    assert_null(s);
    assert_int_equal(llmb_schedule_sequential(NAN, &s, &e), LLMB_ERR_INVALID);
    assert_int_equal(llmb_schedule_sequential(INFINITY, &s, &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "delay"));
    assert_int_equal(llmb_schedule_rate(0, LLMB_ARRIVAL_POISSON, 1, 0, &s, &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "rate"));
    assert_int_equal(llmb_schedule_rate(-3, LLMB_ARRIVAL_POISSON, 1, 0, &s, &e), LLMB_ERR_INVALID);
    assert_int_equal(llmb_schedule_rate(5, LLMB_ARRIVAL_GAMMA, 0, 0, &s, &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "burstiness"));
    assert_int_equal(llmb_schedule_concurrency(0, &s, &e), LLMB_ERR_INVALID);
    assert_int_equal(llmb_arrival_from_name("gamma", &a), LLMB_OK);
    assert_int_equal(a, LLMB_ARRIVAL_GAMMA);
    assert_int_equal(llmb_arrival_from_name("uniform", &a), LLMB_ERR_INVALID);
    assert_int_equal(llmb_schedule_interval(0, &s, &e), LLMB_OK);
    llmb_schedule_free(s);
    llmb_schedule_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_interval_absolute),
        cmocka_unit_test(test_schedule_constant_rate_absolute),
        cmocka_unit_test(test_schedule_poisson_rate_and_shape),
        cmocka_unit_test(test_schedule_gamma_burstiness),
        cmocka_unit_test(test_schedule_seed_reproducible),
        cmocka_unit_test(test_schedule_split_between_workers),
        cmocka_unit_test(test_schedule_sequential_and_concurrency),
        cmocka_unit_test(test_schedule_rejects_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
