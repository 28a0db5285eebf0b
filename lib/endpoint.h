/*
 * Endpoint internals shared with the runner: the request URL and the header
 * lines (which carry the API key, so they never leave the library).
 */
#ifndef LLMB_ENDPOINT_INTERNAL_H
#define LLMB_ENDPOINT_INTERNAL_H

#include "http.h"
#include "llmbench/endpoint.h"

/** The URL of the generation endpoint for the endpoint's API; malloc'ed. */
char *llmbi_endpoint_url(const llmb_endpoint *ep, const char *path);
/**
 * The headers of every request: JSON body, event-stream accept, no
 * "Expect: 100-continue" round trip, and the Authorization line when a key is
 * set. Free with llmbi_headers_free.
 */
llmbi_headers *llmbi_endpoint_headers(const llmb_endpoint *ep, int streaming);

#endif /* LLMB_ENDPOINT_INTERNAL_H */
