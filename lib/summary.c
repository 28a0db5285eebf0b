/*
 * Writing a summary: JSON (vLLM's saved-result key names where the quantity
 * is the same) and an aligned text table.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "llmbench/metrics.h"
#include "llmbench/version.h"

static json_t *num(double x)
{
    /* JSON has no NaN: a quantity with no samples is null. */
    return isfinite(x) ? json_real(x) : json_null();
}

static void put_stat(json_t *o, const char *name, const llmb_stat *s)
{
    char key[48];
    static const struct {
        const char *prefix;
        size_t offset;
    } fields[] = {
        {"mean", offsetof(llmb_stat, mean)}, {"median", offsetof(llmb_stat, median)},
        {"std", offsetof(llmb_stat, std)},   {"p90", offsetof(llmb_stat, p90)},
        {"p99", offsetof(llmb_stat, p99)},   {"min", offsetof(llmb_stat, min)},
        {"max", offsetof(llmb_stat, max)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        double v = *(const double *)((const char *)s + fields[i].offset);
        snprintf(key, sizeof key, "%s_%s_ms", fields[i].prefix, name);
        json_object_set_new(o, key, num(v));
    }
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

static json_t *summary_json(const llmb_summary *s, const llmb_run_info *info)
{
    json_t *o = json_object();
    json_t *by_class = json_object();
    json_t *counts = json_object();
    char iso[32], compact[32];
    int input_known = s->completed == 0 || s->input_tokens_unknown < s->completed;

    if (!o || !by_class || !counts) {
        json_decref(o);
        json_decref(by_class);
        json_decref(counts);
        return NULL;
    }
    put_str(o, "tool", info->tool);
    json_object_set_new(o, "llmbench_version", json_string(llmb_version()));
    if (info->endpoint) {
        put_str(o, "backend", llmb_endpoint_preset_name(info->endpoint));
        put_str(o, "base_url", llmb_endpoint_base_url(info->endpoint));
        put_str(o, "endpoint_type", llmb_api_name(llmb_endpoint_api(info->endpoint)));
        put_str(o, "model_id", llmb_endpoint_model(info->endpoint));
    }
    if (info->schedule) {
        int seq = llmb_schedule_get_kind(info->schedule) == LLMB_SCHEDULE_SEQUENTIAL;
        put_str(o, "schedule", llmb_schedule_name(info->schedule));
        json_object_set_new(o, seq ? "delay_s" : "interval_s",
                            json_real(llmb_schedule_seconds(info->schedule)));
    }
    json_object_set_new(o, "num_prompts", json_integer((json_int_t)info->requests));
    json_object_set_new(o, "sent", json_integer((json_int_t)info->sent));
    json_object_set_new(o, "stopped", json_boolean(info->stopped));
    json_object_set_new(o, "max_tokens",
                        info->max_tokens > 0 ? json_integer(info->max_tokens) : json_null());
    put_str(o, "prompt", info->prompt);
    time_strings(info->start_time, iso, sizeof iso, compact, sizeof compact);
    json_object_set_new(o, "date", json_string(compact));
    json_object_set_new(o, "start_time", json_string(iso));

    json_object_set_new(o, "duration", num(s->duration_s));
    json_object_set_new(o, "completed", json_integer((json_int_t)s->completed));
    json_object_set_new(o, "failed", json_integer((json_int_t)s->failed));
    for (int c = 1; c < LLMB_FAIL_CLASS_COUNT_; c++)
        if (s->failed_by_class[c])
            json_object_set_new(by_class, llmb_error_class_name((llmb_error_class)c),
                                json_integer((json_int_t)s->failed_by_class[c]));
    json_object_set_new(o, "failed_by_class", by_class);
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
    json_object_set_new(o, "output_throughput", num(s->output_throughput));
    json_object_set_new(o, "total_token_throughput",
                        input_known ? num(s->total_token_throughput) : json_null());
    put_stat(o, "ttft", &s->ttft_ms);
    put_stat(o, "tpot", &s->tpot_ms);
    put_stat(o, "itl", &s->itl_ms);
    put_stat(o, "e2el", &s->e2el_ms);
    put_stat(o, "send_delay", &s->send_delay_ms);
    return o;
}

llmb_status llmb_summary_write_json(const llmb_summary *s, const llmb_run_info *info,
                                    const char *path, llmb_error *err)
{
    json_t *o = summary_json(s, info);
    char *text = NULL;
    FILE *fp = NULL;
    llmb_status st = LLMB_OK;
    size_t len;

    if (!o || !(text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10)))) {
        llmbi_error_set(err, "out of memory");
        st = LLMB_ERR_NOMEM;
        goto out;
    }
    fp = fopen(path, "w");
    if (!fp) {
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno));
        st = LLMB_ERR_IO;
        goto out;
    }
    len = strlen(text);
    if (fwrite(text, 1, len, fp) != len || fputc('\n', fp) == EOF) {
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno));
        st = LLMB_ERR_IO;
    }
    if (fclose(fp) != 0 && st == LLMB_OK) {
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno));
        st = LLMB_ERR_IO;
    }
    fp = NULL;
out:
    free(text);
    json_decref(o);
    return st;
}

llmb_status llmb_summary_write_json_to(const llmb_summary *s, const llmb_run_info *info,
                                       FILE *fp)
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

static void row(FILE *fp, const char *name, const llmb_stat *s)
{
    if (s->count == 0) {
        fprintf(fp, "%-12s %10s\n", name, "-");
        return;
    }
    fprintf(fp, "%-12s %10.2f %10.2f %10.2f %10.2f %10.2f\n", name, s->mean, s->median, s->p90,
            s->p99, s->max);
}

llmb_status llmb_summary_write_table(const llmb_summary *s, const llmb_run_info *info, FILE *fp)
{
    char iso[32], compact[32];

    fprintf(fp, "==================== Summary ====================\n");
    if (info->endpoint) {
        const char *model = llmb_endpoint_model(info->endpoint);
        fprintf(fp, "%-32s %s (%s)\n", "Provider:", llmb_endpoint_preset_name(info->endpoint),
                llmb_endpoint_base_url(info->endpoint));
        fprintf(fp, "%-32s %s\n", "Model:", model ? model : "-");
    }
    if (info->schedule) {
        int seq = llmb_schedule_get_kind(info->schedule) == LLMB_SCHEDULE_SEQUENTIAL;
        fprintf(fp, "%-32s %s, %s %g s\n", "Schedule:", llmb_schedule_name(info->schedule),
                seq ? "pause" : "interval", llmb_schedule_seconds(info->schedule));
    }
    time_strings(info->start_time, iso, sizeof iso, compact, sizeof compact);
    fprintf(fp, "%-32s %s\n", "Started:", iso);
    if (info->stopped)
        fprintf(fp, "%-32s %llu of %llu requests were not sent\n", "Stopped early:",
                (unsigned long long)(info->requests - info->sent),
                (unsigned long long)info->requests);
    fprintf(fp, "%-32s %llu\n", "Successful requests:", (unsigned long long)s->completed);
    fprintf(fp, "%-32s %llu", "Failed requests:", (unsigned long long)s->failed);
    if (s->failed) {
        const char *sep = " (";
        for (int c = 1; c < LLMB_FAIL_CLASS_COUNT_; c++) {
            if (!s->failed_by_class[c])
                continue;
            fprintf(fp, "%s%s %llu", sep, llmb_error_class_name((llmb_error_class)c),
                    (unsigned long long)s->failed_by_class[c]);
            sep = ", ";
        }
        fputc(')', fp);
    }
    fputc('\n', fp);
    fprintf(fp, "%-32s %.3f\n", "Duration (s):", s->duration_s);
    if (s->completed > 0 && s->input_tokens_unknown == s->completed)
        fprintf(fp, "%-32s unknown (no usage from the server)\n", "Total input tokens:");
    else if (s->input_tokens_unknown > 0)
        fprintf(fp, "%-32s %llu (%llu requests without a count)\n", "Total input tokens:",
                (unsigned long long)s->total_input_tokens,
                (unsigned long long)s->input_tokens_unknown);
    else
        fprintf(fp, "%-32s %llu\n", "Total input tokens:",
                (unsigned long long)s->total_input_tokens);
    fprintf(fp, "%-32s %llu\n",
            "Total generated tokens:", (unsigned long long)s->total_output_tokens);
    if (s->counted_by_chunks)
        fprintf(fp, "%-32s %llu of %llu (no usage from the server)\n",
                "Counted from chunks:", (unsigned long long)s->counted_by_chunks,
                (unsigned long long)s->completed);
    fprintf(fp, "%-32s %.3f\n", "Request throughput (req/s):", s->request_throughput);
    fprintf(fp, "%-32s %.2f\n", "Output token throughput (tok/s):", s->output_throughput);
    if (!(s->completed > 0 && s->input_tokens_unknown == s->completed))
        fprintf(fp, "%-32s %.2f\n", "Total token throughput (tok/s):",
                s->total_token_throughput);
    fprintf(fp, "-------------------------------------------------\n");
    fprintf(fp, "%-12s %10s %10s %10s %10s %10s\n", "(ms)", "mean", "median", "p90", "p99", "max");
    row(fp, "TTFT", &s->ttft_ms);
    row(fp, "TPOT", &s->tpot_ms);
    row(fp, "ITL", &s->itl_ms);
    row(fp, "E2E", &s->e2el_ms);
    row(fp, "Send delay", &s->send_delay_ms);
    fprintf(fp, "=================================================\n");
    return ferror(fp) ? LLMB_ERR_IO : LLMB_OK;
}
