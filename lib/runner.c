/*
 * The runner: one event loop that sends each request when the schedule says
 * it is due, feeds every arrival through the SSE framing and the provider
 * decoder, and turns each finished request into a record at once.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

#include "endpoint.h"
#include "http.h"
#include "internal.h"
#include "llmbench/clock.h"
#include "llmbench/runner.h"
#include "provider.h"
#include "schedule.h"
#include "sse.h"

/* An error response body is kept up to this size for its message. */
#define ERROR_BODY_MAX 4096
#define ERROR_TEXT_MAX (LLMBI_ERROR_MESSAGE_MAX + 64)

typedef struct request request;

struct llmb_runner {
    llmbi_http *http;
    llmb_schedule sched;
    llmb_run_options opts;
    char *prompt;
    char *url;
    char *body;
    size_t body_len;
    llmbi_headers *headers;
    llmb_api api;
    double connect_timeout_s;
    double request_timeout_s;

    uint64_t origin_ns;
    llmbi_sched_state state;
    uint64_t finished, failed;
    request *inflight; /* doubly linked list of requests in flight */
    atomic_int stop;
    int ran;
    char errmsg[LLMB_ERROR_TEXT_SIZE];
};

struct request {
    llmb_runner *run;
    request *prev, *next;
    llmbi_http_req *http;
    llmbi_sse *sse;
    uint64_t number;
    uint64_t intended_ns, sent_ns; /* relative to the origin */
    uint64_t now_ns;               /* arrival time of the bytes being parsed, relative */
    uint64_t *chunks;              /* content chunk arrival times, relative */
    size_t n_chunks, cap_chunks;
    long status;
    int streaming; /* a 2xx event-stream response: parse it */
    int done_seen; /* "data: [DONE]" arrived */
    int has_usage;
    int64_t prompt_tokens, completion_tokens;
    char *err_body; /* start of a non-stream response, for its message */
    size_t err_body_len;
    llmb_error_class fail;
    char error[ERROR_TEXT_MAX];
};

static void set_fail(request *q, llmb_error_class c, const char *fmt, ...) LLMBI_PRINTF(3, 4);

static void set_fail(request *q, llmb_error_class c, const char *fmt, ...)
{
    va_list ap;
    if (q->fail != LLMB_FAIL_NONE)
        return; /* the first failure is the cause; later ones are consequences */
    q->fail = c;
    va_start(ap, fmt);
    vsnprintf(q->error, sizeof q->error, fmt, ap);
    va_end(ap);
}

static int push_chunk(request *q, uint64_t t)
{
    if (q->n_chunks == q->cap_chunks) {
        size_t cap = q->cap_chunks ? q->cap_chunks * 2 : 64;
        uint64_t *p = realloc(q->chunks, cap * sizeof *p);
        if (!p)
            return -1;
        q->chunks = p;
        q->cap_chunks = cap;
    }
    q->chunks[q->n_chunks++] = t;
    return 0;
}

static int on_event(void *user, const char *event, const char *data, size_t len)
{
    request *q = user;
    llmbi_chunk c;
    llmb_error e;

    if (q->done_seen)
        return 0; /* nothing after [DONE] counts */
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        q->done_seen = 1;
        return 0;
    }
    e.text[0] = '\0';
    if (llmbi_decode_chunk(q->run->api, data, len, &c, &e) != LLMB_OK) {
        set_fail(q, LLMB_FAIL_PROTOCOL, "malformed event: %s", e.text);
        return 1;
    }
    if (c.is_error || strcmp(event, "error") == 0) {
        set_fail(q, LLMB_FAIL_SERVER, "error event: %s", c.is_error ? c.error : "(no message)");
        return 0;
    }
    if (c.has_content && push_chunk(q, q->now_ns) != 0) {
        set_fail(q, LLMB_FAIL_OTHER, "out of memory");
        return 1;
    }
    if (c.has_usage) {
        q->has_usage = 1;
        q->prompt_tokens = c.prompt_tokens;
        q->completion_tokens = c.completion_tokens;
    }
    return 0;
}

static void on_response(void *user, long status, const char *content_type)
{
    request *q = user;
    q->status = status;
    if (status < 200 || status > 299)
        return; /* the body is the error's text, kept by on_data */
    if (strncasecmp(content_type, "text/event-stream", 17) != 0) {
        set_fail(q, LLMB_FAIL_PROTOCOL, "response is not an event stream (Content-Type: %.60s)",
                 content_type[0] ? content_type : "none");
        return;
    }
    q->streaming = 1;
}

static int on_data(void *user, const char *p, size_t n, uint64_t t_ns)
{
    request *q = user;
    llmb_status st;

    q->now_ns = t_ns - q->run->origin_ns;
    if (!q->streaming) {
        /* Keep the beginning of an error or non-stream body for the message;
         * the rest is read and dropped so memory stays bounded. */
        size_t room = ERROR_BODY_MAX - q->err_body_len;
        size_t take = n < room ? n : room;
        if (take > 0) {
            if (!q->err_body) {
                q->err_body = malloc(ERROR_BODY_MAX + 1);
                if (!q->err_body)
                    return 0;
            }
            memcpy(q->err_body + q->err_body_len, p, take);
            q->err_body_len += take;
            q->err_body[q->err_body_len] = '\0';
        }
        return 0;
    }
    st = llmbi_sse_feed(q->sse, p, n);
    if (st == LLMB_OK)
        return 0;
    if (st == LLMB_ERR_LIMIT)
        set_fail(q, LLMB_FAIL_PROTOCOL, "an event is larger than %u bytes",
                 LLMBI_SSE_DEFAULT_MAX_EVENT);
    else if (st == LLMB_ERR_NOMEM)
        set_fail(q, LLMB_FAIL_OTHER, "out of memory");
    return 1;
}

static void unlink_inflight(llmb_runner *r, request *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        r->inflight = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

static void free_request(request *q)
{
    if (!q)
        return;
    llmbi_sse_free(q->sse);
    free(q->chunks);
    free(q->err_body);
    free(q);
}

/* Turns a finished request into its record, reports it and frees it. */
static void complete(llmb_runner *r, request *q, uint64_t end_ns)
{
    llmb_record rec;

    memset(&rec, 0, sizeof rec);
    rec.request = q->number;
    rec.intended_ns = q->intended_ns;
    rec.sent_ns = q->sent_ns;
    rec.end_ns = end_ns >= q->sent_ns ? end_ns : q->sent_ns;
    rec.chunk_ns = q->chunks;
    rec.n_chunks = q->n_chunks;
    rec.http_status = q->status;
    rec.error_class = q->fail;
    rec.error = q->fail == LLMB_FAIL_NONE ? "" : q->error;
    if (q->has_usage && q->completion_tokens >= 0) {
        rec.token_source = LLMB_TOKENS_USAGE;
        rec.prompt_tokens = q->prompt_tokens;
        rec.generated_tokens = q->completion_tokens;
    } else if (q->streaming) {
        /* No usage report: every content chunk is taken as one token. */
        rec.token_source = LLMB_TOKENS_CHUNKS;
        rec.prompt_tokens = q->has_usage ? q->prompt_tokens : -1;
        rec.generated_tokens = (int64_t)q->n_chunks;
    } else {
        rec.token_source = LLMB_TOKENS_UNKNOWN;
        rec.prompt_tokens = -1;
        rec.generated_tokens = -1;
    }

    unlink_inflight(r, q);
    r->state.in_flight--;
    r->state.last_end_ns = rec.end_ns;
    r->finished++;
    if (q->fail != LLMB_FAIL_NONE)
        r->failed++;
    if (r->opts.on_record)
        r->opts.on_record(&rec, r->opts.record_user);
    free_request(q);
}

static void on_done(void *user, const llmbi_http_result *res)
{
    request *q = user;
    llmb_runner *r = q->run;

    q->http = NULL; /* the transport frees its handle after this call */
    if (q->status == 0)
        q->status = res->status;
    if (res->error_class != LLMB_FAIL_NONE) {
        set_fail(q, res->error_class, "%s", res->message);
    } else if (q->status < 200 || q->status > 299) {
        char msg[LLMBI_ERROR_MESSAGE_MAX + 1];
        llmbi_error_message(q->err_body ? q->err_body : "", q->err_body_len, msg, sizeof msg);
        set_fail(q, LLMB_FAIL_HTTP, "HTTP %ld%s%s", q->status, msg[0] ? ": " : "", msg);
    } else if (q->streaming && q->fail == LLMB_FAIL_NONE) {
        /* Some servers end the stream right after the last data line. */
        llmbi_sse_finish(q->sse, 1);
        if (!q->done_seen)
            set_fail(q, LLMB_FAIL_PROTOCOL, "the stream ended without [DONE]");
    }
    complete(r, q, res->end_ns - r->origin_ns);
}

static const llmbi_http_handlers handlers = {on_response, on_data, on_done};

static void send_request(llmb_runner *r, uint64_t intended_ns)
{
    request *q = calloc(1, sizeof *q);
    llmbi_http_spec spec;
    llmb_error e;
    uint64_t number = ++r->state.sent;

    if (!q) {
        /* Nothing to hang a record on but the stack: report it directly. */
        llmb_record rec;
        memset(&rec, 0, sizeof rec);
        rec.request = number;
        rec.intended_ns = rec.sent_ns = rec.end_ns = intended_ns;
        rec.prompt_tokens = rec.generated_tokens = -1;
        rec.error_class = LLMB_FAIL_OTHER;
        rec.error = "out of memory";
        r->finished++;
        r->failed++;
        if (r->opts.on_record)
            r->opts.on_record(&rec, r->opts.record_user);
        return;
    }
    q->run = r;
    q->number = number;
    q->intended_ns = intended_ns;
    q->prompt_tokens = q->completion_tokens = -1;
    q->next = r->inflight;
    if (r->inflight)
        r->inflight->prev = q;
    r->inflight = q;
    r->state.in_flight++;

    q->sse = llmbi_sse_new(0, on_event, q);
    memset(&spec, 0, sizeof spec);
    spec.url = r->url;
    spec.body = r->body;
    spec.body_len = r->body_len;
    spec.headers = r->headers;
    spec.connect_timeout_s = r->connect_timeout_s;
    spec.timeout_s = r->request_timeout_s;
    q->sent_ns = llmb_now_ns() - r->origin_ns;
    if (!q->sse) {
        set_fail(q, LLMB_FAIL_OTHER, "out of memory");
        complete(r, q, q->sent_ns);
        return;
    }
    e.text[0] = '\0';
    if (llmbi_http_start(r->http, &spec, &handlers, q, &q->http, &e) != LLMB_OK) {
        set_fail(q, LLMB_FAIL_OTHER, "%s", e.text);
        complete(r, q, llmb_now_ns() - r->origin_ns);
    }
}

static void cancel_all(llmb_runner *r)
{
    while (r->inflight) {
        request *q = r->inflight;
        uint64_t t;
        llmbi_http_cancel(r->http, q->http);
        q->http = NULL;
        t = llmb_now_ns() - r->origin_ns;
        set_fail(q, LLMB_FAIL_CANCELLED, "the run was stopped before the request finished");
        complete(r, q, t);
    }
}

static void progress(llmb_runner *r)
{
    llmb_progress p;
    if (!r->opts.on_progress)
        return;
    llmb_runner_progress(r, &p);
    r->opts.on_progress(&p, r->opts.progress_user);
}

llmb_status llmb_runner_new(const llmb_endpoint *ep, const llmb_schedule *sched,
                            const llmb_run_options *opts, llmb_runner **out, llmb_error *err)
{
    llmb_runner *r;
    llmb_status st;

    *out = NULL;
    if (!ep || !sched || !opts) {
        llmbi_error_set(err, "endpoint, schedule and options are required");
        return LLMB_ERR_INVALID;
    }
    if (opts->requests == 0) {
        llmbi_error_set(err, "the number of requests must be at least 1");
        return LLMB_ERR_INVALID;
    }
    if (!llmb_endpoint_model(ep)) {
        llmbi_error_set(err, "no model is set for the endpoint");
        return LLMB_ERR_INVALID;
    }
    if (opts->max_tokens < 0) {
        llmbi_error_set(err, "max_tokens must not be negative");
        return LLMB_ERR_INVALID;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    r->sched = *sched;
    r->opts = *opts;
    r->api = llmb_endpoint_api(ep);
    r->connect_timeout_s = llmb_endpoint_connect_timeout_s(ep);
    r->request_timeout_s = llmb_endpoint_request_timeout_s(ep);
    r->prompt = llmbi_strdup(opts->prompt ? opts->prompt : LLMB_DEFAULT_PROMPT);
    r->opts.prompt = r->prompt;
    r->url = llmbi_endpoint_url(ep, r->api == LLMB_API_COMPLETIONS ? "/completions"
                                                                   : "/chat/completions");
    r->headers = llmbi_endpoint_headers(ep, 1);
    if (r->prompt)
        r->body = llmbi_build_body(r->api, llmb_endpoint_model(ep), r->prompt, opts->max_tokens);
    if (!r->prompt || !r->url || !r->headers || !r->body) {
        llmbi_error_set(err, "out of memory");
        st = LLMB_ERR_NOMEM;
        goto fail;
    }
    r->body_len = strlen(r->body);
    st = llmbi_http_new(&r->http, err);
    if (st != LLMB_OK)
        goto fail;
    atomic_init(&r->stop, 0);
    *out = r;
    return LLMB_OK;
fail:
    llmb_runner_free(r);
    return st;
}

llmb_status llmb_runner_run(llmb_runner *r)
{
    uint64_t tick_ns = llmb_s_to_ns(r->opts.progress_interval_s);
    uint64_t next_tick;
    int slack_changed = 0;
    int old_slack;
    llmb_status st = LLMB_OK;
    llmb_error e;

    if (r->ran) {
        llmbi_format(r->errmsg, sizeof r->errmsg, "a runner runs only once");
        return LLMB_ERR_INVALID;
    }
    r->ran = 1;
    /* The default 50 us timer slack would make every scheduled send late by
     * up to that much; ask for exact wake-ups on this thread while running. */
    old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (old_slack >= 0 && prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) == 0)
        slack_changed = 1;

    r->origin_ns = llmb_now_ns();
    next_tick = tick_ns ? r->origin_ns + tick_ns : UINT64_MAX;
    for (;;) {
        uint64_t deadline = UINT64_MAX;
        uint64_t now;

        if (atomic_load(&r->stop)) {
            cancel_all(r);
            st = LLMB_ERR_STOPPED;
            break;
        }
        while (r->state.sent < r->opts.requests) {
            uint64_t due = llmbi_schedule_next_ns(&r->sched, &r->state);
            if (due == LLMBI_SCHED_WAIT)
                break;
            now = llmb_now_ns() - r->origin_ns;
            if (due > now) {
                deadline = r->origin_ns + due;
                break;
            }
            send_request(r, due);
        }
        if (r->state.sent >= r->opts.requests && r->state.in_flight == 0)
            break;
        now = llmb_now_ns();
        if (now >= next_tick) {
            progress(r);
            next_tick = now + tick_ns;
        }
        if (next_tick < deadline)
            deadline = next_tick;
        e.text[0] = '\0';
        st = llmbi_http_poll(r->http, deadline, &e);
        if (st != LLMB_OK) {
            llmbi_format(r->errmsg, sizeof r->errmsg, "%s", e.text);
            cancel_all(r);
            break;
        }
    }
    progress(r);
    if (slack_changed)
        prctl(PR_SET_TIMERSLACK, (unsigned long)old_slack, 0, 0, 0);
    return st;
}

void llmb_runner_stop(llmb_runner *r)
{
    atomic_store(&r->stop, 1);
    llmbi_http_wake(r->http);
}

uint64_t llmb_runner_origin_ns(const llmb_runner *r)
{
    return r->origin_ns;
}

void llmb_runner_progress(const llmb_runner *r, llmb_progress *out)
{
    memset(out, 0, sizeof *out);
    out->planned = r->opts.requests;
    out->sent = r->state.sent;
    out->finished = r->finished;
    out->failed = r->failed;
    out->in_flight = r->state.in_flight;
    if (r->origin_ns)
        out->elapsed_ns = llmb_now_ns() - r->origin_ns;
}

const char *llmb_runner_errmsg(const llmb_runner *r)
{
    return r->errmsg;
}

void llmb_runner_free(llmb_runner *r)
{
    if (!r)
        return;
    while (r->inflight) {
        request *q = r->inflight;
        unlink_inflight(r, q);
        free_request(q);
    }
    llmbi_http_free(r->http);
    llmbi_headers_free(r->headers);
    free(r->body);
    free(r->url);
    free(r->prompt);
    free(r);
}
