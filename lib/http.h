/*
 * The transport: the one part of the library that talks to libcurl.
 *
 * One llmbi_http is one event loop: a curl multi handle driven through its
 * socket interface from an epoll set, with a timerfd for curl's timeouts and
 * for the caller's deadlines, and an eventfd to wake it from a signal handler
 * or another thread. Each arrival of body bytes is timestamped before any
 * other work on it.
 */
#ifndef LLMB_HTTP_H
#define LLMB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/common.h"
#include "llmbench/endpoint.h"
#include "llmbench/record.h"

typedef struct llmbi_http llmbi_http;
typedef struct llmbi_http_req llmbi_http_req;
/* What each transport's request starts with. */
struct llmbi_http_req {
    int builtin; /* the built-in transport's (h1.c), else libcurl's */
};
typedef struct llmbi_headers llmbi_headers;

/** How a transfer ended, as the transport saw it. */
typedef struct llmbi_http_result {
    llmb_error_class error_class; /* NONE when the response arrived whole (any status) */
    int aborted;                  /* the caller's on_data asked to stop */
    long status;                  /* HTTP status, 0 if none arrived */
    uint64_t end_ns;              /* when the end was seen */
    const char *message;          /* transport's error text, "" if none */
    double retry_after_s;         /* a Retry-After header, in seconds; -1 if none */
} llmbi_http_result;

typedef struct llmbi_http_handlers {
    /** Called once, before the first on_data, when status and type are known. */
    void (*on_response)(void *user, long status, const char *content_type);
    /** Body bytes, with their arrival time; return non-zero to abort the transfer. */
    int (*on_data)(void *user, const char *p, size_t n, uint64_t t_ns);
    /** The transfer is over; the request handle is freed right after. */
    void (*on_done)(void *user, const llmbi_http_result *res);
} llmbi_http_handlers;

/** One request. Pointers must stay valid until on_done or cancel. */
typedef struct llmbi_http_spec {
    const char *url;
    const char *body; /* NULL: GET */
    size_t body_len;
    const llmbi_headers *headers; /* may be NULL */
    const char *extra_header;     /* one more "Name: value" line for this request, or NULL */
    double connect_timeout_s;     /* 0: transport default */
    double timeout_s;             /* 0: none */
    int insecure;                 /* do not verify the TLS peer (its certificate and name) */
    llmb_transport transport;     /* which transport carries it (see llmbi_http_builtin_for) */
} llmbi_http_spec;

/**
 * A header list to share between requests. `lines` are "Name: value"
 * strings, copied. Freed (and wiped, as it may hold a key) by
 * llmbi_headers_free.
 */
/** The message for a connection the open-file limit did not let us open. */
extern const char llmbi_too_many_files[];

llmbi_headers *llmbi_headers_new(const char *const *lines, size_t n);
void llmbi_headers_free(llmbi_headers *h);
/** The lines as an HTTP head's part: each ended by CRLF. */
const char *llmbi_headers_block(const llmbi_headers *h, size_t *len);
/** Whether a request to `url` goes by the built-in transport: AUTO chooses it for
 *  http:// URLs without user info when no proxy is set in the environment. */
int llmbi_http_builtin_for(const char *url, llmb_transport transport, int proxy_env);

llmb_status llmbi_http_new(llmbi_http **out, llmb_error *err);
/** Aborts every transfer without calling handlers, and frees. NULL does nothing. */
void llmbi_http_free(llmbi_http *h);
/** Start a request now. */
llmb_status llmbi_http_start(llmbi_http *h, const llmbi_http_spec *spec,
                             const llmbi_http_handlers *hd, void *user, llmbi_http_req **out,
                             llmb_error *err);
/** End a request at once, without calling its handlers. */
void llmbi_http_cancel(llmbi_http *h, llmbi_http_req *req);
/**
 * Wait for and process one batch of network events, returning when at least
 * one event was processed, when CLOCK_MONOTONIC reaches `deadline_ns` (an
 * absolute time; UINT64_MAX for none) or when woken. Handlers run inside.
 */
llmb_status llmbi_http_poll(llmbi_http *h, uint64_t deadline_ns, llmb_error *err);
/** Make a poll return soon. Async-signal-safe and thread-safe. */
void llmbi_http_wake(llmbi_http *h);
/** Transfers in progress. */
size_t llmbi_http_active(const llmbi_http *h);

/**
 * A blocking GET of at most `max_bytes` of body, on a loop of its own, the
 * transport chosen as for streamed requests. *body is malloc'ed and
 * NUL-terminated (caller frees). Transport failures give LLMB_ERR_TRANSFER
 * with the transport's text; the HTTP status is returned in *status either way.
 */
llmb_status llmbi_http_get(const char *url, const llmbi_headers *headers, double connect_timeout_s,
                           double timeout_s, int insecure, llmb_transport transport,
                           size_t max_bytes, char **body, size_t *len, long *status,
                           llmb_error *err);

#endif /* LLMB_HTTP_H */
