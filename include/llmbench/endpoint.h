/*
 * libllmbench: where requests go. An endpoint is a base URL, a wire protocol
 * (API), a model, an optional API key and timeouts, usually started from a
 * preset (openai, groq, vllm, sglang, llamacpp, ollama, mock).
 *
 * The API key is copied into the endpoint, sent only as an Authorization
 * header to the endpoint's own host, never returned by any call, never put in
 * an error text, and wiped from memory when the endpoint is freed.
 */
#ifndef LLMBENCH_ENDPOINT_H
#define LLMBENCH_ENDPOINT_H

#include <stddef.h>

#include "llmbench/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmb_endpoint llmb_endpoint;

/** Wire protocol (all OpenAI-compatible, streaming server-sent events). */
typedef enum llmb_api {
    LLMB_API_CHAT = 0,    /**< POST {base}/chat/completions with "messages" */
    LLMB_API_COMPLETIONS, /**< POST {base}/completions with "prompt" */
    LLMB_API_COUNT_
} llmb_api;

/** "chat" or "completions"; "" for an unknown value. */
LLMB_API const char *llmb_api_name(llmb_api api);
/** Parse "chat" or "completions"; LLMB_ERR_INVALID otherwise. */
LLMB_API llmb_status llmb_api_from_name(const char *name, llmb_api *out);

/**
 * What carries the requests. LLMB_TRANSPORT_AUTO (the default) takes the
 * built-in HTTP/1.1 client for plain http:// URLs, unless a proxy is set in
 * the environment (http_proxy, all_proxy, ALL_PROXY), and libcurl for
 * everything else (https://, proxies). The built-in client spends less CPU per
 * streamed event, so it distorts less at thousands of streams; libcurl can be
 * forced to compare the two, or for a server only it can talk to.
 */
typedef enum llmb_transport {
    LLMB_TRANSPORT_AUTO = 0,
    LLMB_TRANSPORT_BUILTIN, /**< HTTP/1.1 over TCP, http:// only */
    LLMB_TRANSPORT_LIBCURL
} llmb_transport;

/** "auto", "builtin" or "libcurl"; "" for an unknown value. */
LLMB_API const char *llmb_transport_name(llmb_transport t);
/** Parse "auto", "builtin" or "libcurl"; LLMB_ERR_INVALID otherwise. */
LLMB_API llmb_status llmb_transport_from_name(const char *name, llmb_transport *out);

/** A preset: defaults for one kind of server. Static storage. */
typedef struct llmb_preset {
    const char *name;          /**< "openai", "vllm", ... */
    const char *base_url;      /**< default base URL, ending in /v1 */
    const char *api_key_env;   /**< environment variable holding the key; NULL if none is needed */
    const char *default_model; /**< NULL: ask the server's /models */
    const char *description;   /**< one line for --help */
} llmb_preset;

/** Number of presets, and the i-th (NULL past the end). */
LLMB_API size_t llmb_preset_count(void);
LLMB_API const llmb_preset *llmb_preset_at(size_t i);
/** The preset of that name (case-sensitive), or NULL. */
LLMB_API const llmb_preset *llmb_preset_find(const char *name);

/**
 * A new endpoint from the named preset (NULL means "mock"). Unknown names fail
 * with LLMB_ERR_INVALID and a message listing the known ones. The caller owns
 * *out and frees it with llmb_endpoint_free.
 */
LLMB_API llmb_status llmb_endpoint_new(const char *preset, llmb_endpoint **out, llmb_error *err);
/** Free (wiping the API key); NULL does nothing. */
LLMB_API void llmb_endpoint_free(llmb_endpoint *ep);

/**
 * Replace the base URL (for example "http://10.0.0.5:8000/v1"). It must be
 * http:// or https:// with a host, and a port, if given, from 1 to 65535; a
 * trailing slash is dropped.
 */
LLMB_API llmb_status llmb_endpoint_set_base_url(llmb_endpoint *ep, const char *url,
                                                llmb_error *err);
/** Set the model name sent with every request (copied; not empty). */
LLMB_API llmb_status llmb_endpoint_set_model(llmb_endpoint *ep, const char *model, llmb_error *err);
LLMB_API llmb_status llmb_endpoint_set_api(llmb_endpoint *ep, llmb_api api);
/** Set the API key (copied; not empty, no control characters). */
LLMB_API llmb_status llmb_endpoint_set_api_key(llmb_endpoint *ep, const char *key, llmb_error *err);
/**
 * Set the API key from an environment variable: `var`, or the preset's when
 * `var` is NULL. Returns LLMB_ERR_INVALID if the variable is unset or empty
 * (the message names the variable, never a value). A preset that needs no
 * key and a NULL `var` give LLMB_OK with no key set.
 */
LLMB_API llmb_status llmb_endpoint_api_key_from_env(llmb_endpoint *ep, const char *var,
                                                    llmb_error *err);
/** Set the API key from the first line of a file (surrounding white space trimmed). */
LLMB_API llmb_status llmb_endpoint_api_key_from_file(llmb_endpoint *ep, const char *path,
                                                     llmb_error *err);
/**
 * Timeouts in seconds: to establish the connection (default 10) and for a
 * whole request (default 0 = no limit). Negative or NaN values are invalid.
 */
LLMB_API llmb_status llmb_endpoint_set_timeouts(llmb_endpoint *ep, double connect_s,
                                                double request_s);

/**
 * Turn off TLS peer verification (the certificate chain and the host name):
 * for a test server with a self-signed certificate. On by default; a tool
 * that turns it off should say so.
 */
LLMB_API void llmb_endpoint_set_insecure(llmb_endpoint *ep, int insecure);
LLMB_API int llmb_endpoint_insecure(const llmb_endpoint *ep);

/**
 * Choose the transport (default LLMB_TRANSPORT_AUTO). LLMB_ERR_INVALID for an
 * unknown value, or for BUILTIN while the base URL is not plain http:// (and
 * with BUILTIN chosen, llmb_endpoint_set_base_url refuses such a URL).
 */
LLMB_API llmb_status llmb_endpoint_set_transport(llmb_endpoint *ep, llmb_transport t);
LLMB_API llmb_transport llmb_endpoint_transport(const llmb_endpoint *ep);

/** Accessors. Strings belong to the endpoint and stay valid until the next setter or free. */
LLMB_API const char *llmb_endpoint_preset_name(const llmb_endpoint *ep);
LLMB_API const char *llmb_endpoint_base_url(const llmb_endpoint *ep);
/** The model, or NULL when none is set yet. */
LLMB_API const char *llmb_endpoint_model(const llmb_endpoint *ep);
LLMB_API llmb_api llmb_endpoint_api(const llmb_endpoint *ep);
LLMB_API int llmb_endpoint_has_api_key(const llmb_endpoint *ep);
/** The environment variable the preset takes its key from, or NULL. */
LLMB_API const char *llmb_endpoint_api_key_env(const llmb_endpoint *ep);
LLMB_API double llmb_endpoint_connect_timeout_s(const llmb_endpoint *ep);
LLMB_API double llmb_endpoint_request_timeout_s(const llmb_endpoint *ep);

/**
 * Ask the server which models it serves (GET {base}/models) and set the
 * endpoint's model to the first one listed. Blocks for at most the request
 * timeout, and never more than the connect timeout plus 30 seconds.
 */
LLMB_API llmb_status llmb_endpoint_discover_model(llmb_endpoint *ep, llmb_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_ENDPOINT_H */
