/*
 * A record for tests: sent at sent_ms, `chunks` content chunks starting
 * ttft_ms later and itl_ms apart (stored in buf), ending at the last one.
 */
#ifndef LLMB_TEST_RECORD_FIXTURE_H
#define LLMB_TEST_RECORD_FIXTURE_H

#include <string.h>

#include "llmbench/record.h"

static inline llmb_record make(uint64_t n, uint64_t sent_ms, uint64_t ttft_ms, uint64_t itl_ms,
                               size_t chunks, int64_t prompt, int64_t gen, uint64_t *buf)
{
    llmb_record r;
    memset(&r, 0, sizeof r);
    r.request = n;
    r.sent_ns = sent_ms * 1000000ULL;
    for (size_t i = 0; i < chunks; i++)
        buf[i] = r.sent_ns + (ttft_ms + i * itl_ms) * 1000000ULL;
    llmb_record_set_chunks(&r, buf, chunks);
    r.end_ns = chunks ? buf[chunks - 1] : r.sent_ns + ttft_ms * 1000000ULL;
    r.prompt_tokens = prompt;
    r.generated_tokens = gen;
    r.token_source = LLMB_TOKENS_USAGE;
    r.http_status = 200;
    r.error = "";
    r.x_request_id = "";
    r.attempt = 1;
    r.retry_after_s = -1;
    return r;
}

#endif /* LLMB_TEST_RECORD_FIXTURE_H */
