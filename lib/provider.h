/*
 * Wire protocols: building request bodies and decoding one event payload.
 * The provider decoders are the part of the library that talks to jansson
 * about the servers' formats; they know nothing of sockets or scheduling.
 */
#ifndef LLMB_PROVIDER_H
#define LLMB_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/common.h"
#include "llmbench/endpoint.h"

/** Longest error message kept from a server, bytes (longer ones are cut). */
#define LLMBI_ERROR_MESSAGE_MAX 300

/** What one streamed event said. */
typedef struct llmbi_chunk {
    int has_content;           /* carried generated text (content or reasoning) */
    int has_usage;             /* carried a usage report */
    int64_t prompt_tokens;     /* from usage, when has_usage */
    int64_t completion_tokens; /* from usage, when has_usage */
    int finished;              /* a choice had a finish_reason */
    int is_error;              /* the event was an error object */
    int error_is_dump;         /* its message is the error value itself, not a message string */
    char error[LLMBI_ERROR_MESSAGE_MAX + 1]; /* its message, when is_error */
} llmbi_chunk;

/**
 * Decode one event payload (not "[DONE]") of the given API. LLMB_ERR_PARSE
 * (with a reason in *err) when it is not a JSON object.
 */
llmb_status llmbi_decode_chunk(llmb_api api, const char *data, size_t len, llmbi_chunk *out,
                               llmb_error *err);

/** The same, decoded by jansson: the reference the fuzz target checks the fast
 *  decoder against. */
llmb_status llmbi_decode_chunk_jansson(llmb_api api, const char *data, size_t len, llmbi_chunk *out,
                                       llmb_error *err);

/**
 * The JSON request body (malloc'ed, NUL-terminated; caller frees) for one
 * streaming request asking for usage. max_tokens 0 means "not sent".
 */
char *llmbi_build_body(llmb_api api, const char *model, const char *prompt, long max_tokens);

/**
 * A readable one-line message from an error response body: the "message" of
 * an OpenAI-style error object when there is one, else the body's text, with
 * control characters replaced and cut to `cap` - 1 bytes (with "..." when cut).
 */
void llmbi_error_message(const char *body, size_t len, char *out, size_t cap);

/** A server's text as a one-line message of at most cap - 1 bytes ("..." when cut). */
void llmbi_clean_text(const char *s, size_t len, char *out, size_t cap);

/** The first model id of a GET /models response ({"data": [{"id": ...}]}); malloc'ed. */
char *llmbi_models_first_id(const char *body, size_t len, llmb_error *err);

#endif /* LLMB_PROVIDER_H */
