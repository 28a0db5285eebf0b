/*
 * CSV: writer quoting, parser states, every-byte-boundary splits, errors with
 * line and column, tables, and the results table round trip.
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

#include "llmbench/csv.h"

/* Rows flattened into one string: fields joined by '|', rows ended by '\n'
 * (inputs in these tests do not use '|'), plus the start line of each row. */
typedef struct flat {
    char text[4096];
    size_t len;
    unsigned long lines[64];
    size_t rows;
} flat;

static int flatten(void *user, const char *const *fields, const size_t *lens, size_t n,
                   unsigned long line)
{
    flat *f = user;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fields[i][lens[i]], '\0');
        assert_true(f->len + lens[i] + 2 < sizeof f->text);
        if (i > 0)
            f->text[f->len++] = '|';
        memcpy(f->text + f->len, fields[i], lens[i]);
        f->len += lens[i];
    }
    f->text[f->len++] = '\n';
    f->text[f->len] = '\0';
    assert_true(f->rows < 64);
    f->lines[f->rows++] = line;
    return 0;
}

static llmb_status parse_split(const char *in, size_t len, size_t cut, flat *out, llmb_error *e)
{
    llmb_csv_parser *p = llmb_csv_parser_new(flatten, out);
    llmb_status st;
    memset(out, 0, sizeof *out);
    st = llmb_csv_parser_feed(p, in, cut, e);
    if (st == LLMB_OK)
        st = llmb_csv_parser_feed(p, in + cut, len - cut, e);
    if (st == LLMB_OK)
        st = llmb_csv_parser_finish(p, e);
    llmb_csv_parser_free(p);
    return st;
}

static void check_splits(const char *in, const char *expect)
{
    size_t len = strlen(in);
    flat whole, part;
    llmb_error e;
    assert_int_equal(parse_split(in, len, len, &whole, &e), LLMB_OK);
    assert_string_equal(whole.text, expect);
    for (size_t cut = 0; cut <= len; cut++) {
        assert_int_equal(parse_split(in, len, cut, &part, &e), LLMB_OK);
        assert_string_equal(part.text, whole.text);
        assert_int_equal(part.rows, whole.rows);
        assert_memory_equal(part.lines, whole.lines, whole.rows * sizeof whole.lines[0]);
    }
}

static void test_csv_simple_and_quoted(void **state)
{
    (void)state;
    check_splits("a,b,c\n1,2,3\n", "a|b|c\n1|2|3\n");
    check_splits("a,b\r\n1,2\r\n", "a|b\n1|2\n");
    check_splits("a,b\n1,2", "a|b\n1|2\n");
    check_splits("\"x,y\",\"he said \"\"hi\"\"\",\"line1\nline2\"\n",
                 "x,y|he said \"hi\"|line1\nline2\n");
    check_splits("\"cr\r\nlf\",z\r\n", "cr\r\nlf|z\n");
    check_splits(",,\n", "||\n");
    check_splits("\"\"\n", "\n");
    check_splits("a\rb\r", "a\nb\n");
}

static void test_csv_blank_lines_skipped(void **state)
{
    flat f;
    llmb_error e;
    const char *in = "a,b\n\n1,2\r\n\r\n3,4\n";
    (void)state;
    check_splits(in, "a|b\n1|2\n3|4\n");
    assert_int_equal(parse_split(in, strlen(in), 0, &f, &e), LLMB_OK);
    /* Rows keep the line they started on, blank lines counted. */
    assert_int_equal(f.lines[0], 1);
    assert_int_equal(f.lines[1], 3);
    assert_int_equal(f.lines[2], 5);
}

static void test_csv_line_numbers_with_quoted_newlines(void **state)
{
    flat f;
    llmb_error e;
    const char *in = "h1,h2\n\"a\nb\nc\",x\nnext,row\n";
    (void)state;
    assert_int_equal(parse_split(in, strlen(in), 3, &f, &e), LLMB_OK);
    assert_int_equal(f.rows, 3);
    assert_int_equal(f.lines[1], 2);
    assert_int_equal(f.lines[2], 5);
}

static void expect_error(const char *in, unsigned long line, unsigned long col, const char *what)
{
    size_t len = strlen(in);
    for (size_t cut = 0; cut <= len; cut++) {
        flat f;
        llmb_error e;
        memset(&e, 0, sizeof e);
        assert_int_equal(parse_split(in, len, cut, &f, &e), LLMB_ERR_PARSE);
        assert_int_equal(e.line, line);
        assert_int_equal(e.column, col);
        assert_non_null(strstr(e.text, what));
    }
}

static void test_csv_errors_have_line_and_column(void **state)
{
    (void)state;
    expect_error("a,b\n1,x\"y\n", 2, 4, "quote inside an unquoted field");
    expect_error("a,b\n\"1\"x,2\n", 2, 4, "after a closing quote");
    expect_error("a,b\r\n1,2\r\n\"open,3\r\n", 3, 1, "not closed");
}

static int stop_cb(void *user, const char *const *f, const size_t *l, size_t n, unsigned long line)
{
    (void)f;
    (void)l;
    (void)n;
    (void)line;
    return ++*(int *)user >= 1;
}

static void test_csv_callback_stop_and_limits(void **state)
{
    int count = 0;
    llmb_error e;
    llmb_csv_parser *p = llmb_csv_parser_new(stop_cb, &count);
    char *big;
    flat f;
    (void)state;
    assert_int_equal(llmb_csv_parser_feed(p, "a\nb\n", 4, &e), LLMB_ERR_STOPPED);
    assert_int_equal(count, 1);
    llmb_csv_parser_free(p);

    big = malloc(LLMB_CSV_MAX_FIELD_BYTES + 10);
    memset(big, 'x', LLMB_CSV_MAX_FIELD_BYTES + 10);
    assert_int_equal(parse_split(big, LLMB_CSV_MAX_FIELD_BYTES + 10, 5, &f, &e), LLMB_ERR_PARSE);
    assert_non_null(strstr(e.text, "too long"));
    free(big);
}

static void test_csv_writer_quoting(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    const char *row[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "", NULL, " pad"};
    (void)state;
    assert_int_equal(llmb_csv_write_row(fp, row, 7), LLMB_OK);
    fclose(fp);
    assert_string_equal(buf, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,,\" pad\"\r\n");
    free(buf);
    /* A row of one empty field must not become a blank line (readers skip those). */
    fp = open_memstream(&buf, &len);
    row[0] = "";
    assert_int_equal(llmb_csv_write_row(fp, row, 1), LLMB_OK);
    fclose(fp);
    assert_string_equal(buf, "\"\"\r\n");
    free(buf);
}

static void test_csv_round_trip(void **state)
{
    const char *rows[3][4] = {
        {"name", "text", "n", "empty"},
        {"a,b", "quote \" and \"\"", "1.5", ""},
        {"multi\r\nline\nfield", ",,,", "-2e3", "\"\""},
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    llmb_table *t;
    llmb_error e;
    double v;
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(llmb_csv_write_row(fp, rows[i], 4), LLMB_OK);
    fclose(fp);
    assert_int_equal(llmb_table_parse(buf, len, &t, &e), LLMB_OK);
    assert_int_equal(llmb_table_rows(t), 2);
    assert_int_equal(llmb_table_columns(t), 4);
    for (size_t r = 0; r < 2; r++)
        for (size_t c = 0; c < 4; c++)
            assert_string_equal(llmb_table_cell(t, r, c), rows[r + 1][c]);
    assert_int_equal(llmb_table_find(t, "n"), 2);
    assert_int_equal(llmb_table_find(t, "missing"), -1);
    assert_int_equal(llmb_table_number(t, 0, 2, &v, &e), LLMB_OK);
    assert_true(v == 1.5);
    assert_int_equal(llmb_table_number(t, 1, 2, &v, &e), LLMB_OK);
    assert_true(v == -2000.0);
    assert_int_equal(llmb_table_number(t, 0, 3, &v, &e), LLMB_OK);
    assert_true(isnan(v));
    /* "a,b" is not a number: the error names the cell's line, column and header. */
    assert_int_equal(llmb_table_number(t, 0, 0, &v, &e), LLMB_ERR_PARSE);
    assert_int_equal(e.line, 2);
    assert_int_equal(e.column, 1);
    assert_non_null(strstr(e.text, "name"));
    assert_null(llmb_table_cell(t, 2, 0));
    llmb_table_free(t);
    free(buf);
}

static void test_csv_table_rejects_bad_rows(void **state)
{
    llmb_table *t = NULL;
    llmb_error e;
    const char *short_row = "a,b,c\n1,2,3\n4,5\n";
    const char *long_row = "a,b\n1,2,3\n";
    (void)state;
    assert_int_equal(llmb_table_parse(short_row, strlen(short_row), &t, &e), LLMB_ERR_PARSE);
    assert_null(t);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.text, "truncated"));
    assert_int_equal(llmb_table_parse(long_row, strlen(long_row), &t, &e), LLMB_ERR_PARSE);
    assert_int_equal(e.line, 2);
    assert_int_equal(e.column, 5);
    assert_int_equal(llmb_table_parse("", 0, &t, &e), LLMB_ERR_PARSE);
    assert_non_null(strstr(e.text, "empty"));
}

static void test_csv_numbers_strict(void **state)
{
    const char *in = "v\ninf\nnan\n0x10\n 1\n1e999\n12abc\n-\n3.25\n";
    llmb_table *t;
    llmb_error e;
    double v;
    (void)state;
    assert_int_equal(llmb_table_parse(in, strlen(in), &t, &e), LLMB_OK);
    for (size_t r = 0; r < 7; r++)
        assert_int_equal(llmb_table_number(t, r, 0, &v, &e), LLMB_ERR_PARSE);
    assert_int_equal(llmb_table_number(t, 7, 0, &v, &e), LLMB_OK);
    assert_true(v == 3.25);
    llmb_table_free(t);
}

static void test_csv_results_round_trip(void **state)
{
    char path[] = "/tmp/llmb_test_results_XXXXXX";
    int fd = mkstemp(path);
    llmb_results_writer *w;
    llmb_results_meta meta = {"sequential", "mock", "=evil-model"};
    uint64_t chunks[] = {50000000, 60000000, 80000000};
    llmb_record ok, bad;
    llmb_table *t;
    llmb_error e;
    double v;
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    memset(&ok, 0, sizeof ok);
    ok.request = 1;
    ok.intended_ns = 0;
    ok.sent_ns = 1000000;   /* 1 ms */
    ok.end_ns = 2001000000; /* 2.001 s */
    llmb_record_set_chunks(&ok, chunks, 3);
    ok.prompt_tokens = 11;
    ok.generated_tokens = 100;
    ok.token_source = LLMB_TOKENS_USAGE;
    ok.http_status = 200;
    ok.error = "";
    memset(&bad, 0, sizeof bad);
    bad.request = 2;
    bad.sent_ns = 5000000;
    bad.end_ns = 6000000;
    bad.prompt_tokens = bad.generated_tokens = -1;
    bad.http_status = 500;
    bad.error_class = LLMB_FAIL_HTTP;
    bad.error = "-HTTP 500: boom, \"bad\"\nthing";

    assert_int_equal(llmb_results_open(path, &meta, &w, &e), LLMB_OK);
    assert_int_equal(llmb_results_write(w, &ok, &e), LLMB_OK);
    assert_int_equal(llmb_results_write(w, &bad, &e), LLMB_OK);
    assert_int_equal(llmb_results_close(w, &e), LLMB_OK);

    assert_int_equal(llmb_table_read_file(path, &t, &e), LLMB_OK);
    assert_int_equal(llmb_results_check(t, NULL, &e), LLMB_OK);
    assert_int_equal(llmb_table_columns(t), llmb_results_column_count());
    for (size_t i = 0; i < llmb_results_column_count(); i++)
        assert_string_equal(llmb_table_header(t, i), llmb_results_column(i));
    assert_string_equal(llmb_table_header(t, 4), "tokens_per_s");
    assert_int_equal(llmb_table_rows(t), 2);
    assert_int_equal(llmb_table_number(t, 0, 1, &v, &e), LLMB_OK);
    assert_true(fabs(v - 2.0) < 1e-9);
    assert_int_equal(llmb_table_number(t, 0, 4, &v, &e), LLMB_OK);
    assert_true(fabs(v - 50.0) < 1e-3);
    assert_int_equal(llmb_table_number(t, 0, (size_t)llmb_table_find(t, "ttft_ms"), &v, &e),
                     LLMB_OK);
    assert_true(fabs(v - 49.0) < 1e-9);
    assert_string_equal(llmb_table_cell(t, 0, (size_t)llmb_table_find(t, "token_source")), "usage");
    assert_string_equal(llmb_table_cell(t, 0, (size_t)llmb_table_find(t, "error")), "");
    /* A failed row: counts empty, error kept whole in one field but unable to
     * start a spreadsheet formula, and so is a model name from elsewhere. */
    assert_string_equal(llmb_table_cell(t, 1, 2), "");
    assert_string_equal(llmb_table_cell(t, 1, (size_t)llmb_table_find(t, "error")),
                        "'-HTTP 500: boom, \"bad\"\nthing");
    assert_string_equal(llmb_table_cell(t, 1, (size_t)llmb_table_find(t, "error_class")), "http");
    assert_string_equal(llmb_table_cell(t, 1, (size_t)llmb_table_find(t, "model")), "'=evil-model");
    assert_string_equal(llmb_table_cell(t, 1, (size_t)llmb_table_find(t, "schedule")),
                        "sequential");
    llmb_table_free(t);
    unlink(path);
}

static void test_csv_results_check(void **state)
{
    const char *other = "request,time,x\n1,2,3\n";
    const char *needed[] = {"model", NULL};
    const char *no_model = "request,time_taken_s,prompt_tokens,generated_tokens,tokens_per_s\n";
    llmb_table *t;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_table_parse(other, strlen(other), &t, &e), LLMB_OK);
    assert_int_equal(llmb_results_check(t, NULL, &e), LLMB_ERR_PARSE);
    assert_non_null(strstr(e.text, "time_taken_s"));
    llmb_table_free(t);
    assert_int_equal(llmb_table_parse(no_model, strlen(no_model), &t, &e), LLMB_OK);
    assert_int_equal(llmb_results_check(t, NULL, &e), LLMB_OK);
    assert_int_equal(llmb_results_check(t, needed, &e), LLMB_ERR_PARSE);
    assert_non_null(strstr(e.text, "model"));
    llmb_table_free(t);
}

static void test_csv_results_open_fails_cleanly(void **state)
{
    llmb_results_writer *w = NULL;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_results_open("/nonexistent-dir/x/results.csv", NULL, &w, &e),
                     LLMB_ERR_IO);
    assert_null(w);
    assert_non_null(strstr(e.text, "/nonexistent-dir/x/results.csv"));
    assert_int_equal(llmb_table_read_file("/nonexistent-dir/x.csv", (llmb_table **)&w, &e),
                     LLMB_ERR_IO);
}

static void test_csv_read_stream(void **state)
{
    FILE *fp = tmpfile();
    FILE *wo;
    llmb_table *t = NULL;
    llmb_error e;
    (void)state;

    /* Well past the first 64 KiB read, so the buffer grows. */
    assert_non_null(fp);
    fputs("request,text\n", fp);
    for (int i = 1; i <= 5000; i++)
        fprintf(fp, "%d,\"row %d, quoted; long enough to fill the buffer\"\n", i, i);
    rewind(fp);
    assert_int_equal(llmb_table_read_stream(fp, "the stream", &t, &e), LLMB_OK);
    fclose(fp);
    assert_int_equal(llmb_table_rows(t), 5000);
    assert_string_equal(llmb_table_cell(t, 4999, 1),
                        "row 5000, quoted; long enough to fill the buffer");
    llmb_table_free(t);

    /* A stream that cannot be read: the error names it. */
    wo = fopen("/dev/null", "w");
    assert_non_null(wo);
    assert_int_equal(llmb_table_read_stream(wo, "the stream", &t, &e), LLMB_ERR_IO);
    assert_null(t);
    assert_non_null(strstr(e.text, "cannot read the stream"));
    fclose(wo);
}

static void test_csv_results_write_error_reported(void **state)
{
    /* /dev/full accepts the open and fails every write with ENOSPC. */
    llmb_results_writer *w = NULL;
    llmb_error e;
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    assert_int_equal(llmb_results_open("/dev/full", NULL, &w, &e), LLMB_ERR_IO);
    assert_non_null(strstr(e.text, "No space"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_simple_and_quoted),
        cmocka_unit_test(test_csv_blank_lines_skipped),
        cmocka_unit_test(test_csv_line_numbers_with_quoted_newlines),
        cmocka_unit_test(test_csv_errors_have_line_and_column),
        cmocka_unit_test(test_csv_callback_stop_and_limits),
        cmocka_unit_test(test_csv_writer_quoting),
        cmocka_unit_test(test_csv_round_trip),
        cmocka_unit_test(test_csv_table_rejects_bad_rows),
        cmocka_unit_test(test_csv_numbers_strict),
        cmocka_unit_test(test_csv_results_round_trip),
        cmocka_unit_test(test_csv_results_check),
        cmocka_unit_test(test_csv_results_open_fails_cleanly),
        cmocka_unit_test(test_csv_read_stream),
        cmocka_unit_test(test_csv_results_write_error_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
