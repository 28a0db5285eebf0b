/*
 * Runner: records from a real loop against the in-process mock engine, and
 * how each kind of bad response becomes a failed record, from a scripted
 * server that answers with exactly the bytes a test gives it.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "loopback.h"
#include "llmbench/clock.h"
#include "llmbench/mock.h"
#include "llmbench/runner.h"

/* Timing tolerance: under valgrind (LLMB_TEST_SLOW) everything is far slower. */
static double slack_ms(double ms)
{
    return getenv("LLMB_TEST_SLOW") ? ms * 40 : ms;
}

/* ---- Collecting records ---- */

#define MAX_RECS 64

typedef struct rec_copy {
    llmb_record r;
    uint64_t chunks[256];
    char error[512];
    char xid[80];
} rec_copy;

typedef struct collector {
    rec_copy recs[MAX_RECS];
    size_t n;
    size_t progress_calls;
    double stop_after_s; /* if > 0, another thread stops the run after this long */
    int no_chunk_times;  /* the run does not keep chunk times */
    int allow_no_usage;  /* run with allow_no_usage */
    size_t max_event;    /* run with this max_event_bytes */
} collector;

static void on_record(const llmb_record *r, void *user)
{
    collector *c = user;
    rec_copy *d;
    assert_true(c->n < MAX_RECS);
    d = &c->recs[c->n++];
    d->r = *r;
    assert_true(r->n_chunks <= 256);
    /* Chunk times come only when the run keeps them; the record's own
     * first/last fields are there either way and must agree with them. */
    assert_true(r->n_chunks == 0 || (r->chunk_ns != NULL) == !c->no_chunk_times);
    if (r->n_chunks && !r->chunk_ns) {
        assert_true(r->first_chunk_ns <= r->last_chunk_ns);
        assert_true(r->last_chunk_ns <= r->end_ns);
    } else if (r->n_chunks) {
        memcpy(d->chunks, r->chunk_ns, r->n_chunks * sizeof(uint64_t));
        assert_int_equal(r->first_chunk_ns, r->chunk_ns[0]);
        assert_int_equal(r->last_chunk_ns, r->chunk_ns[r->n_chunks - 1]);
    }
    d->r.chunk_ns = d->chunks;
    snprintf(d->error, sizeof d->error, "%s", r->error);
    d->r.error = d->error;
    snprintf(d->xid, sizeof d->xid, "%s", r->x_request_id);
    d->r.x_request_id = d->xid;
}

static void on_progress(const llmb_progress *p, void *user)
{
    collector *c = user;
    assert_true(p->finished <= p->sent);
    assert_true(p->sent <= p->planned);
    c->progress_calls++;
}

typedef struct stopper {
    llmb_runner *r;
    double after_s;
} stopper;

static void *stopper_main(void *arg)
{
    stopper *s = arg;
    usleep((useconds_t)(s->after_s * 1e6));
    llmb_runner_stop(s->r);
    return NULL;
}

static llmb_status run(const char *base_url, llmb_api api, const llmb_schedule *s,
                       uint64_t requests, long max_tokens, collector *c, double timeout_s)
{
    llmb_endpoint *ep;
    llmb_runner *r;
    llmb_run_options o = LLMB_RUN_OPTIONS_INIT;
    llmb_error e;
    llmb_status st;

    assert_int_equal(llmb_endpoint_new("mock", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_base_url(ep, base_url, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_model(ep, "m", &e), LLMB_OK);
    llmb_endpoint_set_api(ep, api);
    llmb_endpoint_set_timeouts(ep, 5, timeout_s);
    o.requests = requests;
    o.max_tokens = max_tokens;
    o.keep_chunk_times = 1;
    o.allow_no_usage = c->allow_no_usage;
    o.max_event_bytes = c->max_event;
    o.on_record = on_record;
    o.record_user = c;
    o.on_progress = on_progress;
    o.progress_user = c;
    o.progress_interval_s = 0.01;
    assert_int_equal(llmb_runner_new(ep, s, &o, &r, &e), LLMB_OK);
    llmb_endpoint_free(ep); /* the runner keeps what it needs */
    if (c->stop_after_s > 0) {
        pthread_t th;
        stopper sp = {r, c->stop_after_s};
        assert_int_equal(pthread_create(&th, NULL, stopper_main, &sp), 0);
        st = llmb_runner_run(r);
        pthread_join(th, NULL);
    } else {
        st = llmb_runner_run(r);
    }
    /* A runner runs once. */
    assert_int_equal(llmb_runner_run(r), LLMB_ERR_INVALID);
    llmb_runner_free(r);
    return st;
}

/* ---- The in-process mock engine ---- */

typedef struct mock_thread {
    llmb_mock *m;
    pthread_t th;
    char url[64];
} mock_thread;

static void *mock_main(void *arg)
{
    llmb_mock_run(arg);
    return NULL;
}

static void mock_up(mock_thread *mt, double ttft, double itl, llmb_mock_usage usage)
{
    llmb_mock_options o = LLMB_MOCK_OPTIONS_INIT;
    llmb_error e;
    o.ttft_ms = ttft;
    o.itl_ms = itl;
    o.usage = usage;
    assert_int_equal(llmb_mock_new(&o, &mt->m, &e), LLMB_OK);
    snprintf(mt->url, sizeof mt->url, "http://127.0.0.1:%u/v1", llmb_mock_port(mt->m));
    assert_int_equal(pthread_create(&mt->th, NULL, mock_main, mt->m), 0);
}

static void mock_down(mock_thread *mt)
{
    llmb_mock_stop(mt->m);
    pthread_join(mt->th, NULL);
    llmb_mock_free(mt->m);
}

static void test_runner_records_from_mock(void **state)
{
    mock_thread mt;
    collector *c = calloc(1, sizeof *c);
    llmb_schedule *s;
    llmb_error e;
    (void)state;
    mock_up(&mt, 30, 5, LLMB_MOCK_USAGE_FINAL);
    assert_int_equal(llmb_schedule_interval(0.01, &s, &e), LLMB_OK);
    assert_int_equal(run(mt.url, LLMB_API_CHAT, s, 4, 10, c, 0), LLMB_OK);
    assert_int_equal(c->n, 4);
    assert_true(c->progress_calls >= 1);
    for (size_t i = 0; i < 4; i++) {
        const llmb_record *r = &c->recs[i].r;
        double ttft = llmb_record_ttft_ms(r);
        assert_int_equal(r->error_class, LLMB_FAIL_NONE);
        assert_string_equal(r->error, "");
        assert_int_equal(r->http_status, 200);
        assert_int_equal(r->token_source, LLMB_TOKENS_USAGE);
        assert_int_equal(r->generated_tokens, 10);
        assert_int_equal(r->n_chunks, 10);
        assert_int_equal(r->prompt_tokens,
                         llmb_mock_prompt_tokens(LLMB_DEFAULT_PROMPT, strlen(LLMB_DEFAULT_PROMPT)));
        assert_int_equal(r->intended_ns, (r->request - 1) * 10 * LLMB_NS_PER_MS);
        assert_true(r->sent_ns >= r->intended_ns);
        /* The role chunk the mock sends first is not the first token. */
        if (ttft < 29.5 || ttft > 30 + slack_ms(15))
            fail_msg("request %llu: TTFT %.3f ms against 30", (unsigned long long)r->request, ttft);
        for (size_t k = 1; k < r->n_chunks; k++)
            assert_true(r->chunk_ns[k] >= r->chunk_ns[k - 1]);
        assert_true(r->end_ns >= r->chunk_ns[r->n_chunks - 1]);
        assert_true(fabs(llmb_record_itl_mean_ms(r) - 5.0) < slack_ms(1.5));
    }
    llmb_schedule_free(s);
    mock_down(&mt);
    free(c);
}

static void test_runner_sequential_waits_for_end(void **state)
{
    mock_thread mt;
    collector *c = calloc(1, sizeof *c);
    llmb_schedule *s;
    llmb_error e;
    (void)state;
    mock_up(&mt, 10, 2, LLMB_MOCK_USAGE_NONE);
    c->allow_no_usage = 1; /* this mock never reports usage */
    assert_int_equal(llmb_schedule_sequential(0.05, &s, &e), LLMB_OK);
    assert_int_equal(run(mt.url, LLMB_API_COMPLETIONS, s, 3, 5, c, 0), LLMB_OK);
    assert_int_equal(c->n, 3);
    for (size_t i = 0; i < 3; i++) {
        const llmb_record *r = &c->recs[i].r;
        assert_int_equal(r->request, i + 1);
        assert_int_equal(r->token_source, LLMB_TOKENS_CHUNKS);
        assert_int_equal(r->generated_tokens, 5);
        assert_int_equal(r->prompt_tokens, -1);
        if (i > 0) {
            /* Due exactly 50 ms after the previous end, and not sent before. */
            assert_int_equal(r->intended_ns, c->recs[i - 1].r.end_ns + 50 * LLMB_NS_PER_MS);
            assert_true(r->sent_ns >= r->intended_ns);
        }
    }
    llmb_schedule_free(s);
    mock_down(&mt);
    free(c);
}

static void test_runner_stop_cancels_in_flight(void **state)
{
    mock_thread mt;
    collector *c = calloc(1, sizeof *c);
    llmb_schedule *s;
    llmb_error e;
    uint64_t t0;
    (void)state;
    /* Every request would take 10 s (11 tokens, 1 s apart); requests 4 and 5
     * are due at 1 s and 2 s. Another thread stops the run at 0.3 s. */
    mock_up(&mt, 5, 1000, LLMB_MOCK_USAGE_FINAL);
    assert_int_equal(llmb_schedule_interval(1.0, &s, &e), LLMB_OK);
    c->stop_after_s = 0.3;
    t0 = llmb_now_ns();
    assert_int_equal(run(mt.url, LLMB_API_CHAT, s, 5, 11, c, 0), LLMB_ERR_STOPPED);
    /* Stopped long before the 10 s the requests would take. */
    assert_true(llmb_now_ns() - t0 < (uint64_t)(slack_ms(5) * LLMB_NS_PER_MS * 1000));
    /* Only the one request sent before the stop, recorded as cancelled with
     * what it had received (its first token, at 5 ms); nothing sent after. */
    assert_int_equal(c->n, 1);
    assert_int_equal(c->recs[0].r.error_class, LLMB_FAIL_CANCELLED);
    assert_int_equal(c->recs[0].r.http_status, 200);
    assert_int_equal(c->recs[0].r.n_chunks, 1);
    assert_true(llmb_record_e2e_ms(&c->recs[0].r) >= 290);
    llmb_schedule_free(s);
    mock_down(&mt);
    free(c);
}

static void test_runner_threads_planned(void **state)
{
    /* Threads share an open loop's arrivals; a capped one keeps one loop, so
     * that the cap goes to requests in the order they are due. */
    llmb_endpoint *ep;
    llmb_schedule *s;
    llmb_runner *r;
    llmb_run_options o = LLMB_RUN_OPTIONS_INIT;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_endpoint_new("mock", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_model(ep, "m", &e), LLMB_OK);
    o.requests = 100;
    o.threads = 4;
    assert_int_equal(llmb_schedule_rate(10, LLMB_ARRIVAL_POISSON, 1, 0, &s, &e), LLMB_OK);
    assert_int_equal(llmb_runner_new(ep, s, &o, &r, &e), LLMB_OK);
    assert_int_equal(llmb_runner_threads(r), 4);
    llmb_runner_free(r);
    assert_int_equal(llmb_schedule_set_max_concurrency(s, 3, &e), LLMB_OK);
    assert_int_equal(llmb_runner_new(ep, s, &o, &r, &e), LLMB_OK);
    assert_int_equal(llmb_runner_threads(r), 1);
    llmb_runner_free(r);
    llmb_schedule_free(s);
    /* A closed loop of 2 has work for 2 loops at most. */
    assert_int_equal(llmb_schedule_concurrency(2, &s, &e), LLMB_OK);
    assert_int_equal(llmb_runner_new(ep, s, &o, &r, &e), LLMB_OK);
    assert_int_equal(llmb_runner_threads(r), 2);
    llmb_runner_free(r);
    llmb_schedule_free(s);
    llmb_endpoint_free(ep);
}

static void test_runner_rejects_bad_options(void **state)
{
    llmb_endpoint *ep;
    llmb_schedule *s;
    llmb_runner *r = NULL;
    llmb_run_options o = LLMB_RUN_OPTIONS_INIT;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_endpoint_new("vllm", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_schedule_interval(0.1, &s, &e), LLMB_OK);
    assert_int_equal(llmb_runner_new(ep, s, &o, &r, &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "model"));
    assert_null(r);
    assert_int_equal(llmb_endpoint_set_model(ep, "m", &e), LLMB_OK);
    o.requests = 0;
    assert_int_equal(llmb_runner_new(ep, s, &o, &r, &e), LLMB_ERR_INVALID);
    o.requests = 1;
    o.max_tokens = -1;
    assert_int_equal(llmb_runner_new(ep, s, &o, &r, &e), LLMB_ERR_INVALID);
    llmb_runner_free(NULL);
    llmb_schedule_free(s);
    llmb_endpoint_free(ep);
}

/* ---- A scripted server: one canned response per connection ---- */

typedef struct script {
    int fd;
    unsigned port;
    const char *response; /* sent after the request is read */
    size_t response_len;
    double hold_s; /* keep the connection open this long after sending */
    pthread_t th;
    char request[8192]; /* what the client sent */
} script;

static void *script_main(void *arg)
{
    script *s = arg;
    int c = accept(s->fd, NULL, NULL);
    char buf[8192];
    size_t got = 0;
    if (c < 0)
        return NULL;
    /* Read until the body (Content-Length) is in; the requests are small. */
    for (;;) {
        struct pollfd p = {c, POLLIN, 0};
        ssize_t n;
        char *hdr_end, *cl;
        if (poll(&p, 1, 5000) <= 0)
            break;
        n = read(c, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        hdr_end = strstr(buf, "\r\n\r\n");
        cl = strcasestr(buf, "content-length:");
        if (hdr_end && cl && got >= (size_t)(hdr_end + 4 - buf) + strtoul(cl + 15, NULL, 10))
            break;
    }
    {
        size_t n = got < sizeof s->request - 1 ? got : sizeof s->request - 1;
        memcpy(s->request, buf, n);
        s->request[n] = '\0';
    }
    if (write(c, s->response, s->response_len) < 0) {
        /* the client went away; nothing to do */
    }
    if (s->hold_s > 0)
        usleep((useconds_t)(s->hold_s * 1e6));
    close(c);
    return NULL;
}

static void script_up(script *s, const char *response, double hold_s)
{
    s->fd = loopback_socket(8, &s->port);
    s->response = response;
    s->response_len = strlen(response);
    s->hold_s = hold_s;
    assert_int_equal(pthread_create(&s->th, NULL, script_main, s), 0);
}

static void script_down(script *s)
{
    pthread_join(s->th, NULL);
    close(s->fd);
}

/* One request against a canned response; returns its record. */
static rec_copy *one(const char *response, double hold_s, double timeout_s, collector *c)
{
    script s;
    llmb_schedule *sc;
    llmb_error e;
    char url[64];
    int allow = c->allow_no_usage;
    size_t max_event = c->max_event;
    memset(c, 0, sizeof *c);
    c->allow_no_usage = allow;
    c->max_event = max_event;
    script_up(&s, response, hold_s);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", s.port);
    assert_int_equal(llmb_schedule_sequential(0, &sc, &e), LLMB_OK);
    assert_int_equal(run(url, LLMB_API_CHAT, sc, 1, 0, c, timeout_s), LLMB_OK);
    llmb_schedule_free(sc);
    script_down(&s);
    assert_int_equal(c->n, 1);
    return &c->recs[0];
}

#define SSE_HEAD    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
#define CHUNK(text) "data: {\"choices\":[{\"delta\":{\"content\":\"" text "\"}}]}\n\n"
#define USAGE(p, c)                                                                                \
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":" #p ",\"completion_tokens\":" #c "}}\n\n"

static void test_runner_http_error_message(void **state)
{
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            "Content-Length: 55\r\nConnection: close\r\n\r\n"
            "{\"error\":{\"message\":\"Rate limit reached for requests\"}}",
            0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_HTTP);
    assert_int_equal(r->r.http_status, 429);
    assert_string_equal(r->error, "HTTP 429: Rate limit reached for requests");
    assert_int_equal(r->r.token_source, LLMB_TOKENS_UNKNOWN);
    assert_int_equal(r->r.generated_tokens, -1);
    free(c);
}

static void test_runner_not_an_event_stream(void **state)
{
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n"
            "Connection: close\r\n\r\n<html></html>",
            0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_PROTOCOL);
    assert_non_null(strstr(r->error, "not an event stream"));
    assert_non_null(strstr(r->error, "text/html"));
    free(c);
}

static void test_runner_stream_without_done(void **state)
{
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one(SSE_HEAD CHUNK("a") CHUNK("b"), 0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_PROTOCOL);
    assert_non_null(strstr(r->error, "without [DONE]"));
    /* What arrived is kept. */
    assert_int_equal(r->r.n_chunks, 2);
    assert_int_equal(r->r.generated_tokens, 2);
    assert_int_equal(r->r.token_source, LLMB_TOKENS_CHUNKS);
    free(c);
}

static void test_runner_done_without_blank_line(void **state)
{
    /* A server that ends right after "data: [DONE]\n" still succeeded. */
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one(SSE_HEAD CHUNK("a") USAGE(7, 1) "data: [DONE]\n", 0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_NONE);
    assert_int_equal(r->r.n_chunks, 1);
    free(c);
}

static void test_runner_missing_usage(void **state)
{
    /* Usage was asked for: a stream without it fails, its chunks counted and
     * said so; with allow_no_usage the same stream succeeds. */
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one(SSE_HEAD CHUNK("a") CHUNK("b") "data: [DONE]\n\n", 0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_PROTOCOL);
    assert_non_null(strstr(r->error, "without usage"));
    assert_int_equal(r->r.token_source, LLMB_TOKENS_CHUNKS);
    assert_int_equal(r->r.generated_tokens, 2);
    c->allow_no_usage = 1;
    r = one(SSE_HEAD CHUNK("a") CHUNK("b") "data: [DONE]\n\n", 0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_NONE);
    assert_int_equal(r->r.token_source, LLMB_TOKENS_CHUNKS);
    free(c);
}

static void test_runner_malformed_event(void **state)
{
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one(SSE_HEAD CHUNK("a") "data: {\"choices\": [oops\n\n" CHUNK("b") "data: [DONE]\n\n", 0, 0,
            c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_PROTOCOL);
    assert_non_null(strstr(r->error, "malformed event"));
    assert_int_equal(r->r.n_chunks, 1);
    free(c);
}

static void test_runner_error_event(void **state)
{
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one(SSE_HEAD CHUNK("a") "data: {\"error\":{\"message\":\"engine died\"}}\n\n"
                                "data: [DONE]\n\n",
            0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_SERVER);
    assert_string_equal(r->error, "error event: engine died");
    free(c);
}

static void test_runner_timeout_keeps_partial(void **state)
{
    /* Two tokens, then silence: the request timeout ends it. */
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one(SSE_HEAD CHUNK("a") CHUNK("b"), 3.0, 0.5, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_TIMEOUT);
    assert_int_equal(r->r.n_chunks, 2);
    assert_true(llmb_record_e2e_ms(&r->r) >= 490);
    assert_true(llmb_record_e2e_ms(&r->r) < 500 + slack_ms(2000));
    free(c);
}

static void test_runner_usage_and_counts(void **state)
{
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one(
        SSE_HEAD
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" CHUNK("a")
            CHUNK("b") CHUNK(
                "c") "data: "
                     "{\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}\n\n"
                     "data: [DONE]\n\n",
        0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_NONE);
    /* Three chunks, but the server says four tokens: its count wins. */
    assert_int_equal(r->r.n_chunks, 3);
    assert_int_equal(r->r.generated_tokens, 4);
    assert_int_equal(r->r.prompt_tokens, 9);
    assert_int_equal(r->r.token_source, LLMB_TOKENS_USAGE);
    free(c);
}

static void test_runner_request_headers(void **state)
{
    /* Every request says who it is (X-Request-Id: run id and number), and
     * carries the key only as an Authorization header. */
    script s;
    collector *c = calloc(1, sizeof *c);
    llmb_endpoint *ep;
    llmb_schedule *sc;
    llmb_runner *r;
    llmb_run_options o = LLMB_RUN_OPTIONS_INIT;
    llmb_error e;
    char url[64];
    (void)state;
    script_up(&s, SSE_HEAD CHUNK("a") "data: [DONE]\n\n", 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", s.port);
    assert_int_equal(llmb_endpoint_new("mock", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_base_url(ep, url, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_model(ep, "m", &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_api_key(ep, "sk-test-42", &e), LLMB_OK);
    assert_int_equal(llmb_schedule_sequential(0, &sc, &e), LLMB_OK);
    o.requests = 1;
    o.run_id = "run-7";
    o.on_record = on_record;
    o.record_user = c;
    c->no_chunk_times = 1; /* the default: no per-chunk array */
    assert_int_equal(llmb_runner_new(ep, sc, &o, &r, &e), LLMB_OK);
    assert_string_equal(llmb_runner_run_id(r), "run-7");
    assert_int_equal(llmb_runner_run(r), LLMB_OK);
    script_down(&s);
    assert_non_null(strstr(s.request, "\r\nX-Request-Id: run-7-1\r\n"));
    assert_non_null(strstr(s.request, "\r\nAuthorization: Bearer sk-test-42\r\n"));
    assert_non_null(strstr(s.request, "\"stream_options\":{\"include_usage\":true}"));
    assert_null(strstr(s.request, "Expect:"));
    /* One Accept header (the endpoint's), a Host with the port. */
    assert_non_null(strstr(s.request, "\r\nAccept: text/event-stream\r\n"));
    assert_null(strstr(strstr(s.request, "\r\nAccept:") + 2, "\r\nAccept:"));
    assert_non_null(strstr(s.request, "\r\nHost: 127.0.0.1:"));
    assert_non_null(strstr(s.request, "POST /v1/chat/completions HTTP/1.1\r\n"));
    assert_int_equal(c->n, 1);
    assert_string_equal(c->recs[0].r.x_request_id, "run-7-1");
    llmb_runner_free(r);
    llmb_schedule_free(sc);
    llmb_endpoint_free(ep);
    /* A bad run id is refused. */
    o.run_id = "bad id!";
    assert_int_equal(llmb_endpoint_new("mock", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_model(ep, "m", &e), LLMB_OK);
    assert_int_equal(llmb_schedule_sequential(0, &sc, &e), LLMB_OK);
    assert_int_equal(llmb_runner_new(ep, sc, &o, &r, &e), LLMB_ERR_INVALID);
    llmb_schedule_free(sc);
    llmb_endpoint_free(ep);
    free(c);
}

static void test_runner_redirect_not_followed(void **state)
{
    /* A benchmark measures the server it was pointed at; a redirect is an
     * answer like any other error, and the key never travels elsewhere. */
    collector *c = calloc(1, sizeof *c);
    rec_copy *r;
    (void)state;
    r = one("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/v1/chat/completions\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n",
            0, 0, c);
    assert_int_equal(r->r.error_class, LLMB_FAIL_HTTP);
    assert_int_equal(r->r.http_status, 302);
    assert_string_equal(r->error, "HTTP 302");
    free(c);
}

static void test_runner_idle_and_event_limits(void **state)
{
    /* Two chunks, then silence with the connection open: the idle timeout
     * ends it, keeping the chunks. */
    script s;
    collector *c = calloc(1, sizeof *c);
    llmb_endpoint *ep;
    llmb_schedule *sc;
    llmb_runner *run;
    llmb_run_options o = LLMB_RUN_OPTIONS_INIT;
    llmb_error e;
    char url[64], big[4096];
    uint64_t t0;
    (void)state;
    script_up(&s, SSE_HEAD CHUNK("a") CHUNK("b"), 3.0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", s.port);
    assert_int_equal(llmb_endpoint_new("mock", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_base_url(ep, url, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_model(ep, "m", &e), LLMB_OK);
    assert_int_equal(llmb_schedule_sequential(0, &sc, &e), LLMB_OK);
    o.requests = 1;
    o.idle_timeout_s = 0.3;
    o.on_record = on_record;
    o.record_user = c;
    c->no_chunk_times = 1;
    assert_int_equal(llmb_runner_new(ep, sc, &o, &run, &e), LLMB_OK);
    t0 = llmb_now_ns();
    assert_int_equal(llmb_runner_run(run), LLMB_OK);
    /* Caught when it ran out, not a check period later. */
    if (llmb_now_ns() - t0 >= 300 * LLMB_NS_PER_MS + (uint64_t)(slack_ms(200) * 1e6))
        fail_msg("the idle timeout of 0.3 s ended the run after %.3f s",
                 (double)(llmb_now_ns() - t0) / 1e9);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->recs[0].r.error_class, LLMB_FAIL_TIMEOUT);
    assert_non_null(strstr(c->recs[0].error, "idle timeout"));
    assert_int_equal(c->recs[0].r.n_chunks, 2);
    llmb_runner_free(run);
    script_down(&s);
    llmb_schedule_free(sc);
    llmb_endpoint_free(ep);

    /* An event over the limit fails its request; a limit too small is refused. */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    {
        char *resp = malloc(sizeof big + 256);
        rec_copy *r;
        snprintf(resp, sizeof big + 256, SSE_HEAD "data: {\"pad\":\"%s\"}\n\n", big);
        c->max_event = 1024;
        r = one(resp, 0, 0, c);
        assert_int_equal(r->r.error_class, LLMB_FAIL_PROTOCOL);
        assert_non_null(strstr(r->error, "larger than 1024 bytes"));
        free(resp);
    }
    {
        llmb_run_options bad = LLMB_RUN_OPTIONS_INIT;
        bad.max_event_bytes = 10;
        assert_int_equal(llmb_endpoint_new("mock", &ep, &e), LLMB_OK);
        assert_int_equal(llmb_endpoint_set_model(ep, "m", &e), LLMB_OK);
        assert_int_equal(llmb_schedule_sequential(0, &sc, &e), LLMB_OK);
        assert_int_equal(llmb_runner_new(ep, sc, &bad, &run, &e), LLMB_ERR_INVALID);
        bad.max_event_bytes = 0;
        bad.idle_timeout_s = -1;
        assert_int_equal(llmb_runner_new(ep, sc, &bad, &run, &e), LLMB_ERR_INVALID);
        llmb_schedule_free(sc);
        llmb_endpoint_free(ep);
    }
    free(c);
}

static void test_runner_connection_refused(void **state)
{
    collector *c = calloc(1, sizeof *c);
    llmb_schedule *s;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_schedule_interval(0, &s, &e), LLMB_OK);
    assert_int_equal(run("http://127.0.0.1:1/v1", LLMB_API_CHAT, s, 3, 0, c, 0), LLMB_OK);
    assert_int_equal(c->n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c->recs[i].r.error_class, LLMB_FAIL_CONNECT);
        assert_int_equal(c->recs[i].r.http_status, 0);
        assert_true(strlen(c->recs[i].error) > 0);
    }
    llmb_schedule_free(s);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner_records_from_mock),
        cmocka_unit_test(test_runner_sequential_waits_for_end),
        cmocka_unit_test(test_runner_stop_cancels_in_flight),
        cmocka_unit_test(test_runner_threads_planned),
        cmocka_unit_test(test_runner_rejects_bad_options),
        cmocka_unit_test(test_runner_http_error_message),
        cmocka_unit_test(test_runner_not_an_event_stream),
        cmocka_unit_test(test_runner_stream_without_done),
        cmocka_unit_test(test_runner_done_without_blank_line),
        cmocka_unit_test(test_runner_missing_usage),
        cmocka_unit_test(test_runner_malformed_event),
        cmocka_unit_test(test_runner_error_event),
        cmocka_unit_test(test_runner_timeout_keeps_partial),
        cmocka_unit_test(test_runner_usage_and_counts),
        cmocka_unit_test(test_runner_request_headers),
        cmocka_unit_test(test_runner_redirect_not_followed),
        cmocka_unit_test(test_runner_idle_and_event_limits),
        cmocka_unit_test(test_runner_connection_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
