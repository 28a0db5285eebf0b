/*
 * Unit tests for lib/output.c: the files results are written into, a path or
 * "-" for standard output.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "llmbench/common.h"

static void test_output_dash_is_stdout_and_stays_open(void **state)
{
    llmb_error e;
    FILE *fp;
    (void)state;
    fp = llmb_output_open("-", &e);
    assert_ptr_equal(fp, stdout);
    assert_int_equal(llmb_output_close(fp), 0);
    /* Flushed, not closed: standard output still works. */
    assert_true(fcntl(fileno(stdout), F_GETFD) != -1);
    assert_true(fputs("", stdout) != EOF);
}

static void test_output_file_written_and_closed(void **state)
{
    char path[] = "/tmp/llmb_test_output_XXXXXX", got[32] = "";
    llmb_error e;
    FILE *fp, *in;
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    fp = llmb_output_open(path, &e);
    assert_non_null(fp);
    assert_ptr_not_equal(fp, stdout);
    assert_true(fputs("a,b\n1,2\n", fp) != EOF);
    assert_int_equal(llmb_output_close(fp), 0);
    in = fopen(path, "r");
    assert_non_null(in);
    assert_int_equal(fread(got, 1, sizeof got - 1, in), 8);
    fclose(in);
    assert_string_equal(got, "a,b\n1,2\n");
    unlink(path);
}

static void test_output_cannot_open(void **state)
{
    llmb_error e;
    (void)state;
    memset(&e, 0, sizeof e);
    assert_null(llmb_output_open("/nonexistent-llmb-dir/results.csv", &e));
    assert_string_equal(
        e.text, "cannot write /nonexistent-llmb-dir/results.csv: No such file or directory");
}

static void test_output_late_failure_reported(void **state)
{
    /* The bytes wait in the stream's buffer; the device refuses them only
     * when they are flushed, at the close, which must say so. */
    llmb_error e;
    FILE *fp;
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    fp = llmb_output_open("/dev/full", &e);
    assert_non_null(fp);
    assert_true(fputs("request,ttft_s\n", fp) != EOF);
    assert_int_equal(llmb_output_close(fp), ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_dash_is_stdout_and_stays_open),
        cmocka_unit_test(test_output_file_written_and_closed),
        cmocka_unit_test(test_output_cannot_open),
        cmocka_unit_test(test_output_late_failure_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
