/*
 * Writing a summary: JSON (vLLM's saved-result key names where the quantity
 * is the same), an aligned text table, and a CSV row for sweeps. The CSV row
 * holds the JSON object's scalar values in the same order, so the two never
 * disagree.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "llmbench/csv.h"
#include "llmbench/metrics.h"
#include "llmbench/version.h"

static json_t *num(double x)
{
    /* JSON has no NaN: a quantity with no samples is null. */
    return isfinite(x) ? json_real(x) : json_null();
}

/* "p99", "p99.9": a percentile's name as vLLM writes it. */
static void pct_name(double p, char *buf, size_t size)
{
    if (p == floor(p))
        snprintf(buf, size, "p%.0f", p);
    else
        snprintf(buf, size, "p%g", p);
}

/* The summary's latency statistics, in the order every output gives them:
 * the JSON key's stem, the table's row label, where the numbers are. The
 * corrected rows count from the intended send: they differ from the raw ones
 * when sends were late. */
static const struct {
    const char *key, *label;
    size_t offset;
} stats[] = {
    {"ttft", "TTFT", offsetof(llmb_summary, ttft_ms)},
    {"tpot", "TPOT", offsetof(llmb_summary, tpot_ms)},
    {"itl", "ITL", offsetof(llmb_summary, itl_ms)},
    {"e2el", "E2E", offsetof(llmb_summary, e2el_ms)},
    {"corrected_ttft", "TTFT (corr.)", offsetof(llmb_summary, corrected_ttft_ms)},
    {"corrected_e2el", "E2E (corr.)", offsetof(llmb_summary, corrected_e2el_ms)},
    {"send_delay", "Send delay", offsetof(llmb_summary, send_delay_ms)},
};

static const llmb_stat *stat_at(const llmb_summary *s, size_t i)
{
    return (const llmb_stat *)(const void *)((const char *)s + stats[i].offset);
}

static void put_stat(json_t *o, const char *name, const llmb_stat *st, const llmb_summary *s)
{
    char key[64], p[24];
    snprintf(key, sizeof key, "mean_%s_ms", name);
    json_object_set_new(o, key, num(st->mean));
    snprintf(key, sizeof key, "median_%s_ms", name);
    json_object_set_new(o, key, num(st->median));
    snprintf(key, sizeof key, "std_%s_ms", name);
    json_object_set_new(o, key, num(st->std));
    for (size_t i = 0; i < s->n_percentiles; i++) {
        pct_name(s->percentiles[i], p, sizeof p);
        snprintf(key, sizeof key, "%s_%s_ms", p, name);
        json_object_set_new(o, key, num(st->pct[i]));
    }
    snprintf(key, sizeof key, "min_%s_ms", name);
    json_object_set_new(o, key, num(st->min));
    snprintf(key, sizeof key, "max_%s_ms", name);
    json_object_set_new(o, key, num(st->max));
}

static void time_strings(time_t t, char *iso, size_t iso_size, char *compact, size_t compact_size)
{
    struct tm tm;
    iso[0] = compact[0] = '\0';
    if (!gmtime_r(&t, &tm))
        return;
    strftime(iso, iso_size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    strftime(compact, compact_size, "%Y%m%d-%H%M%S", &tm);
}

static void put_str(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v ? json_string(v) : json_null());
}

/* One key per error class with a non-zero count. */
static void put_class_counts(json_t *o, const uint64_t *by_class)
{
    for (int c = 1; c < LLMB_FAIL_CLASS_COUNT_; c++)
        if (by_class[c])
            json_object_set_new(o, llmb_error_class_name((llmb_error_class)c),
                                json_integer((json_int_t)by_class[c]));
}

/* The rate the schedule aimed at, req/s; NAN when it sets none. */
static double target_rate(const llmb_schedule *sc)
{
    if (!sc)
        return NAN;
    switch (llmb_schedule_get_kind(sc)) {
    case LLMB_SCHEDULE_RATE:
        return llmb_schedule_rate_value(sc);
    case LLMB_SCHEDULE_INTERVAL:
        return llmb_schedule_seconds(sc) > 0 ? 1.0 / llmb_schedule_seconds(sc) : NAN;
    default:
        return NAN;
    }
}

static void put_schedule(json_t *o, const llmb_schedule *sc)
{
    llmb_schedule_kind k = llmb_schedule_get_kind(sc);
    put_str(o, "schedule", llmb_schedule_name(sc));
    json_object_set_new(o, "level", json_real(llmb_schedule_level(sc)));
    switch (k) {
    case LLMB_SCHEDULE_SEQUENTIAL:
        json_object_set_new(o, "delay_s", json_real(llmb_schedule_seconds(sc)));
        break;
    case LLMB_SCHEDULE_INTERVAL:
        json_object_set_new(o, "interval_s", json_real(llmb_schedule_seconds(sc)));
        break;
    case LLMB_SCHEDULE_RATE:
        json_object_set_new(o, "request_rate", json_real(llmb_schedule_rate_value(sc)));
        put_str(o, "arrival", llmb_arrival_name(llmb_schedule_arrival(sc)));
        /* The shape and seed mean something only for random gaps. */
        json_object_set_new(o, "burstiness",
                            llmb_schedule_arrival(sc) == LLMB_ARRIVAL_CONSTANT
                                ? json_null()
                                : json_real(llmb_schedule_burstiness(sc)));
        json_object_set_new(o, "seed",
                            llmb_schedule_arrival(sc) == LLMB_ARRIVAL_CONSTANT
                                ? json_null()
                                : json_integer((json_int_t)llmb_schedule_seed(sc)));
        break;
    case LLMB_SCHEDULE_CONCURRENCY:
        json_object_set_new(o, "max_concurrency",
                            json_integer((json_int_t)llmb_schedule_concurrency_value(sc)));
        break;
    }
    if (k == LLMB_SCHEDULE_RATE || k == LLMB_SCHEDULE_INTERVAL)
        json_object_set_new(o, "max_concurrency",
                            llmb_schedule_max_concurrency(sc)
                                ? json_integer((json_int_t)llmb_schedule_max_concurrency(sc))
                                : json_null());
}

static json_t *summary_json(const llmb_summary *s, const llmb_run_info *info)
{
    json_t *o = json_object();
    json_t *by_class = json_object();
    json_t *counts = json_object();
    json_t *exact = json_object();
    json_t *slo = json_object();
    json_t *retried = json_object();
    char iso[32], compact[32];
    int input_known = s->completed == 0 || s->input_tokens_unknown < s->completed;
    const llmb_metrics_options *mo = info->metrics;

    if (!o || !by_class || !counts || !exact || !slo || !retried) {
        json_decref(retried);
        json_decref(o);
        json_decref(by_class);
        json_decref(counts);
        json_decref(exact);
        json_decref(slo);
        return NULL;
    }
    /* The run's settings. */
    put_str(o, "tool", info->tool);
    json_object_set_new(o, "llmbench_version", json_string(llmb_version()));
    if (info->endpoint) {
        put_str(o, "backend", llmb_endpoint_preset_name(info->endpoint));
        put_str(o, "base_url", llmb_endpoint_base_url(info->endpoint));
        put_str(o, "endpoint_type", llmb_api_name(llmb_endpoint_api(info->endpoint)));
        put_str(o, "model_id", llmb_endpoint_model(info->endpoint));
    }
    if (info->schedule)
        put_schedule(o, info->schedule);
    json_object_set_new(o, "num_prompts", json_integer((json_int_t)info->requests));
    json_object_set_new(o, "num_warmups", json_integer((json_int_t)info->warmup));
    json_object_set_new(o, "duration_limit_s",
                        info->duration_s > 0 ? json_real(info->duration_s) : json_null());
    json_object_set_new(o, "threads", json_integer(info->threads ? info->threads : 1));
    json_object_set_new(o, "sent", json_integer((json_int_t)info->sent));
    json_object_set_new(o, "stopped", json_boolean(info->stopped));
    json_object_set_new(o, "max_tokens",
                        info->max_tokens > 0 ? json_integer(info->max_tokens) : json_null());
    put_str(o, "prompt", info->prompt);
    time_strings(info->start_time, iso, sizeof iso, compact, sizeof compact);
    json_object_set_new(o, "date", json_string(compact));
    json_object_set_new(o, "start_time", json_string(iso));

    /* What happened. */
    json_object_set_new(o, "duration", num(s->duration_s));
    json_object_set_new(o, "completed", json_integer((json_int_t)s->completed));
    json_object_set_new(o, "failed", json_integer((json_int_t)s->failed));
    put_class_counts(by_class, s->failed_by_class);
    json_object_set_new(o, "failed_by_class", by_class);
    json_object_set_new(o, "retried_attempts", json_integer((json_int_t)s->retried));
    put_class_counts(retried, s->retried_by_class);
    json_object_set_new(o, "retried_by_class", retried);
    json_object_set_new(o, "warmup_requests", json_integer((json_int_t)s->warmup));
    json_object_set_new(o, "warmup_failed", json_integer((json_int_t)s->warmup_failed));
    json_object_set_new(counts, "usage", json_integer((json_int_t)s->counted_by_usage));
    json_object_set_new(counts, "chunks", json_integer((json_int_t)s->counted_by_chunks));
    json_object_set_new(o, "token_source", counts);
    /* With no usage from the server the prompt counts are unknown, not 0. */
    json_object_set_new(o, "total_input_tokens",
                        input_known ? json_integer((json_int_t)s->total_input_tokens)
                                    : json_null());
    json_object_set_new(o, "input_tokens_unknown",
                        json_integer((json_int_t)s->input_tokens_unknown));
    json_object_set_new(o, "total_output_tokens", json_integer((json_int_t)s->total_output_tokens));
    json_object_set_new(o, "request_throughput", num(s->request_throughput));
    json_object_set_new(o, "target_request_rate", num(target_rate(info->schedule)));
    json_object_set_new(o, "achieved_request_rate", num(s->achieved_request_rate));
    json_object_set_new(o, "request_goodput", s->has_slo ? num(s->request_goodput) : json_null());
    json_object_set_new(o, "good_requests",
                        s->has_slo ? json_integer((json_int_t)s->good) : json_null());
    if (mo) {
        if (mo->slo_ttft_ms > 0)
            json_object_set_new(slo, "ttft_ms", json_real(mo->slo_ttft_ms));
        if (mo->slo_tpot_ms > 0)
            json_object_set_new(slo, "tpot_ms", json_real(mo->slo_tpot_ms));
        if (mo->slo_e2e_ms > 0)
            json_object_set_new(slo, "e2e_ms", json_real(mo->slo_e2e_ms));
    }
    json_object_set_new(o, "slo", slo);
    json_object_set_new(o, "output_throughput", num(s->output_throughput));
    json_object_set_new(o, "total_token_throughput",
                        input_known ? num(s->total_token_throughput) : json_null());
    json_object_set_new(o, "max_output_tokens_per_s", num(s->max_output_tokens_per_s));
    json_object_set_new(o, "max_concurrent_requests",
                        json_integer((json_int_t)s->max_concurrent_requests));
    json_object_set_new(o, "peak_in_flight", json_integer((json_int_t)s->peak_in_flight));
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        put_stat(o, stats[i].key, stat_at(s, i), s);
        json_object_set_new(exact, stats[i].key, json_boolean(stat_at(s, i)->exact));
    }
    json_object_set_new(o, "percentiles_exact", exact);
    return o;
}

llmb_status llmb_summary_write_json_to(const llmb_summary *s, const llmb_run_info *info, FILE *fp)
{
    json_t *o = summary_json(s, info);
    int rc;
    if (!o)
        return LLMB_ERR_NOMEM;
    rc = json_dumpf(o, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (rc != 0 || fputc('\n', fp) == EOF || fflush(fp) != 0)
        return LLMB_ERR_IO;
    return LLMB_OK;
}

llmb_status llmb_summary_write_json(const llmb_summary *s, const llmb_run_info *info,
                                    const char *path, llmb_error *err)
{
    FILE *fp = fopen(path, "w");
    llmb_status st;

    if (!fp) {
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno));
        return LLMB_ERR_IO;
    }
    st = llmb_summary_write_json_to(s, info, fp);
    if (fclose(fp) != 0 && st == LLMB_OK)
        st = LLMB_ERR_IO;
    if (st == LLMB_ERR_NOMEM)
        llmbi_error_set(err, "out of memory writing %s", path);
    else if (st != LLMB_OK)
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
    return st;
}

llmb_status llmb_summary_write_csv(const llmb_summary *s, const llmb_run_info *info, int header,
                                   FILE *fp)
{
    json_t *o = summary_json(s, info);
    const char **fields = NULL;
    char(*texts)[40] = NULL;
    size_t n = 0, cap;
    const char *key;
    json_t *v;
    llmb_status st = LLMB_OK;

    if (!o)
        return LLMB_ERR_NOMEM;
    /* The prompt may be long and is the same on every row: the JSON has it. */
    json_object_del(o, "prompt");
    cap = json_object_size(o);
    fields = calloc(cap ? cap : 1, sizeof *fields);
    texts = calloc(cap ? cap : 1, sizeof *texts);
    if (!fields || !texts) {
        st = LLMB_ERR_NOMEM;
        goto out;
    }
    if (header) {
        json_object_foreach(o, key, v)
        {
            if (!json_is_object(v) && !json_is_array(v))
                fields[n++] = key;
        }
        st = llmb_csv_write_row(fp, fields, n);
        if (st != LLMB_OK)
            goto out;
        n = 0;
    }
    json_object_foreach(o, key, v)
    {
        if (json_is_object(v) || json_is_array(v))
            continue;
        if (json_is_string(v))
            fields[n] = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(texts[n], sizeof texts[n], "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(texts[n], sizeof texts[n], "%.10g", json_real_value(v));
        else if (json_is_true(v))
            snprintf(texts[n], sizeof texts[n], "true");
        else if (json_is_false(v))
            snprintf(texts[n], sizeof texts[n], "false");
        else
            texts[n][0] = '\0'; /* null */
        if (!json_is_string(v))
            fields[n] = texts[n];
        n++;
    }
    st = llmb_csv_write_row(fp, fields, n);
    if (st == LLMB_OK && fflush(fp) != 0)
        st = LLMB_ERR_IO;
out:
    free(fields);
    free(texts);
    json_decref(o);
    return st;
}

/* ---- The table ---- */

/* The median has its own column unless the percentiles show it as p50. */
static int median_column(const llmb_summary *s)
{
    for (size_t i = 0; i < s->n_percentiles; i++)
        if (s->percentiles[i] == 50.0)
            return 0;
    return 1;
}

static void row(FILE *fp, const char *name, const llmb_stat *st, const llmb_summary *s)
{
    if (st->count == 0) {
        fprintf(fp, "%-14s %9s\n", name, "-");
        return;
    }
    fprintf(fp, "%-14s %9.2f", name, st->mean);
    if (median_column(s))
        fprintf(fp, " %9.2f", st->median);
    for (size_t i = 0; i < s->n_percentiles; i++)
        fprintf(fp, " %9.2f", st->pct[i]);
    fprintf(fp, " %9.2f%s\n", st->max, st->exact ? "" : "  (histogram)");
}

/* "Failed requests:   3 (http 2, reset 1)". */
static void by_class_line(FILE *fp, const char *label, uint64_t total, const uint64_t *by_class)
{
    const char *sep = " (";
    fprintf(fp, "%-32s %llu", label, (unsigned long long)total);
    for (int c = 1; c < LLMB_FAIL_CLASS_COUNT_; c++) {
        if (!by_class[c])
            continue;
        fprintf(fp, "%s%s %llu", sep, llmb_error_class_name((llmb_error_class)c),
                (unsigned long long)by_class[c]);
        sep = ", ";
    }
    fputs(total ? ")\n" : "\n", fp);
}

static void schedule_line(FILE *fp, const llmb_schedule *sc)
{
    switch (llmb_schedule_get_kind(sc)) {
    case LLMB_SCHEDULE_SEQUENTIAL:
        fprintf(fp, "%-32s sequential, pause %g s\n", "Schedule:", llmb_schedule_seconds(sc));
        return;
    case LLMB_SCHEDULE_INTERVAL:
        fprintf(fp, "%-32s concurrent, interval %g s", "Schedule:", llmb_schedule_seconds(sc));
        break;
    case LLMB_SCHEDULE_RATE:
        fprintf(fp, "%-32s open loop, %g req/s, %s arrivals",
                "Schedule:", llmb_schedule_rate_value(sc),
                llmb_arrival_name(llmb_schedule_arrival(sc)));
        if (llmb_schedule_arrival(sc) == LLMB_ARRIVAL_GAMMA)
            fprintf(fp, " (burstiness %g)", llmb_schedule_burstiness(sc));
        break;
    case LLMB_SCHEDULE_CONCURRENCY:
        fprintf(fp, "%-32s closed loop, %u in flight\n",
                "Schedule:", llmb_schedule_concurrency_value(sc));
        return;
    }
    if (llmb_schedule_max_concurrency(sc))
        fprintf(fp, ", at most %u in flight", llmb_schedule_max_concurrency(sc));
    fputc('\n', fp);
}

llmb_status llmb_summary_write_table(const llmb_summary *s, const llmb_run_info *info, FILE *fp)
{
    char iso[32], compact[32], p[24];
    double target = target_rate(info->schedule);

    fprintf(fp, "==================== Summary ====================\n");
    if (info->endpoint) {
        const char *model = llmb_endpoint_model(info->endpoint);
        fprintf(fp, "%-32s %s (%s)\n", "Provider:", llmb_endpoint_preset_name(info->endpoint),
                llmb_endpoint_base_url(info->endpoint));
        fprintf(fp, "%-32s %s\n", "Model:", model ? model : "-");
    }
    if (info->schedule)
        schedule_line(fp, info->schedule);
    time_strings(info->start_time, iso, sizeof iso, compact, sizeof compact);
    fprintf(fp, "%-32s %s\n", "Started:", iso);
    if (info->stopped && info->requests)
        fprintf(fp, "%-32s %llu of %llu requests were not sent\n",
                "Stopped early:", (unsigned long long)(info->requests + info->warmup - info->sent),
                (unsigned long long)(info->requests + info->warmup));
    else if (info->stopped)
        fprintf(fp, "%-32s yes\n", "Stopped early:");
    if (s->warmup && s->warmup_failed)
        fprintf(fp, "%-32s %llu (%llu failed; not counted below)\n",
                "Warmup requests:", (unsigned long long)s->warmup,
                (unsigned long long)s->warmup_failed);
    else if (s->warmup)
        fprintf(fp, "%-32s %llu (not counted below)\n",
                "Warmup requests:", (unsigned long long)s->warmup);
    fprintf(fp, "%-32s %llu\n", "Successful requests:", (unsigned long long)s->completed);
    by_class_line(fp, "Failed requests:", s->failed, s->failed_by_class);
    if (s->retried)
        by_class_line(fp, "Retried attempts:", s->retried, s->retried_by_class);
    fprintf(fp, "%-32s %.3f\n", "Duration (s):", s->duration_s);
    if (s->completed > 0 && s->input_tokens_unknown == s->completed)
        fprintf(fp, "%-32s unknown (no usage from the server)\n", "Total input tokens:");
    else if (s->input_tokens_unknown > 0)
        fprintf(fp, "%-32s %llu (%llu requests without a count)\n",
                "Total input tokens:", (unsigned long long)s->total_input_tokens,
                (unsigned long long)s->input_tokens_unknown);
    else
        fprintf(fp, "%-32s %llu\n",
                "Total input tokens:", (unsigned long long)s->total_input_tokens);
    fprintf(fp, "%-32s %llu\n",
            "Total generated tokens:", (unsigned long long)s->total_output_tokens);
    if (s->counted_by_chunks)
        fprintf(fp, "%-32s %llu of %llu (no usage from the server)\n",
                "Counted from chunks:", (unsigned long long)s->counted_by_chunks,
                (unsigned long long)s->completed);
    fprintf(fp, "%-32s %.3f\n", "Request throughput (req/s):", s->request_throughput);
    if (isfinite(target) && isfinite(s->achieved_request_rate))
        fprintf(fp, "%-32s %.3f (target %.3f)\n", "Sent at (req/s):", s->achieved_request_rate,
                target);
    else if (isfinite(target))
        fprintf(fp, "%-32s - (target %.3f; it takes two requests)\n", "Sent at (req/s):", target);
    if (s->has_slo)
        fprintf(fp, "%-32s %.3f (%llu of %llu met every objective)\n",
                "Request goodput (req/s):", s->request_goodput, (unsigned long long)s->good,
                (unsigned long long)(s->completed + s->failed));
    fprintf(fp, "%-32s %.2f\n", "Output token throughput (tok/s):", s->output_throughput);
    if (!(s->completed > 0 && s->input_tokens_unknown == s->completed))
        fprintf(fp, "%-32s %.2f\n", "Total token throughput (tok/s):", s->total_token_throughput);
    fprintf(fp, "%-32s %.0f\n", "Peak output (tok/s, 1 s):", s->max_output_tokens_per_s);
    fprintf(fp, "%-32s %llu\n", "Peak concurrency:", (unsigned long long)s->peak_in_flight);
    fprintf(fp, "-------------------------------------------------\n");
    fprintf(fp, "%-14s %9s", "(ms)", "mean");
    if (median_column(s))
        fprintf(fp, " %9s", "median");
    for (size_t i = 0; i < s->n_percentiles; i++) {
        pct_name(s->percentiles[i], p, sizeof p);
        fprintf(fp, " %9s", p);
    }
    fprintf(fp, " %9s\n", "max");
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++)
        row(fp, stats[i].label, stat_at(s, i), s);
    fprintf(fp, "=================================================\n");
    return ferror(fp) ? LLMB_ERR_IO : LLMB_OK;
}
