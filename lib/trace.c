/*
 * Per-chunk traces as JSON lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "llmbench/trace.h"

struct llmb_trace {
    FILE *fp;
    char *path;
    int io_errno;
};

llmb_status llmb_trace_open(const char *path, llmb_trace **out, llmb_error *err)
{
    llmb_trace *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t || !(t->path = llmbi_strdup(path))) {
        free(t);
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    t->fp = llmb_output_open(path, err);
    if (!t->fp) {
        free(t->path);
        free(t);
        return LLMB_ERR_IO;
    }
    *out = t;
    return LLMB_OK;
}

/* One JSON value as a line, flushed. */
static llmb_status put_line(llmb_trace *t, json_t *o, llmb_error *err)
{
    int rc;
    if (!o) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    /* Fifteen digits: a setting of 0.1 reads 0.1, not 0.10000000000000001. */
    rc = json_dumpf(o, t->fp, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (rc != 0 || fputc('\n', t->fp) == EOF || fflush(t->fp) != 0) {
        if (!t->io_errno)
            t->io_errno = errno ? errno : EIO;
        llmbi_error_set(err, "cannot write %s: %s", t->path, strerror(t->io_errno));
        return LLMB_ERR_IO;
    }
    return LLMB_OK;
}

static json_t *u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

llmb_status llmb_trace_begin(llmb_trace *t, uint64_t origin_ns, const char *run_id,
                             const llmb_run_info *info, llmb_error *err)
{
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "origin_ns", u64(origin_ns));
        json_object_set_new(o, "clock", json_string("CLOCK_MONOTONIC"));
        json_object_set_new(o, "run_id", json_string(run_id ? run_id : ""));
        if (info->tool)
            json_object_set_new(o, "tool", json_string(info->tool));
        if (info->endpoint) {
            json_object_set_new(o, "backend",
                                json_string(llmb_endpoint_preset_name(info->endpoint)));
            json_object_set_new(o, "base_url", json_string(llmb_endpoint_base_url(info->endpoint)));
            json_object_set_new(o, "model_id",
                                json_string(llmb_endpoint_model(info->endpoint)
                                                ? llmb_endpoint_model(info->endpoint)
                                                : ""));
        }
        if (info->schedule) {
            json_object_set_new(o, "schedule", json_string(llmb_schedule_name(info->schedule)));
            json_object_set_new(o, "level", json_real(llmb_schedule_level(info->schedule)));
        }
        json_object_set_new(o, "num_prompts", u64(info->requests));
        json_object_set_new(o, "num_warmups", u64(info->warmup));
    }
    return put_line(t, o, err);
}

llmb_status llmb_trace_write(llmb_trace *t, const llmb_record *r, llmb_error *err)
{
    json_t *o = json_object();
    json_t *chunks = json_array();
    if (!o || !chunks) {
        json_decref(o);
        json_decref(chunks);
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    for (size_t i = 0; r->chunk_ns && i < r->n_chunks; i++)
        json_array_append_new(chunks, u64(r->chunk_ns[i]));
    json_object_set_new(o, "request", u64(r->request));
    json_object_set_new(o, "x_request_id", json_string(r->x_request_id ? r->x_request_id : ""));
    json_object_set_new(o, "warmup", json_boolean(r->warmup));
    json_object_set_new(o, "attempt", json_integer(r->attempt ? r->attempt : 1));
    json_object_set_new(o, "intended_ns", u64(r->intended_ns));
    json_object_set_new(o, "sent_ns", u64(r->sent_ns));
    json_object_set_new(o, "chunks_ns", chunks);
    json_object_set_new(o, "end_ns", u64(r->end_ns));
    json_object_set_new(o, "status", json_integer(r->http_status));
    json_object_set_new(o, "error_class", json_string(llmb_error_class_name(r->error_class)));
    json_object_set_new(o, "prompt_tokens",
                        r->prompt_tokens >= 0 ? json_integer(r->prompt_tokens) : json_null());
    json_object_set_new(o, "generated_tokens",
                        r->generated_tokens >= 0 ? json_integer(r->generated_tokens) : json_null());
    return put_line(t, o, err);
}

llmb_status llmb_trace_close(llmb_trace *t, llmb_error *err)
{
    llmb_status st = LLMB_OK;
    if (!t)
        return LLMB_OK;
    {
        int e = llmb_output_close(t->fp);
        if (e && !t->io_errno)
            t->io_errno = e;
    }
    if (t->io_errno) {
        llmbi_error_set(err, "cannot write %s: %s", t->path, strerror(t->io_errno));
        st = LLMB_ERR_IO;
    }
    free(t->path);
    free(t);
    return st;
}
