/*
 * libllmbench: CSV (RFC 4180). A generic incremental parser and row writer,
 * a whole-table reader with line/column errors, and the results table that
 * the tools write (one row per finished request, flushed as it is written).
 */
#ifndef LLMBENCH_CSV_H
#define LLMBENCH_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmbench/common.h"
#include "llmbench/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Writing ---- */

/**
 * Write one row to `fp`: fields separated by commas, a field quoted (with
 * quotes doubled) when it holds a comma, a quote, CR or LF or starts or ends
 * with a space, and the row ended by CRLF. NULL fields are written empty; a
 * row of a single empty field is written as "" so that it is not a blank line.
 * Returns LLMB_ERR_IO if writing failed.
 */
LLMB_API llmb_status llmb_csv_write_row(FILE *fp, const char *const *fields, size_t n);

/* ---- Incremental parsing ---- */

typedef struct llmb_csv_parser llmb_csv_parser;

/**
 * Called for every complete row. `fields[i]` is NUL-terminated and `lens[i]`
 * its length (a field may contain NUL bytes, CR or LF); `line` is the 1-based
 * line where the row started. The arrays are valid only during the call.
 * Return 0 to continue, non-zero to stop parsing (feed then returns
 * LLMB_ERR_STOPPED).
 */
typedef int (*llmb_csv_row_fn)(void *user, const char *const *fields, const size_t *lens, size_t n,
                               unsigned long line);

/** Limits that keep hostile input from exhausting memory. */
#define LLMB_CSV_MAX_FIELD_BYTES (1u << 20)
#define LLMB_CSV_MAX_FIELDS      4096u

/** A parser calling `fn` for each row; NULL when out of memory. */
LLMB_API llmb_csv_parser *llmb_csv_parser_new(llmb_csv_row_fn fn, void *user);
/**
 * Feed the next bytes; rows are reported as soon as they end. The input may
 * be cut anywhere. Lines end with LF or CRLF. A malformed input (a quote
 * inside an unquoted field, text after a closing quote, a field or row over
 * the limits) fails with LLMB_ERR_PARSE and the line and column (1-based,
 * in bytes) in *err; the parser then refuses further input.
 */
LLMB_API llmb_status llmb_csv_parser_feed(llmb_csv_parser *p, const char *data, size_t len,
                                          llmb_error *err);
/** End of input: reports a last row without a line end; fails on an open quoted field. */
LLMB_API llmb_status llmb_csv_parser_finish(llmb_csv_parser *p, llmb_error *err);
LLMB_API void llmb_csv_parser_free(llmb_csv_parser *p);

/* ---- Tables ---- */

typedef struct llmb_table llmb_table;

/**
 * Parse a whole CSV text whose first row is a header. Every row must have as
 * many fields as the header (else LLMB_ERR_PARSE at that row); an empty last
 * line is allowed. The caller owns *out (llmb_table_free).
 */
LLMB_API llmb_status llmb_table_parse(const char *data, size_t len, llmb_table **out,
                                      llmb_error *err);
/** Read and parse a file; LLMB_ERR_IO if it cannot be read. */
LLMB_API llmb_status llmb_table_read_file(const char *path, llmb_table **out, llmb_error *err);
/** Read `fp` to its end and parse it; `name` names it in error messages
 *  ("standard input"). LLMB_ERR_IO if it cannot be read. Does not close `fp`. */
LLMB_API llmb_status llmb_table_read_stream(FILE *fp, const char *name, llmb_table **out,
                                            llmb_error *err);
LLMB_API void llmb_table_free(llmb_table *t);
/** Data rows (the header not counted) and columns. */
LLMB_API size_t llmb_table_rows(const llmb_table *t);
LLMB_API size_t llmb_table_columns(const llmb_table *t);
/** Header name of a column, or NULL past the end. */
LLMB_API const char *llmb_table_header(const llmb_table *t, size_t col);
/** Index of the column with that header name, or -1. */
LLMB_API long llmb_table_find(const llmb_table *t, const char *name);
/** Cell text (owned by the table), or NULL out of range. */
LLMB_API const char *llmb_table_cell(const llmb_table *t, size_t row, size_t col);
/** Line (1-based) of the input where a data row started, 0 out of range. */
LLMB_API unsigned long llmb_table_line(const llmb_table *t, size_t row);
/**
 * A cell as a number: an empty cell gives NAN and LLMB_OK; text that is not
 * a whole finite decimal number gives LLMB_ERR_PARSE with that cell's line
 * and column and the column's name in *err.
 */
LLMB_API llmb_status llmb_table_number(const llmb_table *t, size_t row, size_t col, double *out,
                                       llmb_error *err);

/* ---- The results table ---- */

/** The results columns, in order; NULL past the end. The first five are the original's. */
LLMB_API const char *llmb_results_column(size_t i);
LLMB_API size_t llmb_results_column_count(void);

/** Values the same for every row of a run, written in its own columns. */
typedef struct llmb_results_meta {
    const char *schedule; /**< llmb_schedule_name(): "sequential", "rate", ... */
    const char *provider; /**< preset name, e.g. "vllm" */
    const char *model;
    int has_level; /**< write `level` (else the column is empty) */
    double level;  /**< llmb_schedule_level(): delay, interval, rate or concurrency */
} llmb_results_meta;

typedef struct llmb_results_writer llmb_results_writer;

/**
 * Create (or replace) the results file at `path` and write the header row.
 * `meta` is copied. Close with llmb_results_close.
 */
LLMB_API llmb_status llmb_results_open(const char *path, const llmb_results_meta *meta,
                                       llmb_results_writer **out, llmb_error *err);
/** Change the per-run values for the rows that follow (a sweep's next level). */
LLMB_API llmb_status llmb_results_set_meta(llmb_results_writer *w, const llmb_results_meta *meta);
/** Write one record as a row and flush it to the file. */
LLMB_API llmb_status llmb_results_write(llmb_results_writer *w, const llmb_record *rec,
                                        llmb_error *err);
/**
 * Close the file and free the writer (NULL does nothing). Reports any write
 * error seen since opening, including one found only when closing.
 */
LLMB_API llmb_status llmb_results_close(llmb_results_writer *w, llmb_error *err);
/**
 * Check that a table is a results table: it has the first five columns, in
 * order, and the named ones the caller needs (a NULL-terminated list, may be
 * NULL). Fails with LLMB_ERR_PARSE naming the missing column.
 */
LLMB_API llmb_status llmb_results_check(const llmb_table *t, const char *const *needed,
                                        llmb_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_CSV_H */
