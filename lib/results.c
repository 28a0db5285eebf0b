/*
 * The results table: one row per finished request, in the columns the README
 * documents, written and flushed as each request finishes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "llmbench/csv.h"

static const char *const columns[] = {
    /* The original scripts' data, unchanged in name and order. */
    "request",
    "time_taken_s",
    "prompt_tokens",
    "generated_tokens",
    "tokens_per_s",
    /* Latency detail. */
    "start_s",
    "ttft_ms",
    "tpot_ms",
    "itl_mean_ms",
    "itl_max_ms",
    "e2e_ms",
    /* Outcome. */
    "status",
    "error",
    "token_source",
    "error_class",
    "chunks",
    "intended_s",
    /* The run. */
    "schedule",
    "provider",
    "model",
    /* Open-loop measurement. New columns go at the end, and into the README. */
    "level",
    "warmup",
    "wait_ms",
    "corrected_ttft_ms",
    "corrected_e2e_ms",
    "x_request_id",
    "attempt",
    "retry_after_s",
};

#define N_COLUMNS (sizeof columns / sizeof columns[0])

enum { COL_REQUEST, COL_TIME, COL_PROMPT, COL_GENERATED, COL_TPS };

const char *llmb_results_column(size_t i)
{
    return i < N_COLUMNS ? columns[i] : NULL;
}

size_t llmb_results_column_count(void)
{
    return N_COLUMNS;
}

struct llmb_results_writer {
    FILE *fp;
    char *path;
    char *schedule, *provider, *model;
    char level[32];
    int io_errno; /* first write error, 0 if none */
};

/* A field that a spreadsheet would run as a formula is prefixed with an
 * apostrophe: text from a server must never become a command. */
static const char *neutralise(const char *s, char *buf, size_t size)
{
    if (!s || !strchr("=+-@\t\r", s[0]) || s[0] == '\0')
        return s ? s : "";
    snprintf(buf, size, "'%s", s);
    return buf;
}

llmb_status llmb_results_open(const char *path, const llmb_results_meta *meta,
                              llmb_results_writer **out, llmb_error *err)
{
    llmb_results_writer *w;
    llmb_status st;

    *out = NULL;
    w = calloc(1, sizeof *w);
    if (!w)
        goto nomem;
    w->path = llmbi_strdup(path);
    w->schedule = llmbi_strdup(meta && meta->schedule ? meta->schedule : "");
    w->provider = llmbi_strdup(meta && meta->provider ? meta->provider : "");
    w->model = llmbi_strdup(meta && meta->model ? meta->model : "");
    if (!w->path || !w->schedule || !w->provider || !w->model)
        goto nomem;
    if (meta && meta->has_level)
        snprintf(w->level, sizeof w->level, "%.10g", meta->level);
    w->fp = llmb_output_open(path, err);
    if (!w->fp) {
        llmb_results_close(w, NULL);
        return LLMB_ERR_IO;
    }
    st = llmb_csv_write_row(w->fp, columns, N_COLUMNS);
    if (st == LLMB_OK && fflush(w->fp) != 0)
        st = LLMB_ERR_IO;
    if (st != LLMB_OK) {
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno));
        llmb_results_close(w, NULL);
        return LLMB_ERR_IO;
    }
    *out = w;
    return LLMB_OK;
nomem:
    llmb_results_close(w, NULL);
    llmbi_error_set(err, "out of memory");
    return LLMB_ERR_NOMEM;
}

llmb_status llmb_results_set_meta(llmb_results_writer *w, const llmb_results_meta *meta)
{
    char *sc = llmbi_strdup(meta && meta->schedule ? meta->schedule : "");
    char *pr = llmbi_strdup(meta && meta->provider ? meta->provider : "");
    char *mo = llmbi_strdup(meta && meta->model ? meta->model : "");
    if (!sc || !pr || !mo) {
        free(sc);
        free(pr);
        free(mo);
        return LLMB_ERR_NOMEM;
    }
    free(w->schedule);
    free(w->provider);
    free(w->model);
    w->schedule = sc;
    w->provider = pr;
    w->model = mo;
    w->level[0] = '\0';
    if (meta && meta->has_level)
        snprintf(w->level, sizeof w->level, "%.10g", meta->level);
    return LLMB_OK;
}

static void fmt_num(char *buf, size_t size, int decimals, double v)
{
    if (isnan(v) || isinf(v))
        buf[0] = '\0';
    else
        snprintf(buf, size, "%.*f", decimals, v);
}

static void fmt_count(char *buf, size_t size, int64_t v)
{
    if (v < 0)
        buf[0] = '\0';
    else
        snprintf(buf, size, "%" PRId64, v);
}

llmb_status llmb_results_write(llmb_results_writer *w, const llmb_record *r, llmb_error *err)
{
    char req[24], time_taken[32], prompt[24], gen[24], tps[32], start[32], ttft[32], tpot[32],
        itl_mean[32], itl_max[32], e2e[32], status[24], chunks[24], intended[32], wait[32],
        cttft[32], ce2e[32], attempt[16], retry_after[32];
    char error_buf[512], model_buf[512];
    const char *fields[N_COLUMNS];
    llmb_status st;

    snprintf(req, sizeof req, "%" PRIu64, r->request);
    fmt_num(time_taken, sizeof time_taken, 6, llmb_record_time_taken_s(r));
    fmt_count(prompt, sizeof prompt, r->prompt_tokens);
    fmt_count(gen, sizeof gen, r->generated_tokens);
    /* Rates describe a whole generation: a failed request's are left empty,
     * while its times and counts up to the failure are kept. */
    fmt_num(tps, sizeof tps, 3, llmb_record_ok(r) ? llmb_record_tokens_per_s(r) : NAN);
    fmt_num(start, sizeof start, 6, (double)r->sent_ns / 1e9);
    fmt_num(ttft, sizeof ttft, 3, llmb_record_ttft_ms(r));
    fmt_num(tpot, sizeof tpot, 3, llmb_record_ok(r) ? llmb_record_tpot_ms(r) : NAN);
    fmt_num(itl_mean, sizeof itl_mean, 3, llmb_record_itl_mean_ms(r));
    fmt_num(itl_max, sizeof itl_max, 3, llmb_record_itl_max_ms(r));
    fmt_num(e2e, sizeof e2e, 3, llmb_record_e2e_ms(r));
    if (r->http_status > 0)
        snprintf(status, sizeof status, "%ld", r->http_status);
    else
        status[0] = '\0';
    snprintf(chunks, sizeof chunks, "%zu", r->n_chunks);
    fmt_num(intended, sizeof intended, 6, (double)r->intended_ns / 1e9);
    fmt_num(wait, sizeof wait, 3, llmb_record_wait_ms(r));
    fmt_num(cttft, sizeof cttft, 3, llmb_record_corrected_ttft_ms(r));
    fmt_num(ce2e, sizeof ce2e, 3, llmb_record_corrected_e2e_ms(r));

    fields[COL_REQUEST] = req;
    fields[COL_TIME] = time_taken;
    fields[COL_PROMPT] = prompt;
    fields[COL_GENERATED] = gen;
    fields[COL_TPS] = tps;
    fields[5] = start;
    fields[6] = ttft;
    fields[7] = tpot;
    fields[8] = itl_mean;
    fields[9] = itl_max;
    fields[10] = e2e;
    fields[11] = status;
    fields[12] = neutralise(r->error, error_buf, sizeof error_buf);
    fields[13] = llmb_token_source_name(r->token_source);
    fields[14] = llmb_error_class_name(r->error_class);
    fields[15] = chunks;
    fields[16] = intended;
    fields[17] = w->schedule;
    fields[18] = w->provider;
    fields[19] = neutralise(w->model, model_buf, sizeof model_buf);
    fields[20] = w->level;
    fields[21] = r->warmup ? "1" : "0";
    fields[22] = wait;
    fields[23] = cttft;
    fields[24] = ce2e;
    fields[25] = r->x_request_id ? r->x_request_id : "";
    snprintf(attempt, sizeof attempt, "%u", r->attempt ? r->attempt : 1);
    fields[26] = attempt;
    fmt_num(retry_after, sizeof retry_after, 3, r->retry_after_s >= 0 ? r->retry_after_s : NAN);
    fields[27] = retry_after;

    st = llmb_csv_write_row(w->fp, fields, N_COLUMNS);
    /* Flushed at once: a crash or an interrupt loses only what is in flight. */
    if (st == LLMB_OK && fflush(w->fp) != 0)
        st = LLMB_ERR_IO;
    if (st != LLMB_OK) {
        if (!w->io_errno)
            w->io_errno = errno ? errno : EIO;
        llmbi_error_set(err, "cannot write %s: %s", w->path, strerror(w->io_errno));
        return LLMB_ERR_IO;
    }
    return LLMB_OK;
}

llmb_status llmb_results_close(llmb_results_writer *w, llmb_error *err)
{
    llmb_status st = LLMB_OK;
    if (!w)
        return LLMB_OK;
    if (w->fp) {
        int e = llmb_output_close(w->fp);
        if (e && !w->io_errno)
            w->io_errno = e;
    }
    if (w->io_errno) {
        llmbi_error_set(err, "cannot write %s: %s", w->path ? w->path : "results",
                        strerror(w->io_errno));
        st = LLMB_ERR_IO;
    }
    free(w->path);
    free(w->schedule);
    free(w->provider);
    free(w->model);
    free(w);
    return st;
}

llmb_status llmb_results_check(const llmb_table *t, const char *const *needed, llmb_error *err)
{
    for (size_t i = 0; i < 5; i++) {
        const char *h = llmb_table_header(t, i);
        if (!h || strcmp(h, columns[i]) != 0) {
            llmbi_error_set_at(err, 1, 0,
                               "line 1: not a results table: column %zu is '%s', expected '%s'",
                               i + 1, h ? h : "(missing)", columns[i]);
            return LLMB_ERR_PARSE;
        }
    }
    for (size_t i = 0; needed && needed[i]; i++) {
        if (llmb_table_find(t, needed[i]) < 0) {
            llmbi_error_set_at(err, 1, 0, "line 1: the results table has no '%s' column",
                               needed[i]);
            return LLMB_ERR_PARSE;
        }
    }
    return LLMB_OK;
}
