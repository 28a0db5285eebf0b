/*
 * Aggregation of records into a summary. Every sample of the latency
 * quantities is kept, so percentiles are exact (numpy's linear method).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmbench/metrics.h"

typedef struct vec {
    double *v;
    size_t n, cap;
} vec;

struct llmb_metrics {
    uint64_t completed, failed;
    uint64_t failed_by_class[LLMB_FAIL_CLASS_COUNT_];
    uint64_t by_usage, by_chunks;
    uint64_t last_end_ns;
    uint64_t input_tokens, output_tokens, input_unknown;
    vec ttft, tpot, itl, e2el, send_delay;
};

static int vec_push(vec *a, double x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        double *p = realloc(a->v, cap * sizeof *p);
        if (!p)
            return -1;
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

llmb_metrics *llmb_metrics_new(void)
{
    return calloc(1, sizeof(llmb_metrics));
}

void llmb_metrics_free(llmb_metrics *m)
{
    if (!m)
        return;
    free(m->ttft.v);
    free(m->tpot.v);
    free(m->itl.v);
    free(m->e2el.v);
    free(m->send_delay.v);
    free(m);
}

llmb_status llmb_metrics_add(llmb_metrics *m, const llmb_record *r)
{
    double x;

    if (r->end_ns > m->last_end_ns)
        m->last_end_ns = r->end_ns;
    if (vec_push(&m->send_delay,
                 r->sent_ns >= r->intended_ns ? (double)(r->sent_ns - r->intended_ns) / 1e6 : 0.0))
        return LLMB_ERR_NOMEM;
    if (!llmb_record_ok(r)) {
        /* Failures are counted, never mixed into the latency statistics. */
        m->failed++;
        m->failed_by_class[(unsigned)r->error_class < LLMB_FAIL_CLASS_COUNT_ ? r->error_class
                                                                             : LLMB_FAIL_OTHER]++;
        return LLMB_OK;
    }
    m->completed++;
    if (r->token_source == LLMB_TOKENS_USAGE)
        m->by_usage++;
    else if (r->token_source == LLMB_TOKENS_CHUNKS)
        m->by_chunks++;
    if (r->prompt_tokens >= 0)
        m->input_tokens += (uint64_t)r->prompt_tokens;
    else
        m->input_unknown++;
    if (r->generated_tokens > 0)
        m->output_tokens += (uint64_t)r->generated_tokens;
    x = llmb_record_ttft_ms(r);
    if (!isnan(x) && vec_push(&m->ttft, x))
        return LLMB_ERR_NOMEM;
    x = llmb_record_tpot_ms(r);
    if (!isnan(x) && vec_push(&m->tpot, x))
        return LLMB_ERR_NOMEM;
    if (vec_push(&m->e2el, llmb_record_e2e_ms(r)))
        return LLMB_ERR_NOMEM;
    for (size_t i = 1; i < r->n_chunks; i++) {
        uint64_t a = r->chunk_ns[i - 1], b = r->chunk_ns[i];
        if (vec_push(&m->itl, b >= a ? (double)(b - a) / 1e6 : 0.0))
            return LLMB_ERR_NOMEM;
    }
    return LLMB_OK;
}

double llmb_percentile(const double *sorted, size_t n, double p)
{
    double h, lo;
    size_t i;
    if (n == 0 || isnan(p))
        return NAN;
    if (p <= 0.0)
        return sorted[0];
    if (p >= 100.0)
        return sorted[n - 1];
    h = (double)(n - 1) * p / 100.0;
    lo = floor(h);
    i = (size_t)lo;
    if (i + 1 >= n)
        return sorted[n - 1];
    return sorted[i] + (h - lo) * (sorted[i + 1] - sorted[i]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static llmb_status stat_of(const vec *a, llmb_stat *s)
{
    double *v;
    double sum = 0.0, sq = 0.0, mean;

    s->count = a->n;
    if (a->n == 0) {
        s->mean = s->std = s->min = s->max = s->median = s->p90 = s->p99 = NAN;
        return LLMB_OK;
    }
    v = malloc(a->n * sizeof *v);
    if (!v)
        return LLMB_ERR_NOMEM;
    memcpy(v, a->v, a->n * sizeof *v);
    qsort(v, a->n, sizeof *v, cmp_double);
    for (size_t i = 0; i < a->n; i++)
        sum += v[i];
    mean = sum / (double)a->n;
    /* Two passes: the variance of values near each other stays accurate. */
    for (size_t i = 0; i < a->n; i++)
        sq += (v[i] - mean) * (v[i] - mean);
    s->mean = mean;
    s->std = sqrt(sq / (double)a->n);
    s->min = v[0];
    s->max = v[a->n - 1];
    s->median = llmb_percentile(v, a->n, 50.0);
    s->p90 = llmb_percentile(v, a->n, 90.0);
    s->p99 = llmb_percentile(v, a->n, 99.0);
    free(v);
    return LLMB_OK;
}

llmb_status llmb_metrics_summarize(const llmb_metrics *m, llmb_summary *out)
{
    llmb_status st;
    memset(out, 0, sizeof *out);
    out->completed = m->completed;
    out->failed = m->failed;
    memcpy(out->failed_by_class, m->failed_by_class, sizeof out->failed_by_class);
    out->counted_by_usage = m->by_usage;
    out->counted_by_chunks = m->by_chunks;
    out->duration_s = (double)m->last_end_ns / 1e9;
    out->total_input_tokens = m->input_tokens;
    out->input_tokens_unknown = m->input_unknown;
    out->total_output_tokens = m->output_tokens;
    if (out->duration_s > 0.0) {
        out->request_throughput = (double)m->completed / out->duration_s;
        out->output_throughput = (double)m->output_tokens / out->duration_s;
        out->total_token_throughput =
            (double)(m->input_tokens + m->output_tokens) / out->duration_s;
    }
    if ((st = stat_of(&m->ttft, &out->ttft_ms)) || (st = stat_of(&m->tpot, &out->tpot_ms)) ||
        (st = stat_of(&m->itl, &out->itl_ms)) || (st = stat_of(&m->e2el, &out->e2el_ms)) ||
        (st = stat_of(&m->send_delay, &out->send_delay_ms)))
        return st;
    return LLMB_OK;
}
