/*
 * Aggregation of records into a summary.
 *
 * Each latency quantity keeps every sample (up to a limit) for exact
 * percentiles, and a histogram (0.1 % precision) that takes over past the
 * limit. Per-second buckets give the peak output rate and concurrency.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "internal.h"
#include "metrics.h"

typedef struct vec {
    double *v;
    size_t n, cap;
} vec;

/* One latency quantity. */
typedef struct quantity {
    llmbi_hist hist; /* ns */
    vec exact;       /* ms, while not over the limit */
    int over;        /* more samples than the limit: percentiles from the histogram */
} quantity;

enum { Q_TTFT, Q_TPOT, Q_ITL, Q_E2EL, Q_CTTFT, Q_CE2EL, Q_DELAY, Q_COUNT };

struct llmb_metrics {
    llmb_metrics_options opts;
    double percentiles[LLMB_MAX_PERCENTILES];
    quantity q[Q_COUNT];
    uint64_t completed, failed, warmup, warmup_failed, good, retried;
    uint64_t failed_by_class[LLMB_FAIL_CLASS_COUNT_];
    uint64_t retried_by_class[LLMB_FAIL_CLASS_COUNT_];
    uint64_t by_usage, by_chunks;
    uint64_t input_tokens, output_tokens, input_unknown;
    uint64_t window_start_ns, window_end_ns; /* of measured requests: intended .. end */
    int have_window;
    uint64_t sent, first_sent_ns, last_sent_ns;
    uint64_t peak_in_flight;
    double *tokens_per_sec;   /* output tokens counted in each second of the run */
    uint32_t *active_per_sec; /* requests in flight during each second */
    size_t n_secs, cap_secs;
    llmb_status failed_alloc; /* a sample could not be kept: the summary says so */
};

/* ---- Small growable arrays ---- */

/* Growable arrays start at 16 items. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    return llmbi_grow(p, cap, need, elem, 16);
}

static int vec_push(vec *a, double x)
{
    if (grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v))
        return -1;
    a->v[a->n++] = x;
    return 0;
}

/* ---- Per request ---- */

llmb_status llmbi_req_chunk(llmbi_req_stats *rs, uint64_t prev_ns, uint64_t t_ns, int first)
{
    uint32_t sec = (uint32_t)(t_ns / 1000000000ULL);
    if (!first) {
        uint64_t gap = t_ns >= prev_ns ? t_ns - prev_ns : 0;
        if (grow((void **)&rs->gaps, &rs->cap_gaps, rs->n_gaps + 1, sizeof *rs->gaps))
            return LLMB_ERR_NOMEM;
        if (gap >= UINT32_MAX) {
            /* A gap of seconds is rare: keep it whole on the side. */
            if (grow((void **)&rs->long_gaps, &rs->cap_long, rs->n_long + 1, sizeof *rs->long_gaps))
                return LLMB_ERR_NOMEM;
            rs->long_gaps[rs->n_long++] = gap;
            rs->gaps[rs->n_gaps++] = UINT32_MAX;
        } else {
            rs->gaps[rs->n_gaps++] = (uint32_t)gap;
        }
    }
    if (rs->n_secs == 0)
        rs->first_sec = sec;
    if (sec >= rs->first_sec) {
        size_t idx = sec - rs->first_sec;
        if (idx >= rs->n_secs) {
            if (grow((void **)&rs->per_sec, &rs->cap_secs, idx + 1, sizeof *rs->per_sec))
                return LLMB_ERR_NOMEM;
            memset(rs->per_sec + rs->n_secs, 0, (idx + 1 - rs->n_secs) * sizeof *rs->per_sec);
            rs->n_secs = idx + 1;
        }
        rs->per_sec[idx]++;
    }
    return LLMB_OK;
}

void llmbi_req_stats_free(llmbi_req_stats *rs)
{
    free(rs->gaps);
    free(rs->long_gaps);
    free(rs->per_sec);
    memset(rs, 0, sizeof *rs);
}

size_t llmbi_req_stats_bytes(const llmbi_req_stats *rs)
{
    return rs->cap_gaps * sizeof *rs->gaps + rs->cap_long * sizeof *rs->long_gaps +
           rs->cap_secs * sizeof *rs->per_sec;
}

/* ---- The accumulator ---- */

static const double default_percentiles[] = {50.0, 90.0, 99.0};

llmb_metrics *llmb_metrics_new_opts(const llmb_metrics_options *o)
{
    llmb_metrics_options d = LLMB_METRICS_OPTIONS_INIT;
    llmb_metrics *m;
    const double *pct;
    size_t n;

    if (!o)
        o = &d;
    pct = o->percentiles ? o->percentiles : default_percentiles;
    n = o->percentiles ? o->n_percentiles : sizeof default_percentiles / sizeof(double);
    if (n == 0 || n > LLMB_MAX_PERCENTILES)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(pct[i] > 0.0 && pct[i] < 100.0))
            return NULL;
    if (!(o->slo_ttft_ms >= 0.0) || !(o->slo_tpot_ms >= 0.0) || !(o->slo_e2e_ms >= 0.0))
        return NULL;
    m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->opts = *o;
    memcpy(m->percentiles, pct, n * sizeof *pct);
    m->opts.percentiles = m->percentiles;
    m->opts.n_percentiles = n;
    for (int i = 0; i < Q_COUNT; i++)
        llmbi_hist_init(&m->q[i].hist);
    return m;
}

llmb_metrics *llmb_metrics_new(void)
{
    return llmb_metrics_new_opts(NULL);
}

void llmb_metrics_free(llmb_metrics *m)
{
    if (!m)
        return;
    for (int i = 0; i < Q_COUNT; i++) {
        llmbi_hist_free(&m->q[i].hist);
        free(m->q[i].exact.v);
    }
    free(m->tokens_per_sec);
    free(m->active_per_sec);
    free(m);
}

/* A sample of a quantity, in ns. */
/* A record's error class as an index into the per-class counts; an unknown
 * value counts as "other". */
static unsigned class_index(llmb_error_class c)
{
    return (unsigned)c < LLMB_FAIL_CLASS_COUNT_ ? (unsigned)c : LLMB_FAIL_OTHER;
}

static void sample(llmb_metrics *m, int which, double ns)
{
    quantity *q = &m->q[which];
    uint64_t v = ns > 0.0 ? (uint64_t)llround(ns) : 0;
    if (llmbi_hist_add(&q->hist, v) != LLMB_OK)
        m->failed_alloc = LLMB_ERR_NOMEM;
    if (q->over)
        return;
    if (q->exact.n >= m->opts.exact_limit || vec_push(&q->exact, ns / 1e6) != 0) {
        /* Past the limit the histogram alone answers; free the samples. */
        q->over = 1;
        free(q->exact.v);
        memset(&q->exact, 0, sizeof q->exact);
    }
}

static int ensure_secs(llmb_metrics *m, size_t n)
{
    size_t cap = m->cap_secs;
    if (n <= m->n_secs)
        return 0;
    if (grow((void **)&m->tokens_per_sec, &cap, n, sizeof *m->tokens_per_sec))
        return -1;
    cap = m->cap_secs;
    if (grow((void **)&m->active_per_sec, &cap, n, sizeof *m->active_per_sec))
        return -1;
    m->cap_secs = cap;
    memset(m->tokens_per_sec + m->n_secs, 0, (n - m->n_secs) * sizeof *m->tokens_per_sec);
    memset(m->active_per_sec + m->n_secs, 0, (n - m->n_secs) * sizeof *m->active_per_sec);
    m->n_secs = n;
    return 0;
}

void llmbi_metrics_sent(llmb_metrics *m, uint64_t sent_ns, int warmup, int first_attempt,
                        uint64_t in_flight)
{
    if (in_flight > m->peak_in_flight)
        m->peak_in_flight = in_flight;
    if (warmup || !first_attempt)
        return;
    if (m->sent == 0 || sent_ns < m->first_sent_ns)
        m->first_sent_ns = sent_ns;
    if (sent_ns > m->last_sent_ns)
        m->last_sent_ns = sent_ns;
    m->sent++;
}

static int meets_slo(const llmb_metrics *m, const llmb_record *r)
{
    const llmb_metrics_options *o = &m->opts;
    double ttft = llmb_record_ttft_ms(r), tpot = llmb_record_tpot_ms(r);
    if (o->slo_ttft_ms > 0 && !(ttft <= o->slo_ttft_ms))
        return 0;
    /* A one-token answer has no time per output token, so nothing to miss. */
    if (o->slo_tpot_ms > 0 && !isnan(tpot) && !(tpot <= o->slo_tpot_ms))
        return 0;
    if (o->slo_e2e_ms > 0 && !(llmb_record_e2e_ms(r) <= o->slo_e2e_ms))
        return 0;
    return 1;
}

llmb_status llmbi_metrics_finish(llmb_metrics *m, const llmb_record *r, llmbi_req_stats *rs)
{
    llmb_status st = LLMB_OK;
    double scale;

    if (r->warmup) {
        /* A warmup request counts once, whatever its attempts. */
        if (!r->will_retry) {
            m->warmup++;
            if (!llmb_record_ok(r))
                m->warmup_failed++;
        }
        goto out;
    }
    if (r->will_retry) {
        /* An attempt that failed and was tried again: the request's outcome is
         * its last attempt's. */
        m->retried++;
        m->retried_by_class[class_index(r->error_class)]++;
        goto out;
    }
    if (!m->have_window || r->intended_ns < m->window_start_ns)
        m->window_start_ns = r->intended_ns;
    if (!m->have_window || r->end_ns > m->window_end_ns)
        m->window_end_ns = r->end_ns;
    m->have_window = 1;
    /* Concurrency per second counts every request, failed or not: each
     * occupied the client and the server for its time. */
    {
        size_t a = (size_t)(r->sent_ns / 1000000000ULL), b = (size_t)(r->end_ns / 1000000000ULL);
        if (b >= a && ensure_secs(m, b + 1) == 0)
            for (size_t i = a; i <= b; i++)
                m->active_per_sec[i]++;
    }
    /* Every request's own wait, failed or not: it is the client's lateness. */
    sample(m, Q_DELAY, r->sent_ns >= r->intended_ns ? (double)(r->sent_ns - r->intended_ns) : 0);
    if (!llmb_record_ok(r)) {
        /* Failures are counted, never mixed into the latency statistics. */
        m->failed++;
        m->failed_by_class[class_index(r->error_class)]++;
        goto out;
    }
    m->completed++;
    if (meets_slo(m, r))
        m->good++;
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
    if (r->n_chunks > 0) {
        sample(m, Q_TTFT, llmb_record_ttft_ms(r) * 1e6);
        sample(m, Q_CTTFT, llmb_record_corrected_ttft_ms(r) * 1e6);
    }
    if (!isnan(llmb_record_tpot_ms(r)))
        sample(m, Q_TPOT, llmb_record_tpot_ms(r) * 1e6);
    sample(m, Q_E2EL, llmb_record_e2e_ms(r) * 1e6);
    sample(m, Q_CE2EL, llmb_record_corrected_e2e_ms(r) * 1e6);
    for (size_t i = 0, k = 0; i < rs->n_gaps; i++)
        sample(m, Q_ITL,
               rs->gaps[i] == UINT32_MAX && k < rs->n_long ? (double)rs->long_gaps[k++]
                                                           : (double)rs->gaps[i]);
    /* Tokens per second: each chunk counts for generated / chunks tokens, so
     * that the totals agree with the server's count. */
    scale = r->n_chunks && r->generated_tokens >= 0
                ? (double)r->generated_tokens / (double)r->n_chunks
                : 1.0;
    if (rs->n_secs && ensure_secs(m, rs->first_sec + rs->n_secs) == 0)
        for (size_t i = 0; i < rs->n_secs; i++)
            m->tokens_per_sec[rs->first_sec + i] += rs->per_sec[i] * scale;
out:
    llmbi_req_stats_free(rs);
    if (m->failed_alloc)
        st = m->failed_alloc;
    return st;
}

llmb_status llmb_metrics_add(llmb_metrics *m, const llmb_record *r)
{
    llmbi_req_stats rs;
    memset(&rs, 0, sizeof rs);
    llmbi_metrics_sent(m, r->sent_ns, r->warmup, r->attempt <= 1, 1);
    if (r->chunk_ns) {
        for (size_t i = 0; i < r->n_chunks; i++) {
            if (llmbi_req_chunk(&rs, i ? r->chunk_ns[i - 1] : 0, r->chunk_ns[i], i == 0)) {
                llmbi_req_stats_free(&rs);
                return LLMB_ERR_NOMEM;
            }
        }
    }
    return llmbi_metrics_finish(m, r, &rs);
}

llmb_status llmb_metrics_merge(llmb_metrics *dst, const llmb_metrics *src)
{
    for (int i = 0; i < Q_COUNT; i++) {
        quantity *d = &dst->q[i];
        const quantity *s = &src->q[i];
        if (llmbi_hist_merge(&d->hist, &s->hist) != LLMB_OK)
            return LLMB_ERR_NOMEM;
        if (!d->over &&
            (s->over || d->exact.n + s->exact.n > dst->opts.exact_limit ||
             grow((void **)&d->exact.v, &d->exact.cap, d->exact.n + s->exact.n, sizeof(double)))) {
            d->over = 1;
            free(d->exact.v);
            memset(&d->exact, 0, sizeof d->exact);
        }
        if (!d->over && s->exact.n) {
            memcpy(d->exact.v + d->exact.n, s->exact.v, s->exact.n * sizeof(double));
            d->exact.n += s->exact.n;
        }
    }
    dst->completed += src->completed;
    dst->failed += src->failed;
    dst->warmup += src->warmup;
    dst->warmup_failed += src->warmup_failed;
    dst->good += src->good;
    dst->retried += src->retried;
    for (int c = 0; c < LLMB_FAIL_CLASS_COUNT_; c++) {
        dst->failed_by_class[c] += src->failed_by_class[c];
        dst->retried_by_class[c] += src->retried_by_class[c];
    }
    dst->by_usage += src->by_usage;
    dst->by_chunks += src->by_chunks;
    dst->input_tokens += src->input_tokens;
    dst->output_tokens += src->output_tokens;
    dst->input_unknown += src->input_unknown;
    if (src->have_window) {
        if (!dst->have_window || src->window_start_ns < dst->window_start_ns)
            dst->window_start_ns = src->window_start_ns;
        if (!dst->have_window || src->window_end_ns > dst->window_end_ns)
            dst->window_end_ns = src->window_end_ns;
        dst->have_window = 1;
    }
    if (src->sent) {
        if (dst->sent == 0 || src->first_sent_ns < dst->first_sent_ns)
            dst->first_sent_ns = src->first_sent_ns;
        if (src->last_sent_ns > dst->last_sent_ns)
            dst->last_sent_ns = src->last_sent_ns;
        dst->sent += src->sent;
    }
    /* Peaks of different threads may not coincide: their sum bounds the whole. */
    dst->peak_in_flight += src->peak_in_flight;
    if (ensure_secs(dst, src->n_secs))
        return LLMB_ERR_NOMEM;
    for (size_t i = 0; i < src->n_secs; i++) {
        dst->tokens_per_sec[i] += src->tokens_per_sec[i];
        dst->active_per_sec[i] += src->active_per_sec[i];
    }
    if (src->failed_alloc)
        dst->failed_alloc = src->failed_alloc;
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

static llmb_status stat_of(const llmb_metrics *m, const quantity *q, llmb_stat *s)
{
    const llmbi_hist *h = &q->hist;
    double *v = NULL;
    size_t n = m->opts.n_percentiles;

    memset(s, 0, sizeof *s);
    s->count = h->count;
    if (h->count == 0) {
        s->mean = s->std = s->min = s->max = s->median = s->p90 = s->p99 = NAN;
        for (size_t i = 0; i < LLMB_MAX_PERCENTILES; i++)
            s->pct[i] = NAN;
        s->exact = 1;
        return LLMB_OK;
    }
    s->mean = llmbi_hist_mean(h) / 1e6;
    s->std = llmbi_hist_std(h) / 1e6;
    s->min = (double)h->min / 1e6;
    s->max = (double)h->max / 1e6;
    s->exact = !q->over && q->exact.n == h->count;
    if (s->exact) {
        v = malloc(q->exact.n * sizeof *v);
        if (!v)
            return LLMB_ERR_NOMEM;
        memcpy(v, q->exact.v, q->exact.n * sizeof *v);
        qsort(v, q->exact.n, sizeof *v, cmp_double);
        /* The exact samples also give the exact extremes and mean in ms. */
        s->min = v[0];
        s->max = v[q->exact.n - 1];
    }
#define PCT(p)                                                                                     \
    (s->exact ? llmb_percentile(v, q->exact.n, (p)) : llmbi_hist_percentile(h, (p)) / 1e6)
    s->median = PCT(50.0);
    s->p90 = PCT(90.0);
    s->p99 = PCT(99.0);
    for (size_t i = 0; i < LLMB_MAX_PERCENTILES; i++)
        s->pct[i] = i < n ? PCT(m->opts.percentiles[i]) : NAN;
#undef PCT
    if (s->exact) {
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < q->exact.n; i++)
            sum += v[i];
        s->mean = sum / (double)q->exact.n;
        /* Two passes: the variance of values near each other stays accurate. */
        for (size_t i = 0; i < q->exact.n; i++)
            sq += (v[i] - s->mean) * (v[i] - s->mean);
        s->std = sqrt(sq / (double)q->exact.n);
    }
    free(v);
    return LLMB_OK;
}

llmb_status llmb_metrics_summarize(const llmb_metrics *m, llmb_summary *out)
{
    llmb_status st;
    llmb_stat *targets[Q_COUNT];
    double dur;

    memset(out, 0, sizeof *out);
    out->completed = m->completed;
    out->failed = m->failed;
    out->warmup = m->warmup;
    out->warmup_failed = m->warmup_failed;
    out->retried = m->retried;
    memcpy(out->failed_by_class, m->failed_by_class, sizeof out->failed_by_class);
    memcpy(out->retried_by_class, m->retried_by_class, sizeof out->retried_by_class);
    out->counted_by_usage = m->by_usage;
    out->counted_by_chunks = m->by_chunks;
    dur = m->have_window && m->window_end_ns > m->window_start_ns
              ? (double)(m->window_end_ns - m->window_start_ns) / 1e9
              : 0.0;
    out->duration_s = dur;
    out->total_input_tokens = m->input_tokens;
    out->input_tokens_unknown = m->input_unknown;
    out->total_output_tokens = m->output_tokens;
    if (dur > 0.0) {
        out->request_throughput = (double)m->completed / dur;
        out->output_throughput = (double)m->output_tokens / dur;
        out->total_token_throughput = (double)(m->input_tokens + m->output_tokens) / dur;
    }
    out->sent = m->sent;
    out->achieved_request_rate =
        m->sent >= 2 && m->last_sent_ns > m->first_sent_ns
            ? (double)(m->sent - 1) / ((double)(m->last_sent_ns - m->first_sent_ns) / 1e9)
            : NAN;
    out->has_slo = m->opts.slo_ttft_ms > 0 || m->opts.slo_tpot_ms > 0 || m->opts.slo_e2e_ms > 0;
    out->good = m->good;
    out->request_goodput = out->has_slo && dur > 0.0 ? (double)m->good / dur : NAN;
    for (size_t i = 0; i < m->n_secs; i++) {
        if (m->tokens_per_sec[i] > out->max_output_tokens_per_s)
            out->max_output_tokens_per_s = m->tokens_per_sec[i];
        if (m->active_per_sec[i] > out->max_concurrent_requests)
            out->max_concurrent_requests = m->active_per_sec[i];
    }
    out->peak_in_flight = m->peak_in_flight;
    out->n_percentiles = m->opts.n_percentiles;
    memcpy(out->percentiles, m->percentiles, sizeof out->percentiles);
    targets[Q_TTFT] = &out->ttft_ms;
    targets[Q_TPOT] = &out->tpot_ms;
    targets[Q_ITL] = &out->itl_ms;
    targets[Q_E2EL] = &out->e2el_ms;
    targets[Q_CTTFT] = &out->corrected_ttft_ms;
    targets[Q_CE2EL] = &out->corrected_e2el_ms;
    targets[Q_DELAY] = &out->send_delay_ms;
    for (int i = 0; i < Q_COUNT; i++)
        if ((st = stat_of(m, &m->q[i], targets[i])) != LLMB_OK)
            return st;
    return m->failed_alloc;
}

size_t llmb_parse_percentiles(const char *text, double *out, size_t max, llmb_error *err)
{
    size_t n = 0;
    const char *p = text;
    while (p && *p) {
        char *end = NULL;
        double v;
        errno = 0;
        v = strtod(p, &end);
        if (end == p || errno || !(v > 0.0 && v < 100.0) || (*end && *end != ',')) {
            llmbi_error_set(err,
                            "'%s' is not a list of percentiles above 0 and below 100 "
                            "(e.g. 50,90,99,99.9)",
                            text);
            return 0;
        }
        if (n == max) {
            llmbi_error_set(err, "at most %zu percentiles", max);
            return 0;
        }
        out[n++] = v;
        p = *end ? end + 1 : end;
    }
    if (n == 0)
        llmbi_error_set(err, "no percentiles given");
    return n;
}

llmb_status llmb_parse_slo(const char *text, llmb_metrics_options *opts, llmb_error *err)
{
    const char *p = text;
    double ttft = 0, tpot = 0, e2e = 0;
    if (!text || !*text)
        goto bad;
    while (*p) {
        const char *colon = strchr(p, ':');
        char *end = NULL;
        size_t name_len;
        double v;
        if (!colon)
            goto bad;
        name_len = (size_t)(colon - p);
        errno = 0;
        v = strtod(colon + 1, &end);
        if (end == colon + 1 || errno || !(v > 0.0) || !isfinite(v) || (*end && *end != ','))
            goto bad;
        if (name_len == 4 && strncmp(p, "ttft", 4) == 0 && ttft == 0)
            ttft = v;
        else if (name_len == 4 && strncmp(p, "tpot", 4) == 0 && tpot == 0)
            tpot = v;
        else if (name_len == 3 && strncmp(p, "e2e", 3) == 0 && e2e == 0)
            e2e = v;
        else
            goto bad; /* unknown, or given twice */
        p = *end ? end + 1 : end;
    }
    opts->slo_ttft_ms = ttft;
    opts->slo_tpot_ms = tpot;
    opts->slo_e2e_ms = e2e;
    return LLMB_OK;
bad:
    llmbi_error_set(err,
                    "'%s' is not a list of objectives like ttft:500,tpot:50,e2e:10000 (ms), "
                    "each at most once",
                    text ? text : "");
    return LLMB_ERR_INVALID;
}
