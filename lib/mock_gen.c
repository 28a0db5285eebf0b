/*
 * What the mock engine reads and writes: request bodies decoded with jansson,
 * and every response byte. The per-token events are the hot path (thousands
 * a second), so they are formatted with snprintf from a few templates around
 * a model name escaped once per request; the other bodies, built once per
 * request, use jansson.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "mock_internal.h"

/* The generated text cycles through these words. */
static const char *const mock_words[] = {
    "Mock",   "tokens",   "arrive", "on",     "schedule", "so",      "that",   "a",
    "client", "measures", "itself", "rather", "than",     "the",     "server", "it",
    "talks",  "to",       "while",  "every",  "gap",      "between", "words",  "stays",
    "steady", "and",      "known",  "in",     "advance",  "for",     "each",   "stream",
};

#define N_WORDS (sizeof mock_words / sizeof mock_words[0])

const char *llmbi_mock_word(uint64_t k, int *leading_space)
{
    if (leading_space)
        *leading_space = k > 0;
    return mock_words[k % N_WORDS];
}

uint64_t llmb_mock_prompt_tokens(const char *text, size_t len)
{
    (void)text;
    return (uint64_t)(len / 4 + (len % 4 != 0));
}

void llmbi_mock_job_clear(llmbi_mock_job *job)
{
    json_decref((json_t *)job->model);
    free(job->model_json);
    memset(job, 0, sizeof *job);
}

/* Read an optional token limit: absent or null is no limit. */
static int get_limit(json_t *root, const char *name, uint64_t *out, int *given, char *msg,
                     size_t msg_size)
{
    json_t *v = json_object_get(root, name);
    json_int_t x;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || (x = json_integer_value(v)) < 0) {
        llmbi_format(msg, msg_size, "'%s' must be a non-negative integer", name);
        return -1;
    }
    if ((unsigned long long)x > LLMBI_MOCK_TOKENS_MAX) {
        llmbi_format(msg, msg_size, "'%s' must be at most %u", name, LLMBI_MOCK_TOKENS_MAX);
        return -1;
    }
    *out = (uint64_t)x;
    *given = 1;
    return 0;
}

/* Prompt tokens of one chat message's content: a string, parts with "text", or null. */
static int content_tokens(json_t *content, uint64_t *sum)
{
    size_t i;
    json_t *part;
    if (json_is_null(content))
        return 0;
    if (json_is_string(content)) {
        *sum += llmb_mock_prompt_tokens(json_string_value(content), json_string_length(content));
        return 0;
    }
    if (!json_is_array(content))
        return -1;
    json_array_foreach(content, i, part)
    {
        json_t *text = json_object_get(part, "text");
        if (!json_is_string(text))
            return -1;
        *sum += llmb_mock_prompt_tokens(json_string_value(text), json_string_length(text));
    }
    return 0;
}

static int count_prompt(json_t *root, llmbi_mock_api api, uint64_t *sum, char *msg, size_t msg_size)
{
    json_t *v;
    size_t i;
    json_t *m;

    if (api == LLMBI_MOCK_API_COMPLETIONS) {
        v = json_object_get(root, "prompt");
        if (!json_is_string(v)) {
            llmbi_format(msg, msg_size, "'prompt' is required and must be a string");
            return -1;
        }
        *sum = llmb_mock_prompt_tokens(json_string_value(v), json_string_length(v));
        return 0;
    }
    v = json_object_get(root, "messages");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        llmbi_format(msg, msg_size, "'messages' is required and must be a non-empty array");
        return -1;
    }
    *sum = 0;
    json_array_foreach(v, i, m)
    {
        if (!json_is_object(m) || !json_is_string(json_object_get(m, "role"))) {
            llmbi_format(msg, msg_size, "messages[%zu] must be an object with a string 'role'", i);
            return -1;
        }
        if (content_tokens(json_object_get(m, "content"), sum) != 0) {
            llmbi_format(msg, msg_size, "messages[%zu].content must be a string", i);
            return -1;
        }
    }
    return 0;
}

llmb_status llmbi_mock_decode(const char *body, size_t len, llmbi_mock_api api,
                              const char *default_model, unsigned default_tokens,
                              llmbi_mock_job *job, char *msg, size_t msg_size)
{
    llmb_status rc = LLMB_ERR_PARSE;
    json_error_t jerr;
    json_t *root;
    json_t *v;
    uint64_t limit = 0;
    int given = 0;

    memset(job, 0, sizeof *job);
    job->api = api;
    root = json_loadb(body, len, 0, &jerr);
    if (!root) {
        llmbi_format(msg, msg_size, "request body is not valid JSON: %s (line %d, column %d)",
                     jerr.text, jerr.line, jerr.column);
        goto out;
    }
    if (!json_is_object(root)) {
        llmbi_format(msg, msg_size, "request body must be a JSON object");
        goto out;
    }

    v = json_object_get(root, "model");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) {
            llmbi_format(msg, msg_size, "'model' must be a string");
            goto out;
        }
        if (json_string_length(v) > LLMBI_MOCK_MODEL_MAX) {
            llmbi_format(msg, msg_size, "'model' must be at most %u bytes", LLMBI_MOCK_MODEL_MAX);
            goto out;
        }
        job->model = json_incref(v);
    } else {
        job->model = json_string(default_model);
        if (!job->model) {
            rc = LLMB_ERR_NOMEM;
            goto out;
        }
    }

    v = json_object_get(root, "stream");
    if (v && !json_is_null(v) && !json_is_boolean(v)) {
        llmbi_format(msg, msg_size, "'stream' must be a boolean");
        goto out;
    }
    job->stream = json_is_true(v);

    v = json_object_get(root, "stream_options");
    if (v && !json_is_null(v)) {
        json_t *iu = json_object_get(v, "include_usage");
        if (!json_is_object(v) || (iu && !json_is_null(iu) && !json_is_boolean(iu))) {
            llmbi_format(msg, msg_size,
                         "'stream_options' must be an object with a boolean "
                         "'include_usage'");
            goto out;
        }
        job->include_usage = json_is_true(iu);
    }

    /* The newer name wins when a client sends both. */
    if (get_limit(root, "max_completion_tokens", &limit, &given, msg, msg_size) != 0)
        goto out;
    if (!given && get_limit(root, "max_tokens", &limit, &given, msg, msg_size) != 0)
        goto out;
    job->limit_given = given;
    job->tokens = given ? limit : default_tokens;

    if (count_prompt(root, api, &job->prompt_tokens, msg, msg_size) != 0)
        goto out;

    job->model_json = json_dumps((json_t *)job->model, JSON_COMPACT | JSON_ENCODE_ANY);
    rc = job->model_json ? LLMB_OK : LLMB_ERR_NOMEM;
out:
    if (rc == LLMB_ERR_NOMEM)
        llmbi_format(msg, msg_size, "out of memory");
    json_decref(root);
    if (rc != LLMB_OK)
        llmbi_mock_job_clear(job);
    return rc;
}

/* snprintf's result as a length, 0 when it failed or did not fit. */
static size_t fitted(int n, size_t cap)
{
    return (n < 0 || (size_t)n >= cap) ? 0 : (size_t)n;
}

/* Everything of a chunk up to and including `"choices":[`. */
static size_t chunk_prefix(char *dst, size_t cap, const llmbi_mock_job *job)
{
    int chat = job->api == LLMBI_MOCK_API_CHAT;
    return fitted(snprintf(dst, cap,
                           "{\"id\":\"%s-mock-%" PRIu64 "\",\"object\":\"%s\",\"created\":%lld,"
                           "\"model\":%s,\"choices\":[",
                           chat ? "chatcmpl" : "cmpl", job->id,
                           chat ? "chat.completion.chunk" : "text_completion", job->created,
                           job->model_json),
                  cap);
}

/* Append formatted text after the prefix; the total length or 0. */
static size_t chunk_rest(size_t cap, size_t used, int n)
{
    if (used == 0 || fitted(n, cap - used) == 0)
        return 0;
    return used + (size_t)n;
}

size_t llmbi_mock_json_role(char *dst, size_t cap, const llmbi_mock_job *job)
{
    size_t p = chunk_prefix(dst, cap, job);
    if (p == 0)
        return 0;
    return chunk_rest(cap, p,
                      snprintf(dst + p, cap - p,
                               "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                               "\"finish_reason\":null}]}"));
}

size_t llmbi_mock_json_token(char *dst, size_t cap, const llmbi_mock_job *job, uint64_t k)
{
    int space;
    const char *word = llmbi_mock_word(k, &space);
    size_t p = chunk_prefix(dst, cap, job);
    if (p == 0)
        return 0;
    if (job->api == LLMBI_MOCK_API_CHAT)
        return chunk_rest(cap, p,
                          snprintf(dst + p, cap - p,
                                   "{\"index\":0,\"delta\":{\"content\":\"%s%s\"},"
                                   "\"finish_reason\":null}]}",
                                   space ? " " : "", word));
    return chunk_rest(cap, p,
                      snprintf(dst + p, cap - p,
                               "{\"index\":0,\"text\":\"%s%s\",\"logprobs\":null,"
                               "\"finish_reason\":null}]}",
                               space ? " " : "", word));
}

#define USAGE_FMT                                                                                  \
    "{\"prompt_tokens\":%" PRIu64 ",\"completion_tokens\":%" PRIu64 ",\"total_tokens\":%" PRIu64 "}"

size_t llmbi_mock_json_finish(char *dst, size_t cap, const llmbi_mock_job *job,
                              llmb_mock_usage usage)
{
    const char *reason = job->limit_given ? "length" : "stop";
    uint64_t pt = job->prompt_tokens, ct = job->tokens;
    size_t p = chunk_prefix(dst, cap, job);
    int n;
    if (p == 0)
        return 0;
    if (job->api == LLMBI_MOCK_API_CHAT)
        n = snprintf(dst + p, cap - p, "{\"index\":0,\"delta\":{},\"finish_reason\":\"%s\"}]",
                     reason);
    else
        n = snprintf(dst + p, cap - p,
                     "{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"%s\"}]",
                     reason);
    p = chunk_rest(cap, p, n);
    if (p == 0)
        return 0;
    if (usage == LLMB_MOCK_USAGE_LAST_CHUNK)
        n = snprintf(dst + p, cap - p, ",\"usage\":" USAGE_FMT "}", pt, ct, pt + ct);
    else if (usage == LLMB_MOCK_USAGE_GROQ)
        n = snprintf(dst + p, cap - p,
                     ",\"x_groq\":{\"id\":\"req_mock_%" PRIu64 "\",\"usage\":" USAGE_FMT "}}",
                     job->id, pt, ct, pt + ct);
    else
        n = snprintf(dst + p, cap - p, "}");
    return chunk_rest(cap, p, n);
}

size_t llmbi_mock_json_usage(char *dst, size_t cap, const llmbi_mock_job *job)
{
    uint64_t pt = job->prompt_tokens, ct = job->tokens;
    size_t p = chunk_prefix(dst, cap, job);
    if (p == 0)
        return 0;
    return chunk_rest(cap, p,
                      snprintf(dst + p, cap - p, "],\"usage\":" USAGE_FMT "}", pt, ct, pt + ct));
}

size_t llmbi_mock_json_malformed(char *dst, size_t cap, const llmbi_mock_job *job)
{
    /* A token chunk broken off inside its text, as a server that dies mid-write sends. */
    size_t p = chunk_prefix(dst, cap, job);
    if (p == 0)
        return 0;
    return chunk_rest(cap, p,
                      snprintf(dst + p, cap - p, "%s",
                               job->api == LLMBI_MOCK_API_CHAT
                                   ? "{\"index\":0,\"delta\":{\"content\":\"Mo"
                                   : "{\"index\":0,\"text\":\"Mo"));
}

size_t llmbi_mock_json_error_event(char *dst, size_t cap)
{
    return fitted(snprintf(dst, cap,
                           "{\"error\":{\"message\":\"mock fault: generation failed mid-stream\","
                           "\"type\":\"server_error\"}}"),
                  cap);
}

int llmbi_mock_append_oversize(llmbi_mock_buf *b, int chunked, const llmbi_mock_job *job,
                               size_t size)
{
    static const char pad_open[] = "],\"mock_padding\":\"";
    static const char pad_close[] = "\"}";
    char prefix[LLMBI_MOCK_EVENT_MAX], size_line[24];
    size_t p = chunk_prefix(prefix, sizeof prefix, job), fixed, pad;
    if (p == 0)
        return -1;
    fixed = p + sizeof pad_open - 1 + sizeof pad_close - 1;
    if (size < fixed)
        return -1;
    pad = size - fixed;
    if (chunked) {
        int k = snprintf(size_line, sizeof size_line, "%zx\r\n", size + 8);
        if (llmbi_mock_buf_append(b, size_line, fitted(k, sizeof size_line)) != 0)
            return -1;
    }
    if (llmbi_mock_buf_append(b, "data: ", 6) != 0 || llmbi_mock_buf_append(b, prefix, p) != 0 ||
        llmbi_mock_buf_append(b, pad_open, sizeof pad_open - 1) != 0)
        return -1;
    /* Grow once, then fill in place: megabytes of padding, byte by byte, would be slow. */
    if (llmbi_mock_buf_reserve(b, pad) != 0)
        return -1;
    memset(b->data + b->len, 'x', pad);
    b->len += pad;
    if (llmbi_mock_buf_append(b, pad_close, sizeof pad_close - 1) != 0 ||
        llmbi_mock_buf_append(b, "\n\n", 2) != 0)
        return -1;
    return chunked ? llmbi_mock_buf_append(b, "\r\n", 2) : 0;
}

int llmbi_mock_append_event(llmbi_mock_buf *b, int chunked, const char *payload, size_t n)
{
    char size_line[24];
    int k;
    if (chunked) {
        /* The chunk holds "data: " (6), the payload and "\n\n" (2). */
        k = snprintf(size_line, sizeof size_line, "%zx\r\n", n + 8);
        if (llmbi_mock_buf_append(b, size_line, (size_t)k) != 0)
            return -1;
    }
    if (llmbi_mock_buf_append(b, "data: ", 6) != 0 || llmbi_mock_buf_append(b, payload, n) != 0 ||
        llmbi_mock_buf_append(b, "\n\n", 2) != 0)
        return -1;
    if (chunked && llmbi_mock_buf_append(b, "\r\n", 2) != 0)
        return -1;
    return 0;
}

int llmbi_mock_append_done(llmbi_mock_buf *b, int chunked, int no_done)
{
    static const char done_chunked[] = "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";
    static const char done_plain[] = "data: [DONE]\n\n";
    static const char last_chunk[] = "0\r\n\r\n";
    if (no_done)
        return chunked ? llmbi_mock_buf_append(b, last_chunk, sizeof last_chunk - 1) : 0;
    if (chunked)
        return llmbi_mock_buf_append(b, done_chunked, sizeof done_chunked - 1);
    return llmbi_mock_buf_append(b, done_plain, sizeof done_plain - 1);
}

int llmbi_mock_append_stream_head(llmbi_mock_buf *b, int chunked, int close)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\n"
                     "Server: llmbench-mock\r\n"
                     "Content-Type: text/event-stream\r\n"
                     "Cache-Control: no-cache\r\n"
                     "%s%s\r\n",
                     chunked ? "Transfer-Encoding: chunked\r\n" : "",
                     close ? "Connection: close\r\n" : "");
    return llmbi_mock_buf_append(b, head, fitted(n, sizeof head));
}

int llmbi_mock_append_json_response(llmbi_mock_buf *b, int status, const char *extra_headers,
                                    int close, const char *body, size_t body_len)
{
    char head[512];
    size_t n =
        fitted(snprintf(head, sizeof head,
                        "HTTP/1.1 %d %s\r\n"
                        "Server: llmbench-mock\r\n"
                        "Content-Type: application/json\r\n"
                        "Content-Length: %zu\r\n"
                        "%s%s\r\n",
                        status, llmbi_mock_reason(status), body_len,
                        extra_headers ? extra_headers : "", close ? "Connection: close\r\n" : ""),
               sizeof head);
    if (n == 0)
        return -1;
    if (llmbi_mock_buf_append(b, head, n) != 0 || llmbi_mock_buf_append(b, body, body_len) != 0)
        return -1;
    return 0;
}

int llmbi_mock_append_html_response(llmbi_mock_buf *b, int status, int close)
{
    char head[256], body[512];
    const char *reason = llmbi_mock_reason(status);
    /* What a proxy in front of a server says when the server is not there. */
    size_t bn = fitted(snprintf(body, sizeof body,
                                "<!DOCTYPE html>\n<html>\n<head><title>%d %s</title></head>\n"
                                "<body>\n<h1>%d %s</h1>\n<p>llmbench-mock: injected fault</p>\n"
                                "</body>\n</html>\n",
                                status, reason, status, reason),
                       sizeof body);
    size_t hn = fitted(snprintf(head, sizeof head,
                                "HTTP/1.1 %d %s\r\n"
                                "Server: llmbench-mock\r\n"
                                "Content-Type: text/html\r\n"
                                "Content-Length: %zu\r\n"
                                "%s\r\n",
                                status, reason, bn, close ? "Connection: close\r\n" : ""),
                       sizeof head);
    if (bn == 0 || hn == 0)
        return -1;
    if (llmbi_mock_buf_append(b, head, hn) != 0 || llmbi_mock_buf_append(b, body, bn) != 0)
        return -1;
    return 0;
}

/* Build a JSON text, taking the reference to v; NULL when out of memory. */
static char *dump_compact(json_t *v)
{
    char *s;
    if (!v)
        return NULL;
    s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

static json_t *usage_object(const llmbi_mock_job *job)
{
    return json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)job->prompt_tokens,
                     "completion_tokens", (json_int_t)job->tokens, "total_tokens",
                     (json_int_t)(job->prompt_tokens + job->tokens));
}

/* Pad a compact JSON object of *len bytes to `size` bytes with one more member. */
static char *pad_object(char *s, size_t *len, size_t size)
{
    static const char open[] = ",\"mock_padding\":\"";
    /* The object without its '}', the member's start, the padding, then '"}'. */
    size_t fixed = *len - 1 + sizeof open - 1 + 2;
    char *out;
    if (*len < 2 || size < fixed)
        return s;
    out = realloc(s, size + 1);
    if (!out) {
        free(s);
        return NULL;
    }
    memcpy(out + *len - 1, open, sizeof open - 1);
    memset(out + *len - 1 + sizeof open - 1, 'x', size - fixed);
    memcpy(out + size - 2, "\"}", 3);
    *len = size;
    return out;
}

char *llmbi_mock_body_completion(const llmbi_mock_job *job, const llmbi_mock_fault *f, size_t *len)
{
    llmbi_mock_buf text = {0};
    json_t *text_json = NULL;
    json_t *choice, *root;
    char id[48];
    char *out = NULL;
    const char *reason = job->limit_given ? "length" : "stop";
    int chat = job->api == LLMBI_MOCK_API_CHAT;
    llmb_mock_fault kind = f ? f->kind : LLMB_MOCK_FAULT_NONE;

    if (kind == LLMB_MOCK_FAULT_ERROR_EVENT) {
        char ev[256];
        size_t n = llmbi_mock_json_error_event(ev, sizeof ev);
        out = n ? llmbi_strdup(ev) : NULL;
        *len = n;
        return out;
    }

    for (uint64_t k = 0; k < job->tokens; k++) {
        int space;
        const char *w = llmbi_mock_word(k, &space);
        if ((space && llmbi_mock_buf_append(&text, " ", 1) != 0) ||
            llmbi_mock_buf_append(&text, w, strlen(w)) != 0)
            goto out;
    }
    /* The words are plain ASCII, and an empty text has no buffer yet. */
    text_json = json_stringn_nocheck(text.data ? text.data : "", text.len);
    if (!text_json)
        goto out;
    snprintf(id, sizeof id, "%s-mock-%" PRIu64, chat ? "chatcmpl" : "cmpl", job->id);
    if (chat)
        choice = json_pack("{s:i,s:{s:s,s:O},s:s}", "index", 0, "message", "role", "assistant",
                           "content", text_json, "finish_reason", reason);
    else
        choice = json_pack("{s:i,s:O,s:n,s:s}", "index", 0, "text", text_json, "logprobs",
                           "finish_reason", reason);
    root = json_pack("{s:s,s:s,s:I,s:O,s:[o]}", "id", id, "object",
                     chat ? "chat.completion" : "text_completion", "created",
                     (json_int_t)job->created, "model", (json_t *)job->model, "choices", choice);
    if (root && kind != LLMB_MOCK_FAULT_NO_USAGE &&
        json_object_set_new(root, "usage", usage_object(job)) != 0) {
        json_decref(root);
        root = NULL;
    }
    out = dump_compact(root);
    if (!out)
        goto out;
    *len = strlen(out);
    if (kind == LLMB_MOCK_FAULT_MALFORMED)
        *len /= 2; /* an object cut anywhere before its last '}' is not JSON */
    else if (kind == LLMB_MOCK_FAULT_OVERSIZE)
        out = pad_object(out, len, f->size);
out:
    json_decref(text_json);
    llmbi_mock_buf_free(&text);
    return out;
}

char *llmbi_mock_body_error(int status, const char *message)
{
    const char *type = status >= 500 ? "server_error" : "invalid_request_error";
    return dump_compact(
        json_pack("{s:{s:s,s:s,s:n}}", "error", "message", message, "type", type, "code"));
}

char *llmbi_mock_body_fault(int status)
{
    char msg[96];
    llmbi_format(msg, sizeof msg, "mock fault: injected HTTP %d %s", status,
                 llmbi_mock_reason(status));
    /* As OpenAI words a rate limit; other codes as the mock's own errors. */
    if (status == 429)
        return dump_compact(json_pack("{s:{s:s,s:s,s:s}}", "error", "message", msg, "type",
                                      "requests", "code", "rate_limit_exceeded"));
    return llmbi_mock_body_error(status, msg);
}

char *llmbi_mock_body_models(const char *model, long long created)
{
    return dump_compact(json_pack("{s:s,s:[{s:s,s:s,s:I,s:s}]}", "object", "list", "data", "id",
                                  model, "object", "model", "created", (json_int_t)created,
                                  "owned_by", "llmbench-mock"));
}

/* Nanoseconds as whole microseconds, rounded up so that a bound on them is safe. */
static json_int_t ns_to_us(uint64_t ns)
{
    return (json_int_t)((ns + 999) / 1000);
}

char *llmbi_mock_body_stats(const llmb_mock_stats *st)
{
    json_t *root, *faults;
    root = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "requests",
        (json_int_t)st->requests, "events", (json_int_t)st->events, "late_p50_us",
        ns_to_us(st->late_p50_ns), "late_p99_us", ns_to_us(st->late_p99_ns), "late_max_us",
        ns_to_us(st->late_max_ns), "late_over_1ms", (json_int_t)st->late_over_1ms,
        "open_connections", (json_int_t)st->open_connections, "max_open_connections",
        (json_int_t)st->max_open_connections, "realtime", st->realtime, "active",
        (json_int_t)st->active, "queued", (json_int_t)st->queued, "max_active",
        (json_int_t)st->max_active, "max_queued", (json_int_t)st->max_queued, "queue_wait_p50_us",
        ns_to_us(st->queue_wait_p50_ns), "queue_wait_p99_us", ns_to_us(st->queue_wait_p99_ns),
        "queue_wait_max_us", ns_to_us(st->queue_wait_max_ns));
    faults = json_pack("{s:I}", "total", (json_int_t)st->faults[LLMB_MOCK_FAULT_NONE]);
    for (int k = 1; faults && k < LLMB_MOCK_FAULT_KINDS; k++) {
        if (json_object_set_new(faults, llmb_mock_fault_name((llmb_mock_fault)k),
                                json_integer((json_int_t)st->faults[k])) != 0) {
            json_decref(faults);
            faults = NULL;
        }
    }
    /* json_object_set_new takes the reference to faults even when it fails. */
    if (!root || !faults || json_object_set_new(root, "faults", faults) != 0) {
        if (!root)
            json_decref(faults);
        json_decref(root);
        return NULL;
    }
    return dump_compact(root);
}

const char *llmbi_mock_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}
