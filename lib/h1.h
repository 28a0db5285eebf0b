/*
 * The built-in transport: HTTP/1.1 over plain TCP, on the loop's epoll set.
 *
 * libcurl serves every URL, TLS included; for plain http:// this transport
 * does the same work with fewer system calls and less code per event: one
 * recv per readable socket and the body handed on straight from the read
 * buffer (libcurl also polls each socket once per read). Connections are kept
 * alive and reused. It is chosen per request by http.c.
 */
#ifndef LLMB_H1_H
#define LLMB_H1_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

/** Set in an epoll event's data for the sockets of this transport. */
#define LLMBI_H1_TAG (UINT64_C(1) << 63)

typedef struct llmbi_h1 llmbi_h1;

/** Whether the built-in transport can take this URL: http:// with no user info. */
int llmbi_h1_url_ok(const char *url);

llmb_status llmbi_h1_new(int epfd, llmbi_h1 **out, llmb_error *err);
/** Ends every transfer (no callback) and closes every connection. */
void llmbi_h1_free(llmbi_h1 *t);
/** As llmbi_http_start; a failure to connect is reported later, through on_done. */
llmb_status llmbi_h1_start(llmbi_h1 *t, const llmbi_http_spec *spec, const llmbi_http_handlers *hd,
                           void *user, llmbi_http_req **out, llmb_error *err);
/** Ends a transfer of this transport at once, with no callback. */
void llmbi_h1_cancel(llmbi_h1 *t, llmbi_http_req *req);
/** Reads the offset between the wall and monotonic clocks again, which the
 *  kernel's receive timestamps need; once per loop turn is plenty. */
void llmbi_h1_sync_clock(llmbi_h1 *t);
/** An epoll event whose data has LLMBI_H1_TAG. */
void llmbi_h1_event(llmbi_h1 *t, uint64_t data, uint32_t events);
/** The earliest time a transfer runs out (absolute ns), UINT64_MAX if none. */
uint64_t llmbi_h1_deadline(const llmbi_h1 *t);
/** Ends, as timed out, the transfers whose time is up at `now_ns`. */
void llmbi_h1_expire(llmbi_h1 *t, uint64_t now_ns);
/** Whether finished transfers wait for their on_done. */
int llmbi_h1_pending(const llmbi_h1 *t);
/** Calls on_done for the transfers that had finished when it was called. */
void llmbi_h1_drain(llmbi_h1 *t);
size_t llmbi_h1_active(const llmbi_h1 *t);

#endif /* LLMB_H1_H */
