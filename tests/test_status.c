/*
 * Unit tests for lib/status.c: status strings, error messages and the shared
 * growable-array helper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "internal.h"
#include "llmbench/common.h"

static void test_status_grow_starts_and_doubles(void **state)
{
    int *a = NULL;
    size_t cap = 0;
    (void)state;

    assert_int_equal(llmbi_grow((void **)&a, &cap, 1, sizeof *a, 4), 0);
    assert_non_null(a);
    assert_int_equal(cap, 4);
    for (int i = 0; i < 4; i++)
        a[i] = i;
    /* Enough room already: nothing moves. */
    {
        int *before = a;
        assert_int_equal(llmbi_grow((void **)&a, &cap, 4, sizeof *a, 4), 0);
        assert_ptr_equal(a, before);
        assert_int_equal(cap, 4);
    }
    /* 4 -> 8 -> 16 for 9 items; the items stay. */
    assert_int_equal(llmbi_grow((void **)&a, &cap, 9, sizeof *a, 4), 0);
    assert_int_equal(cap, 16);
    for (int i = 0; i < 4; i++)
        assert_int_equal(a[i], i);
    free(a);
}

static void test_status_grow_refuses_overflow(void **state)
{
    char *b = NULL;
    double *d = NULL;
    size_t cap = 0, dcap = 0;
    (void)state;

    assert_int_equal(llmbi_grow((void **)&b, &cap, 10, 1, 8), 0);
    memcpy(b, "123456789", 10);
    /* A count past what doubling can reach, and a byte size past SIZE_MAX. */
    assert_int_equal(llmbi_grow((void **)&b, &cap, SIZE_MAX, 1, 8), -1);
    assert_int_equal(llmbi_grow((void **)&d, &dcap, SIZE_MAX / 4, sizeof *d, 8), -1);
    /* The arrays are left as they were. */
    assert_int_equal(cap, 16);
    assert_string_equal(b, "123456789");
    assert_null(d);
    assert_int_equal(dcap, 0);
    free(b);
}

static void test_status_strings(void **state)
{
    llmb_error e;
    (void)state;

    assert_true(strlen(llmb_strerror(LLMB_ERR_NOMEM)) > 0);
    assert_string_not_equal(llmb_strerror(LLMB_OK), llmb_strerror(LLMB_ERR_NOMEM));
    llmbi_error_set(&e, "bad %s at %d", "value", 7);
    assert_string_equal(e.text, "bad value at 7");
    assert_int_equal(e.line, 0);
    llmbi_error_set_at(&e, 3, 9, "unexpected %c", ',');
    assert_string_equal(e.text, "unexpected ,");
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 9);
    llmbi_error_set(NULL, "ignored");
    {
        char s[6];
        llmbi_format(s, sizeof s, "%s", "truncated");
        assert_string_equal(s, "trunc");
    }
    assert_null(llmbi_strdup(NULL));
    {
        char *d = llmbi_strdup("copy");
        assert_string_equal(d, "copy");
        free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_grow_starts_and_doubles),
        cmocka_unit_test(test_status_grow_refuses_overflow),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
