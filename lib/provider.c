/*
 * OpenAI-compatible wire protocols (chat completions and completions): the
 * request body, and the decoding of streamed chunks as vLLM, SGLang, TGI,
 * llama.cpp, Ollama, OpenAI and Groq send them.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "provider.h"

char *llmbi_build_body(llmb_api api, const char *model, const char *prompt, long max_tokens)
{
    json_t *root = json_object();
    json_t *opts = json_object();
    char *out = NULL;

    if (!root || !opts)
        goto out;
    json_object_set_new(root, "model", json_string(model ? model : ""));
    if (api == LLMB_API_COMPLETIONS) {
        json_object_set_new(root, "prompt", json_string(prompt ? prompt : ""));
    } else {
        json_t *msgs = json_array();
        json_t *msg = json_object();
        if (!msgs || !msg) {
            json_decref(msgs);
            json_decref(msg);
            goto out;
        }
        json_object_set_new(msg, "role", json_string("user"));
        json_object_set_new(msg, "content", json_string(prompt ? prompt : ""));
        json_array_append_new(msgs, msg);
        json_object_set_new(root, "messages", msgs);
    }
    if (max_tokens > 0)
        json_object_set_new(root, "max_tokens", json_integer(max_tokens));
    json_object_set_new(root, "stream", json_true());
    /* Ask for exact token counts in a final usage chunk. */
    json_object_set_new(opts, "include_usage", json_true());
    json_object_set_new(root, "stream_options", opts);
    opts = NULL;
    out = json_dumps(root, JSON_COMPACT);
out:
    json_decref(opts);
    json_decref(root);
    return out;
}

static int nonempty_string(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static int choice_has_content(llmb_api api, json_t *choice)
{
    json_t *delta;
    if (api == LLMB_API_COMPLETIONS)
        return nonempty_string(json_object_get(choice, "text"));
    delta = json_object_get(choice, "delta");
    if (!json_is_object(delta))
        return 0;
    /* Reasoning models stream their thinking under its own key; those are
     * generated tokens too, and the first of them is the first token. */
    if (nonempty_string(json_object_get(delta, "content")) ||
        nonempty_string(json_object_get(delta, "reasoning_content")) ||
        nonempty_string(json_object_get(delta, "reasoning")))
        return 1;
    {
        json_t *calls = json_object_get(delta, "tool_calls");
        return json_is_array(calls) && json_array_size(calls) > 0;
    }
}

/* Usage as {"prompt_tokens": P, "completion_tokens": C}; either may be missing. */
static int read_usage(json_t *usage, llmbi_chunk *out)
{
    json_t *p, *c;
    if (!json_is_object(usage))
        return 0;
    p = json_object_get(usage, "prompt_tokens");
    c = json_object_get(usage, "completion_tokens");
    if (!json_is_integer(p) && !json_is_integer(c))
        return 0;
    out->has_usage = 1;
    out->prompt_tokens = json_is_integer(p) ? (int64_t)json_integer_value(p) : -1;
    out->completion_tokens = json_is_integer(c) ? (int64_t)json_integer_value(c) : -1;
    if (out->prompt_tokens < -1)
        out->prompt_tokens = -1;
    if (out->completion_tokens < -1)
        out->completion_tokens = -1;
    return 1;
}

/* Copies a server's text into a one-line, bounded message. */
void llmbi_clean_text(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    int cut = 0;
    if (cap == 0)
        return;
    /* Skip leading white space so a message never starts blank. */
    while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
        len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 1 >= cap) {
            cut = 1;
            break;
        }
        out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    if (cut && cap > 4 && o > cap - 4)
        o = cap - 4;
    /* Never end in the middle of a UTF-8 sequence. */
    if (cut) {
        size_t k = o;
        while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
            k--;
        if (k > 0 && (unsigned char)out[k - 1] >= 0xC0) {
            unsigned char lead = (unsigned char)out[k - 1];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (o - (k - 1) < need)
                o = k - 1;
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    if (cut && cap > 4)
        memcpy(out + o, "...", 4);
}

/* The message of an error object: {"error": {"message": ...}}, {"error": "..."},
 * {"object": "error", "message": ...} or {"detail": ...}. */
static int error_text(json_t *root, char *out, size_t cap, int *dumped_out)
{
    json_t *e = json_object_get(root, "error");
    json_t *m = NULL;
    int dumped = 0;
    if (json_is_object(e))
        m = json_object_get(e, "message");
    else if (json_is_string(e))
        m = e;
    if (!m) {
        json_t *obj = json_object_get(root, "object");
        if (json_is_string(obj) && strcmp(json_string_value(obj), "error") == 0)
            m = json_object_get(root, "message");
    }
    if (!m && !e)
        m = json_object_get(root, "detail");
    if (json_is_string(m)) {
        llmbi_clean_text(json_string_value(m), json_string_length(m), out, cap);
        if (!out[0])
            llmbi_clean_text("(empty error message)", 21, out, cap);
        return 1;
    }
    if (e && !json_is_null(e)) {
        char *dump = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
        dumped = 1;
        llmbi_clean_text(dump ? dump : "(unreadable error)", dump ? strlen(dump) : 18, out, cap);
        free(dump);
        if (dumped_out)
            *dumped_out = dumped;
        return 1;
    }
    return 0;
}

llmb_status llmbi_decode_chunk_jansson(llmb_api api, const char *data, size_t len, llmbi_chunk *out,
                                       llmb_error *err)
{
    json_error_t jerr;
    json_t *root;
    json_t *choices, *xg;
    size_t i;

    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->completion_tokens = -1;
    root = json_loadb(data, len, 0, &jerr);
    if (!root) {
        llmbi_error_set_at(err, (unsigned long)(jerr.line > 0 ? jerr.line : 0),
                           (unsigned long)(jerr.column > 0 ? jerr.column : 0),
                           "event is not valid JSON: %s", jerr.text);
        return LLMB_ERR_PARSE;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        llmbi_error_set(err, "event is not a JSON object");
        return LLMB_ERR_PARSE;
    }
    if (error_text(root, out->error, sizeof out->error, &out->error_is_dump))
        out->is_error = 1;

    choices = json_object_get(root, "choices");
    if (json_is_array(choices)) {
        for (i = 0; i < json_array_size(choices); i++) {
            json_t *c = json_array_get(choices, i);
            json_t *fr;
            if (!json_is_object(c))
                continue;
            if (choice_has_content(api, c))
                out->has_content = 1;
            fr = json_object_get(c, "finish_reason");
            if (fr && !json_is_null(fr))
                out->finished = 1;
        }
    }
    /* Usage arrives in a final "choices": [] chunk (OpenAI, vLLM, SGLang), in
     * the last content chunk (some llama.cpp builds), or as Groq's x_groq.usage. */
    if (!read_usage(json_object_get(root, "usage"), out)) {
        xg = json_object_get(root, "x_groq");
        if (json_is_object(xg))
            read_usage(json_object_get(xg, "usage"), out);
    }
    json_decref(root);
    return LLMB_OK;
}

void llmbi_error_message(const char *body, size_t len, char *out, size_t cap)
{
    json_t *root;
    if (cap == 0)
        return;
    out[0] = '\0';
    root = json_loadb(body, len, 0, NULL);
    if (json_is_object(root) && error_text(root, out, cap, NULL)) {
        json_decref(root);
        return;
    }
    json_decref(root);
    llmbi_clean_text(body, len, out, cap);
}

char *llmbi_models_first_id(const char *body, size_t len, llmb_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    json_t *data, *first, *id;
    char *out = NULL;

    if (!root) {
        llmbi_error_set(err, "model list is not valid JSON: %s", jerr.text);
        return NULL;
    }
    data = json_object_get(root, "data");
    /* Ollama's native list uses "models"; accept it for a friendlier error path. */
    if (!json_is_array(data))
        data = json_object_get(root, "models");
    first = json_is_array(data) ? json_array_get(data, 0) : NULL;
    id = json_object_get(first, "id");
    if (!json_is_string(id))
        id = json_object_get(first, "name");
    if (json_is_string(id) && json_string_length(id) > 0)
        out = llmbi_strdup(json_string_value(id));
    else
        llmbi_error_set(err, "the server lists no models");
    json_decref(root);
    return out;
}
