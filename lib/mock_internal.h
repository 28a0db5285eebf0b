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
/* An oversize event's JSON: from one that surely holds a chunk's fixed part, to a bound on
 * what one connection may make the mock hold. */
#define LLMBI_MOCK_OVERSIZE_MIN  LLMBI_MOCK_EVENT_MAX
#define LLMBI_MOCK_OVERSIZE_MAX  (64u * 1024u * 1024u)
#define LLMBI_MOCK_RETRY_MAX     86400u /* seconds of a Retry-After */
#define LLMBI_MOCK_FAULT_MSG_MAX 320u   /* room for an error text about a fault header */

/** A growable byte buffer; all zero is an empty one. */
typedef struct llmbi_mock_buf {
    char *data;
    size_t len;
    size_t cap;
} llmbi_mock_buf;

/** Make room for n more bytes; -1 (buffer unchanged) when out of memory. */
int llmbi_mock_buf_reserve(llmbi_mock_buf *b, size_t n);
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
    int te_other;                /* a Transfer-Encoding other than identity (not supported) */
    int conn_close;              /* "Connection: close" */
    int conn_keep_alive;         /* "Connection: keep-alive" (matters for HTTP/1.0) */
    int expect_continue;         /* "Expect: 100-continue" */
    int expect_other;            /* any other expectation: 417 */
    unsigned fault_headers;      /* how many X-Mock-Fault fields */
    size_t fault_off, fault_len; /* the first one's value, without surrounding white space */
} llmbi_mock_head;

/**
 * Parse a request head from buf[0..len). *scan is where the previous call
 * stopped looking for the end (start it at 0 for a new request), so that a
 * head arriving a byte at a time costs linear time. Leading empty lines are
 * skipped, as RFC 9112 asks of servers.
 */
llmbi_mock_head_result llmbi_mock_parse_head(const char *buf, size_t len, size_t *scan,
                                             llmbi_mock_head *h);

/** One request's fault and its parameters. */
typedef struct llmbi_mock_fault {
    llmb_mock_fault kind;
    uint64_t after;       /* content tokens before it */
    int status;           /* status and html: the code; 0 is the kind's default */
    unsigned retry_after; /* a 429's Retry-After seconds */
    size_t size;          /* an oversize event's bytes */
} llmbi_mock_fault;

/**
 * Parse an X-Mock-Fault value, v[0..n): "KIND[; NAME=VALUE]...". Parameters
 * not given are taken from *defaults (whose kind does not matter). Returns 0
 * and fills *out, or -1 with an English reason in msg (for a 400).
 */
int llmbi_mock_parse_fault(const char *v, size_t n, const llmbi_mock_fault *defaults,
                           llmbi_mock_fault *out, char *msg, size_t msg_size);
/** The kind named p[0..n) in any case, or -1. */
int llmbi_mock_fault_lookup(const char *p, size_t n);
/** The status a status or html fault answers with (its own, or the kind's default). */
int llmbi_mock_fault_status(const llmbi_mock_fault *f);
/**
 * Whether chance chooses request n (from 1) for a fault: a pure function of
 * (seed, n), true for a fraction p of the numbers.
 */
int llmbi_mock_fault_draw(uint64_t seed, uint64_t n, double p);

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
/** Fault events: a chunk cut short (not valid JSON), and an error object. */
size_t llmbi_mock_json_malformed(char *dst, size_t cap, const llmbi_mock_job *job);
size_t llmbi_mock_json_error_event(char *dst, size_t cap);
/** Append an event whose JSON is exactly `size` bytes (at least LLMBI_MOCK_OVERSIZE_MIN). */
int llmbi_mock_append_oversize(llmbi_mock_buf *b, int chunked, const llmbi_mock_job *job,
                               size_t size);

/** Append "data: <payload>\n\n", as one HTTP chunk when `chunked`. */
int llmbi_mock_append_event(llmbi_mock_buf *b, int chunked, const char *payload, size_t n);
/** Append "data: [DONE]\n\n" (unless `no_done`) and, when `chunked`, the last (empty) chunk. */
int llmbi_mock_append_done(llmbi_mock_buf *b, int chunked, int no_done);
/** Append the head of a 200 event-stream response. */
int llmbi_mock_append_stream_head(llmbi_mock_buf *b, int chunked, int close);
/** Append a whole JSON response: head with Content-Length, then body. */
int llmbi_mock_append_json_response(llmbi_mock_buf *b, int status, const char *extra_headers,
                                    int close, const char *body, size_t body_len);
/** Append a whole text/html error page with this status. */
int llmbi_mock_append_html_response(llmbi_mock_buf *b, int status, int close);

/*
 * Bodies the caller frees with free(); NULL when out of memory. A whole
 * answer may be shaped by a fault: malformed cuts it short, oversize pads it
 * to f->size bytes, error-event replaces it, no-usage drops "usage"; f may be
 * NULL. *len is its length (a cut body is not a string).
 */
char *llmbi_mock_body_completion(const llmbi_mock_job *job, const llmbi_mock_fault *f, size_t *len);
char *llmbi_mock_body_error(int status, const char *message);
/** The JSON error body of a status fault. */
char *llmbi_mock_body_fault(int status);
char *llmbi_mock_body_models(const char *model, long long created);
char *llmbi_mock_body_stats(const llmb_mock_stats *st);

/** "Not Found" for 404 and so on; "Unknown" for codes the mock does not send. */
const char *llmbi_mock_reason(int status);

#endif /* LLMB_MOCK_INTERNAL_H */
