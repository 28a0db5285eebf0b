/*
 * The mock engine's internal pieces, shared between lib/mock.c (sockets, the
 * event loop, timing), lib/mock_http.c (request heads) and lib/mock_gen.c
 * (request bodies and every byte the mock sends). Only mock files and the
 * mock's unit test include this header.
 */
#ifndef LLMB_MOCK_INTERNAL_H
#define LLMB_MOCK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/mock.h"

/* Size limits. Each bounds what one connection may make the mock hold. */
#define LLMBI_MOCK_HEAD_MAX   (16u * 1024u)        /* request line and headers: 431 beyond */
#define LLMBI_MOCK_BODY_MAX   (8u * 1024u * 1024u) /* request body: 413 beyond */
#define LLMBI_MOCK_MODEL_MAX  256u                 /* bytes of an echoed model name: 400 beyond */
#define LLMBI_MOCK_TOKENS_MAX 1000000u             /* tokens of one answer: 400 beyond */
/* One SSE event's JSON always fits: the model name is at most 256 bytes, 6 once escaped. */
#define LLMBI_MOCK_EVENT_MAX 4096u

/** A growable byte buffer; all zero is an empty one. */
typedef struct llmbi_mock_buf {
    char *data;
    size_t len;
    size_t cap;
} llmbi_mock_buf;

/** Append n bytes; -1 (buffer unchanged) when out of memory. */
int llmbi_mock_buf_append(llmbi_mock_buf *b, const void *p, size_t n);
/** Drop the first n bytes (n <= len), keeping the rest in order. */
void llmbi_mock_buf_consume(llmbi_mock_buf *b, size_t n);
/** Give memory back when the buffer is much larger than what it holds. */
void llmbi_mock_buf_shrink(llmbi_mock_buf *b, size_t keep_cap);
void llmbi_mock_buf_free(llmbi_mock_buf *b);

typedef enum llmbi_mock_head_result {
    LLMBI_MOCK_HEAD_PARTIAL = 0, /* the blank line ending the head has not arrived */
    LLMBI_MOCK_HEAD_DONE,        /* parsed; see the struct */
    LLMBI_MOCK_HEAD_BAD,         /* malformed: answer 400 and close */
    LLMBI_MOCK_HEAD_TOO_BIG      /* no end within LLMBI_MOCK_HEAD_MAX bytes: 431 and close */
} llmbi_mock_head_result;

/**
 * A parsed request head. Offsets count from the start of the buffer given to
 * llmbi_mock_parse_head, so they stay right when the buffer moves.
 */
typedef struct llmbi_mock_head {
    size_t head_len; /* bytes up to and including the blank line */
    size_t method_off, method_len;
    size_t path_off, path_len; /* request target without its query */
    unsigned version_minor;    /* HTTP/1.x */
    int has_length;
    uint64_t content_length;
    int te_other;        /* a Transfer-Encoding other than identity (not supported) */
    int conn_close;      /* "Connection: close" */
    int conn_keep_alive; /* "Connection: keep-alive" (matters for HTTP/1.0) */
    int expect_continue; /* "Expect: 100-continue" */
    int expect_other;    /* any other expectation: 417 */
} llmbi_mock_head;

/**
 * Parse a request head from buf[0..len). *scan is where the previous call
 * stopped looking for the end (start it at 0 for a new request), so that a
 * head arriving a byte at a time costs linear time. Leading empty lines are
 * skipped, as RFC 9112 asks of servers.
 */
llmbi_mock_head_result llmbi_mock_parse_head(const char *buf, size_t len, size_t *scan,
                                             llmbi_mock_head *h);

typedef enum llmbi_mock_api {
    LLMBI_MOCK_API_CHAT = 0,   /* POST /v1/chat/completions */
    LLMBI_MOCK_API_COMPLETIONS /* POST /v1/completions */
} llmbi_mock_api;

/** One generation request, decoded; owns model and model_json. */
typedef struct llmbi_mock_job {
    llmbi_mock_api api;
    int stream;
    int include_usage; /* "stream_options": {"include_usage": true} */
    int limit_given;   /* max_tokens or max_completion_tokens was set */
    uint64_t tokens;   /* tokens to generate */
    uint64_t prompt_tokens;
    uint64_t id;       /* the n in "chatcmpl-mock-<n>" */
    long long created; /* Unix time stamp of the answer */
    void *model;       /* json_t string (kept opaque here to keep jansson out of headers) */
    char *model_json;  /* the same as a compact JSON literal, quotes included */
} llmbi_mock_job;

/**
 * Decode a request body for `api`. On success fills *job (release it with
 * llmbi_mock_job_clear) and returns LLMB_OK. A body the client got wrong
 * gives LLMB_ERR_PARSE with an English reason in msg (for a 400); running out
 * of memory gives LLMB_ERR_NOMEM.
 */
llmb_status llmbi_mock_decode(const char *body, size_t len, llmbi_mock_api api,
                              const char *default_model, unsigned default_tokens,
                              llmbi_mock_job *job, char *msg, size_t msg_size);
void llmbi_mock_job_clear(llmbi_mock_job *job);

/** The k-th generated word, with its leading space (none for k = 0). */
const char *llmbi_mock_word(uint64_t k, int *leading_space);

/*
 * SSE event payloads: each writes compact JSON into dst (cap bytes) and
 * returns its length, or 0 if it did not fit.
 */
size_t llmbi_mock_json_role(char *dst, size_t cap, const llmbi_mock_job *job);
size_t llmbi_mock_json_token(char *dst, size_t cap, const llmbi_mock_job *job, uint64_t k);
size_t llmbi_mock_json_finish(char *dst, size_t cap, const llmbi_mock_job *job,
                              llmb_mock_usage usage);
size_t llmbi_mock_json_usage(char *dst, size_t cap, const llmbi_mock_job *job);

/** Append "data: <payload>\n\n", as one HTTP chunk when `chunked`. */
int llmbi_mock_append_event(llmbi_mock_buf *b, int chunked, const char *payload, size_t n);
/** Append "data: [DONE]\n\n" and, when `chunked`, the last (empty) chunk. */
int llmbi_mock_append_done(llmbi_mock_buf *b, int chunked);
/** Append the head of a 200 event-stream response. */
int llmbi_mock_append_stream_head(llmbi_mock_buf *b, int chunked, int close);
/** Append a whole JSON response: head with Content-Length, then body. */
int llmbi_mock_append_json_response(llmbi_mock_buf *b, int status, const char *extra_headers,
                                    int close, const char *body, size_t body_len);

/* Bodies the caller frees with free(); NULL when out of memory. */
char *llmbi_mock_body_completion(const llmbi_mock_job *job);
char *llmbi_mock_body_error(int status, const char *message);
char *llmbi_mock_body_models(const char *model, long long created);
char *llmbi_mock_body_stats(const llmb_mock_stats *st);

/** "Not Found" for 404 and so on; "Unknown" for codes the mock does not send. */
const char *llmbi_mock_reason(int status);

#endif /* LLMB_MOCK_INTERNAL_H */
