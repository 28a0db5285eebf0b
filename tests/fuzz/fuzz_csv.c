/*
 * Fuzz target: the CSV parser and table reader. Parsing whole and in pieces
 * must agree; a table that parses must answer every cell query; writing its
 * rows back and parsing again must give the same cells.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fnv.h"
#include "llmbench/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_row(void *user, const char *const *f, const size_t *l, size_t n,
                     unsigned long line)
{
    uint64_t *h = user;
    (void)f;
    for (size_t i = 0; i < n; i++) {
        *h = fnv1a(*h, f[i], l[i]);
        *h = (*h ^ 0x100) * FNV_PRIME; /* a field's end: no byte's value */
    }
    *h = (*h ^ line) * FNV_PRIME;
    return 0;
}

static llmb_status parse(const uint8_t *data, size_t size, size_t piece, uint64_t *h)
{
    llmb_csv_parser *p = llmb_csv_parser_new(count_row, h);
    llmb_status st = LLMB_OK;
    llmb_error e;
    size_t off = 0;
    if (!p)
        abort();
    *h = FNV_OFFSET;
    while (st == LLMB_OK && off < size) {
        size_t n = piece < size - off ? piece : size - off;
        st = llmb_csv_parser_feed(p, (const char *)data + off, n, &e);
        off += n;
    }
    if (st == LLMB_OK)
        st = llmb_csv_parser_finish(p, &e);
    llmb_csv_parser_free(p);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h1, h2;
    llmb_table *t = NULL;
    llmb_error e;
    llmb_status a, b;

    a = parse(data, size, size ? size : 1, &h1);
    b = parse(data, size, size ? (size_t)data[0] % 7 + 1 : 1, &h2);
    if (a != b || (a == LLMB_OK && h1 != h2))
        abort();
    if (llmb_table_parse((const char *)data, size, &t, &e) != LLMB_OK)
        return 0;
    for (size_t r = 0; r < llmb_table_rows(t); r++)
        for (size_t c = 0; c < llmb_table_columns(t); c++) {
            double v;
            if (!llmb_table_cell(t, r, c))
                abort();
            llmb_table_number(t, r, c, &v, &e);
        }
    {
        /* Round trip: write the header and rows, parse again, compare. Cells
         * holding NUL bytes cannot survive a C-string writer; skip those. */
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        size_t cols = llmb_table_columns(t);
        const char **row = calloc(cols ? cols : 1, sizeof *row);
        llmb_table *t2 = NULL;
        int has_nul = memchr(data, 0, size) != NULL;
        if (!fp || !row)
            abort();
        for (size_t c = 0; c < cols; c++)
            row[c] = llmb_table_header(t, c);
        llmb_csv_write_row(fp, row, cols);
        for (size_t r = 0; r < llmb_table_rows(t); r++) {
            for (size_t c = 0; c < cols; c++)
                row[c] = llmb_table_cell(t, r, c);
            llmb_csv_write_row(fp, row, cols);
        }
        fclose(fp);
        if (!has_nul) {
            if (llmb_table_parse(buf, len, &t2, &e) != LLMB_OK)
                abort();
            /* A header of one empty field writes as a blank line, which is skipped. */
            if (!(cols == 1 && llmb_table_header(t, 0)[0] == '\0')) {
                if (llmb_table_rows(t2) != llmb_table_rows(t) || llmb_table_columns(t2) != cols)
                    abort();
                for (size_t r = 0; r < llmb_table_rows(t); r++)
                    for (size_t c = 0; c < cols; c++)
                        if (strcmp(llmb_table_cell(t, r, c), llmb_table_cell(t2, r, c)) != 0)
                            abort();
            }
            llmb_table_free(t2);
        }
        free(row);
        free(buf);
    }
    llmb_table_free(t);
    return 0;
}
