/*
 * Endpoints and presets.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "h1.h"
#include "internal.h"
#include "provider.h"

static const llmb_preset presets[] = {
    {"mock", "http://127.0.0.1:8800/v1", NULL, NULL,
     "the built-in mock engine (llm-mock), default port 8800"},
    {"vllm", "http://127.0.0.1:8000/v1", NULL, NULL, "vLLM's OpenAI-compatible server"},
    {"sglang", "http://127.0.0.1:30000/v1", NULL, NULL, "SGLang's OpenAI-compatible server"},
    {"llamacpp", "http://127.0.0.1:8080/v1", NULL, NULL, "llama.cpp's llama-server"},
    {"ollama", "http://127.0.0.1:11434/v1", NULL, NULL, "Ollama's OpenAI-compatible API"},
    {"tgi", "http://127.0.0.1:8080/v1", NULL, "tgi", "Hugging Face Text Generation Inference"},
    {"openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini", "OpenAI's API"},
    {"groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "llama-3.1-8b-instant",
     "Groq's OpenAI-compatible API"},
};

#define N_PRESETS (sizeof presets / sizeof presets[0])

struct llmb_endpoint {
    const llmb_preset *preset;
    char *base_url;
    char *model;
    char *api_key; /* wiped before it is freed */
    llmb_api api;
    double connect_timeout_s;
    double request_timeout_s;
    int insecure;
    llmb_transport transport;
};

size_t llmb_preset_count(void)
{
    return N_PRESETS;
}

const llmb_preset *llmb_preset_at(size_t i)
{
    return i < N_PRESETS ? &presets[i] : NULL;
}

const llmb_preset *llmb_preset_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

const char *llmb_api_name(llmb_api api)
{
    switch (api) {
    case LLMB_API_CHAT:
        return "chat";
    case LLMB_API_COMPLETIONS:
        return "completions";
    default:
        return "";
    }
}

llmb_status llmb_api_from_name(const char *name, llmb_api *out)
{
    if (name && strcmp(name, "chat") == 0) {
        *out = LLMB_API_CHAT;
        return LLMB_OK;
    }
    if (name && strcmp(name, "completions") == 0) {
        *out = LLMB_API_COMPLETIONS;
        return LLMB_OK;
    }
    return LLMB_ERR_INVALID;
}

const char *llmb_transport_name(llmb_transport t)
{
    switch (t) {
    case LLMB_TRANSPORT_AUTO:
        return "auto";
    case LLMB_TRANSPORT_BUILTIN:
        return "builtin";
    case LLMB_TRANSPORT_LIBCURL:
        return "libcurl";
    default:
        return "";
    }
}

llmb_status llmb_transport_from_name(const char *name, llmb_transport *out)
{
    for (int t = LLMB_TRANSPORT_AUTO; t <= LLMB_TRANSPORT_LIBCURL; t++) {
        if (name && strcmp(name, llmb_transport_name((llmb_transport)t)) == 0) {
            *out = (llmb_transport)t;
            return LLMB_OK;
        }
    }
    return LLMB_ERR_INVALID;
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

llmb_status llmb_endpoint_new(const char *preset, llmb_endpoint **out, llmb_error *err)
{
    const llmb_preset *p = llmb_preset_find(preset ? preset : "mock");
    llmb_endpoint *ep;

    *out = NULL;
    if (!p) {
        char names[200] = "";
        size_t used = 0;
        for (size_t i = 0; i < N_PRESETS && used < sizeof names; i++) {
            int w =
                snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", presets[i].name);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        llmbi_error_set(err, "unknown provider '%s' (known: %s)", preset, names);
        return LLMB_ERR_INVALID;
    }
    ep = calloc(1, sizeof *ep);
    if (!ep)
        goto nomem;
    ep->preset = p;
    ep->api = LLMB_API_CHAT;
    ep->connect_timeout_s = 10.0;
    ep->request_timeout_s = 0.0;
    ep->base_url = llmbi_strdup(p->base_url);
    if (!ep->base_url)
        goto nomem;
    if (p->default_model) {
        ep->model = llmbi_strdup(p->default_model);
        if (!ep->model)
            goto nomem;
    }
    *out = ep;
    return LLMB_OK;
nomem:
    llmb_endpoint_free(ep);
    llmbi_error_set(err, "out of memory");
    return LLMB_ERR_NOMEM;
}

void llmb_endpoint_free(llmb_endpoint *ep)
{
    if (!ep)
        return;
    wipe_free(ep->api_key);
    free(ep->base_url);
    free(ep->model);
    free(ep);
}

/* A port after the host, if any, must be a number from 1 to 65535. `host`
 * points just past "://"; an IPv6 literal is in brackets. */
static int port_ok(const char *url, const char *host, llmb_error *err)
{
    const char *end = host + strcspn(host, "/");
    const char *colon;
    unsigned long port = 0;

    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (!close) {
            llmbi_error_set(err, "base URL '%.100s' has an unclosed '[' in its host", url);
            return 0;
        }
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
    }
    if (!colon)
        return 1;
    for (const char *p = colon + 1; p < end; p++) {
        if (*p < '0' || *p > '9' || port > 65535) {
            port = 0;
            break;
        }
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port < 1 || port > 65535) {
        llmbi_error_set(err, "base URL '%.100s' has a port that is not a number from 1 to 65535",
                        url);
        return 0;
    }
    return 1;
}

/* Checks "http[s]://host[:port][/path]" closely enough to give a clear
 * message for the usual mistakes (no scheme, a typo in it, no host, spaces). */
static int url_ok(const char *url, llmb_error *err)
{
    const char *host;
    size_t i;

    if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else {
        llmbi_error_set(err, "base URL '%.100s' must start with http:// or https://", url);
        return 0;
    }
    if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#') {
        llmbi_error_set(err, "base URL '%.100s' has no host", url);
        return 0;
    }
    for (i = 0; url[i]; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\') {
            llmbi_error_set(err, "base URL '%.100s' contains a space or control character", url);
            return 0;
        }
    }
    if (strchr(url, '?') || strchr(url, '#')) {
        llmbi_error_set(err, "base URL '%.100s' must not have a query or fragment", url);
        return 0;
    }
    return port_ok(url, host, err);
}

llmb_status llmb_endpoint_set_base_url(llmb_endpoint *ep, const char *url, llmb_error *err)
{
    char *copy;
    size_t n;

    if (!url || !url_ok(url, err)) {
        if (!url)
            llmbi_error_set(err, "no base URL given");
        return LLMB_ERR_INVALID;
    }
    if (ep->transport == LLMB_TRANSPORT_BUILTIN && !llmbi_h1_url_ok(url)) {
        llmbi_error_set(err, "the built-in transport speaks plain HTTP only: use an http:// "
                             "base URL, or the libcurl transport");
        return LLMB_ERR_INVALID;
    }
    copy = llmbi_strdup(url);
    if (!copy) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    n = strlen(copy);
    while (n > 0 && copy[n - 1] == '/')
        copy[--n] = '\0';
    free(ep->base_url);
    ep->base_url = copy;
    return LLMB_OK;
}

llmb_status llmb_endpoint_set_model(llmb_endpoint *ep, const char *model, llmb_error *err)
{
    char *copy;
    if (!model || !*model) {
        llmbi_error_set(err, "the model name is empty");
        return LLMB_ERR_INVALID;
    }
    copy = llmbi_strdup(model);
    if (!copy) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    free(ep->model);
    ep->model = copy;
    return LLMB_OK;
}

llmb_status llmb_endpoint_set_api(llmb_endpoint *ep, llmb_api api)
{
    if ((unsigned)api >= LLMB_API_COUNT_)
        return LLMB_ERR_INVALID;
    ep->api = api;
    return LLMB_OK;
}

llmb_status llmb_endpoint_set_api_key(llmb_endpoint *ep, const char *key, llmb_error *err)
{
    char *copy;
    if (!key || !*key) {
        llmbi_error_set(err, "the API key is empty");
        return LLMB_ERR_INVALID;
    }
    for (const char *p = key; *p; p++) {
        unsigned char c = (unsigned char)*p;
        /* A control character would split or corrupt the header line. */
        if (c < 0x20 || c == 0x7f) {
            llmbi_error_set(err, "the API key contains a control character");
            return LLMB_ERR_INVALID;
        }
    }
    copy = llmbi_strdup(key);
    if (!copy) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    wipe_free(ep->api_key);
    ep->api_key = copy;
    return LLMB_OK;
}

llmb_status llmb_endpoint_api_key_from_env(llmb_endpoint *ep, const char *var, llmb_error *err)
{
    const char *name = var ? var : ep->preset->api_key_env;
    const char *value;
    if (!name)
        return LLMB_OK;
    value = getenv(name);
    if (!value || !*value) {
        llmbi_error_set(err,
                        "the environment variable %s is not set or empty; the API key is read "
                        "from it",
                        name);
        return LLMB_ERR_INVALID;
    }
    if (llmb_endpoint_set_api_key(ep, value, err) != LLMB_OK) {
        llmbi_error_set(err, "the API key in %s is not usable (empty or with control characters)",
                        name);
        return LLMB_ERR_INVALID;
    }
    return LLMB_OK;
}

llmb_status llmb_endpoint_api_key_from_file(llmb_endpoint *ep, const char *path, llmb_error *err)
{
    char line[4096];
    FILE *fp = fopen(path, "r");
    size_t n;
    char *s;
    llmb_status st;

    if (!fp) {
        llmbi_error_set(err, "cannot read the API key file %s: %s", path, strerror(errno));
        return LLMB_ERR_IO;
    }
    if (!fgets(line, sizeof line, fp)) {
        fclose(fp);
        llmbi_error_set(err, "the API key file %s is empty", path);
        return LLMB_ERR_INVALID;
    }
    fclose(fp);
    s = line;
    while (*s && isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    st = llmb_endpoint_set_api_key(ep, s, NULL);
    explicit_bzero(line, sizeof line);
    if (st != LLMB_OK)
        llmbi_error_set(err, "the API key file %s holds no usable key on its first line", path);
    return st;
}

llmb_status llmb_endpoint_set_timeouts(llmb_endpoint *ep, double connect_s, double request_s)
{
    if (!(connect_s >= 0.0) || !(request_s >= 0.0) || !isfinite(connect_s) || !isfinite(request_s))
        return LLMB_ERR_INVALID;
    ep->connect_timeout_s = connect_s;
    ep->request_timeout_s = request_s;
    return LLMB_OK;
}

void llmb_endpoint_set_insecure(llmb_endpoint *ep, int insecure)
{
    ep->insecure = insecure != 0;
}

int llmb_endpoint_insecure(const llmb_endpoint *ep)
{
    return ep->insecure;
}

llmb_status llmb_endpoint_set_transport(llmb_endpoint *ep, llmb_transport t)
{
    if (t != LLMB_TRANSPORT_AUTO && t != LLMB_TRANSPORT_BUILTIN && t != LLMB_TRANSPORT_LIBCURL)
        return LLMB_ERR_INVALID;
    if (t == LLMB_TRANSPORT_BUILTIN && !llmbi_h1_url_ok(ep->base_url))
        return LLMB_ERR_INVALID;
    ep->transport = t;
    return LLMB_OK;
}

llmb_transport llmb_endpoint_transport(const llmb_endpoint *ep)
{
    return ep->transport;
}

const char *llmb_endpoint_preset_name(const llmb_endpoint *ep)
{
    return ep->preset->name;
}

const char *llmb_endpoint_base_url(const llmb_endpoint *ep)
{
    return ep->base_url;
}

const char *llmb_endpoint_model(const llmb_endpoint *ep)
{
    return ep->model;
}

llmb_api llmb_endpoint_api(const llmb_endpoint *ep)
{
    return ep->api;
}

int llmb_endpoint_has_api_key(const llmb_endpoint *ep)
{
    return ep->api_key != NULL;
}

const char *llmb_endpoint_api_key_env(const llmb_endpoint *ep)
{
    return ep->preset->api_key_env;
}

double llmb_endpoint_connect_timeout_s(const llmb_endpoint *ep)
{
    return ep->connect_timeout_s;
}

double llmb_endpoint_request_timeout_s(const llmb_endpoint *ep)
{
    return ep->request_timeout_s;
}

char *llmbi_endpoint_url(const llmb_endpoint *ep, const char *path)
{
    size_t n = strlen(ep->base_url) + strlen(path) + 1;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%s%s", ep->base_url, path);
    return url;
}

llmbi_headers *llmbi_endpoint_headers(const llmb_endpoint *ep, int streaming)
{
    const char *lines[4];
    size_t n = 0;
    char *auth = NULL;
    llmbi_headers *h;

    lines[n++] = "Content-Type: application/json";
    lines[n++] = streaming ? "Accept: text/event-stream" : "Accept: application/json";
    /* curl would wait for a "100 Continue" before sending a large body,
     * adding a round trip to the measured time. */
    lines[n++] = "Expect:";
    if (ep->api_key) {
        size_t len = strlen(ep->api_key) + sizeof "Authorization: Bearer ";
        auth = malloc(len);
        if (!auth)
            return NULL;
        snprintf(auth, len, "Authorization: Bearer %s", ep->api_key);
        lines[n++] = auth;
    }
    h = llmbi_headers_new(lines, n);
    wipe_free(auth);
    return h;
}

llmb_status llmb_endpoint_discover_model(llmb_endpoint *ep, llmb_error *err)
{
    char *url = llmbi_endpoint_url(ep, "/models");
    llmbi_headers *hd = llmbi_endpoint_headers(ep, 0);
    char *body = NULL;
    size_t len = 0;
    long status = 0;
    char *id = NULL;
    double total_s;
    llmb_status st;

    if (!url || !hd) {
        llmbi_error_set(err, "out of memory");
        st = LLMB_ERR_NOMEM;
        goto out;
    }
    /* The request timeout bounds this too, and 30 s past connecting is
     * already far longer than any server takes to list its models. */
    total_s = ep->connect_timeout_s + 30.0;
    if (ep->request_timeout_s > 0 && ep->request_timeout_s < total_s)
        total_s = ep->request_timeout_s;
    st = llmbi_http_get(url, hd, ep->connect_timeout_s, total_s, ep->insecure, ep->transport,
                        4u << 20, &body, &len, &status, err);
    if (st != LLMB_OK)
        goto out;
    if (status < 200 || status > 299) {
        char msg[LLMBI_ERROR_MESSAGE_MAX + 1];
        llmbi_error_message(body, len, msg, sizeof msg);
        llmbi_error_set(err, "%s answered HTTP %ld: %s%s", url, status, msg,
                        status == 404 ? " (does the base URL end in /v1?)" : "");
        st = LLMB_ERR_TRANSFER;
        goto out;
    }
    id = llmbi_models_first_id(body, len, err);
    if (!id) {
        st = LLMB_ERR_PARSE;
        goto out;
    }
    free(ep->model);
    ep->model = id;
    id = NULL;
out:
    free(id);
    free(body);
    free(url);
    llmbi_headers_free(hd);
    return st;
}
