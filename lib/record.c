/*
 * Per-request record: names of its enums and the metrics derived from it.
 */
#include <math.h>

#include "llmbench/clock.h"
#include "llmbench/record.h"

static const char *const class_names[LLMB_FAIL_CLASS_COUNT_] = {
    [LLMB_FAIL_NONE] = "",           [LLMB_FAIL_HTTP] = "http",
    [LLMB_FAIL_CONNECT] = "connect", [LLMB_FAIL_DNS] = "dns",
    [LLMB_FAIL_TLS] = "tls",         [LLMB_FAIL_TIMEOUT] = "timeout",
    [LLMB_FAIL_RESET] = "reset",     [LLMB_FAIL_PROTOCOL] = "protocol",
    [LLMB_FAIL_SERVER] = "server",   [LLMB_FAIL_CANCELLED] = "cancelled",
    [LLMB_FAIL_OTHER] = "other",
};

const char *llmb_error_class_name(llmb_error_class c)
{
    if ((unsigned)c >= LLMB_FAIL_CLASS_COUNT_)
        return "other";
    return class_names[c];
}

const char *llmb_token_source_name(llmb_token_source s)
{
    switch (s) {
    case LLMB_TOKENS_USAGE:
        return "usage";
    case LLMB_TOKENS_CHUNKS:
        return "chunks";
    default:
        return "";
    }
}

/* A difference of two instants in ms; the record's times never run backwards,
 * but a hand-built record might, so clamp rather than wrap around. */
static double span_ms(uint64_t from, uint64_t to)
{
    return to >= from ? (double)(to - from) / 1e6 : 0.0;
}

int llmb_record_ok(const llmb_record *r)
{
    return r->error_class == LLMB_FAIL_NONE;
}

double llmb_record_time_taken_s(const llmb_record *r)
{
    return span_ms(r->sent_ns, r->end_ns) / 1e3;
}

double llmb_record_e2e_ms(const llmb_record *r)
{
    return span_ms(r->sent_ns, r->end_ns);
}

double llmb_record_ttft_ms(const llmb_record *r)
{
    if (r->n_chunks == 0)
        return NAN;
    return span_ms(r->sent_ns, r->first_chunk_ns);
}

double llmb_record_tokens_per_s(const llmb_record *r)
{
    double t = llmb_record_time_taken_s(r);
    if (r->generated_tokens < 0 || !(t > 0.0))
        return NAN;
    return (double)r->generated_tokens / t;
}

double llmb_record_tpot_ms(const llmb_record *r)
{
    double ttft = llmb_record_ttft_ms(r);
    if (r->generated_tokens <= 1 || isnan(ttft))
        return NAN;
    return (llmb_record_e2e_ms(r) - ttft) / (double)(r->generated_tokens - 1);
}

double llmb_record_itl_mean_ms(const llmb_record *r)
{
    if (r->n_chunks < 2)
        return NAN;
    return span_ms(r->first_chunk_ns, r->last_chunk_ns) / (double)(r->n_chunks - 1);
}

double llmb_record_itl_max_ms(const llmb_record *r)
{
    if (r->n_chunks < 2)
        return NAN;
    return (double)r->itl_max_ns / 1e6;
}

double llmb_record_wait_ms(const llmb_record *r)
{
    return span_ms(r->intended_ns, r->sent_ns);
}

double llmb_record_corrected_ttft_ms(const llmb_record *r)
{
    if (r->n_chunks == 0)
        return NAN;
    return span_ms(r->intended_ns, r->first_chunk_ns);
}

double llmb_record_corrected_e2e_ms(const llmb_record *r)
{
    return span_ms(r->intended_ns, r->end_ns);
}

void llmb_record_set_chunks(llmb_record *r, const uint64_t *chunk_ns, size_t n)
{
    r->chunk_ns = chunk_ns;
    r->n_chunks = n;
    r->first_chunk_ns = n ? chunk_ns[0] : 0;
    r->last_chunk_ns = n ? chunk_ns[n - 1] : 0;
    r->itl_max_ns = 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t g = chunk_ns[i] >= chunk_ns[i - 1] ? chunk_ns[i] - chunk_ns[i - 1] : 0;
        if (g > r->itl_max_ns)
            r->itl_max_ns = g;
    }
}
