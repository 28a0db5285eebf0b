/*
 * An HTTP/1.1 response parser (RFC 9112) for the built-in transport: the
 * status line and header fields, then the body framed by chunked transfer
 * coding, a Content-Length, or the end of the connection. It keeps no copy of
 * the body: each run of body bytes is handed to a callback straight from the
 * caller's buffer. Bytes may come split anywhere.
 */
#ifndef LLMB_H1_PARSE_H
#define LLMB_H1_PARSE_H

#include <stddef.h>
#include <stdint.h>

/** Largest response head (status line and header fields) accepted. */
#define LLMBI_H1_HEAD_MAX 65536

typedef enum llmbi_h1_result {
    LLMBI_H1_MORE,  /* all bytes taken; the response goes on */
    LLMBI_H1_DONE,  /* the response is complete (see *used for what it took) */
    LLMBI_H1_ERROR, /* not a valid response; the reason is in the parser's error */
    LLMBI_H1_ABORT  /* on_body asked to stop */
} llmbi_h1_result;

typedef struct llmbi_h1_parser {
    /* What the caller reads once the head is in. */
    int head_done;
    long status;
    int keep_alive;       /* the connection may carry another request */
    double retry_after_s; /* -1 if no Retry-After */
    char content_type[128];
    char error[128];

    /* Private. */
    char *head;
    size_t head_len, head_cap, scan_from;
    int framing;        /* body: by chunks, by length, to the end of the connection, none */
    uint64_t remaining; /* of the length, or of the current chunk */
    int chunk_state;
    int chunk_digits;
    int any; /* a byte has arrived */
} llmbi_h1_parser;

typedef struct llmbi_h1_callbacks {
    /** The head of the final (non-1xx) response is in: status and fields are set. */
    void (*on_head)(void *user, const llmbi_h1_parser *p);
    /** Body bytes; return non-zero to stop (the parser then returns ABORT). */
    int (*on_body)(void *user, const char *p, size_t n);
} llmbi_h1_callbacks;

void llmbi_h1_parser_init(llmbi_h1_parser *p);
/** Frees what the parser holds; it can be initialised again after. */
void llmbi_h1_parser_free(llmbi_h1_parser *p);
/**
 * Feed `n` bytes. *used is set to how many were taken: all of them for MORE;
 * for DONE, those up to the end of the response (more would be the start of
 * something the server should not have sent).
 */
llmbi_h1_result llmbi_h1_feed(llmbi_h1_parser *p, const char *buf, size_t n,
                              const llmbi_h1_callbacks *cb, void *user, size_t *used);
/**
 * The connection ended: DONE if that ends a body framed by the connection's
 * end, else ERROR with the reason.
 */
llmbi_h1_result llmbi_h1_eof(llmbi_h1_parser *p);
/** Whether any byte of a response has arrived. */
int llmbi_h1_started(const llmbi_h1_parser *p);

/** Seconds from a Retry-After value: a number of seconds, or an HTTP date; -1 if neither. */
double llmbi_parse_retry_after(const char *v, size_t n);

#endif /* LLMB_H1_PARSE_H */
