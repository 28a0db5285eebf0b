/*
 * CSV (RFC 4180): row writer, incremental parser and whole tables.
 *
 * The parser is a byte-at-a-time state machine, so where the input is cut
 * between feeds never changes the rows it reports.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "llmbench/csv.h"

/* ---- Writing ---- */

static int needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    if (s[0] == ' ' || s[n - 1] == ' ')
        return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

llmb_status llmb_csv_write_row(FILE *fp, const char *const *fields, size_t n)
{
    /* A row of one empty field would be a blank line, which readers skip. */
    if (n == 1 && (!fields[0] || !fields[0][0]))
        return fputs("\"\"\r\n", fp) == EOF || ferror(fp) ? LLMB_ERR_IO : LLMB_OK;
    for (size_t i = 0; i < n; i++) {
        const char *s = fields[i] ? fields[i] : "";
        if (i > 0 && fputc(',', fp) == EOF)
            return LLMB_ERR_IO;
        if (!needs_quotes(s)) {
            if (fputs(s, fp) == EOF && *s)
                return LLMB_ERR_IO;
            continue;
        }
        if (fputc('"', fp) == EOF)
            return LLMB_ERR_IO;
        for (; *s; s++) {
            if (*s == '"' && fputc('"', fp) == EOF)
                return LLMB_ERR_IO;
            if (fputc(*s, fp) == EOF)
                return LLMB_ERR_IO;
        }
        if (fputc('"', fp) == EOF)
            return LLMB_ERR_IO;
    }
    if (fputs("\r\n", fp) == EOF)
        return LLMB_ERR_IO;
    return ferror(fp) ? LLMB_ERR_IO : LLMB_OK;
}

/* ---- Parsing ---- */

enum state {
    FIELD_START, /* at the start of a field */
    UNQUOTED,    /* inside a field without quotes */
    QUOTED,      /* inside a quoted field */
    QUOTE_SEEN,  /* a quote inside a quoted field: doubled, or the closing one */
    SKIP_LF      /* a row ended with CR: an LF right after belongs to it */
};

struct llmb_csv_parser {
    llmb_csv_row_fn fn;
    void *user;
    enum state state;
    char *buf; /* the current row's fields, each NUL-terminated */
    size_t len, cap;
    size_t *starts; /* offset of each field in buf */
    unsigned long *cols;
    size_t n_fields, cap_fields;
    size_t field_len;
    int row_started;          /* the row has at least one byte (blank lines are skipped) */
    unsigned long line, col;  /* position of the byte being read (1-based line) */
    unsigned long row_line;   /* line where the current row started */
    unsigned long quote_line; /* line where the open quoted field started */
    unsigned long quote_col;
    llmb_status failed;
    /* Filled during the callback so tables can name a cell's column. */
    const char **ptrs;
    size_t *lens;
};

llmb_csv_parser *llmb_csv_parser_new(llmb_csv_row_fn fn, void *user)
{
    llmb_csv_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fn = fn;
    p->user = user;
    p->line = 1;
    return p;
}

void llmb_csv_parser_free(llmb_csv_parser *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p->starts);
    free(p->cols);
    free(p->ptrs);
    free(p->lens);
    free(p);
}

static llmb_status fail_at(llmb_csv_parser *p, llmb_error *err, llmb_status st, unsigned long line,
                           unsigned long col, const char *what)
{
    llmbi_error_set_at(err, line, col, "line %lu, column %lu: %s", line, col, what);
    p->failed = st;
    return st;
}

/* One byte onto the row buffer, growing it as needed. */
static llmb_status append(llmb_csv_parser *p, char c, llmb_error *err)
{
    if (p->len + 1 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        char *nb = realloc(p->buf, cap);
        if (!nb)
            return fail_at(p, err, LLMB_ERR_NOMEM, p->line, p->col, "out of memory");
        p->buf = nb;
        p->cap = cap;
    }
    p->buf[p->len++] = c;
    return LLMB_OK;
}

static llmb_status put_byte(llmb_csv_parser *p, char c, llmb_error *err)
{
    llmb_status st;
    if (p->field_len >= LLMB_CSV_MAX_FIELD_BYTES)
        return fail_at(p, err, LLMB_ERR_PARSE, p->line, p->col, "field is too long");
    st = append(p, c, err);
    if (st == LLMB_OK)
        p->field_len++;
    return st;
}

/* A field starts at the byte being read (`after` 0) or after it (1: after a comma). */
static llmb_status begin_field(llmb_csv_parser *p, unsigned long after, llmb_error *err)
{
    if (p->n_fields >= LLMB_CSV_MAX_FIELDS)
        return fail_at(p, err, LLMB_ERR_PARSE, p->line, p->col, "too many fields in the row");
    if (p->n_fields == p->cap_fields) {
        size_t cap = p->cap_fields ? p->cap_fields * 2 : 16;
        size_t *ns = realloc(p->starts, cap * sizeof *ns);
        unsigned long *nc;
        if (!ns)
            return fail_at(p, err, LLMB_ERR_NOMEM, p->line, p->col, "out of memory");
        p->starts = ns;
        nc = realloc(p->cols, cap * sizeof *nc);
        if (!nc)
            return fail_at(p, err, LLMB_ERR_NOMEM, p->line, p->col, "out of memory");
        p->cols = nc;
        p->cap_fields = cap;
    }
    if (!p->row_started) {
        p->row_started = 1;
        p->row_line = p->line;
    }
    p->starts[p->n_fields] = p->len;
    p->cols[p->n_fields] = p->col + after;
    p->n_fields++;
    p->field_len = 0;
    return LLMB_OK;
}

static llmb_status end_field(llmb_csv_parser *p, llmb_error *err)
{
    return append(p, '\0', err);
}

static llmb_status end_row(llmb_csv_parser *p, llmb_error *err)
{
    llmb_status st = LLMB_OK;
    size_t n = p->n_fields;

    if (n > 0) {
        const char **np = realloc(p->ptrs, n * sizeof *np);
        size_t *nl;
        if (!np)
            return fail_at(p, err, LLMB_ERR_NOMEM, p->line, p->col, "out of memory");
        p->ptrs = np;
        nl = realloc(p->lens, n * sizeof *nl);
        if (!nl)
            return fail_at(p, err, LLMB_ERR_NOMEM, p->line, p->col, "out of memory");
        p->lens = nl;
        for (size_t i = 0; i < n; i++) {
            size_t end = i + 1 < n ? p->starts[i + 1] - 1 : p->len - 1;
            p->ptrs[i] = p->buf + p->starts[i];
            p->lens[i] = end - p->starts[i];
        }
        if (p->fn(p->user, p->ptrs, p->lens, n, p->row_line) != 0) {
            p->failed = LLMB_ERR_STOPPED;
            st = LLMB_ERR_STOPPED;
        }
    }
    p->len = 0;
    p->n_fields = 0;
    p->row_started = 0;
    return st;
}

/* One byte in the FIELD_START, UNQUOTED or QUOTE_SEEN states that ends a
 * field: comma, LF or CR. Returns 1 if it was one of those. */
static int field_end(llmb_csv_parser *p, char c, llmb_status *st, llmb_error *err)
{
    if (c != ',' && c != '\n' && c != '\r')
        return 0;
    *st = end_field(p, err);
    if (*st)
        return 1;
    if (c == ',') {
        p->state = FIELD_START;
        *st = begin_field(p, 1, err);
        return 1;
    }
    *st = end_row(p, err);
    p->state = c == '\r' ? SKIP_LF : FIELD_START;
    return 1;
}

static llmb_status step(llmb_csv_parser *p, char c, llmb_error *err)
{
    llmb_status st = LLMB_OK;

    switch (p->state) {
    case SKIP_LF:
        p->state = FIELD_START;
        if (c == '\n')
            return LLMB_OK;
        /* fall through - a bare CR ended the row; this byte starts the next */
    case FIELD_START:
        if (!p->row_started) {
            if (c == '\n' || c == '\r') {
                /* A blank line. */
                if (c == '\r')
                    p->state = SKIP_LF;
                return LLMB_OK;
            }
            if ((st = begin_field(p, 0, err)))
                return st;
        }
        if (c == '"') {
            p->state = QUOTED;
            p->quote_line = p->line;
            p->quote_col = p->col;
            return LLMB_OK;
        }
        if (field_end(p, c, &st, err))
            return st;
        p->state = UNQUOTED;
        return put_byte(p, c, err);
    case UNQUOTED:
        if (c == '"')
            return fail_at(p, err, LLMB_ERR_PARSE, p->line, p->col,
                           "a quote inside an unquoted field");
        if (field_end(p, c, &st, err))
            return st;
        return put_byte(p, c, err);
    case QUOTED:
        if (c == '"') {
            p->state = QUOTE_SEEN;
            return LLMB_OK;
        }
        return put_byte(p, c, err);
    case QUOTE_SEEN:
        if (c == '"') {
            p->state = QUOTED;
            return put_byte(p, c, err);
        }
        if (field_end(p, c, &st, err))
            return st;
        return fail_at(p, err, LLMB_ERR_PARSE, p->line, p->col, "text after a closing quote");
    }
    return LLMB_OK;
}

llmb_status llmb_csv_parser_feed(llmb_csv_parser *p, const char *data, size_t len, llmb_error *err)
{
    if (p->failed) {
        llmbi_error_set_at(err, p->line, p->col, "the parser already stopped at line %lu", p->line);
        return p->failed;
    }
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        /* The LF of a CRLF: its line was counted at the CR. */
        int crlf = p->state == SKIP_LF && c == '\n';
        llmb_status st;
        p->col++;
        st = step(p, c, err);
        if (st)
            return st;
        if (crlf) {
            p->col = 0;
        } else if (c == '\n' || (c == '\r' && p->state == SKIP_LF)) {
            /* LF ends a line anywhere; CR only where it ended a row. */
            p->line++;
            p->col = 0;
        }
    }
    return LLMB_OK;
}

llmb_status llmb_csv_parser_finish(llmb_csv_parser *p, llmb_error *err)
{
    llmb_status st;
    if (p->failed) {
        llmbi_error_set_at(err, p->line, p->col, "the parser already stopped at line %lu", p->line);
        return p->failed;
    }
    switch (p->state) {
    case QUOTED:
        return fail_at(p, err, LLMB_ERR_PARSE, p->quote_line, p->quote_col,
                       "a quoted field is not closed before the end of the input");
    case UNQUOTED:
    case QUOTE_SEEN:
    case FIELD_START:
        if (!p->row_started)
            break;
        if ((st = end_field(p, err)))
            return st;
        if ((st = end_row(p, err)))
            return st;
        break;
    case SKIP_LF:
        break;
    }
    p->state = FIELD_START;
    return LLMB_OK;
}

/* ---- Tables ---- */

struct llmb_table {
    size_t rows, cols, cap_rows;
    char **header;
    char **cells;           /* rows * cols */
    unsigned long *lines;   /* per row */
    unsigned long *columns; /* rows * cols: byte column where each cell started */
};

typedef struct table_ctx {
    llmb_table *t;
    llmb_csv_parser *p;
    llmb_error *err;
    llmb_status st;
    int have_header;
} table_ctx;

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int table_row(void *user, const char *const *fields, const size_t *lens, size_t n,
                     unsigned long line)
{
    table_ctx *c = user;
    llmb_table *t = c->t;

    if (!c->have_header) {
        t->header = calloc(n, sizeof *t->header);
        if (!t->header)
            goto nomem;
        t->cols = n;
        for (size_t i = 0; i < n; i++)
            if (!(t->header[i] = dup_n(fields[i], lens[i])))
                goto nomem;
        c->have_header = 1;
        return 0;
    }
    if (n != t->cols) {
        /* Name the first missing or extra field precisely. */
        unsigned long col =
            n < t->cols ? c->p->cols[n - 1] + (unsigned long)lens[n - 1] : c->p->cols[t->cols];
        llmbi_error_set_at(c->err, line, col,
                           "line %lu, column %lu: the row has %zu fields, the header %zu%s", line,
                           col, n, t->cols, n < t->cols ? " (is the file truncated?)" : "");
        c->st = LLMB_ERR_PARSE;
        return 1;
    }
    if (t->rows == t->cap_rows) {
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 64;
        char **nc = realloc(t->cells, cap * t->cols * sizeof *nc);
        unsigned long *nl, *ncol;
        if (!nc)
            goto nomem;
        t->cells = nc;
        nl = realloc(t->lines, cap * sizeof *nl);
        if (!nl)
            goto nomem;
        t->lines = nl;
        ncol = realloc(t->columns, cap * t->cols * sizeof *ncol);
        if (!ncol)
            goto nomem;
        t->columns = ncol;
        t->cap_rows = cap;
    }
    for (size_t i = 0; i < n; i++) {
        char *d = dup_n(fields[i], lens[i]);
        if (!d) {
            for (size_t j = 0; j < i; j++)
                free(t->cells[t->rows * t->cols + j]);
            goto nomem;
        }
        t->cells[t->rows * t->cols + i] = d;
        t->columns[t->rows * t->cols + i] = c->p->cols[i];
    }
    t->lines[t->rows] = line;
    t->rows++;
    return 0;
nomem:
    llmbi_error_set(c->err, "out of memory");
    c->st = LLMB_ERR_NOMEM;
    return 1;
}

void llmb_table_free(llmb_table *t)
{
    if (!t)
        return;
    if (t->header)
        for (size_t i = 0; i < t->cols; i++)
            free(t->header[i]);
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->header);
    free(t->cells);
    free(t->lines);
    free(t->columns);
    free(t);
}

llmb_status llmb_table_parse(const char *data, size_t len, llmb_table **out, llmb_error *err)
{
    table_ctx c;
    llmb_status st;

    *out = NULL;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.t = calloc(1, sizeof *c.t);
    c.p = llmb_csv_parser_new(table_row, &c);
    if (!c.t || !c.p) {
        llmbi_error_set(err, "out of memory");
        st = LLMB_ERR_NOMEM;
        goto out;
    }
    st = llmb_csv_parser_feed(c.p, data, len, err);
    if (st == LLMB_OK)
        st = llmb_csv_parser_finish(c.p, err);
    if (st == LLMB_ERR_STOPPED)
        st = c.st; /* the row callback refused a row and said why */
    if (st != LLMB_OK)
        goto out;
    if (!c.have_header) {
        llmbi_error_set_at(err, 1, 1, "line 1, column 1: the file is empty (no header row)");
        st = LLMB_ERR_PARSE;
        goto out;
    }
    *out = c.t;
    c.t = NULL;
out:
    llmb_csv_parser_free(c.p);
    llmb_table_free(c.t);
    return st;
}

llmb_status llmb_table_read_stream(FILE *fp, const char *name, llmb_table **out, llmb_error *err)
{
    char *data = NULL;
    size_t len = 0, cap = 0;
    llmb_status st;

    *out = NULL;
    for (;;) {
        size_t got;
        if (cap - len < 65536 && llmbi_grow((void **)&data, &cap, len + 65536, 1, 65536) != 0) {
            free(data);
            llmbi_error_set(err, "out of memory reading %s", name);
            return LLMB_ERR_NOMEM;
        }
        got = fread(data + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        free(data);
        llmbi_error_set(err, "cannot read %s: %s", name, strerror(errno));
        return LLMB_ERR_IO;
    }
    st = llmb_table_parse(data, len, out, err);
    free(data);
    return st;
}

llmb_status llmb_table_read_file(const char *path, llmb_table **out, llmb_error *err)
{
    FILE *fp;
    llmb_status st;

    *out = NULL;
    fp = fopen(path, "rb");
    if (!fp) {
        llmbi_error_set(err, "cannot read %s: %s", path, strerror(errno));
        return LLMB_ERR_IO;
    }
    st = llmb_table_read_stream(fp, path, out, err);
    fclose(fp);
    return st;
}

size_t llmb_table_rows(const llmb_table *t)
{
    return t->rows;
}

size_t llmb_table_columns(const llmb_table *t)
{
    return t->cols;
}

const char *llmb_table_header(const llmb_table *t, size_t col)
{
    return col < t->cols ? t->header[col] : NULL;
}

long llmb_table_find(const llmb_table *t, const char *name)
{
    for (size_t i = 0; i < t->cols; i++)
        if (strcmp(t->header[i], name) == 0)
            return (long)i;
    return -1;
}

const char *llmb_table_cell(const llmb_table *t, size_t row, size_t col)
{
    if (row >= t->rows || col >= t->cols)
        return NULL;
    return t->cells[row * t->cols + col];
}

unsigned long llmb_table_line(const llmb_table *t, size_t row)
{
    return row < t->rows ? t->lines[row] : 0;
}

llmb_status llmb_table_number(const llmb_table *t, size_t row, size_t col, double *out,
                              llmb_error *err)
{
    const char *s = llmb_table_cell(t, row, col);
    const char *p;
    char *end = NULL;
    double v = NAN;
    int digits = 0;

    if (!s) {
        llmbi_error_set(err, "no cell at row %zu, column %zu", row, col);
        return LLMB_ERR_INVALID;
    }
    if (*s == '\0') {
        *out = NAN;
        return LLMB_OK;
    }
    /* Only plain decimal notation: strtod alone would also take "inf",
     * "nan", hex and leading blanks. */
    for (p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits = 1;
        else if (!strchr("+-.eE", *p))
            break;
    }
    errno = 0;
    if (*p == '\0' && digits)
        v = strtod(s, &end);
    if (*p != '\0' || !digits || !end || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        unsigned long line = t->lines[row];
        unsigned long colno = t->columns[row * t->cols + col];
        llmbi_error_set_at(err, line, colno, "line %lu, column %lu: %s: '%.40s' is not a number",
                           line, colno, t->header[col], s);
        return LLMB_ERR_PARSE;
    }
    *out = v;
    return LLMB_OK;
}
