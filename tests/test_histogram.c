/*
 * Histogram: exact below 2048 ns, stated precision above, exact merging,
 * memory only for the octaves in use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "histogram.h"
#include "llmbench/metrics.h"
#include "schedule.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double exact_percentile(const uint64_t *sorted, size_t n, double p)
{
    double *d = malloc(n * sizeof *d), v;
    for (size_t i = 0; i < n; i++)
        d[i] = (double)sorted[i];
    v = llmb_percentile(d, n, p);
    free(d);
    return v;
}

static void test_histogram_exact_small_values(void **state)
{
    llmbi_hist h;
    (void)state;
    llmbi_hist_init(&h);
    for (uint64_t v = 0; v < 2048; v++)
        assert_int_equal(llmbi_hist_add(&h, v), LLMB_OK);
    /* Every value is its own bucket: percentiles are exact. */
    assert_true(llmbi_hist_percentile(&h, 50) == 1023.5);
    assert_true(llmbi_hist_percentile(&h, 0) == 0);
    assert_true(llmbi_hist_percentile(&h, 100) == 2047);
    assert_true(fabs(llmbi_hist_mean(&h) - 1023.5) < 1e-9);
    llmbi_hist_free(&h);
}

static void test_histogram_relative_precision(void **state)
{
    /* Log-uniform values from 1 us to 1 hour: every percentile from the
     * histogram within 0.1 % of the exact one. */
    const size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v);
    llmbi_rng rng;
    llmbi_hist h;
    const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
    double sum = 0;
    (void)state;
    llmbi_rng_seed(&rng, 5);
    llmbi_hist_init(&h);
    for (size_t i = 0; i < n; i++) {
        v[i] = (uint64_t)exp(log(1e3) + llmbi_rng_uniform(&rng) * (log(3.6e12) - log(1e3)));
        sum += (double)v[i];
        assert_int_equal(llmbi_hist_add(&h, v[i]), LLMB_OK);
    }
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        double want = exact_percentile(v, n, ps[k]);
        double got = llmbi_hist_percentile(&h, ps[k]);
        if (fabs(got - want) / want > 0.001)
            fail_msg("p%g: %g from the histogram, %g exact", ps[k], got, want);
    }
    /* Extremes and mean are exact. */
    assert_true(llmbi_hist_percentile(&h, 0) == (double)v[0]);
    assert_true(llmbi_hist_percentile(&h, 100) == (double)v[n - 1]);
    assert_true(fabs(llmbi_hist_mean(&h) - sum / n) / (sum / n) < 1e-12);
    /* 1 us to 1 h spans 32 octaves of 8 KiB, plus the exact one. */
    assert_true(llmbi_hist_bytes(&h) <= 34 * 8192 + 2048 * 8);
    free(v);
    llmbi_hist_free(&h);
}

static void test_histogram_merge_equals_whole(void **state)
{
    llmbi_hist a, b, all;
    llmbi_rng rng;
    (void)state;
    llmbi_hist_init(&a);
    llmbi_hist_init(&b);
    llmbi_hist_init(&all);
    llmbi_rng_seed(&rng, 11);
    for (int i = 0; i < 50000; i++) {
        uint64_t x = 1000000 + (uint64_t)(llmbi_rng_exponential(&rng) * 5e6);
        llmbi_hist_add(i % 3 ? &a : &b, x);
        llmbi_hist_add(&all, x);
    }
    assert_int_equal(llmbi_hist_merge(&a, &b), LLMB_OK);
    assert_int_equal(a.count, all.count);
    assert_int_equal(a.min, all.min);
    assert_int_equal(a.max, all.max);
    for (double p = 1; p < 100; p += 7.5)
        assert_true(llmbi_hist_percentile(&a, p) == llmbi_hist_percentile(&all, p));
    assert_true(fabs(llmbi_hist_mean(&a) - llmbi_hist_mean(&all)) / llmbi_hist_mean(&all) < 1e-12);
    assert_true(fabs(llmbi_hist_std(&a) - llmbi_hist_std(&all)) / llmbi_hist_std(&all) < 1e-9);
    /* Merging an empty one changes nothing; merging into an empty one copies. */
    {
        llmbi_hist e, c;
        llmbi_hist_init(&e);
        llmbi_hist_init(&c);
        assert_int_equal(llmbi_hist_merge(&a, &e), LLMB_OK);
        assert_int_equal(a.count, all.count);
        assert_int_equal(llmbi_hist_merge(&c, &all), LLMB_OK);
        assert_true(llmbi_hist_percentile(&c, 50) == llmbi_hist_percentile(&all, 50));
        assert_true(fabs(llmbi_hist_std(&c) - llmbi_hist_std(&all)) < 1e-6);
        llmbi_hist_free(&c);
    }
    llmbi_hist_free(&a);
    llmbi_hist_free(&b);
    llmbi_hist_free(&all);
}

static void test_histogram_std_and_empty(void **state)
{
    llmbi_hist h;
    (void)state;
    llmbi_hist_init(&h);
    assert_true(isnan(llmbi_hist_percentile(&h, 50)));
    assert_true(isnan(llmbi_hist_mean(&h)));
    assert_int_equal(llmbi_hist_bytes(&h), 0);
    /* Values far from 0 but close to each other: the variance stays exact. */
    llmbi_hist_add(&h, 1000000000000ULL);
    llmbi_hist_add(&h, 1000000000002ULL);
    assert_true(fabs(llmbi_hist_std(&h) - 1.0) < 1e-9);
    llmbi_hist_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_exact_small_values),
        cmocka_unit_test(test_histogram_relative_precision),
        cmocka_unit_test(test_histogram_merge_equals_whole),
        cmocka_unit_test(test_histogram_std_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
