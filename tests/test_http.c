/*
 * The transports (http.c with libcurl, h1.c built in) against a small server
 * on loopback: the same responses through both, kept-alive connections
 * reused, a kept-alive connection the server had closed retried on a new
 * one, refused connections, timeouts, and cancelling; responses larger than
 * one read, kept alive or ended by the server's close.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "fnv.h"
#include "http.h"
#include "loopback.h"
#include "llmbench/clock.h"

#define BODY "data: {\"x\":1}\n\ndata: [DONE]\n\n"

typedef struct server {
    int fd;
    unsigned port;
    int close_after; /* close each connection after one response, saying nothing */
    int silent;      /* read requests, answer nothing */
    int paced;       /* the second event 50 ms after the first */
    int big;         /* BIG_CHUNKED or BIG_CLOSED: a response of many reads */
    atomic_int stop;
    atomic_int accepts, requests;
    pthread_t th;
} server;

enum { BIG_CHUNKED = 1, BIG_CLOSED };
#define BIG_EVENTS 12000 /* about 210 KiB of events: several of the client's reads */

/* The big response's body: its events one after another. Also called on the
 * server's thread, where a cmocka assertion must not fail: abort instead. */
static char *big_body(size_t *len)
{
    size_t cap = (size_t)BIG_EVENTS * 32 + 32, n = 0;
    char *b = malloc(cap);
    if (!b)
        abort();
    for (int i = 0; i < BIG_EVENTS; i++)
        n += (size_t)snprintf(b + n, cap - n, "data: {\"x\":%d}\n\n", i);
    n += (size_t)snprintf(b + n, cap - n, "data: [DONE]\n\n");
    *len = n;
    return b;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return; /* the client left */
        p += k;
        n -= (size_t)k;
    }
}

/* The big response: one chunk of the whole body, or, for BIG_CLOSED, a body
 * that only the server's close ends. Its last 200 bytes go 30 ms after the
 * rest, just before the close. */
static void send_big(int fd, int how)
{
    size_t len;
    char *body = big_body(&len), head[160];
    int n =
        snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n%s\r\n",
                 how == BIG_CLOSED ? "Connection: close\r\n" : "Transfer-Encoding: chunked\r\n");
    size_t total = (size_t)n + len + 32, off = (size_t)n;
    char *all = malloc(total);
    if (!all)
        abort();
    memcpy(all, head, (size_t)n);
    if (how == BIG_CHUNKED)
        off += (size_t)snprintf(all + off, total - off, "%zx\r\n", len);
    memcpy(all + off, body, len);
    off += len;
    if (how == BIG_CHUNKED)
        off += (size_t)snprintf(all + off, total - off, "\r\n0\r\n\r\n");
    send_all(fd, all, off - 200);
    usleep(30000);
    send_all(fd, all + off - 200, 200);
    free(all);
    free(body);
}

/* One request head and its Content-Length body from buf[0, *len); 1 when whole. */
static int take_request(char *buf, size_t *len)
{
    char *end = memmem(buf, *len, "\r\n\r\n", 4), *cl;
    size_t need;
    if (!end)
        return 0;
    *end = '\0';
    cl = strcasestr(buf, "content-length:");
    need = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
    *end = '\r';
    if (*len < need)
        return 0;
    memmove(buf, buf + need, *len - need);
    *len -= need;
    return 1;
}

/* Closes connection i and moves the last one into its place. */
static void drop(int *conns, size_t *lens, char (*bufs)[4096], int *n, int i)
{
    close(conns[i]);
    if (i != --*n) {
        conns[i] = conns[*n];
        lens[i] = lens[*n];
        memcpy(bufs[i], bufs[*n], lens[i]);
    }
}

static void *server_main(void *arg)
{
    server *s = arg;
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n"
                                "f\r\ndata: {\"x\":1}\n\n\r\n"
                                "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";
    int conns[16];
    size_t lens[16];
    char bufs[16][4096];
    int n = 0, polled;
    while (!atomic_load(&s->stop)) {
        struct pollfd p[17];
        p[0].fd = s->fd;
        p[0].events = POLLIN;
        for (int i = 0; i < n; i++) {
            p[i + 1].fd = conns[i];
            p[i + 1].events = POLLIN;
        }
        if (poll(p, (nfds_t)n + 1, 20) <= 0)
            continue;
        polled = n; /* a connection accepted now has no revents yet */
        if ((p[0].revents & POLLIN) && n < 16) {
            int c = accept(s->fd, NULL, NULL);
            if (c >= 0) {
                conns[n] = c;
                lens[n++] = 0;
                atomic_fetch_add(&s->accepts, 1);
            }
        }
        for (int i = 0; i < polled && i < n; i++) {
            ssize_t got;
            if (!(p[i + 1].revents & (POLLIN | POLLHUP)))
                continue;
            got = read(conns[i], bufs[i] + lens[i], sizeof bufs[i] - lens[i]);
            if (got <= 0) {
                drop(conns, lens, bufs, &n, i);
                break;
            }
            lens[i] += (size_t)got;
            while (take_request(bufs[i], &lens[i])) {
                atomic_fetch_add(&s->requests, 1);
                if (s->silent)
                    continue;
                if (s->big) {
                    send_big(conns[i], s->big);
                    if (s->big == BIG_CLOSED)
                        lens[i] = SIZE_MAX; /* closed below */
                    break;
                }
                if (s->paced) {
                    /* Cut after the first event's chunk. */
                    size_t first = (size_t)(strstr(reply, "e\r\n") - reply);
                    if (send(conns[i], reply, first, MSG_NOSIGNAL) < 0 || usleep(50000) != 0 ||
                        send(conns[i], reply + first, sizeof reply - 1 - first, MSG_NOSIGNAL) < 0) {
                        /* the client left */
                    }
                } else if (send(conns[i], reply, sizeof reply - 1, MSG_NOSIGNAL) < 0) {
                    /* the client left */
                }
                if (s->close_after)
                    lens[i] = SIZE_MAX; /* closed below */
                break;
            }
            if (lens[i] == SIZE_MAX) {
                drop(conns, lens, bufs, &n, i);
                break;
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(conns[i]);
    return NULL;
}

static void server_up(server *s, int close_after, int silent)
{
    memset(s, 0, sizeof *s);
    s->close_after = close_after;
    s->silent = silent;
    s->fd = loopback_socket(16, &s->port);
    assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_down(server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->fd);
}

typedef struct outcome {
    int sleep_ms;   /* the handler sleeps this long once, a busy loop, */
    size_t busy_at; /* when this many bytes have come (0: at the first) */
    int slept;
    int count_only; /* only count the body's bytes and hash them */
    size_t total;
    uint64_t hash;
    uint64_t data_ns[8];
    int n_data;
    int done;
    int responses;
    long status;
    char ctype[64];
    char body[256];
    size_t body_len;
    llmbi_http_result res;
    char message[256];
} outcome;

static void on_response(void *user, long status, const char *content_type)
{
    outcome *o = user;
    o->responses++;
    o->status = status;
    snprintf(o->ctype, sizeof o->ctype, "%s", content_type);
}

static int on_data(void *user, const char *p, size_t n, uint64_t t_ns)
{
    outcome *o = user;
    assert_true(t_ns > 0 && t_ns <= llmb_now_ns());
    if (o->count_only) {
        o->hash = fnv1a(o->hash, p, n);
    } else {
        assert_true(o->body_len + n < sizeof o->body);
        memcpy(o->body + o->body_len, p, n);
        o->body_len += n;
    }
    o->total += n;
    if (o->n_data < 8)
        o->data_ns[o->n_data] = t_ns;
    o->n_data++;
    if (o->sleep_ms && !o->slept && o->total >= o->busy_at) {
        o->slept = 1;
        usleep((useconds_t)o->sleep_ms * 1000);
    }
    return 0;
}

static void on_done(void *user, const llmbi_http_result *res)
{
    outcome *o = user;
    o->done++;
    o->res = *res;
    snprintf(o->message, sizeof o->message, "%s", res->message);
}

static const llmbi_http_handlers handlers = {on_response, on_data, on_done};

static void outcome_init(outcome *o)
{
    memset(o, 0, sizeof *o);
    o->hash = FNV_OFFSET;
}

/* One request to the server, run to its end (or 5 s); o set up before. */
static void fetch_into(llmbi_http *h, unsigned port, llmb_transport tr, double timeout_s,
                       outcome *o)
{
    char url[64];
    llmbi_http_spec spec;
    llmb_error e;
    uint64_t give_up = llmb_now_ns() + 5 * LLMB_NS_PER_S;
    memset(&spec, 0, sizeof spec);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/x", port);
    spec.url = url;
    spec.body = "{}";
    spec.body_len = 2;
    spec.connect_timeout_s = 2;
    spec.timeout_s = timeout_s;
    spec.transport = tr;
    assert_int_equal(llmbi_http_start(h, &spec, &handlers, o, NULL, &e), LLMB_OK);
    while (!o->done && llmb_now_ns() < give_up)
        assert_int_equal(llmbi_http_poll(h, llmb_now_ns() + 50 * LLMB_NS_PER_MS, &e), LLMB_OK);
    assert_int_equal(o->done, 1);
}

/* The same, the handler sleeping sleep_ms after the first bytes. */
static void fetch_busy(llmbi_http *h, unsigned port, llmb_transport tr, double timeout_s,
                       int sleep_ms, outcome *o)
{
    outcome_init(o);
    o->sleep_ms = sleep_ms;
    fetch_into(h, port, tr, timeout_s, o);
}

static void fetch(llmbi_http *h, unsigned port, llmb_transport tr, double timeout_s, outcome *o)
{
    fetch_busy(h, port, tr, timeout_s, 0, o);
}

static void expect_ok(const outcome *o)
{
    if (o->res.error_class != LLMB_FAIL_NONE)
        fail_msg("failed: %s", o->message);
    assert_int_equal(o->responses, 1);
    assert_int_equal(o->status, 200);
    assert_int_equal(o->res.status, 200);
    assert_string_equal(o->ctype, "text/event-stream");
    assert_int_equal(o->body_len, strlen(BODY));
    assert_memory_equal(o->body, BODY, o->body_len);
}

static void test_http_same_through_both(void **state)
{
    server s;
    llmbi_http *h;
    llmb_error e;
    outcome o;
    (void)state;
    server_up(&s, 0, 0);
    assert_int_equal(llmbi_http_new(&h, &e), LLMB_OK);
    fetch(h, s.port, LLMB_TRANSPORT_LIBCURL, 0, &o);
    expect_ok(&o);
    fetch(h, s.port, LLMB_TRANSPORT_BUILTIN, 0, &o);
    expect_ok(&o);
    fetch(h, s.port, LLMB_TRANSPORT_AUTO, 0, &o);
    expect_ok(&o);
    assert_int_equal(llmbi_http_active(h), 0);
    llmbi_http_free(h);
    server_down(&s);
    assert_int_equal(atomic_load(&s.requests), 3);
}

static void test_http_builtin_reuses_connections(void **state)
{
    server s;
    llmbi_http *h;
    llmb_error e;
    outcome o;
    (void)state;
    server_up(&s, 0, 0);
    assert_int_equal(llmbi_http_new(&h, &e), LLMB_OK);
    for (int i = 0; i < 4; i++) {
        fetch(h, s.port, LLMB_TRANSPORT_BUILTIN, 0, &o);
        expect_ok(&o);
    }
    llmbi_http_free(h);
    server_down(&s);
    assert_int_equal(atomic_load(&s.requests), 4);
    assert_int_equal(atomic_load(&s.accepts), 1);
}

static void test_http_builtin_retries_closed_keepalive(void **state)
{
    /* The server ends each connection after its response, without saying so
     * first: the next request finds the kept connection dead and goes again
     * on a new one, which the caller never sees. */
    server s;
    llmbi_http *h;
    llmb_error e;
    outcome o;
    (void)state;
    server_up(&s, 1, 0);
    assert_int_equal(llmbi_http_new(&h, &e), LLMB_OK);
    for (int i = 0; i < 3; i++) {
        fetch(h, s.port, LLMB_TRANSPORT_BUILTIN, 0, &o);
        expect_ok(&o);
        usleep(20000); /* the server's close arrives while the connection waits */
    }
    llmbi_http_free(h);
    server_down(&s);
    assert_int_equal(atomic_load(&s.requests), 3);
    assert_int_equal(atomic_load(&s.accepts), 3);
}

static void test_http_builtin_arrival_is_the_kernels(void **state)
{
    /* The second event comes 50 ms after the first, while the loop is busy
     * for 150 ms: its arrival time is still when it came, not when the loop
     * got to it. */
    server s;
    llmbi_http *h;
    llmb_error e;
    outcome o;
    uint64_t gap;
    (void)state;
    server_up(&s, 0, 0);
    s.paced = 1;
    assert_int_equal(llmbi_http_new(&h, &e), LLMB_OK);
    fetch_busy(h, s.port, LLMB_TRANSPORT_BUILTIN, 0, 150, &o);
    expect_ok(&o);
    assert_true(o.n_data >= 2);
    gap = o.data_ns[o.n_data - 1] - o.data_ns[0];
    if (gap < 45 * LLMB_NS_PER_MS || gap > 120 * LLMB_NS_PER_MS)
        fail_msg("the second event's arrival is %.1f ms after the first (sent 50 ms after)",
                 (double)gap / 1e6);
    llmbi_http_free(h);
    server_down(&s);
}

static void test_http_big_responses(void **state)
{
    /* A response of many reads, whole on each transport: kept alive and the
     * connection used again, or ended only by the server's close. Once
     * straight through; once with the loop busy 60 ms after the first bytes;
     * once busy 60 ms when all but the last 200 bytes have come, so that
     * those and the close arrive together while it is busy: the close must
     * still be seen. */
    static const llmb_transport trs[] = {LLMB_TRANSPORT_BUILTIN, LLMB_TRANSPORT_LIBCURL};
    size_t len;
    char *body = big_body(&len);
    uint64_t want = fnv1a(FNV_OFFSET, body, len);
    free(body);
    (void)state;
    for (int how = BIG_CHUNKED; how <= BIG_CLOSED; how++) {
        for (size_t t = 0; t < 2; t++) {
            server s;
            llmbi_http *h;
            llmb_error e;
            outcome o;
            server_up(&s, 0, 0);
            s.big = how;
            assert_int_equal(llmbi_http_new(&h, &e), LLMB_OK);
            for (int k = 0; k < 3; k++) {
                outcome_init(&o);
                o.count_only = 1;
                o.sleep_ms = k ? 60 : 0;
                o.busy_at = k == 2 ? len - 200 : 0;
                fetch_into(h, s.port, trs[t], 0, &o);
                if (o.res.error_class != LLMB_FAIL_NONE)
                    fail_msg("big response %d, transport %zu, request %d: %s", how, t, k,
                             o.message);
                assert_int_equal(o.status, 200);
                assert_int_equal(o.total, len);
                assert_true(o.hash == want);
            }
            assert_int_equal(llmbi_http_active(h), 0);
            llmbi_http_free(h);
            server_down(&s);
            assert_int_equal(atomic_load(&s.requests), 3);
            if (how == BIG_CLOSED)
                assert_int_equal(atomic_load(&s.accepts), 3);
        }
    }
}

static void test_http_builtin_failures(void **state)
{
    server s;
    llmbi_http *h;
    llmb_error e;
    outcome o;
    int fd;
    unsigned port;
    (void)state;
    assert_int_equal(llmbi_http_new(&h, &e), LLMB_OK);
    /* A port nobody listens on: bound, never listening. */
    fd = loopback_socket(0, &port);
    fetch(h, port, LLMB_TRANSPORT_BUILTIN, 0, &o);
    close(fd);
    assert_int_equal(o.res.error_class, LLMB_FAIL_CONNECT);
    assert_non_null(strstr(o.message, "cannot connect"));
    assert_int_equal(o.responses, 0);
    /* A server that never answers: the request timeout ends it. */
    server_up(&s, 0, 1);
    fetch(h, s.port, LLMB_TRANSPORT_BUILTIN, 0.2, &o);
    assert_int_equal(o.res.error_class, LLMB_FAIL_TIMEOUT);
    assert_non_null(strstr(o.message, "timed out"));
    server_down(&s);
    assert_int_equal(llmbi_http_active(h), 0);
    llmbi_http_free(h);
}

static void test_http_builtin_cancel(void **state)
{
    /* Cancelled in flight: no callback, nothing left behind (LSan, valgrind). */
    server s;
    llmbi_http *h;
    llmbi_http_req *req = NULL;
    llmbi_http_spec spec;
    llmb_error e;
    outcome o;
    char url[64];
    (void)state;
    server_up(&s, 0, 1);
    assert_int_equal(llmbi_http_new(&h, &e), LLMB_OK);
    memset(&o, 0, sizeof o);
    memset(&spec, 0, sizeof spec);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/x", s.port);
    spec.url = url;
    spec.body = "{}";
    spec.body_len = 2;
    spec.transport = LLMB_TRANSPORT_BUILTIN;
    assert_int_equal(llmbi_http_start(h, &spec, &handlers, &o, &req, &e), LLMB_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(llmbi_http_poll(h, llmb_now_ns() + 10 * LLMB_NS_PER_MS, &e), LLMB_OK);
    assert_int_equal(llmbi_http_active(h), 1);
    llmbi_http_cancel(h, req);
    assert_int_equal(llmbi_http_active(h), 0);
    /* And one left in flight is ended by the free. */
    assert_int_equal(llmbi_http_start(h, &spec, &handlers, &o, &req, &e), LLMB_OK);
    llmbi_http_free(h);
    assert_int_equal(o.done, 0);
    server_down(&s);
}

static void test_http_blocking_get(void **state)
{
    /* The models lookup's GET, through each transport; and its size limit. */
    static const llmb_transport trs[] = {LLMB_TRANSPORT_BUILTIN, LLMB_TRANSPORT_LIBCURL};
    server s;
    char url[64], *body = NULL;
    size_t len = 0;
    long status = 0;
    llmb_error e;
    (void)state;
    server_up(&s, 0, 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/models", s.port);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(llmbi_http_get(url, NULL, 2, 5, 0, trs[i], 4096, &body, &len, &status, &e),
                         LLMB_OK);
        assert_int_equal(status, 200);
        assert_int_equal(len, strlen(BODY));
        assert_string_equal(body, BODY);
        free(body);
        assert_int_equal(llmbi_http_get(url, NULL, 2, 5, 0, trs[i], 10, &body, &len, &status, &e),
                         LLMB_ERR_LIMIT);
        assert_null(body);
        assert_non_null(strstr(e.text, "larger than 10 bytes"));
    }
    server_down(&s);
    assert_int_equal(atomic_load(&s.requests), 4);
    /* Nothing listening: the transport's reason, with the URL. */
    assert_int_equal(llmbi_http_get("http://127.0.0.1:1/v1/models", NULL, 2, 5, 0,
                                    LLMB_TRANSPORT_BUILTIN, 4096, &body, &len, &status, &e),
                     LLMB_ERR_TRANSFER);
    assert_non_null(strstr(e.text, "http://127.0.0.1:1/v1/models: cannot connect"));
}

static void test_http_builtin_refuses_https(void **state)
{
    llmbi_http *h;
    llmbi_http_spec spec;
    llmb_error e;
    outcome o;
    (void)state;
    assert_int_equal(llmbi_http_new(&h, &e), LLMB_OK);
    memset(&spec, 0, sizeof spec);
    spec.url = "https://127.0.0.1:9/v1";
    spec.transport = LLMB_TRANSPORT_BUILTIN;
    assert_int_equal(llmbi_http_start(h, &spec, &handlers, &o, NULL, &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "http://"));
    assert_true(llmbi_http_builtin_for("http://h:1/v1", LLMB_TRANSPORT_AUTO, 0));
    assert_false(llmbi_http_builtin_for("http://h:1/v1", LLMB_TRANSPORT_AUTO, 1));
    assert_true(llmbi_http_builtin_for("http://h:1/v1", LLMB_TRANSPORT_BUILTIN, 1));
    assert_false(llmbi_http_builtin_for("https://h/v1", LLMB_TRANSPORT_AUTO, 0));
    assert_false(llmbi_http_builtin_for("http://u:p@h/v1", LLMB_TRANSPORT_AUTO, 0));
    assert_false(llmbi_http_builtin_for("http://h/v1", LLMB_TRANSPORT_LIBCURL, 0));
    llmbi_http_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_same_through_both),
        cmocka_unit_test(test_http_builtin_reuses_connections),
        cmocka_unit_test(test_http_builtin_retries_closed_keepalive),
        cmocka_unit_test(test_http_builtin_arrival_is_the_kernels),
        cmocka_unit_test(test_http_big_responses),
        cmocka_unit_test(test_http_builtin_failures),
        cmocka_unit_test(test_http_builtin_cancel),
        cmocka_unit_test(test_http_blocking_get),
        cmocka_unit_test(test_http_builtin_refuses_https),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
