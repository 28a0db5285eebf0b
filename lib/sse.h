/*
 * Server-sent events framing: splits a byte stream, cut anywhere, into event
 * payloads, as the HTML living standard's event-stream parsing describes
 * (lines end with CRLF, LF or CR; "data" lines accumulate, joined by LF; a
 * blank line dispatches; lines starting with ':' are comments; a leading
 * UTF-8 byte order mark is skipped). Knows nothing of HTTP or JSON.
 */
#ifndef LLMB_SSE_H
#define LLMB_SSE_H

#include <stddef.h>

#include "llmbench/common.h"

typedef struct llmbi_sse llmbi_sse;

/**
 * One event. `event` is the event type ("" when none was given), `data` the
 * payload; both NUL-terminated, valid only during the call. Return 0 to go
 * on, non-zero to stop (feed then returns LLMB_ERR_STOPPED).
 */
typedef int (*llmbi_sse_event_fn)(void *user, const char *event, const char *data, size_t data_len);

/** Default cap on one line and one event's data. */
#define LLMBI_SSE_DEFAULT_MAX_EVENT (1u << 20)

/** A parser; `max_event_bytes` caps a line and an event's data (0 = default). */
llmbi_sse *llmbi_sse_new(size_t max_event_bytes, llmbi_sse_event_fn fn, void *user);
void llmbi_sse_free(llmbi_sse *p);
/** Forget all state, as for a new stream. */
void llmbi_sse_reset(llmbi_sse *p);
/**
 * Feed bytes. Returns LLMB_OK, LLMB_ERR_STOPPED if the callback asked to stop,
 * LLMB_ERR_LIMIT if a line or event exceeded the cap, LLMB_ERR_NOMEM. After an
 * error the parser ignores further input until reset.
 */
llmb_status llmbi_sse_feed(llmbi_sse *p, const char *buf, size_t len);
/**
 * End of stream. The standard discards an event not ended by a blank line;
 * with `flush` set, such an event (including an unterminated last line) is
 * dispatched instead, for servers that end the stream right after the last
 * data line.
 */
llmb_status llmbi_sse_finish(llmbi_sse *p, int flush);
/** Bytes held for an incomplete line or event (for memory accounting). */
size_t llmbi_sse_buffered(const llmbi_sse *p);

#endif /* LLMB_SSE_H */
