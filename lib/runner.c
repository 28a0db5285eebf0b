/*
 * The runner: event loops that send each request when the schedule says it
 * is due, feed every arrival through the SSE framing and the provider
 * decoder, and turn each finished request into a record at once.
 *
 * A run has one or more workers. Each owns an event loop (llmbi_http), its
 * share of the schedule, its requests in flight and its own statistics, and
 * touches nothing of the others': the only shared state is the stop flag,
 * the counter from which closed-loop workers take request numbers, the
 * progress counters (relaxed atomics) and the lock that keeps record
 * callbacks from running two at once. Statistics are merged after the run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "endpoint.h"
#include "http.h"
#include "internal.h"
#include "llmbench/clock.h"
#include "llmbench/runner.h"
#include "metrics.h"
#include "provider.h"
#include "schedule.h"
#include "sse.h"

/* An error response body is kept up to this size for its message. */
#define ERROR_BODY_MAX 4096
#define ERROR_TEXT_MAX (LLMBI_ERROR_MESSAGE_MAX + 64)
#define RUN_ID_MAX     32
#define NO_DEADLINE    UINT64_MAX

typedef struct request request;
typedef struct worker worker;

/* A request to send again after a failure. */
typedef struct retry {
    uint64_t number;
    uint64_t intended_ns; /* the first attempt's: what the user waited from */
    uint64_t due_ns;      /* relative to the origin */
    unsigned attempt;
    int warmup;
} retry;

struct worker {
    llmb_runner *r;
    unsigned id;
    llmbi_http *http;
    request *inflight; /* doubly linked list of requests in flight */
    uint64_t in_flight;
    uint64_t cap;         /* most in flight: a closed loop's slots or an open loop's cap; 0 none */
    llmbi_arrivals arr;   /* open loop: the next arrival this worker sends */
    uint64_t last_end_ns; /* sequential: end of the last request */
    uint64_t issued;      /* sequential: new requests sent (retries not counted) */
    uint64_t *freed;      /* closed loop: a ring of the ends of requests whose slot is free */
    size_t freed_head, n_freed;
    int done_sending;
    retry *retries; /* failed requests waiting to be sent again */
    size_t n_retries, cap_retries;
    uint64_t next_idle_check_ns; /* absolute */
    int idle_dirty;              /* a request was sent since the last idle scan */
    llmb_metrics *metrics;
    /* Read by the progress callback on another thread. */
    atomic_uint_fast64_t sent, resent, finished, failed, live;
    llmb_status st;
    char errmsg[LLMB_ERROR_TEXT_SIZE];
    pthread_t thread;
    int started;
};

struct llmb_runner {
    llmb_schedule sched;
    llmb_run_options opts;
    llmb_metrics_options mopts;
    double percentiles[LLMB_MAX_PERCENTILES];
    char *prompt;
    char *url;
    char *body;
    size_t body_len;
    llmbi_headers *headers;
    llmb_api api;
    double connect_timeout_s;
    double request_timeout_s;
    int insecure;
    llmb_transport transport;
    char run_id[RUN_ID_MAX + 1];

    uint64_t total;   /* requests to send, warmup included; UINT64_MAX: until the duration */
    uint64_t idle_ns; /* 0: no idle timeout */
    size_t max_event;
    uint64_t duration_ns; /* 0: none */
    uint64_t origin_ns;
    atomic_uint_fast64_t next_number; /* closed loop: the last request number taken */
    unsigned n_workers;
    worker *workers;
    llmb_metrics *merged;
    pthread_mutex_t record_lock;
    atomic_int stop;
    int ran;
    char errmsg[LLMB_ERROR_TEXT_SIZE];
};

struct request {
    worker *w;
    request *prev, *next;
    llmbi_http_req *http;
    llmbi_sse *sse;
    uint64_t number;
    unsigned attempt;
    uint64_t intended_ns, sent_ns; /* relative to the origin */
    uint64_t now_ns;               /* arrival time of the bytes being parsed, relative */
    uint64_t last_byte_ns;         /* the send, or the last arrival, relative */
    double retry_after_s;
    uint64_t first_chunk_ns, last_chunk_ns, itl_max_ns;
    size_t n_chunks;
    uint64_t *chunks; /* every arrival, only when the run keeps them */
    size_t cap_chunks;
    llmbi_req_stats stats;
    long status;
    int warmup;
    int streaming; /* a 2xx event-stream response: parse it */
    int done_seen; /* "data: [DONE]" arrived */
    int has_usage;
    int64_t prompt_tokens, completion_tokens;
    char *err_body; /* start of a non-stream response, for its message */
    size_t err_body_len;
    llmb_error_class fail;
    char *error; /* allocated only when the request fails */
    char xid[RUN_ID_MAX + 40];
};

/* ---- One request ---- */

static void set_fail(request *q, llmb_error_class c, const char *fmt, ...) LLMBI_PRINTF(3, 4);

static void set_fail(request *q, llmb_error_class c, const char *fmt, ...)
{
    va_list ap;
    if (q->fail != LLMB_FAIL_NONE)
        return; /* the first failure is the cause; later ones are consequences */
    q->fail = c;
    q->error = malloc(ERROR_TEXT_MAX);
    if (!q->error)
        return; /* the class alone still tells what happened */
    va_start(ap, fmt);
    vsnprintf(q->error, ERROR_TEXT_MAX, fmt, ap);
    va_end(ap);
}

static int content_chunk(request *q, uint64_t t)
{
    if (q->n_chunks > 0 && t - q->last_chunk_ns > q->itl_max_ns)
        q->itl_max_ns = t - q->last_chunk_ns;
    if (llmbi_req_chunk(&q->stats, q->last_chunk_ns, t, q->n_chunks == 0) != LLMB_OK)
        return -1;
    if (q->w->r->opts.keep_chunk_times) {
        if (llmbi_grow((void **)&q->chunks, &q->cap_chunks, q->n_chunks + 1, sizeof *q->chunks,
                       64) != 0)
            return -1;
        q->chunks[q->n_chunks] = t;
    }
    if (q->n_chunks == 0)
        q->first_chunk_ns = t;
    q->last_chunk_ns = t;
    q->n_chunks++;
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
    if (llmbi_decode_chunk(q->w->r->api, data, len, &c, &e) != LLMB_OK) {
        set_fail(q, LLMB_FAIL_PROTOCOL, "malformed event: %s", e.text);
        return 1;
    }
    if (c.is_error || strcmp(event, "error") == 0) {
        set_fail(q, LLMB_FAIL_SERVER, "error event: %s", c.is_error ? c.error : "(no message)");
        return 0;
    }
    if (c.has_content && content_chunk(q, q->now_ns) != 0) {
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

    q->now_ns = t_ns - q->w->r->origin_ns;
    q->last_byte_ns = q->now_ns;
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
        set_fail(q, LLMB_FAIL_PROTOCOL, "an event is larger than %zu bytes (the limit)",
                 q->w->r->max_event);
    else if (st == LLMB_ERR_NOMEM)
        set_fail(q, LLMB_FAIL_OTHER, "out of memory");
    return 1;
}

static void unlink_inflight(worker *w, request *q)
{
    LLMBI_LIST_UNLINK(w->inflight, q);
}

static void free_request(request *q)
{
    if (!q)
        return;
    llmbi_sse_free(q->sse);
    llmbi_req_stats_free(&q->stats);
    free(q->chunks);
    free(q->err_body);
    free(q->error);
    free(q);
}

/* A finished record into the worker's statistics and counters, then to the
 * user's callback (one callback at a time when there are several workers). */
static void deliver(worker *w, const llmb_record *rec, llmbi_req_stats *rs)
{
    llmb_runner *r = w->r;
    if (llmbi_metrics_finish(w->metrics, rec, rs) != LLMB_OK && !w->errmsg[0])
        llmbi_format(w->errmsg, sizeof w->errmsg, "out of memory in the statistics");
    atomic_fetch_add_explicit(&w->finished, 1, memory_order_relaxed);
    if (rec->error_class != LLMB_FAIL_NONE)
        atomic_fetch_add_explicit(&w->failed, 1, memory_order_relaxed);
    if (r->opts.on_record) {
        if (r->n_workers > 1)
            pthread_mutex_lock(&r->record_lock);
        r->opts.on_record(rec, r->opts.record_user);
        if (r->n_workers > 1)
            pthread_mutex_unlock(&r->record_lock);
    }
}

/* Failures a second try may cure: a busy or failing server, a connection
 * refused or broken. Not timeouts (a retry would double the load that
 * caused them), nor bad answers, nor the run's own stop. */
static int retryable(const request *q)
{
    switch (q->fail) {
    case LLMB_FAIL_HTTP:
        return q->status == 429 || q->status >= 500;
    case LLMB_FAIL_CONNECT:
    case LLMB_FAIL_RESET:
        return 1;
    default:
        return 0;
    }
}

/* Queues the next attempt: after the server's Retry-After (at most a minute),
 * else 0.5 s doubling with each attempt (at most 30 s). */
static int schedule_retry(worker *w, const request *q, uint64_t end_ns)
{
    double wait_s = q->retry_after_s >= 0
                        ? (q->retry_after_s < 60 ? q->retry_after_s : 60)
                        : 0.5 * (double)(1u << (q->attempt - 1 < 6 ? q->attempt - 1 : 6));
    retry *t;
    if (wait_s > 30 && q->retry_after_s < 0)
        wait_s = 30;
    if (llmbi_grow((void **)&w->retries, &w->cap_retries, w->n_retries + 1, sizeof *w->retries,
                   16) != 0)
        return -1;
    t = &w->retries[w->n_retries++];
    t->number = q->number;
    t->intended_ns = q->intended_ns;
    t->due_ns = end_ns + llmb_s_to_ns(wait_s);
    t->attempt = q->attempt + 1;
    t->warmup = q->warmup;
    return 0;
}

/* Turns a finished request into its record, reports it and frees it. */
static void complete(worker *w, request *q, uint64_t end_ns)
{
    llmb_runner *r = w->r;
    llmb_record rec;

    memset(&rec, 0, sizeof rec);
    rec.request = q->number;
    rec.intended_ns = q->intended_ns;
    rec.sent_ns = q->sent_ns;
    rec.end_ns = end_ns >= q->sent_ns ? end_ns : q->sent_ns;
    rec.first_chunk_ns = q->first_chunk_ns;
    rec.last_chunk_ns = q->last_chunk_ns;
    rec.itl_max_ns = q->itl_max_ns;
    rec.n_chunks = q->n_chunks;
    rec.chunk_ns = r->opts.keep_chunk_times ? q->chunks : NULL;
    rec.http_status = q->status;
    rec.error_class = q->fail;
    rec.error = q->fail == LLMB_FAIL_NONE ? ""
                : q->error                ? q->error
                                          : llmb_error_class_name(q->fail);
    rec.warmup = q->warmup;
    rec.x_request_id = q->xid;
    rec.attempt = q->attempt;
    rec.retry_after_s = q->retry_after_s;
    if (q->fail != LLMB_FAIL_NONE && q->attempt <= r->opts.retries && retryable(q) &&
        !atomic_load(&r->stop))
        rec.will_retry = schedule_retry(w, q, rec.end_ns) == 0;
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

    unlink_inflight(w, q);
    w->in_flight--;
    w->last_end_ns = rec.end_ns;
    if (w->freed && w->n_freed < w->cap) {
        w->freed[(w->freed_head + w->n_freed) % w->cap] = rec.end_ns;
        w->n_freed++;
    }
    atomic_store_explicit(&w->live, w->in_flight, memory_order_relaxed);
    deliver(w, &rec, &q->stats);
    free_request(q);
}

static void on_done(void *user, const llmbi_http_result *res)
{
    request *q = user;
    worker *w = q->w;

    q->http = NULL; /* the transport frees its handle after this call */
    if (q->status == 0)
        q->status = res->status;
    q->retry_after_s = res->retry_after_s;
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
        else if (!(q->has_usage && q->completion_tokens >= 0) && !w->r->opts.allow_no_usage)
            set_fail(q, LLMB_FAIL_PROTOCOL,
                     "the stream ended without usage: its token counts are only the "
                     "chunks counted (allow that with --allow-no-usage)");
    }
    complete(w, q, res->end_ns - w->r->origin_ns);
}

static const llmbi_http_handlers handlers = {on_response, on_data, on_done};

static void send_request(worker *w, uint64_t number, uint64_t intended_ns, unsigned attempt,
                         int warmup)
{
    llmb_runner *r = w->r;
    request *q = calloc(1, sizeof *q);
    llmbi_http_spec spec;
    llmb_error e;
    char xid_header[sizeof q->xid + 16];

    atomic_fetch_add_explicit(&w->sent, 1, memory_order_relaxed);
    if (attempt > 1)
        atomic_fetch_add_explicit(&w->resent, 1, memory_order_relaxed);
    if (!q) {
        /* Nothing to hang a record on but the stack: report it directly. */
        llmb_record rec;
        llmbi_req_stats rs;
        memset(&rec, 0, sizeof rec);
        memset(&rs, 0, sizeof rs);
        rec.request = number;
        rec.intended_ns = rec.sent_ns = rec.end_ns = intended_ns;
        rec.prompt_tokens = rec.generated_tokens = -1;
        rec.error_class = LLMB_FAIL_OTHER;
        rec.error = "out of memory";
        rec.x_request_id = "";
        rec.warmup = warmup;
        rec.attempt = attempt;
        rec.retry_after_s = -1;
        deliver(w, &rec, &rs);
        return;
    }
    q->w = w;
    q->number = number;
    q->attempt = attempt;
    q->intended_ns = intended_ns;
    q->warmup = warmup;
    q->retry_after_s = -1;
    q->prompt_tokens = q->completion_tokens = -1;
    if (attempt > 1)
        snprintf(q->xid, sizeof q->xid, "%s-%llu.%u", r->run_id, (unsigned long long)number,
                 attempt);
    else
        snprintf(q->xid, sizeof q->xid, "%s-%llu", r->run_id, (unsigned long long)number);
    snprintf(xid_header, sizeof xid_header, "X-Request-Id: %s", q->xid);
    LLMBI_LIST_PUSH(w->inflight, q);
    w->in_flight++;
    atomic_store_explicit(&w->live, w->in_flight, memory_order_relaxed);

    q->sse = llmbi_sse_new(r->max_event, on_event, q);
    memset(&spec, 0, sizeof spec);
    spec.url = r->url;
    spec.body = r->body;
    spec.body_len = r->body_len;
    spec.headers = r->headers;
    spec.extra_header = xid_header;
    spec.connect_timeout_s = r->connect_timeout_s;
    spec.timeout_s = r->request_timeout_s;
    spec.insecure = r->insecure;
    spec.transport = r->transport;
    q->sent_ns = llmb_now_ns() - r->origin_ns;
    q->last_byte_ns = q->sent_ns;
    w->idle_dirty = 1;
    llmbi_metrics_sent(w->metrics, q->sent_ns, q->warmup, attempt == 1, w->in_flight);
    if (!q->sse) {
        set_fail(q, LLMB_FAIL_OTHER, "out of memory");
        complete(w, q, q->sent_ns);
        return;
    }
    e.text[0] = '\0';
    if (llmbi_http_start(w->http, &spec, &handlers, q, &q->http, &e) != LLMB_OK) {
        set_fail(q, LLMB_FAIL_OTHER, "%s", e.text);
        complete(w, q, llmb_now_ns() - r->origin_ns);
    }
}

/* A retry that will not be sent: its request ends here, cancelled. */
static void cancel_retry(worker *w, const retry *t)
{
    llmb_runner *r = w->r;
    llmb_record rec;
    llmbi_req_stats rs;
    char xid[RUN_ID_MAX + 40];
    memset(&rec, 0, sizeof rec);
    memset(&rs, 0, sizeof rs);
    snprintf(xid, sizeof xid, "%s-%llu.%u", r->run_id, (unsigned long long)t->number, t->attempt);
    rec.request = t->number;
    rec.intended_ns = t->intended_ns;
    rec.sent_ns = rec.end_ns = llmb_now_ns() - r->origin_ns;
    rec.prompt_tokens = rec.generated_tokens = -1;
    rec.error_class = LLMB_FAIL_CANCELLED;
    rec.error = "the run was stopped before the request was sent again";
    rec.x_request_id = xid;
    rec.warmup = t->warmup;
    rec.attempt = t->attempt;
    rec.retry_after_s = -1;
    deliver(w, &rec, &rs);
}

static void cancel_all(worker *w)
{
    for (size_t i = 0; i < w->n_retries; i++)
        cancel_retry(w, &w->retries[i]);
    w->n_retries = 0;
    while (w->inflight) {
        request *q = w->inflight;
        uint64_t t;
        llmbi_http_cancel(w->http, q->http);
        q->http = NULL;
        t = llmb_now_ns() - w->r->origin_ns;
        set_fail(q, LLMB_FAIL_CANCELLED, "the run was stopped before the request finished");
        complete(w, q, t);
    }
}

/* ---- The schedule, as one worker sees it ---- */

static int past_duration(const llmb_runner *r, uint64_t t_ns)
{
    return r->duration_ns && t_ns >= r->duration_ns;
}

/* Sends every request the schedule has due now. Returns the absolute time the
 * next one is due, or NO_DEADLINE when that waits on a completion (or nothing
 * is left). */
static uint64_t send_scheduled(worker *w)
{
    llmb_runner *r = w->r;
    uint64_t now;

    while (!w->done_sending) {
        uint64_t number, due;
        now = llmb_now_ns() - r->origin_ns;
        switch (r->sched.kind) {
        case LLMB_SCHEDULE_SEQUENTIAL:
            number = w->issued + 1;
            if (number > r->total) {
                w->done_sending = 1;
                return NO_DEADLINE;
            }
            if (w->in_flight > 0)
                return NO_DEADLINE;
            due = number == 1 ? 0 : w->last_end_ns + llmb_s_to_ns(r->sched.seconds);
            if (past_duration(r, due)) {
                w->done_sending = 1;
                return NO_DEADLINE;
            }
            if (due > now)
                return r->origin_ns + due;
            w->issued++;
            send_request(w, number, due, 1, number <= r->opts.warmup);
            break;
        case LLMB_SCHEDULE_INTERVAL:
        case LLMB_SCHEDULE_RATE:
            number = w->arr.index + 1;
            due = w->arr.due_ns;
            if (number > r->total || past_duration(r, due)) {
                w->done_sending = 1;
                return NO_DEADLINE;
            }
            if (due > now)
                return r->origin_ns + due;
            if (w->cap && w->in_flight >= w->cap)
                return NO_DEADLINE; /* due, but waiting for a slot: the wait is recorded */
            send_request(w, number, due, 1, number <= r->opts.warmup);
            for (unsigned i = 0; i < r->n_workers; i++)
                llmbi_arrivals_advance(&w->arr);
            break;
        case LLMB_SCHEDULE_CONCURRENCY:
            if (w->in_flight >= w->cap)
                return NO_DEADLINE;
            if (past_duration(r, now)) {
                w->done_sending = 1;
                return NO_DEADLINE;
            }
            number = atomic_fetch_add_explicit(&r->next_number, 1, memory_order_relaxed) + 1;
            if (number > r->total) {
                w->done_sending = 1;
                return NO_DEADLINE;
            }
            /* A closed loop means to send the moment a slot frees: that is the
             * intended time, and the first wave's is the start. */
            due = 0;
            if (w->n_freed > 0) {
                due = w->freed[w->freed_head];
                w->freed_head = (w->freed_head + 1) % w->cap;
                w->n_freed--;
            }
            send_request(w, number, due, 1, number <= r->opts.warmup);
            break;
        }
    }
    return NO_DEADLINE;
}

/* Sends the retries that are due (a cap still applies). Returns the absolute
 * time the next one is due, or NO_DEADLINE. */
static uint64_t send_retries(worker *w)
{
    llmb_runner *r = w->r;
    uint64_t now = llmb_now_ns() - r->origin_ns, next = NO_DEADLINE;
    size_t i = 0;
    while (i < w->n_retries) {
        retry t = w->retries[i];
        if (t.due_ns <= now) {
            if (w->cap && w->in_flight >= w->cap)
                return NO_DEADLINE; /* a completion will make room */
            w->retries[i] = w->retries[--w->n_retries];
            send_request(w, t.number, t.intended_ns, t.attempt, t.warmup);
            continue;
        }
        if (r->origin_ns + t.due_ns < next)
            next = r->origin_ns + t.due_ns;
        i++;
    }
    return next;
}

static uint64_t send_due(worker *w)
{
    uint64_t a = send_retries(w), b;
    /* One at a time: a request being retried comes before the next one. */
    if (w->r->sched.kind == LLMB_SCHEDULE_SEQUENTIAL && w->n_retries > 0)
        return a;
    b = send_scheduled(w);
    return a < b ? a : b;
}

/* Ends every request that has been silent for the idle timeout. Returns the
 * absolute time the next one would run out, so that the loop looks again
 * exactly then (NO_DEADLINE when nothing is in flight). */
static uint64_t check_idle(worker *w, uint64_t now_abs)
{
    llmb_runner *r = w->r;
    uint64_t now = now_abs - r->origin_ns, next = NO_DEADLINE;
    request *q = w->inflight;
    while (q) {
        request *after = q->next;
        uint64_t expiry = q->last_byte_ns + r->idle_ns;
        if (now >= expiry) {
            llmbi_http_cancel(w->http, q->http);
            q->http = NULL;
            set_fail(q, LLMB_FAIL_TIMEOUT, "nothing arrived for %g s (the idle timeout)",
                     r->opts.idle_timeout_s);
            complete(w, q, now);
        } else if (r->origin_ns + expiry < next) {
            next = r->origin_ns + expiry;
        }
        q = after;
    }
    return next;
}

static void progress(llmb_runner *r)
{
    llmb_progress p;
    if (!r->opts.on_progress)
        return;
    llmb_runner_progress(r, &p);
    r->opts.on_progress(&p, r->opts.progress_user);
}

/* The loop of one worker, on its own thread (worker 0 on the caller's). */
static void *worker_main(void *arg)
{
    worker *w = arg;
    llmb_runner *r = w->r;
    uint64_t tick_ns = w->id == 0 ? llmb_s_to_ns(r->opts.progress_interval_s) : 0;
    uint64_t next_tick = tick_ns ? r->origin_ns + tick_ns : NO_DEADLINE;
    int slack_changed = 0;
    int old_slack;
    llmb_error e;

    /* The default 50 us timer slack would make every scheduled send late by
     * up to that much; ask for exact wake-ups on this thread while running. */
    old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (old_slack >= 0 && prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) == 0)
        slack_changed = 1;
    for (;;) {
        uint64_t deadline, now;
        if (atomic_load(&r->stop)) {
            cancel_all(w);
            w->st = LLMB_ERR_STOPPED;
            break;
        }
        /* A scan of the requests in flight when the first of them could run
         * out of idle time (or when one was just sent, whose time is new). */
        now = llmb_now_ns();
        if (r->idle_ns && (now >= w->next_idle_check_ns || w->idle_dirty)) {
            w->next_idle_check_ns = check_idle(w, now);
            w->idle_dirty = 0;
        }
        deadline = send_due(w);
        if (w->done_sending && w->in_flight == 0 && w->n_retries == 0)
            break;
        if (r->idle_ns && w->idle_dirty) {
            /* Sent just now: its idle time starts now. */
            w->next_idle_check_ns = check_idle(w, llmb_now_ns());
            w->idle_dirty = 0;
        }
        if (r->idle_ns && w->next_idle_check_ns < deadline)
            deadline = w->next_idle_check_ns;
        now = llmb_now_ns();
        if (now >= next_tick) {
            progress(r);
            next_tick = now + tick_ns;
        }
        if (next_tick < deadline)
            deadline = next_tick;
        e.text[0] = '\0';
        w->st = llmbi_http_poll(w->http, deadline, &e);
        if (w->st != LLMB_OK) {
            llmbi_format(w->errmsg, sizeof w->errmsg, "%s", e.text);
            cancel_all(w);
            break;
        }
    }
    if (slack_changed)
        prctl(PR_SET_TIMERSLACK, (unsigned long)old_slack, 0, 0, 0);
    return NULL;
}

/* ---- The runner ---- */

static int run_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RUN_ID_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static void make_run_id(char *out, size_t size)
{
    uint64_t v = 0;
    /* Unique enough to tell runs apart in a server's log; not a secret. */
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = llmb_now_ns() ^ ((uint64_t)getpid() << 32);
    snprintf(out, size, "%08llx", (unsigned long long)(v & 0xffffffffULL));
}

static llmb_status check_options(const llmb_endpoint *ep, const llmb_schedule *sched,
                                 const llmb_run_options *o, llmb_error *err)
{
    if (!ep || !sched || !o) {
        llmbi_error_set(err, "endpoint, schedule and options are required");
        return LLMB_ERR_INVALID;
    }
    if (o->requests == 0 && !(o->duration_s > 0)) {
        llmbi_error_set(err, "give a number of requests, a duration, or both");
        return LLMB_ERR_INVALID;
    }
    if (!(o->duration_s >= 0) || o->duration_s > 1e7) {
        llmbi_error_set(err, "the duration must be from 0 to 10,000,000 s");
        return LLMB_ERR_INVALID;
    }
    if (o->threads < 1 || o->threads > 256) {
        llmbi_error_set(err, "the number of threads must be from 1 to 256");
        return LLMB_ERR_INVALID;
    }
    if (!llmb_endpoint_model(ep)) {
        llmbi_error_set(err, "no model is set for the endpoint");
        return LLMB_ERR_INVALID;
    }
    if (o->max_tokens < 0) {
        llmbi_error_set(err, "max_tokens must not be negative");
        return LLMB_ERR_INVALID;
    }
    if (!(o->idle_timeout_s >= 0) || o->idle_timeout_s > 1e7) {
        llmbi_error_set(err, "the idle timeout must be from 0 to 10,000,000 s");
        return LLMB_ERR_INVALID;
    }
    if (o->max_event_bytes && (o->max_event_bytes < 1024 || o->max_event_bytes > (1u << 30))) {
        llmbi_error_set(err, "the largest event must be from 1 KiB to 1 GiB");
        return LLMB_ERR_INVALID;
    }
    if (o->retries > 100) {
        llmbi_error_set(err, "at most 100 retries");
        return LLMB_ERR_INVALID;
    }
    if (o->run_id && !run_id_ok(o->run_id)) {
        llmbi_error_set(err, "the run id must be 1 to %d characters of A-Z a-z 0-9 . _ -",
                        RUN_ID_MAX);
        return LLMB_ERR_INVALID;
    }
    return LLMB_OK;
}

/* How many workers a schedule can use, and each one's share of the slots. */
static unsigned plan_workers(llmb_runner *r)
{
    unsigned n = r->opts.threads;
    uint64_t slots = 0;
    /* One at a time needs one loop; so does a capped open loop, where the
     * cap must be shared in arrival order, which split loops would not keep
     * (one with fewer slots would hold back the arrivals it owns). */
    if (r->sched.kind == LLMB_SCHEDULE_SEQUENTIAL || r->sched.max_concurrency)
        return 1;
    if (r->sched.kind == LLMB_SCHEDULE_CONCURRENCY)
        slots = r->sched.concurrency;
    else if (r->sched.max_concurrency)
        slots = r->sched.max_concurrency;
    /* A worker without a slot would never send. */
    if (slots && n > slots)
        n = (unsigned)slots;
    if (r->total != UINT64_MAX && n > r->total)
        n = (unsigned)r->total;
    return n ? n : 1;
}

llmb_status llmb_runner_new(const llmb_endpoint *ep, const llmb_schedule *sched,
                            const llmb_run_options *opts, llmb_runner **out, llmb_error *err)
{
    llmb_runner *r;
    llmb_status st;
    uint64_t slots = 0;

    *out = NULL;
    if ((st = check_options(ep, sched, opts, err)) != LLMB_OK)
        return st;
    r = calloc(1, sizeof *r);
    if (!r) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    pthread_mutex_init(&r->record_lock, NULL);
    atomic_init(&r->stop, 0);
    atomic_init(&r->next_number, 0);
    r->sched = *sched;
    r->opts = *opts;
    if (opts->metrics) {
        r->mopts = *opts->metrics;
        if (opts->metrics->percentiles) {
            size_t n = opts->metrics->n_percentiles;
            if (n > LLMB_MAX_PERCENTILES)
                n = LLMB_MAX_PERCENTILES;
            memcpy(r->percentiles, opts->metrics->percentiles, n * sizeof(double));
            r->mopts.percentiles = r->percentiles;
            r->mopts.n_percentiles = n;
        }
    } else {
        llmb_metrics_options d = LLMB_METRICS_OPTIONS_INIT;
        r->mopts = d;
    }
    r->opts.metrics = &r->mopts;
    r->total = opts->requests ? opts->requests + opts->warmup : UINT64_MAX;
    r->duration_ns = llmb_s_to_ns(opts->duration_s);
    r->idle_ns = llmb_s_to_ns(opts->idle_timeout_s);
    r->max_event = opts->max_event_bytes ? opts->max_event_bytes : LLMBI_SSE_DEFAULT_MAX_EVENT;
    r->insecure = llmb_endpoint_insecure(ep);
    r->transport = llmb_endpoint_transport(ep);
    r->api = llmb_endpoint_api(ep);
    r->connect_timeout_s = llmb_endpoint_connect_timeout_s(ep);
    r->request_timeout_s = llmb_endpoint_request_timeout_s(ep);
    if (opts->run_id)
        snprintf(r->run_id, sizeof r->run_id, "%s", opts->run_id);
    else
        make_run_id(r->run_id, sizeof r->run_id);
    r->opts.run_id = r->run_id;
    r->prompt = llmbi_strdup(opts->prompt ? opts->prompt : LLMB_DEFAULT_PROMPT);
    r->opts.prompt = r->prompt;
    r->url = llmbi_endpoint_url(ep, r->api == LLMB_API_COMPLETIONS ? "/completions"
                                                                   : "/chat/completions");
    r->headers = llmbi_endpoint_headers(ep, 1);
    if (r->prompt)
        r->body = llmbi_build_body(r->api, llmb_endpoint_model(ep), r->prompt, opts->max_tokens);
    r->merged = llmb_metrics_new_opts(&r->mopts);
    if (!r->merged) {
        llmbi_error_set(err,
                        "bad statistics options: at most %d percentiles, each between 0 "
                        "and 100, and objectives of at least 0 ms",
                        LLMB_MAX_PERCENTILES);
        st = LLMB_ERR_INVALID;
        goto fail;
    }
    if (!r->prompt || !r->url || !r->headers || !r->body)
        goto nomem;
    r->body_len = strlen(r->body);

    r->n_workers = plan_workers(r);
    r->workers = calloc(r->n_workers, sizeof *r->workers);
    if (!r->workers)
        goto nomem;
    if (r->sched.kind == LLMB_SCHEDULE_CONCURRENCY)
        slots = r->sched.concurrency;
    else if (r->sched.kind != LLMB_SCHEDULE_SEQUENTIAL)
        slots = r->sched.max_concurrency;
    for (unsigned i = 0; i < r->n_workers; i++) {
        worker *w = &r->workers[i];
        w->r = r;
        w->id = i;
        atomic_init(&w->sent, 0);
        atomic_init(&w->resent, 0);
        atomic_init(&w->finished, 0);
        atomic_init(&w->failed, 0);
        atomic_init(&w->live, 0);
        /* Slots are shared out as evenly as they go. */
        if (slots)
            w->cap = slots / r->n_workers + (i < slots % r->n_workers);
        if (r->sched.kind == LLMB_SCHEDULE_INTERVAL || r->sched.kind == LLMB_SCHEDULE_RATE) {
            llmbi_arrivals_init(&w->arr, &r->sched);
            for (unsigned k = 0; k < i; k++)
                llmbi_arrivals_advance(&w->arr);
        }
        if (r->sched.kind == LLMB_SCHEDULE_CONCURRENCY) {
            w->freed = calloc(w->cap, sizeof *w->freed);
            if (!w->freed)
                goto nomem;
        }
        w->metrics = llmb_metrics_new_opts(&r->mopts);
        if (!w->metrics)
            goto nomem;
        if ((st = llmbi_http_new(&w->http, err)) != LLMB_OK)
            goto fail;
    }
    *out = r;
    return LLMB_OK;
nomem:
    llmbi_error_set(err, "out of memory");
    st = LLMB_ERR_NOMEM;
fail:
    llmb_runner_free(r);
    return st;
}

llmb_status llmb_runner_run(llmb_runner *r)
{
    llmb_status st = LLMB_OK;
    unsigned started = 1;

    if (r->ran) {
        llmbi_format(r->errmsg, sizeof r->errmsg, "a runner runs only once");
        return LLMB_ERR_INVALID;
    }
    r->ran = 1;
    r->origin_ns = llmb_now_ns();
    if (r->opts.on_start)
        r->opts.on_start(r->origin_ns, r->opts.start_user);
    for (unsigned i = 1; i < r->n_workers; i++) {
        int rc = pthread_create(&r->workers[i].thread, NULL, worker_main, &r->workers[i]);
        if (rc != 0) {
            llmbi_format(r->errmsg, sizeof r->errmsg, "cannot start thread %u: %s", i,
                         strerror(rc));
            st = LLMB_ERR_SYSTEM;
            llmb_runner_stop(r);
            break;
        }
        r->workers[i].started = 1;
        started++;
    }
    worker_main(&r->workers[0]);
    for (unsigned i = 1; i < r->n_workers; i++)
        if (r->workers[i].started)
            pthread_join(r->workers[i].thread, NULL);
    (void)started;
    progress(r);

    for (unsigned i = 0; i < r->n_workers; i++) {
        worker *w = &r->workers[i];
        if (llmb_metrics_merge(r->merged, w->metrics) != LLMB_OK && st == LLMB_OK) {
            llmbi_format(r->errmsg, sizeof r->errmsg, "out of memory merging the statistics");
            st = LLMB_ERR_NOMEM;
        }
        if (w->st != LLMB_OK && w->st != LLMB_ERR_STOPPED && st == LLMB_OK) {
            llmbi_format(r->errmsg, sizeof r->errmsg, "%s", w->errmsg);
            st = w->st;
        }
    }
    if (st == LLMB_OK && atomic_load(&r->stop))
        st = LLMB_ERR_STOPPED;
    return st;
}

void llmb_runner_stop(llmb_runner *r)
{
    atomic_store(&r->stop, 1);
    for (unsigned i = 0; i < r->n_workers; i++)
        if (r->workers[i].http)
            llmbi_http_wake(r->workers[i].http);
}

uint64_t llmb_runner_origin_ns(const llmb_runner *r)
{
    return r->origin_ns;
}

const llmb_metrics *llmb_runner_metrics(const llmb_runner *r)
{
    return r->merged;
}

const char *llmb_runner_run_id(const llmb_runner *r)
{
    return r->run_id;
}

unsigned llmb_runner_threads(const llmb_runner *r)
{
    return r->n_workers;
}

void llmb_runner_progress(const llmb_runner *r, llmb_progress *out)
{
    memset(out, 0, sizeof *out);
    out->planned = r->total == UINT64_MAX ? 0 : r->total;
    for (unsigned i = 0; i < r->n_workers; i++) {
        worker *w = &r->workers[i];
        out->sent += atomic_load_explicit(&w->sent, memory_order_relaxed);
        out->resent += atomic_load_explicit(&w->resent, memory_order_relaxed);
        out->finished += atomic_load_explicit(&w->finished, memory_order_relaxed);
        out->failed += atomic_load_explicit(&w->failed, memory_order_relaxed);
        out->in_flight += atomic_load_explicit(&w->live, memory_order_relaxed);
    }
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
    for (unsigned i = 0; r->workers && i < r->n_workers; i++) {
        worker *w = &r->workers[i];
        while (w->inflight) {
            request *q = w->inflight;
            unlink_inflight(w, q);
            free_request(q);
        }
        llmbi_http_free(w->http);
        llmb_metrics_free(w->metrics);
        free(w->freed);
        free(w->retries);
    }
    free(r->workers);
    llmb_metrics_free(r->merged);
    llmbi_headers_free(r->headers);
    free(r->body);
    free(r->url);
    free(r->prompt);
    pthread_mutex_destroy(&r->record_lock);
    free(r);
}
