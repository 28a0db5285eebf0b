/*
 * Tests of the mock engine: a real engine on a loopback port in a thread,
 * spoken to over plain sockets with the small HTTP, chunk and SSE readers
 * below, so that what is checked is the bytes a client gets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "llmbench/clock.h"
#include "llmbench/mock.h"
#include "mock_internal.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define IO_TIMEOUT_NS (10 * LLMB_NS_PER_S) /* no single read waits longer */
#define MAX_EVENTS    64
#define CLI_BUF       (4u * 1024u * 1024u) /* room for a 2 MiB oversize event */
#define MARKS_MAX     512                  /* reads remembered by a capture */

/* ---- the engine in a thread ---- */

struct srv {
    llmb_mock *m;
    pthread_t thread;
    llmb_status rc;
    unsigned port;
};

static void *srv_thread(void *arg)
{
    struct srv *s = arg;
    s->rc = llmb_mock_run(s->m);
    return NULL;
}

static llmb_mock_options test_options(void)
{
    llmb_mock_options o = LLMB_MOCK_OPTIONS_INIT;
    o.ttft_ms = 1;
    o.itl_ms = 1;
    o.default_tokens = 4;
    return o;
}

static void srv_start(struct srv *s, const llmb_mock_options *o)
{
    llmb_error err;
    memset(s, 0, sizeof *s);
    memset(&err, 0, sizeof err);
    assert_int_equal(llmb_mock_new(o, &s->m, &err), LLMB_OK);
    s->port = llmb_mock_port(s->m);
    assert_true(s->port > 0);
    assert_int_equal(pthread_create(&s->thread, NULL, srv_thread, s), 0);
}

static void srv_stop(struct srv *s)
{
    struct timespec ts;
    llmb_mock_stop(s->m);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    assert_int_equal(pthread_timedjoin_np(s->thread, NULL, &ts), 0);
    assert_int_equal(s->rc, LLMB_OK);
    llmb_mock_free(s->m);
    s->m = NULL;
}

/* ---- a blocking client with deadlines ---- */

/*
 * A client connection. Live, each read waits for the socket. After
 * cli_capture it reads back what the capture stored, and each byte's arrival
 * time is that of the recv that brought it (marks), so that several streams
 * read at once keep their own times.
 */
struct cli {
    int fd;
    char *buf;
    size_t cap, off, len;
    size_t base;    /* bytes dropped from the front of buf so far */
    uint64_t rx_ns; /* when the last bytes arrived */
    int captured;   /* reading back a capture: no more bytes come */
    int eof;        /* the capture saw the end of the connection */
    int err;        /* or this recv error */
    size_t n_marks;
    size_t mark_end[MARKS_MAX]; /* stream offset after each recv */
    uint64_t mark_ns[MARKS_MAX];
};

static void cli_open(struct cli *c, unsigned port)
{
    struct sockaddr_in sa;
    int one = 1;
    memset(c, 0, sizeof *c);
    c->buf = malloc(CLI_BUF);
    assert_non_null(c->buf);
    c->cap = CLI_BUF;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void cli_close(struct cli *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

static void cli_send(struct cli *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

/* More bytes: 1, or 0 at end of stream, -1 on timeout or error. */
static int cli_fill(struct cli *c)
{
    uint64_t deadline = llmb_now_ns() + IO_TIMEOUT_NS;
    ssize_t r;
    if (c->captured)
        return 0;
    if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->base += c->off;
        c->off = 0;
    }
    if (c->len == c->cap)
        return -1;
    for (;;) {
        struct pollfd p = {c->fd, POLLIN, 0};
        uint64_t now = llmb_now_ns();
        int rc;
        if (now >= deadline)
            return -1;
        rc = poll(&p, 1, (int)((deadline - now) / LLMB_NS_PER_MS) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        break;
    }
    if (r < 0)
        return -1;
    c->rx_ns = llmb_now_ns();
    c->len += (size_t)r;
    return r > 0 ? 1 : 0;
}

/* One line ending in CRLF, without it; -1 when none comes. */
static int cli_line(struct cli *c, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->off));
            if (n == 0 || c->buf[c->off + n - 1] != '\r' || n > cap)
                return -1;
            memcpy(out, c->buf + c->off, n - 1);
            out[n - 1] = '\0';
            c->off += n + 1;
            return 0;
        }
        if (cli_fill(c) <= 0)
            return -1;
    }
}

static int cli_bytes(struct cli *c, char *out, size_t n)
{
    while (c->len - c->off < n) {
        if (cli_fill(c) <= 0)
            return -1;
    }
    memcpy(out, c->buf + c->off, n);
    c->off += n;
    return 0;
}

/* The peer closed the connection (and sent nothing more). */
static int cli_eof(struct cli *c)
{
    return c->len == c->off && cli_fill(c) == 0;
}

/* When the bytes up to the read position arrived. */
static uint64_t cli_time(const struct cli *c)
{
    size_t pos = c->base + c->off;
    if (!c->captured)
        return c->rx_ns;
    for (size_t i = 0; i < c->n_marks; i++) {
        if (c->mark_end[i] >= pos)
            return c->mark_ns[i];
    }
    fail_msg("no capture mark for offset %zu", pos);
    return 0;
}

/* Has a capture got the whole of a chunked stream (its last, empty chunk)? */
static int stream_complete(const struct cli *c)
{
    return c->len >= 7 && memmem(c->buf, c->len, "\r\n0\r\n\r\n", 7) != NULL;
}

/*
 * Read n connections at once, each until its stream is complete, it ends,
 * or it fails, or until wait_ns pass; then switch them to reading back.
 */
static void cli_capture(struct cli *cs, size_t n, uint64_t wait_ns)
{
    uint64_t deadline = llmb_now_ns() + wait_ns;
    struct pollfd p[8];
    assert_true(n <= 8);
    for (;;) {
        size_t live = 0;
        uint64_t now = llmb_now_ns();
        int rc;
        for (size_t i = 0; i < n; i++) {
            struct cli *c = &cs[i];
            p[i].fd = (c->eof || c->err || stream_complete(c)) ? -1 : c->fd;
            p[i].events = POLLIN;
            p[i].revents = 0;
            live += p[i].fd >= 0;
        }
        if (live == 0 || now >= deadline)
            break;
        rc = poll(p, n, (int)((deadline - now) / LLMB_NS_PER_MS) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        assert_true(rc >= 0);
        for (size_t i = 0; i < n; i++) {
            struct cli *c = &cs[i];
            ssize_t r;
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            assert_true(c->len < c->cap && c->n_marks < MARKS_MAX);
            r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                c->err = errno;
                continue;
            }
            if (r == 0) {
                c->eof = 1;
                continue;
            }
            c->len += (size_t)r;
            c->mark_end[c->n_marks] = c->len;
            c->mark_ns[c->n_marks++] = llmb_now_ns();
        }
    }
    for (size_t i = 0; i < n; i++)
        cs[i].captured = 1;
}

struct resp {
    int status;
    char head[8192];
    char *body;
    size_t body_len;
};

static void read_head(struct cli *c, struct resp *r)
{
    char line[4096];
    size_t used = 0;
    memset(r, 0, sizeof *r);
    assert_int_equal(cli_line(c, line, sizeof line), 0);
    assert_int_equal(strncmp(line, "HTTP/1.1 ", 9), 0);
    r->status = (int)strtol(line + 9, NULL, 10);
    for (;;) {
        size_t n;
        assert_int_equal(cli_line(c, line, sizeof line), 0);
        if (line[0] == '\0')
            break;
        n = strlen(line);
        assert_true(used + n + 2 < sizeof r->head);
        memcpy(r->head + used, line, n);
        memcpy(r->head + used + n, "\n", 2);
        used += n + 1;
    }
}

/* The value of a header (any case), or NULL. */
static const char *header(const struct resp *r, const char *name, char *val, size_t cap)
{
    const char *p = r->head;
    size_t n = strlen(name);
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t k;
            while (*v == ' ')
                v++;
            k = (size_t)(eol - v);
            if (k >= cap)
                k = cap - 1;
            memcpy(val, v, k);
            val[k] = '\0';
            return val;
        }
        p = eol + 1;
    }
    return NULL;
}

/* One chunk: 1 with its bytes (malloc'd), 0 for the last chunk. */
static int read_chunk(struct cli *c, char **data, size_t *len)
{
    char line[64], crlf[2];
    char *end;
    unsigned long n;
    assert_int_equal(cli_line(c, line, sizeof line), 0);
    errno = 0;
    n = strtoul(line, &end, 16);
    assert_true(errno == 0 && end != line && *end == '\0');
    if (n == 0) {
        assert_int_equal(cli_line(c, line, sizeof line), 0);
        assert_string_equal(line, "");
        return 0;
    }
    *data = malloc(n + 1);
    assert_non_null(*data);
    assert_int_equal(cli_bytes(c, *data, n), 0);
    (*data)[n] = '\0';
    *len = n;
    assert_int_equal(cli_bytes(c, crlf, 2), 0);
    assert_memory_equal(crlf, "\r\n", 2);
    return 1;
}

/* A whole response to a request that is not a stream. */
static void read_response(struct cli *c, struct resp *r)
{
    char val[64];
    read_head(c, r);
    assert_non_null(header(r, "Content-Length", val, sizeof val));
    r->body_len = strtoul(val, NULL, 10);
    r->body = malloc(r->body_len + 1);
    assert_non_null(r->body);
    assert_int_equal(cli_bytes(c, r->body, r->body_len), 0);
    r->body[r->body_len] = '\0';
}

static json_t *body_json(const struct resp *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body, r->body_len, 0, &e);
    assert_non_null(j);
    return j;
}

struct event {
    json_t *json; /* NULL for [DONE]; the data as a JSON string when `bad` */
    int bad;      /* the data is not JSON (a malformed fault) */
    size_t len;   /* bytes of the data */
    uint64_t t_ns;
};

static void events_free(struct event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(ev[i].json);
}

/*
 * Read a whole event stream: every chunk must be exactly one
 * "data: ...\n\n" event of compact JSON (or, with allow_bad, of something
 * that is not JSON), with [DONE] last when want_done and nowhere otherwise.
 */
static size_t read_events_ex(struct cli *c, struct event *ev, size_t max, int want_done,
                             int allow_bad)
{
    size_t n = 0;
    char *data;
    size_t len;
    while (read_chunk(c, &data, &len) == 1) {
        assert_true(n < max);
        assert_true(len > 8);
        assert_memory_equal(data, "data: ", 6);
        assert_memory_equal(data + len - 2, "\n\n", 2);
        ev[n].t_ns = cli_time(c);
        ev[n].bad = 0;
        ev[n].len = len - 8;
        if (len == 14 && memcmp(data + 6, "[DONE]", 6) == 0) {
            ev[n].json = NULL;
        } else {
            json_error_t e;
            char *again;
            if (n > 0 && ev[n - 1].json == NULL)
                fail_msg("an event after [DONE]");
            ev[n].json = json_loadb(data + 6, len - 8, 0, &e);
            if (!ev[n].json && allow_bad) {
                ev[n].bad = 1;
                ev[n].json = json_stringn(data + 6, len - 8);
                assert_non_null(ev[n].json);
                free(data);
                n++;
                continue;
            }
            assert_non_null(ev[n].json);
            /* Compact: dumping it compactly, keys in order, gives the same bytes. */
            again = json_dumps(ev[n].json, JSON_COMPACT);
            assert_non_null(again);
            assert_int_equal(strlen(again), len - 8);
            assert_memory_equal(again, data + 6, len - 8);
            free(again);
        }
        free(data);
        n++;
    }
    assert_true(n > 0);
    if (want_done) {
        assert_null(ev[n - 1].json);
    } else {
        for (size_t i = 0; i < n; i++)
            assert_non_null(ev[i].json);
    }
    return n;
}

static size_t read_events(struct cli *c, struct event *ev, size_t max)
{
    return read_events_ex(c, ev, max, 1, 0);
}

static void send_request(struct cli *c, const char *method, const char *path, const char *body,
                         const char *extra_headers)
{
    char head[1024];
    int n =
        snprintf(head, sizeof head,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n%s\r\n",
                 method, path, body ? strlen(body) : (size_t)0, extra_headers ? extra_headers : "");
    assert_true(n > 0 && (size_t)n < sizeof head);
    cli_send(c, head, (size_t)n);
    if (body)
        cli_send(c, body, strlen(body));
}

static void check_stream_head(struct cli *c)
{
    struct resp r;
    char val[128];
    read_head(c, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(header(&r, "Content-Type", val, sizeof val));
    assert_string_equal(val, "text/event-stream");
    assert_non_null(header(&r, "Transfer-Encoding", val, sizeof val));
    assert_string_equal(val, "chunked");
    assert_null(header(&r, "Content-Length", val, sizeof val));
}

/* Open, send one streaming request, read all its events. */
static size_t stream(unsigned port, const char *path, const char *body, struct event *ev)
{
    struct cli c;
    size_t n;
    cli_open(&c, port);
    send_request(&c, "POST", path, body, NULL);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    cli_close(&c);
    return n;
}

static json_t *choice0(json_t *ev)
{
    return json_array_get(json_object_get(ev, "choices"), 0);
}

static void assert_json(json_t *got, const char *want_text)
{
    json_t *want = json_loads(want_text, 0, NULL);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *s = json_dumps(got, JSON_COMPACT);
        print_error("got %s\nwant %s\n", s ? s : "(null)", want_text);
        free(s);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

static json_int_t int_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void assert_usage(json_t *usage, json_int_t prompt, json_int_t completion)
{
    char want[160];
    snprintf(want, sizeof want,
             "{\"prompt_tokens\":%" JSON_INTEGER_FORMAT
             ",\"completion_tokens\":%" JSON_INTEGER_FORMAT
             ",\"total_tokens\":%" JSON_INTEGER_FORMAT "}",
             prompt, completion, prompt + completion);
    assert_json(usage, want);
}

/* The common fields of every chunk of one stream. */
static void check_chunk_ids(struct event *ev, size_t n, const char *object, const char *model)
{
    const char *id = json_string_value(json_object_get(ev[0].json, "id"));
    json_int_t created = int_field(ev[0].json, "created");
    assert_non_null(id);
    assert_true(created > 1600000000);
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].json)
            continue;
        assert_string_equal(json_string_value(json_object_get(ev[i].json, "id")), id);
        assert_string_equal(json_string_value(json_object_get(ev[i].json, "object")), object);
        assert_string_equal(json_string_value(json_object_get(ev[i].json, "model")), model);
        assert_int_equal(int_field(ev[i].json, "created"), created);
    }
}

/* The text token k carries. */
static void expected_word(uint64_t k, char *out, size_t cap)
{
    int space;
    const char *w = llmbi_mock_word(k, &space);
    snprintf(out, cap, "%s%s", space ? " " : "", w);
}

/* ---- tests ---- */

static void test_mock_chat_stream_sequence(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct event ev[MAX_EVENTS];
    char want[256], word[32];
    size_t n, k;
    (void)state;

    srv_start(&s, &o);
    n = stream(s.port, "/v1/chat/completions",
               "{\"model\":\"my-model\",\"stream\":true,\"max_tokens\":3,"
               "\"stream_options\":{\"include_usage\":true},"
               "\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}]}",
               ev);
    /* role, 3 tokens, finish, usage, [DONE] */
    assert_int_equal(n, 7);
    check_chunk_ids(ev, n, "chat.completion.chunk", "my-model");
    assert_int_equal(
        strncmp(json_string_value(json_object_get(ev[0].json, "id")), "chatcmpl-mock-", 14), 0);
    assert_json(json_object_get(ev[0].json, "choices"),
                "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                "\"finish_reason\":null}]");
    for (k = 0; k < 3; k++) {
        expected_word(k, word, sizeof word);
        snprintf(want, sizeof want,
                 "[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"finish_reason\":null}]", word);
        assert_json(json_object_get(ev[1 + k].json, "choices"), want);
        assert_null(json_object_get(ev[1 + k].json, "usage"));
    }
    /* The words themselves, literally: the first without a space. */
    assert_json(choice0(ev[1].json), "{\"index\":0,\"delta\":{\"content\":\"Mock\"},"
                                     "\"finish_reason\":null}");
    assert_json(choice0(ev[2].json), "{\"index\":0,\"delta\":{\"content\":\" tokens\"},"
                                     "\"finish_reason\":null}");
    assert_json(json_object_get(ev[4].json, "choices"),
                "[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]");
    assert_null(json_object_get(ev[4].json, "usage"));
    assert_json(json_object_get(ev[5].json, "choices"), "[]");
    assert_usage(json_object_get(ev[5].json, "usage"), 3, 3);
    events_free(ev, n);
    srv_stop(&s);
}

static void test_mock_completions_stream_sequence(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct event ev[MAX_EVENTS];
    char want[256], word[32];
    size_t n, k;
    (void)state;

    o.model = "configured";
    srv_start(&s, &o);
    /* No model in the request: the configured one; no limit: default_tokens (4). */
    n = stream(s.port, "/v1/completions", "{\"prompt\":\"abc\",\"stream\":true}", ev);
    assert_int_equal(n, 6); /* 4 tokens, finish, [DONE]; no role chunk */
    check_chunk_ids(ev, n, "text_completion", "configured");
    assert_int_equal(
        strncmp(json_string_value(json_object_get(ev[0].json, "id")), "cmpl-mock-", 10), 0);
    for (k = 0; k < 4; k++) {
        expected_word(k, word, sizeof word);
        snprintf(want, sizeof want,
                 "[{\"index\":0,\"text\":\"%s\",\"logprobs\":null,\"finish_reason\":null}]", word);
        assert_json(json_object_get(ev[k].json, "choices"), want);
    }
    assert_json(json_object_get(ev[4].json, "choices"),
                "[{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"stop\"}]");
    events_free(ev, n);
    srv_stop(&s);
}

/* The usage a stream reports, wherever the mode puts it: 1 found, 0 none. */
static int stream_usage(unsigned port, const char *body, json_int_t *prompt, json_int_t *completion,
                        llmb_mock_usage mode)
{
    struct event ev[MAX_EVENTS];
    size_t n = stream(port, "/v1/chat/completions", body, ev), i, found = 0;
    json_t *fin = NULL;
    for (i = 0; i < n && ev[i].json; i++) {
        json_t *u = json_object_get(ev[i].json, "usage");
        json_t *g = json_object_get(ev[i].json, "x_groq");
        json_t *c = choice0(ev[i].json);
        if (c && json_is_string(json_object_get(c, "finish_reason")))
            fin = ev[i].json;
        if (g)
            u = json_object_get(g, "usage");
        if (!u)
            continue;
        found++;
        *prompt = int_field(u, "prompt_tokens");
        *completion = int_field(u, "completion_tokens");
        assert_int_equal(int_field(u, "total_tokens"), *prompt + *completion);
        /* Where the usage is, for each mode. */
        switch (mode) {
        case LLMB_MOCK_USAGE_FINAL:
            assert_int_equal(json_array_size(json_object_get(ev[i].json, "choices")), 0);
            assert_true(i == n - 2);
            break;
        case LLMB_MOCK_USAGE_LAST_CHUNK:
            assert_ptr_equal(ev[i].json, fin);
            assert_null(g);
            break;
        case LLMB_MOCK_USAGE_GROQ:
            assert_ptr_equal(ev[i].json, fin);
            assert_non_null(g);
            assert_true(json_is_string(json_object_get(g, "id")));
            assert_null(json_object_get(ev[i].json, "usage"));
            break;
        case LLMB_MOCK_USAGE_NONE:
            fail_msg("usage in mode NONE");
        }
    }
    assert_non_null(fin);
    assert_true(found <= 1);
    events_free(ev, n);
    return (int)found;
}

static void test_mock_usage_modes(void **state)
{
    static const char with_iu[] =
        "{\"stream\":true,\"max_tokens\":5,\"stream_options\":{\"include_usage\":true},"
        "\"messages\":[{\"role\":\"user\",\"content\":\"123456789\"}]}";
    static const char without_iu[] =
        "{\"stream\":true,\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
        "\"content\":\"123456789\"}]}";
    llmb_mock_usage modes[] = {LLMB_MOCK_USAGE_FINAL, LLMB_MOCK_USAGE_LAST_CHUNK,
                               LLMB_MOCK_USAGE_GROQ, LLMB_MOCK_USAGE_NONE};
    (void)state;

    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        llmb_mock_options o = test_options();
        struct srv s;
        json_int_t p = -1, c = -1;
        o.usage = modes[i];
        srv_start(&s, &o);
        if (modes[i] == LLMB_MOCK_USAGE_NONE) {
            assert_int_equal(stream_usage(s.port, with_iu, &p, &c, modes[i]), 0);
        } else {
            assert_int_equal(stream_usage(s.port, with_iu, &p, &c, modes[i]), 1);
            assert_int_equal(p, 3); /* ceil(9 / 4) */
            assert_int_equal(c, 5);
        }
        /* FINAL reports only when asked; the others do not care. */
        assert_int_equal(stream_usage(s.port, without_iu, &p, &c, modes[i]),
                         modes[i] == LLMB_MOCK_USAGE_LAST_CHUNK ||
                             modes[i] == LLMB_MOCK_USAGE_GROQ);
        srv_stop(&s);
    }
}

/* Content tokens and finish reason of a chat stream with the given limit field. */
static void check_limit(unsigned port, const char *limit_field, size_t want_tokens,
                        const char *want_reason)
{
    struct event ev[MAX_EVENTS];
    char body[256];
    size_t n, i, tokens = 0;
    json_t *last;
    snprintf(body, sizeof body,
             "{\"stream\":true,%s\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
             limit_field);
    n = stream(port, "/v1/chat/completions", body, ev);
    for (i = 1; i < n && ev[i].json; i++) {
        json_t *content = json_object_get(json_object_get(choice0(ev[i].json), "delta"), "content");
        if (content)
            tokens++;
    }
    assert_int_equal(tokens, want_tokens);
    /* role, tokens, finish, [DONE] (usage FINAL and not asked) */
    assert_int_equal(n, want_tokens + 3);
    last = ev[n - 2].json;
    assert_string_equal(json_string_value(json_object_get(choice0(last), "finish_reason")),
                        want_reason);
    events_free(ev, n);
}

static void test_mock_max_tokens(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    (void)state;
    o.default_tokens = 7;
    srv_start(&s, &o);
    check_limit(s.port, "\"max_tokens\":0,", 0, "length");
    check_limit(s.port, "\"max_tokens\":1,", 1, "length");
    check_limit(s.port, "\"max_tokens\":5,", 5, "length");
    check_limit(s.port, "\"max_completion_tokens\":2,", 2, "length");
    check_limit(s.port, "\"max_completion_tokens\":2,\"max_tokens\":9,", 2, "length");
    check_limit(s.port, "\"max_tokens\":null,", 7, "stop");
    check_limit(s.port, "", 7, "stop");
    srv_stop(&s);
}

static void test_mock_prompt_tokens(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct event ev[MAX_EVENTS];
    size_t n;
    (void)state;

    assert_int_equal(llmb_mock_prompt_tokens("", 0), 0);
    assert_int_equal(llmb_mock_prompt_tokens("a", 1), 1);
    assert_int_equal(llmb_mock_prompt_tokens("abcd", 4), 1);
    assert_int_equal(llmb_mock_prompt_tokens("abcde", 5), 2);
    assert_int_equal(llmb_mock_prompt_tokens(NULL, 4096), 1024);

    o.usage = LLMB_MOCK_USAGE_LAST_CHUNK;
    srv_start(&s, &o);
    /* Per message: ceil(5/4) + ceil(3/4) + 0 = 3, bytes not characters ("é" is 2). */
    n = stream(s.port, "/v1/chat/completions",
               "{\"stream\":true,\"max_tokens\":1,\"messages\":["
               "{\"role\":\"system\",\"content\":\"abcde\"},"
               "{\"role\":\"user\",\"content\":\"x\\u00e9\"},"
               "{\"role\":\"assistant\",\"content\":\"\"}]}",
               ev);
    assert_usage(json_object_get(ev[n - 2].json, "usage"), 3, 1);
    events_free(ev, n);
    n = stream(s.port, "/v1/completions",
               "{\"stream\":true,\"max_tokens\":2,\"prompt\":\"0123456789abcdefg\"}", ev);
    assert_usage(json_object_get(ev[n - 2].json, "usage"), 5, 2);
    events_free(ev, n);
    srv_stop(&s);
}

static void test_mock_token_timing(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct event ev[MAX_EVENTS];
    llmb_mock_stats st;
    uint64_t t0, slack_ns;
    size_t n, k;
    static const char body[] =
        "{\"stream\":true,\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    static const char body0[] =
        "{\"stream\":true,\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    (void)state;

    /* Generous for a loaded machine, yet far below what a wrong schedule would
     * give (a missing ttft is 30 ms early, a wrong gap 5 ms per token). */
    slack_ns = (RUNNING_ON_VALGRIND || getenv("LLMB_TEST_SLOW") ? 200 : 15) * LLMB_NS_PER_MS;
    o.ttft_ms = 30;
    o.itl_ms = 5;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    t0 = llmb_now_ns();
    send_request(&c, "POST", "/v1/chat/completions", body, NULL);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 13); /* role, 10 tokens, finish, [DONE] */
    /* The role chunk leaves at once. */
    assert_true(ev[0].t_ns - t0 < slack_ns);
    for (k = 0; k < 10; k++) {
        uint64_t due = t0 + 30 * LLMB_NS_PER_MS + k * 5 * LLMB_NS_PER_MS;
        /* Never early: the request arrived after t0. */
        if (ev[1 + k].t_ns < due || ev[1 + k].t_ns > due + slack_ns)
            fail_msg("token %zu at %.3f ms, due at %.3f ms", k, (ev[1 + k].t_ns - t0) / 1e6,
                     (due - t0) / 1e6);
    }
    /* The finish chunk leaves with the last token (in the same write, so it
     * comes in the same read), not an inter-token gap later. */
    assert_true(ev[11].t_ns - ev[10].t_ns < 2 * LLMB_NS_PER_MS);
    events_free(ev, n);

    /* No tokens: the finish chunk leaves at ttft. */
    t0 = llmb_now_ns();
    send_request(&c, "POST", "/v1/chat/completions", body0, NULL);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 3); /* role, finish, [DONE] */
    if (ev[1].t_ns < t0 + 30 * LLMB_NS_PER_MS || ev[1].t_ns > t0 + 30 * LLMB_NS_PER_MS + slack_ns)
        fail_msg("finish of an empty answer at %.3f ms, due at 30 ms", (ev[1].t_ns - t0) / 1e6);
    cli_close(&c);

    llmb_mock_get_stats(s.m, &st);
    assert_int_equal(st.events, 12);
    assert_true(st.late_max_ns < slack_ns);
    assert_true(st.late_p50_ns <= st.late_p99_ns && st.late_p99_ns <= st.late_max_ns);
    events_free(ev, n);
    srv_stop(&s);
}

static void test_mock_keep_alive(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    struct event ev[MAX_EVENTS];
    llmb_mock_stats st;
    json_t *j;
    char twice[1024];
    size_t n;
    static const char chat[] =
        "{\"stream\":true,\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    (void)state;

    srv_start(&s, &o);
    cli_open(&c, s.port);
    /* A stream, then a plain answer, then a GET, on one connection. */
    send_request(&c, "POST", "/v1/chat/completions", chat, NULL);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 5);
    events_free(ev, n);
    send_request(&c, "POST", "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", NULL);
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    /* Two requests in one write: answered in order. */
    n = (size_t)snprintf(twice, sizeof twice,
                         "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
                         "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         strlen(chat), chat);
    cli_send(&c, twice, n);
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "list");
    json_decref(j);
    free(r.body);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 5);
    events_free(ev, n);
    /* Connection: close is honoured after the answer. */
    send_request(&c, "GET", "/v1/models", NULL, "Connection: close\r\n");
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_true(cli_eof(&c));
    cli_close(&c);
    llmb_mock_get_stats(s.m, &st);
    assert_int_equal(st.requests, 5);
    assert_int_equal(st.max_open_connections, 1);
    srv_stop(&s);
}

static void test_mock_stream_false(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    char val[64];
    json_t *j;
    uint64_t t0;
    (void)state;

    o.ttft_ms = 20;
    o.itl_ms = 5;
    o.usage = LLMB_MOCK_USAGE_NONE; /* does not apply to whole answers */
    srv_start(&s, &o);
    cli_open(&c, s.port);
    t0 = llmb_now_ns();
    send_request(&c, "POST", "/v1/chat/completions",
                 "{\"model\":\"m1\",\"stream\":false,\"max_tokens\":3,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}",
                 NULL);
    read_response(&c, &r);
    /* Sent when the last token would have been: 20 + 2 * 5 ms. */
    assert_true(c.rx_ns >= t0 + 30 * LLMB_NS_PER_MS);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type", val, sizeof val), "application/json");
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "chat.completion");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "m1");
    assert_json(json_object_get(j, "choices"),
                "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                "\"Mock tokens arrive\"},\"finish_reason\":\"length\"}]");
    assert_usage(json_object_get(j, "usage"), 2, 3);
    json_decref(j);
    free(r.body);

    /* Completions, no stream field, default tokens (4), no limit: "stop". */
    send_request(&c, "POST", "/v1/completions", "{\"prompt\":\"abcd\"}", NULL);
    read_response(&c, &r);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "text_completion");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "mock-model");
    assert_json(json_object_get(j, "choices"),
                "[{\"index\":0,\"text\":\"Mock tokens arrive on\",\"logprobs\":null,"
                "\"finish_reason\":\"stop\"}]");
    assert_usage(json_object_get(j, "usage"), 1, 4);
    json_decref(j);
    free(r.body);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_models(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    json_t *j, *d;
    (void)state;

    o.model = "listed-model";
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_request(&c, "GET", "/v1/models", NULL, NULL);
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "list");
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
    d = json_array_get(json_object_get(j, "data"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "id")), "listed-model");
    assert_string_equal(json_string_value(json_object_get(d, "object")), "model");
    assert_string_equal(json_string_value(json_object_get(d, "owned_by")), "llmbench-mock");
    assert_true(int_field(d, "created") > 0);
    json_decref(j);
    free(r.body);
    cli_close(&c);
    srv_stop(&s);
}

/* Send raw bytes on a new connection; the response, whose connection stays open. */
static void raw_exchange(struct cli *c, unsigned port, const char *raw, struct resp *r)
{
    cli_open(c, port);
    cli_send(c, raw, strlen(raw));
    read_response(c, r);
}

static void check_error(struct resp *r, int status, const char *fragment)
{
    json_t *j, *e;
    assert_int_equal(r->status, status);
    j = body_json(r);
    e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "type")), "invalid_request_error");
    assert_true(json_is_null(json_object_get(e, "code")));
    if (!strstr(json_string_value(json_object_get(e, "message")), fragment))
        fail_msg("error message '%s' lacks '%s'", json_string_value(json_object_get(e, "message")),
                 fragment);
    json_decref(j);
    free(r->body);
}

static void test_mock_errors(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    static char big[20000];
    char val[64];
    (void)state;

    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_request(&c, "GET", "/v2/nothing", NULL, NULL);
    read_response(&c, &r);
    check_error(&r, 404, "/v2/nothing");
    send_request(&c, "GET", "/v1/chat/completions", NULL, NULL);
    read_response(&c, &r);
    assert_string_equal(header(&r, "Allow", val, sizeof val), "POST");
    check_error(&r, 405, "GET");
    send_request(&c, "POST", "/v1/models", "{}", NULL);
    read_response(&c, &r);
    check_error(&r, 405, "POST");
    send_request(&c, "POST", "/v1/chat/completions", "{\"messages\": [", NULL);
    read_response(&c, &r);
    check_error(&r, 400, "not valid JSON");
    send_request(&c, "POST", "/v1/chat/completions", "[1]", NULL);
    read_response(&c, &r);
    check_error(&r, 400, "object");
    send_request(&c, "POST", "/v1/chat/completions", "{\"model\":\"m\"}", NULL);
    read_response(&c, &r);
    check_error(&r, 400, "messages");
    send_request(&c, "POST", "/v1/completions", "{\"prompt\":[1,2]}", NULL);
    read_response(&c, &r);
    check_error(&r, 400, "prompt");
    send_request(&c, "POST", "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":-1}", NULL);
    read_response(&c, &r);
    check_error(&r, 400, "max_tokens");
    send_request(&c, "POST", "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1.5}", NULL);
    read_response(&c, &r);
    check_error(&r, 400, "max_tokens");
    send_request(&c, "POST", "/v1/completions", "{\"prompt\":\"x\",\"stream\":\"yes\"}", NULL);
    read_response(&c, &r);
    check_error(&r, 400, "stream");
    /* After all those, the connection still serves. */
    send_request(&c, "GET", "/v1/models", NULL, NULL);
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    cli_close(&c);

    /* Too large a body is refused before it is sent, and the connection closed. */
    raw_exchange(&c, s.port,
                 "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 9437184\r\n"
                 "Expect: 100-continue\r\n\r\n",
                 &r);
    assert_string_equal(header(&r, "Connection", val, sizeof val), "close");
    check_error(&r, 413, "8 MiB");
    assert_true(cli_eof(&c));
    cli_close(&c);

    /* A head beyond 16 KiB. */
    memcpy(big, "GET /v1/models HTTP/1.1\r\nX-Big: ", 32);
    memset(big + 32, 'a', 20000 - 33);
    big[19999] = '\0';
    raw_exchange(&c, s.port, big, &r);
    check_error(&r, 431, "16 KiB");
    assert_true(cli_eof(&c));
    cli_close(&c);

    /* Malformed heads. */
    raw_exchange(&c, s.port, "GARBAGE\r\n\r\n", &r);
    check_error(&r, 400, "malformed");
    cli_close(&c);
    raw_exchange(&c, s.port,
                 "GET /v1/models HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &r);
    check_error(&r, 400, "malformed");
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_expect_continue(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    char line[128];
    static const char body[] = "{\"prompt\":\"x\",\"max_tokens\":1}";
    char head[256];
    (void)state;

    srv_start(&s, &o);
    cli_open(&c, s.port);
    snprintf(head, sizeof head,
             "POST /v1/completions HTTP/1.1\r\nhost: x\r\nCONTENT-LENGTH: %zu\r\n"
             "expect: 100-Continue\r\n\r\n",
             strlen(body));
    cli_send(&c, head, strlen(head));
    assert_int_equal(cli_line(&c, line, sizeof line), 0);
    assert_string_equal(line, "HTTP/1.1 100 Continue");
    assert_int_equal(cli_line(&c, line, sizeof line), 0);
    assert_string_equal(line, "");
    cli_send(&c, body, strlen(body));
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_http10_stream(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    char line[4096];
    static const char body[] = "{\"prompt\":\"x\",\"max_tokens\":2,\"stream\":true}";
    char req[256];
    int events = 0, done = 0;
    (void)state;

    srv_start(&s, &o);
    cli_open(&c, s.port);
    snprintf(req, sizeof req, "POST /v1/completions HTTP/1.0\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    cli_send(&c, req, strlen(req));
    /* No chunks in HTTP/1.0: plain events, then the connection closes. */
    assert_int_equal(cli_line(&c, line, sizeof line), 0);
    assert_string_equal(line, "HTTP/1.1 200 OK");
    for (;;) {
        char *nl;
        while (!(nl = memchr(c.buf + c.off, '\n', c.len - c.off))) {
            if (cli_fill(&c) <= 0)
                goto end;
        }
        *nl = '\0';
        if (strncmp(c.buf + c.off, "Transfer-Encoding", 17) == 0)
            fail_msg("chunked answer to HTTP/1.0");
        if (strncmp(c.buf + c.off, "data: [DONE]", 12) == 0)
            done = 1;
        else if (strncmp(c.buf + c.off, "data: ", 6) == 0)
            events++;
        c.off = (size_t)(nl - c.buf) + 1;
    }
end:
    assert_int_equal(events, 3); /* 2 tokens and the finish */
    assert_true(done);
    assert_true(c.len == c.off);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_disconnect_mid_stream(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli a, b;
    struct event ev[MAX_EVENTS];
    llmb_mock_stats st;
    char *data;
    size_t len, n;
    uint64_t deadline;
    static const char body[] =
        "{\"stream\":true,\"max_tokens\":40,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    (void)state;

    o.ttft_ms = 2;
    o.itl_ms = 2;
    srv_start(&s, &o);
    cli_open(&a, s.port);
    cli_open(&b, s.port);
    send_request(&a, "POST", "/v1/chat/completions", body, NULL);
    send_request(&b, "POST", "/v1/chat/completions", body, NULL);
    check_stream_head(&a);
    /* a reads its role chunk and two tokens, then goes away. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(read_chunk(&a, &data, &len), 1);
        free(data);
    }
    cli_close(&a);
    check_stream_head(&b);
    n = read_events(&b, ev, MAX_EVENTS);
    assert_int_equal(n, 43); /* role, 40 tokens, finish, [DONE]: all of them */
    events_free(ev, n);
    /* The engine forgets the gone client: only b remains open. */
    deadline = llmb_now_ns() + 5 * LLMB_NS_PER_S;
    do {
        llmb_mock_get_stats(s.m, &st);
        if (st.open_connections == 1)
            break;
        usleep(1000);
    } while (llmb_now_ns() < deadline);
    assert_int_equal(st.open_connections, 1);
    assert_int_equal(st.max_open_connections, 2);
    assert_int_equal(st.requests, 1); /* a's answer was never finished */
    cli_close(&b);
    srv_stop(&s);
}

struct stopper {
    llmb_mock *m;
    unsigned delay_ms;
};

static void *stop_later(void *arg)
{
    struct stopper *st = arg;
    usleep(st->delay_ms * 1000);
    llmb_mock_stop(st->m);
    return NULL;
}

static void test_mock_stop_from_thread(void **state)
{
    llmb_mock_options o = test_options();
    llmb_mock *m;
    struct cli c;
    struct srv s;
    pthread_t t;
    struct stopper st;
    char *data;
    size_t len;
    uint64_t t0;
    (void)state;

    /* Asked before it runs, a stop makes run return at once. */
    assert_int_equal(llmb_mock_new(&o, &m, NULL), LLMB_OK);
    llmb_mock_stop(m);
    t0 = llmb_now_ns();
    assert_int_equal(llmb_mock_run(m), LLMB_OK);
    assert_true(llmb_now_ns() - t0 < LLMB_NS_PER_S);
    llmb_mock_free(m);

    /* A stop from a third thread ends a long stream and the run. */
    o.itl_ms = 1000;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_request(&c, "POST", "/v1/chat/completions",
                 "{\"stream\":true,\"max_tokens\":100,\"messages\":[{\"role\":\"user\","
                 "\"content\":\"x\"}]}",
                 NULL);
    check_stream_head(&c);
    assert_int_equal(read_chunk(&c, &data, &len), 1); /* role */
    free(data);
    st.m = s.m;
    st.delay_ms = 20;
    assert_int_equal(pthread_create(&t, NULL, stop_later, &st), 0);
    t0 = llmb_now_ns();
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        assert_int_equal(pthread_timedjoin_np(s.thread, NULL, &ts), 0);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(s.rc, LLMB_OK);
    assert_true(llmb_now_ns() - t0 < 5 * LLMB_NS_PER_S);
    /* The stream was cut: the token chunk, if any, then end of connection. */
    for (;;) {
        int rc = cli_fill(&c);
        assert_true(rc >= 0);
        if (rc == 0)
            break;
    }
    assert_null(memmem(c.buf, c.len, "[DONE]", 6));
    cli_close(&c);
    llmb_mock_free(s.m);
}

static void test_mock_stats(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    struct event ev[MAX_EVENTS];
    llmb_mock_stats st;
    json_t *j;
    size_t n;
    (void)state;

    srv_start(&s, &o);
    llmb_mock_get_stats(s.m, &st);
    assert_int_equal(st.requests, 0);
    assert_int_equal(st.events, 0);
    assert_int_equal(st.late_max_ns, 0);
    /* 3 tokens + finish = 4 events; a whole answer is 1; 0 tokens: the finish only. */
    n = stream(s.port, "/v1/chat/completions",
               "{\"stream\":true,\"max_tokens\":3,\"messages\":[{\"role\":\"user\","
               "\"content\":\"x\"}]}",
               ev);
    events_free(ev, n);
    n = stream(s.port, "/v1/completions", "{\"stream\":true,\"max_tokens\":0,\"prompt\":\"x\"}",
               ev);
    assert_int_equal(n, 2);
    events_free(ev, n);
    cli_open(&c, s.port);
    send_request(&c, "POST", "/v1/completions", "{\"max_tokens\":2,\"prompt\":\"x\"}", NULL);
    read_response(&c, &r);
    free(r.body);
    send_request(&c, "GET", "/nowhere", NULL, NULL);
    read_response(&c, &r);
    free(r.body);
    send_request(&c, "GET", "/mock/stats", NULL, NULL);
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_int_equal(int_field(j, "requests"), 4);
    assert_int_equal(int_field(j, "events"), 6);
    assert_int_equal(int_field(j, "open_connections"), 1);
    assert_true(int_field(j, "max_open_connections") >= 1);
    assert_true(int_field(j, "late_p50_us") <= int_field(j, "late_p99_us"));
    assert_true(int_field(j, "late_p99_us") <= int_field(j, "late_max_us"));
    assert_true(json_is_integer(json_object_get(j, "late_over_1ms")));
    json_decref(j);
    free(r.body);
    cli_close(&c);
    llmb_mock_get_stats(s.m, &st);
    assert_int_equal(st.requests, 5);
    assert_int_equal(st.events, 6);
    assert_true(st.late_p50_ns <= st.late_p99_ns && st.late_p99_ns <= st.late_max_ns);
    srv_stop(&s);
}

static void test_mock_max_connections(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli a, b, c;
    struct resp r;
    (void)state;

    o.max_connections = 2;
    srv_start(&s, &o);
    cli_open(&a, s.port);
    cli_open(&b, s.port);
    /* Make sure both are accepted before the third knocks. */
    send_request(&a, "GET", "/v1/models", NULL, NULL);
    read_response(&a, &r);
    free(r.body);
    send_request(&b, "GET", "/v1/models", NULL, NULL);
    read_response(&b, &r);
    free(r.body);
    cli_open(&c, s.port);
    assert_true(cli_eof(&c));
    cli_close(&c);
    cli_close(&a);
    cli_close(&b);
    srv_stop(&s);
}

static void test_mock_head_parser(void **state)
{
    static const char req[] = "\r\nPOST /v1/completions?x=1 HTTP/1.1\r\n"
                              "hOsT: a\r\n"
                              "content-length:   12  \r\n"
                              "Connection: Keep-Alive, CLOSE\r\n"
                              "\r\nbody";
    llmbi_mock_head h;
    size_t scan = 0, i;
    (void)state;

    /* Byte by byte: partial until the blank line is complete. */
    for (i = 0; i + 4 < sizeof req - 1; i++)
        assert_int_equal(llmbi_mock_parse_head(req, i, &scan, &h), LLMBI_MOCK_HEAD_PARTIAL);
    assert_int_equal(llmbi_mock_parse_head(req, i, &scan, &h), LLMBI_MOCK_HEAD_DONE);
    assert_int_equal(h.head_len, sizeof req - 1 - 4);
    assert_int_equal(h.method_len, 4);
    assert_memory_equal(req + h.method_off, "POST", 4);
    assert_int_equal(h.path_len, 15);
    assert_memory_equal(req + h.path_off, "/v1/completions", 15);
    assert_int_equal(h.version_minor, 1);
    assert_true(h.has_length);
    assert_int_equal(h.content_length, 12);
    assert_true(h.conn_close && h.conn_keep_alive);
    assert_false(h.expect_continue || h.te_other);

    scan = 0;
    assert_int_equal(
        llmbi_mock_parse_head("GET / HTTP/1.1\nTransfer-Encoding: chunked\n\n", 43, &scan, &h),
        LLMBI_MOCK_HEAD_DONE);
    assert_true(h.te_other);
    scan = 0;
    assert_int_equal(llmbi_mock_parse_head("GET / HTTP/2.0\r\n\r\n", 18, &scan, &h),
                     LLMBI_MOCK_HEAD_BAD);
    scan = 0;
    assert_int_equal(llmbi_mock_parse_head("GET / HTTP/1.1\r\n folded: x\r\n\r\n", 31, &scan, &h),
                     LLMBI_MOCK_HEAD_BAD);
    scan = 0;
    assert_int_equal(
        llmbi_mock_parse_head("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 38, &scan, &h),
        LLMBI_MOCK_HEAD_BAD);
    scan = 0;
    assert_int_equal(llmbi_mock_parse_head("GET nopath HTTP/1.1\r\n\r\n", 23, &scan, &h),
                     LLMBI_MOCK_HEAD_BAD);
}

static void test_mock_new_rejects_bad_options(void **state)
{
    llmb_mock_options o = LLMB_MOCK_OPTIONS_INIT;
    llmb_mock *m = (llmb_mock *)&o;
    llmb_error err;
    char long_model[300];
    (void)state;

    o.ttft_ms = -1;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    assert_null(m);
    assert_true(err.text[0] != '\0');
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.max_connections = 0;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    memset(long_model, 'm', sizeof long_model - 1);
    long_model[sizeof long_model - 1] = '\0';
    o.model = long_model;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.host = "256.1.1.1";
    assert_int_not_equal(llmb_mock_new(&o, &m, &err), LLMB_OK);
    assert_null(m);
    /* The load model and the faults; each message names its option. */
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.itl_per_stream_ms = -1;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    assert_non_null(strstr(err.text, "itl_per_stream_ms"));
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.ttft_per_stream_ms = 1.0 / 0.0;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.fault = (llmb_mock_fault)LLMB_MOCK_FAULT_KINDS;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    assert_non_null(strstr(err.text, "fault"));
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.fault_probability = 1.5;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    assert_non_null(strstr(err.text, "fault_probability"));
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.fault_size = 100;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    assert_non_null(strstr(err.text, "fault_size"));
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.fault = LLMB_MOCK_FAULT_STATUS;
    o.fault_status = 302;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    assert_non_null(strstr(err.text, "fault_status"));
    o.fault = LLMB_MOCK_FAULT_HTML; /* a 302 page is fine */
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_OK);
    llmb_mock_free(m);
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.fault_retry_after = 86401;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    assert_non_null(strstr(err.text, "fault_retry_after"));
    o = (llmb_mock_options)LLMB_MOCK_OPTIONS_INIT;
    o.fault_after = 1000001;
    assert_int_equal(llmb_mock_new(&o, &m, &err), LLMB_ERR_INVALID);
    assert_non_null(strstr(err.text, "fault_after"));
    /* NULL options are the defaults; NULL frees nothing. */
    assert_int_equal(llmb_mock_new(NULL, &m, &err), LLMB_OK);
    assert_true(llmb_mock_port(m) > 0);
    llmb_mock_free(m);
    llmb_mock_free(NULL);
}

/* ---- the load model ---- */

/* A timing tolerance: generous on a loaded machine, wide under valgrind. */
static uint64_t slack_ns(void)
{
    return (RUNNING_ON_VALGRIND || getenv("LLMB_TEST_SLOW") ? 200 : 15) * LLMB_NS_PER_MS;
}

static void send_chat(struct cli *c, unsigned tokens, int stream, const char *fault)
{
    char body[256], hdr[256];
    snprintf(body, sizeof body,
             "{\"stream\":%s,\"max_tokens\":%u,\"messages\":[{\"role\":\"user\",\"content\":"
             "\"x\"}]}",
             stream ? "true" : "false", tokens);
    if (fault)
        snprintf(hdr, sizeof hdr, "X-Mock-Fault: %s\r\n", fault);
    send_request(c, "POST", "/v1/chat/completions", body, fault ? hdr : NULL);
}

static void check_in(uint64_t t, uint64_t t0, uint64_t due_ms, uint64_t slack, const char *what)
{
    uint64_t due = t0 + due_ms * LLMB_NS_PER_MS;
    if (t < due || t > due + slack)
        fail_msg("%s at %.3f ms, due at %" PRIu64 " ms (+%.0f ms)", what, (double)(t - t0) / 1e6,
                 due_ms, (double)slack / 1e6);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The statistics once no request is in progress (they move just before the bytes do). */
static void stats_when_idle(struct srv *s, llmb_mock_stats *st)
{
    uint64_t deadline = llmb_now_ns() + 5 * LLMB_NS_PER_S;
    do {
        llmb_mock_get_stats(s->m, st);
        if (st->active == 0 && st->queued == 0)
            return;
        usleep(1000);
    } while (llmb_now_ns() < deadline);
    fail_msg("requests still active or queued");
}

static void test_mock_slots_queue(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli cs[4], c;
    struct resp r;
    struct event ev[MAX_EVENTS];
    llmb_mock_stats st;
    uint64_t t0, first[4], role[4], slack = slack_ns();
    json_t *j;
    size_t i, k, n;
    (void)state;

    /* One generation: 30 ms to the first token, then 4 gaps of 10 ms: 70 ms. */
    o.slots = 2;
    o.ttft_ms = 30;
    o.itl_ms = 10;
    srv_start(&s, &o);
    for (i = 0; i < 4; i++)
        cli_open(&cs[i], s.port);
    t0 = llmb_now_ns();
    for (i = 0; i < 4; i++)
        send_chat(&cs[i], 5, 1, NULL);
    cli_capture(cs, 4, 10 * LLMB_NS_PER_S);
    for (i = 0; i < 4; i++) {
        check_stream_head(&cs[i]);
        /* The head leaves at once, even for a request that must wait. */
        if (cli_time(&cs[i]) - t0 > slack)
            fail_msg("head %zu at %.3f ms", i, (double)(cli_time(&cs[i]) - t0) / 1e6);
        n = read_events(&cs[i], ev, MAX_EVENTS);
        assert_int_equal(n, 8); /* role, 5 tokens, finish, [DONE] */
        role[i] = ev[0].t_ns;
        first[i] = ev[1].t_ns;
        /* Within a stream, the gaps count from its own first token. */
        for (k = 1; k < 5; k++) {
            uint64_t d = ev[1 + k].t_ns - first[i];
            if (d + slack < k * 10 * LLMB_NS_PER_MS || d > k * 10 * LLMB_NS_PER_MS + slack)
                fail_msg("token %zu of stream %zu %.3f ms after its first", k, i, d / 1e6);
        }
        events_free(ev, n);
        cli_close(&cs[i]);
    }
    qsort(first, 4, sizeof first[0], cmp_u64);
    qsort(role, 4, sizeof role[0], cmp_u64);
    /* Two start at once; the two others get the slots when those end, 70 ms on. */
    check_in(first[0], t0, 30, slack, "first token of request 1");
    check_in(first[1], t0, 30, slack, "first token of request 2");
    check_in(first[2], t0, 100, slack, "first token of request 3");
    check_in(first[3], t0, 100, slack, "first token of request 4");
    /* The role chunk waits for the slot. */
    assert_true(role[1] - t0 < slack);
    assert_true(role[2] >= t0 + 70 * LLMB_NS_PER_MS);

    stats_when_idle(&s, &st);
    assert_int_equal(st.max_active, 2);
    assert_int_equal(st.max_queued, 2);
    /* Waits: 0, 0, and twice 70 ms less the few microseconds between the requests. */
    assert_true(st.queue_wait_max_ns <= 70 * LLMB_NS_PER_MS);
    assert_true(st.queue_wait_max_ns + slack >= 70 * LLMB_NS_PER_MS);
    assert_true(st.queue_wait_p50_ns < LLMB_NS_PER_MS);
    assert_true(st.queue_wait_p99_ns >= 60 * LLMB_NS_PER_MS);
    assert_true(st.queue_wait_p99_ns <= st.queue_wait_max_ns);

    cli_open(&c, s.port);
    send_request(&c, "GET", "/mock/stats", NULL, NULL);
    read_response(&c, &r);
    j = body_json(&r);
    assert_int_equal(int_field(j, "max_active"), 2);
    assert_int_equal(int_field(j, "max_queued"), 2);
    assert_int_equal(int_field(j, "active"), 0);
    assert_int_equal(int_field(j, "queued"), 0);
    assert_true(int_field(j, "queue_wait_max_us") >= 70000 - (json_int_t)(slack / 1000));
    assert_true(int_field(j, "queue_wait_max_us") <= 70000);
    assert_true(int_field(j, "queue_wait_p50_us") <= int_field(j, "queue_wait_p99_us"));
    json_decref(j);
    free(r.body);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_slots_release(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli a, b;
    struct resp r;
    struct event ev[MAX_EVENTS];
    char *data;
    size_t len, n;
    uint64_t t0, t_close, slack = slack_ns();
    (void)state;

    o.slots = 1;
    o.ttft_ms = 20;
    o.itl_ms = 10;
    srv_start(&s, &o);

    /* A whole answer holds its slot until it is sent, at 20 + 2 * 10 ms. */
    cli_open(&a, s.port);
    cli_open(&b, s.port);
    t0 = llmb_now_ns();
    send_chat(&a, 3, 0, NULL);
    usleep(2000); /* so that a comes first */
    send_chat(&b, 1, 1, NULL);
    read_response(&a, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    check_stream_head(&b);
    n = read_events(&b, ev, MAX_EVENTS);
    assert_int_equal(n, 4);
    check_in(ev[1].t_ns, t0, 60, slack + 2 * LLMB_NS_PER_MS, "first token behind a whole answer");
    events_free(ev, n);

    /* A client that goes away frees its slot at once. */
    send_chat(&a, 100, 1, NULL); /* a second long */
    check_stream_head(&a);
    assert_int_equal(read_chunk(&a, &data, &len), 1); /* role: a has the slot */
    free(data);
    send_chat(&b, 1, 1, NULL);
    check_stream_head(&b);
    usleep(30000);
    t_close = llmb_now_ns();
    cli_close(&a);
    n = read_events(&b, ev, MAX_EVENTS);
    assert_int_equal(n, 4);
    check_in(ev[1].t_ns, t_close, 20, slack, "first token after the slot holder left");
    events_free(ev, n);
    cli_close(&b);
    srv_stop(&s);
}

static void test_mock_itl_per_stream(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli cs[2];
    struct event ev[MAX_EVENTS];
    llmb_mock_stats st;
    uint64_t t0, slack = slack_ns(), first[2];
    char what[64];
    size_t i, k, n;
    (void)state;

    o.ttft_ms = 20;
    o.itl_ms = 5;
    o.itl_per_stream_ms = 10;
    srv_start(&s, &o);
    /* Alone: the plain gap, 5 ms. */
    cli_open(&cs[0], s.port);
    t0 = llmb_now_ns();
    send_chat(&cs[0], 4, 1, NULL);
    check_stream_head(&cs[0]);
    n = read_events(&cs[0], ev, MAX_EVENTS);
    assert_int_equal(n, 7);
    for (k = 0; k < 4; k++)
        check_in(ev[1 + k].t_ns, t0, 20 + 5 * k, slack, "token alone");
    events_free(ev, n);
    cli_close(&cs[0]);

    /* Two at once: each gap is 5 + 10 * (2 - 1) = 15 ms. */
    for (i = 0; i < 2; i++)
        cli_open(&cs[i], s.port);
    t0 = llmb_now_ns();
    for (i = 0; i < 2; i++)
        send_chat(&cs[i], 4, 1, NULL);
    cli_capture(cs, 2, 10 * LLMB_NS_PER_S);
    for (i = 0; i < 2; i++) {
        check_stream_head(&cs[i]);
        n = read_events(&cs[i], ev, MAX_EVENTS);
        assert_int_equal(n, 7);
        for (k = 0; k < 4; k++) {
            snprintf(what, sizeof what, "token %zu of stream %zu of 2", k, i);
            check_in(ev[1 + k].t_ns, t0, 20 + 15 * k, slack, what);
        }
        events_free(ev, n);
        cli_close(&cs[i]);
    }
    stats_when_idle(&s, &st);
    assert_int_equal(st.max_active, 2);
    srv_stop(&s);

    /* With one slot the second waits, and a waiting request is not active: 5 ms gaps. */
    o.slots = 1;
    srv_start(&s, &o);
    for (i = 0; i < 2; i++)
        cli_open(&cs[i], s.port);
    t0 = llmb_now_ns();
    for (i = 0; i < 2; i++)
        send_chat(&cs[i], 4, 1, NULL);
    cli_capture(cs, 2, 10 * LLMB_NS_PER_S);
    for (i = 0; i < 2; i++) {
        check_stream_head(&cs[i]);
        n = read_events(&cs[i], ev, MAX_EVENTS);
        assert_int_equal(n, 7);
        first[i] = ev[1].t_ns;
        for (k = 1; k < 4; k++) {
            uint64_t d = ev[1 + k].t_ns - ev[1].t_ns;
            if (d + slack < k * 5 * LLMB_NS_PER_MS || d > k * 5 * LLMB_NS_PER_MS + slack)
                fail_msg("token %zu of stream %zu %.3f ms after its first", k, i, d / 1e6);
        }
        events_free(ev, n);
        cli_close(&cs[i]);
    }
    qsort(first, 2, sizeof first[0], cmp_u64);
    check_in(first[0], t0, 20, slack, "first token of the first");
    check_in(first[1], t0, 35 + 20, slack, "first token of the queued one");
    stats_when_idle(&s, &st);
    assert_int_equal(st.max_active, 1);
    assert_int_equal(st.max_queued, 1);
    srv_stop(&s);

    /* The prefill cost: the second of two gets ttft + 30 ms. */
    o.slots = 0;
    o.itl_per_stream_ms = 0;
    o.ttft_per_stream_ms = 30;
    srv_start(&s, &o);
    for (i = 0; i < 2; i++)
        cli_open(&cs[i], s.port);
    t0 = llmb_now_ns();
    for (i = 0; i < 2; i++)
        send_chat(&cs[i], 1, 1, NULL);
    cli_capture(cs, 2, 10 * LLMB_NS_PER_S);
    for (i = 0; i < 2; i++) {
        check_stream_head(&cs[i]);
        n = read_events(&cs[i], ev, MAX_EVENTS);
        assert_int_equal(n, 4);
        first[i] = ev[1].t_ns;
        events_free(ev, n);
        cli_close(&cs[i]);
    }
    qsort(first, 2, sizeof first[0], cmp_u64);
    check_in(first[0], t0, 20, slack, "first token with no one else");
    check_in(first[1], t0, 50, slack, "first token with one other");
    srv_stop(&s);
}

/* ---- faults ---- */

static void test_mock_fault_parser(void **state)
{
    llmbi_mock_fault def = {LLMB_MOCK_FAULT_NONE, 3, 0, 1, 2u * 1024u * 1024u}, f;
    char msg[LLMBI_MOCK_FAULT_MSG_MAX];
    llmb_mock_fault kind;
    static const char *const bad[] = {
        "",
        "bogus",
        "after=5",
        "reset;",
        "reset;;",
        "reset; after",
        "reset; after=",
        "reset; after=x",
        "reset; a=1",
        "reset; code=500",
        "stall; size=9999",
        "status; code=399",
        "status; code=600",
        "html; code=199",
        "oversize; size=4095",
        "oversize; size=67108865",
        "429; retry-after=86401",
        "reset; after=1000001",
        "none; after=1",
        "reset after=1",
    };
    (void)state;

#define PARSE(text) llmbi_mock_parse_fault(text, strlen(text), &def, &f, msg, sizeof msg)
    assert_int_equal(PARSE("reset"), 0);
    assert_int_equal(f.kind, LLMB_MOCK_FAULT_RESET);
    assert_int_equal(f.after, 3); /* from the defaults */
    assert_int_equal(PARSE("  Reset ;After = 5 "), 0);
    assert_int_equal(f.kind, LLMB_MOCK_FAULT_RESET);
    assert_int_equal(f.after, 5);
    assert_int_equal(PARSE("status; code=503"), 0);
    assert_int_equal(f.kind, LLMB_MOCK_FAULT_STATUS);
    assert_int_equal(llmbi_mock_fault_status(&f), 503);
    assert_int_equal(PARSE("status"), 0);
    assert_int_equal(llmbi_mock_fault_status(&f), 500);
    assert_int_equal(PARSE("html"), 0);
    assert_int_equal(llmbi_mock_fault_status(&f), 200);
    assert_int_equal(PARSE("html;code=502"), 0);
    assert_int_equal(llmbi_mock_fault_status(&f), 502);
    assert_int_equal(PARSE("429; retry-after=30"), 0);
    assert_int_equal(f.kind, LLMB_MOCK_FAULT_429);
    assert_int_equal(f.retry_after, 30);
    assert_int_equal(llmbi_mock_fault_status(&f), 429);
    assert_int_equal(PARSE("oversize; size=4096; after=0"), 0);
    assert_int_equal(f.size, 4096);
    assert_int_equal(f.after, 0);
    assert_int_equal(PARSE("NO-DONE"), 0);
    assert_int_equal(f.kind, LLMB_MOCK_FAULT_NO_DONE);
    assert_int_equal(PARSE("none"), 0);
    assert_int_equal(f.kind, LLMB_MOCK_FAULT_NONE);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        if (PARSE(bad[i]) == 0)
            fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(strncmp(msg, "X-Mock-Fault: ", 14), 0);
    }
    assert_int_equal(PARSE("bogus; after=1"), -1);
    assert_non_null(strstr(msg, "unknown kind 'bogus'"));
    assert_int_equal(PARSE("reset; after=x"), -1);
    assert_non_null(strstr(msg, "'after'"));
#undef PARSE

    /* Names round-trip, in any case. */
    for (int k = 0; k < LLMB_MOCK_FAULT_KINDS; k++) {
        const char *name = llmb_mock_fault_name((llmb_mock_fault)k);
        assert_non_null(name);
        assert_int_equal(llmb_mock_fault_from_name(name, &kind), LLMB_OK);
        assert_int_equal(kind, k);
    }
    assert_string_equal(llmb_mock_fault_name(LLMB_MOCK_FAULT_ERROR_EVENT), "error-event");
    assert_string_equal(llmb_mock_fault_name(LLMB_MOCK_FAULT_429), "429");
    assert_null(llmb_mock_fault_name((llmb_mock_fault)LLMB_MOCK_FAULT_KINDS));
    assert_int_equal(llmb_mock_fault_from_name("Stall", &kind), LLMB_OK);
    assert_int_equal(kind, LLMB_MOCK_FAULT_STALL);
    kind = LLMB_MOCK_FAULT_HTML;
    assert_int_equal(llmb_mock_fault_from_name("stalls", &kind), LLMB_ERR_INVALID);
    assert_int_equal(kind, LLMB_MOCK_FAULT_HTML);
}

/* An error answer: its status and its JSON error's type. */
static json_t *read_error(struct cli *c, int status, const char *type)
{
    struct resp r;
    json_t *j, *e;
    read_response(c, &r);
    assert_int_equal(r.status, status);
    j = body_json(&r);
    free(r.body);
    e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "type")), type);
    assert_true(json_is_string(json_object_get(e, "message")));
    return j;
}

/* A complete, normal chat stream of `tokens` tokens. */
static void read_normal_stream(struct cli *c, size_t tokens)
{
    struct event ev[MAX_EVENTS];
    size_t n;
    check_stream_head(c);
    n = read_events(c, ev, MAX_EVENTS);
    assert_int_equal(n, tokens + 3);
    events_free(ev, n);
}

/* The faults of one kind injected, and of all kinds. */
static void check_fault_counts(struct srv *s, llmb_mock_fault kind, uint64_t want, uint64_t total)
{
    llmb_mock_stats st;
    llmb_mock_get_stats(s->m, &st);
    assert_int_equal(st.faults[kind], want);
    assert_int_equal(st.faults[LLMB_MOCK_FAULT_NONE], total);
}

static void test_mock_fault_status(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    char val[64];
    json_t *j, *f;
    (void)state;

    o.fault = LLMB_MOCK_FAULT_STATUS;
    o.fault_every = 3;
    o.fault_status = 503;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    /* Requests 3 and 6 fail; the connection serves on. */
    for (int i = 1; i <= 7; i++) {
        send_chat(&c, 2, 1, NULL);
        if (i % 3 == 0) {
            j = read_error(&c, 503, "server_error");
            assert_non_null(strstr(
                json_string_value(json_object_get(json_object_get(j, "error"), "message")), "503"));
            json_decref(j);
        } else {
            read_normal_stream(&c, 2);
        }
    }
    /* By header, on request 8 (not chosen by count), with the configured code... */
    send_chat(&c, 2, 1, "status");
    json_decref(read_error(&c, 503, "server_error"));
    /* ...or its own; "none" spares request 9, which the count would choose. */
    send_chat(&c, 2, 1, "status; code=404");
    json_decref(read_error(&c, 404, "invalid_request_error"));
    send_chat(&c, 2, 1, "none");
    read_normal_stream(&c, 2);
    /* A status answer comes at once and says why. */
    send_chat(&c, 2, 0, "status; code=502");
    read_response(&c, &r);
    assert_int_equal(r.status, 502);
    assert_string_equal(header(&r, "Content-Type", val, sizeof val), "application/json");
    assert_null(header(&r, "Retry-After", val, sizeof val));
    j = body_json(&r);
    assert_json(j, "{\"error\":{\"message\":\"mock fault: injected HTTP 502 Bad "
                   "Gateway\",\"type\":\"server_error\",\"code\":null}}");
    json_decref(j);
    free(r.body);
    check_fault_counts(&s, LLMB_MOCK_FAULT_STATUS, 5, 5);

    send_request(&c, "GET", "/mock/stats", NULL, NULL);
    read_response(&c, &r);
    j = body_json(&r);
    f = json_object_get(j, "faults");
    assert_int_equal(int_field(f, "total"), 5);
    assert_int_equal(int_field(f, "status"), 5);
    assert_int_equal(int_field(f, "reset"), 0);
    assert_int_equal(json_object_size(f), LLMB_MOCK_FAULT_KINDS);
    json_decref(j);
    free(r.body);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_fault_429(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    char val[64];
    json_t *j;
    (void)state;

    o.fault = LLMB_MOCK_FAULT_429;
    o.fault_every = 2;
    o.fault_retry_after = 7;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_chat(&c, 1, 1, NULL);
    read_normal_stream(&c, 1);
    send_chat(&c, 1, 1, NULL);
    read_response(&c, &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(header(&r, "Retry-After", val, sizeof val), "7");
    j = body_json(&r);
    assert_json(j, "{\"error\":{\"message\":\"mock fault: injected HTTP 429 Too Many Requests\","
                   "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}");
    json_decref(j);
    free(r.body);
    /* By header: its own Retry-After, or the configured one for any 429. */
    send_chat(&c, 1, 1, "429; retry-after=30");
    read_response(&c, &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(header(&r, "Retry-After", val, sizeof val), "30");
    free(r.body);
    send_chat(&c, 1, 1, "status; code=429");
    read_response(&c, &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(header(&r, "Retry-After", val, sizeof val), "7");
    free(r.body);
    check_fault_counts(&s, LLMB_MOCK_FAULT_429, 2, 3);
    cli_close(&c);
    srv_stop(&s);
}

/* Which of `count` requests (a whole answer each) fail with a status fault. */
static void fault_pattern(uint64_t seed, double p, int *failed, size_t count)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;

    o.fault = LLMB_MOCK_FAULT_STATUS;
    o.fault_every = 0;
    o.fault_probability = p;
    o.fault_seed = seed;
    o.ttft_ms = 0;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    for (size_t i = 0; i < count; i++) {
        send_chat(&c, 0, 0, NULL);
        read_response(&c, &r);
        assert_true(r.status == 200 || r.status == 500);
        failed[i] = r.status == 500;
        free(r.body);
    }
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_fault_probability(void **state)
{
    int a[40], b[40], c[40];
    size_t hits = 0, same = 0, i;
    unsigned drawn = 0;
    (void)state;

    fault_pattern(12345, 0.3, a, 40);
    /* The pattern is the documented function of (seed, request number)... */
    for (i = 0; i < 40; i++) {
        assert_int_equal(a[i], llmbi_mock_fault_draw(12345, i + 1, 0.3));
        hits += (size_t)a[i];
    }
    assert_true(hits > 0 && hits < 40);
    /* ...so the same seed repeats it, and another seed does not. */
    fault_pattern(12345, 0.3, b, 40);
    assert_memory_equal(a, b, sizeof a);
    fault_pattern(54321, 0.3, c, 40);
    for (i = 0; i < 40; i++)
        same += a[i] == c[i];
    assert_true(same < 40);
    /* The chance is what was asked, over many numbers; 0 and 1 are exact. */
    for (uint64_t n = 1; n <= 100000; n++) {
        drawn += (unsigned)llmbi_mock_fault_draw(7, n, 0.25);
        assert_false(llmbi_mock_fault_draw(7, n, 0.0));
        assert_true(llmbi_mock_fault_draw(7, n, 1.0));
    }
    assert_in_range(drawn, 24000, 26000);
}

/* One chunk as read_chunk reads it, but -1 rather than a failure when the bytes end. */
static int try_chunk(struct cli *c, char **data, size_t *len)
{
    char line[64], crlf[2];
    char *end;
    unsigned long n;
    if (cli_line(c, line, sizeof line) != 0)
        return -1;
    n = strtoul(line, &end, 16);
    if (end == line || *end != '\0')
        return -1;
    if (n == 0)
        return 0;
    *data = malloc(n + 1);
    assert_non_null(*data);
    if (cli_bytes(c, *data, n) != 0 || cli_bytes(c, crlf, 2) != 0 || memcmp(crlf, "\r\n", 2) != 0) {
        free(*data);
        return -1;
    }
    (*data)[n] = '\0';
    *len = n;
    return 1;
}

/*
 * The events of a stream that may have been cut short, up to where its bytes
 * end: JSON events, NULL for [DONE]. *ended says whether its last chunk came.
 */
static size_t cut_events(struct cli *c, struct event *ev, size_t max, int *ended)
{
    char *data;
    size_t len, n = 0;
    int rc;
    while ((rc = try_chunk(c, &data, &len)) == 1) {
        assert_true(n < max);
        assert_true(len > 8);
        assert_memory_equal(data, "data: ", 6);
        memset(&ev[n], 0, sizeof ev[n]);
        if (len == 14 && memcmp(data + 6, "[DONE]", 6) == 0) {
            ev[n].json = NULL;
        } else {
            ev[n].json = json_loadb(data + 6, len - 8, 0, NULL);
            assert_non_null(ev[n].json);
        }
        free(data);
        n++;
    }
    *ended = rc == 0;
    return n;
}

/* The content of chat token event ev is token k's word. */
static void assert_token(json_t *ev, uint64_t k)
{
    char word[32];
    json_t *content = json_object_get(json_object_get(choice0(ev), "delta"), "content");
    expected_word(k, word, sizeof word);
    assert_true(json_is_string(content));
    assert_string_equal(json_string_value(content), word);
}

/* Send a streaming chat request on a new connection and capture the answer. */
static void capture_chat(struct cli *c, unsigned port, unsigned tokens, const char *fault)
{
    cli_open(c, port);
    send_chat(c, tokens, 1, fault);
    cli_capture(c, 1, 10 * LLMB_NS_PER_S);
}

static void test_mock_fault_reset(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct event ev[MAX_EVENTS];
    llmb_mock_stats st;
    size_t n, k;
    int ended;
    (void)state;

    o.fault = LLMB_MOCK_FAULT_RESET;
    o.fault_every = 2;
    srv_start(&s, &o);
    /* Request 1 is spared; request 2 is reset after the default 3 tokens. */
    capture_chat(&c, s.port, 5, NULL);
    assert_false(c.eof || c.err);
    read_normal_stream(&c, 5);
    cli_close(&c);
    capture_chat(&c, s.port, 5, NULL);
    /* RST: on Linux the read fails with ECONNRESET once the data before it is read; a
     * plain close would read as the end (0) instead. */
    if (c.err != ECONNRESET)
        fail_msg("after a reset: eof %d, error %s", c.eof, strerror(c.err));
    check_stream_head(&c);
    n = cut_events(&c, ev, MAX_EVENTS, &ended);
    assert_false(ended);
    assert_int_equal(n, 4); /* role and 3 tokens: no finish, no [DONE] */
    for (k = 0; k < 3; k++)
        assert_token(ev[1 + k].json, k);
    events_free(ev, n);
    cli_close(&c);

    /* By header, with its own count; beyond the tokens, after all of them. */
    capture_chat(&c, s.port, 5, "reset; after=1");
    assert_int_equal(c.err, ECONNRESET);
    check_stream_head(&c);
    n = cut_events(&c, ev, MAX_EVENTS, &ended);
    assert_int_equal(n, 2);
    events_free(ev, n);
    cli_close(&c);
    capture_chat(&c, s.port, 2, "reset; after=10");
    assert_int_equal(c.err, ECONNRESET);
    check_stream_head(&c);
    n = cut_events(&c, ev, MAX_EVENTS, &ended);
    assert_int_equal(n, 3); /* role, both tokens, no finish */
    events_free(ev, n);
    cli_close(&c);
    /* A whole answer: reset when it is due, not a byte before. */
    cli_open(&c, s.port);
    send_chat(&c, 3, 0, "reset");
    cli_capture(&c, 1, 10 * LLMB_NS_PER_S);
    assert_int_equal(c.err, ECONNRESET);
    assert_int_equal(c.len, 0);
    cli_close(&c);

    check_fault_counts(&s, LLMB_MOCK_FAULT_RESET, 4, 4);
    llmb_mock_get_stats(s.m, &st);
    assert_int_equal(st.requests, 1); /* only the first was answered */
    srv_stop(&s);
}

/* Nothing arrives on c for wait_ms, and it stays open. */
static void assert_silent(struct cli *c, int wait_ms)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    assert_int_equal(c->len, c->off);
    assert_int_equal(poll(&p, 1, wait_ms), 0);
}

static void test_mock_fault_stall(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli a, b;
    llmb_mock_stats st;
    char *data;
    size_t len;
    uint64_t deadline;
    (void)state;

    o.slots = 1;
    srv_start(&s, &o);
    cli_open(&a, s.port);
    send_chat(&a, 5, 1, "stall; after=1");
    check_stream_head(&a);
    assert_int_equal(read_chunk(&a, &data, &len), 1); /* role */
    free(data);
    assert_int_equal(read_chunk(&a, &data, &len), 1); /* token 0 */
    assert_non_null(strstr(data, "\"Mock\""));
    free(data);
    assert_silent(&a, 300);
    /* The stall gave its slot up: another request is served in full. */
    cli_open(&b, s.port);
    send_chat(&b, 2, 1, NULL);
    read_normal_stream(&b, 2);
    assert_silent(&a, 50);
    llmb_mock_get_stats(s.m, &st);
    assert_int_equal(st.open_connections, 2);
    assert_int_equal(st.faults[LLMB_MOCK_FAULT_STALL], 1);
    assert_int_equal(st.active, 0);
    /* When its client goes, the mock forgets it. */
    cli_close(&a);
    deadline = llmb_now_ns() + 5 * LLMB_NS_PER_S;
    do {
        llmb_mock_get_stats(s.m, &st);
        if (st.open_connections == 1)
            break;
        usleep(1000);
    } while (llmb_now_ns() < deadline);
    assert_int_equal(st.open_connections, 1);

    /* By options, after 0 tokens; the stop closes a stalled connection. */
    cli_close(&b);
    srv_stop(&s);
    o.fault = LLMB_MOCK_FAULT_STALL;
    o.fault_after = 0;
    srv_start(&s, &o);
    cli_open(&a, s.port);
    send_chat(&a, 5, 1, NULL);
    check_stream_head(&a);
    assert_int_equal(read_chunk(&a, &data, &len), 1); /* role only */
    free(data);
    assert_silent(&a, 100);
    srv_stop(&s);
    assert_true(cli_eof(&a));
    cli_close(&a);
}

static void test_mock_fault_malformed(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct event ev[MAX_EVENTS];
    const char *raw;
    size_t n, k;
    (void)state;

    srv_start(&s, &o);
    /* After 2 of 4 tokens, an event that is not JSON, then the rest as usual. */
    cli_open(&c, s.port);
    send_chat(&c, 4, 1, "malformed; after=2");
    check_stream_head(&c);
    n = read_events_ex(&c, ev, MAX_EVENTS, 1, 1);
    assert_int_equal(n, 8); /* role, 2 tokens, bad, 2 tokens, finish, [DONE] */
    for (k = 0; k < n; k++)
        assert_int_equal(ev[k].bad, k == 3);
    raw = json_string_value(ev[3].json);
    assert_int_equal(strncmp(raw, "{\"id\":\"chatcmpl-mock-", 21), 0);
    assert_null(json_loads(raw, 0, NULL));
    assert_token(ev[1].json, 0);
    assert_token(ev[2].json, 1);
    assert_token(ev[4].json, 2);
    assert_token(ev[5].json, 3);
    events_free(ev, n);
    /* More than the tokens: after the last one, before the finish. */
    send_chat(&c, 2, 1, "malformed; after=9");
    check_stream_head(&c);
    n = read_events_ex(&c, ev, MAX_EVENTS, 1, 1);
    assert_int_equal(n, 6);
    assert_true(ev[3].bad);
    assert_string_equal(json_string_value(json_object_get(choice0(ev[4].json), "finish_reason")),
                        "length");
    events_free(ev, n);
    cli_close(&c);
    check_fault_counts(&s, LLMB_MOCK_FAULT_MALFORMED, 2, 2);
    srv_stop(&s);

    /* By options, after 0: before the first token of a completions stream. */
    o.fault = LLMB_MOCK_FAULT_MALFORMED;
    o.fault_after = 0;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_request(&c, "POST", "/v1/completions",
                 "{\"stream\":true,\"max_tokens\":2,\"prompt\":\"x\"}", NULL);
    check_stream_head(&c);
    n = read_events_ex(&c, ev, MAX_EVENTS, 1, 1);
    assert_int_equal(n, 5); /* bad, 2 tokens, finish, [DONE] */
    assert_true(ev[0].bad);
    assert_int_equal(strncmp(json_string_value(ev[0].json), "{\"id\":\"cmpl-mock-1\"", 19), 0);
    events_free(ev, n);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_fault_oversize(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct event ev[MAX_EVENTS];
    size_t n;
    (void)state;

    o.fault = LLMB_MOCK_FAULT_OVERSIZE;
    o.fault_after = 1;
    srv_start(&s, &o);
    /* 2 MiB of valid JSON after the first token, then the stream goes on. */
    cli_open(&c, s.port);
    send_chat(&c, 3, 1, NULL);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS); /* every event is compact JSON */
    assert_int_equal(n, 7);              /* role, token, big, 2 tokens, finish, [DONE] */
    assert_int_equal(ev[2].len, 2u * 1024u * 1024u);
    assert_json(json_object_get(ev[2].json, "choices"), "[]");
    assert_true(json_string_length(json_object_get(ev[2].json, "mock_padding")) > 2000000);
    assert_string_equal(json_string_value(json_object_get(ev[2].json, "id")),
                        json_string_value(json_object_get(ev[1].json, "id")));
    assert_token(ev[1].json, 0);
    assert_token(ev[3].json, 1);
    assert_token(ev[4].json, 2);
    events_free(ev, n);
    /* By header, its own size and place. */
    send_chat(&c, 1, 1, "oversize; size=5000; after=0");
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 5);
    assert_int_equal(ev[1].len, 5000);
    assert_token(ev[2].json, 0);
    events_free(ev, n);
    cli_close(&c);
    check_fault_counts(&s, LLMB_MOCK_FAULT_OVERSIZE, 2, 2);
    srv_stop(&s);
}

static void test_mock_fault_html(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    char val[64];
    (void)state;

    o.fault = LLMB_MOCK_FAULT_HTML;
    o.fault_status = 503;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_chat(&c, 2, 1, NULL);
    read_response(&c, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(header(&r, "Content-Type", val, sizeof val), "text/html");
    assert_int_equal(strncmp(r.body, "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr(r.body, "<title>503 Service Unavailable</title>"));
    free(r.body);
    /* By header: a 200 page by default (the options' 503 applies), or a given code. */
    send_chat(&c, 2, 1, "html; code=200");
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type", val, sizeof val), "text/html");
    assert_non_null(strstr(r.body, "</html>"));
    free(r.body);
    send_chat(&c, 2, 1, "html; code=502");
    read_response(&c, &r);
    assert_int_equal(r.status, 502);
    free(r.body);
    send_chat(&c, 2, 1, "none");
    read_normal_stream(&c, 2);
    cli_close(&c);
    check_fault_counts(&s, LLMB_MOCK_FAULT_HTML, 3, 3);
    srv_stop(&s);
}

static void test_mock_fault_no_done(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct event ev[MAX_EVENTS];
    size_t n;
    (void)state;

    o.fault = LLMB_MOCK_FAULT_NO_DONE;
    o.fault_every = 2;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_chat(&c, 2, 1, NULL);
    read_normal_stream(&c, 2);
    /* Role, 2 tokens, finish, then the last chunk: no [DONE]. */
    send_chat(&c, 2, 1, NULL);
    check_stream_head(&c);
    n = read_events_ex(&c, ev, MAX_EVENTS, 0, 0);
    assert_int_equal(n, 4);
    assert_string_equal(json_string_value(json_object_get(choice0(ev[3].json), "finish_reason")),
                        "length");
    events_free(ev, n);
    /* The connection serves on; by header too. */
    send_chat(&c, 1, 1, "no-done");
    check_stream_head(&c);
    n = read_events_ex(&c, ev, MAX_EVENTS, 0, 0);
    assert_int_equal(n, 3);
    events_free(ev, n);
    cli_close(&c);
    check_fault_counts(&s, LLMB_MOCK_FAULT_NO_DONE, 2, 2);
    srv_stop(&s);
}

static void test_mock_fault_no_usage(void **state)
{
    static const char asks[] =
        "{\"stream\":true,\"max_tokens\":2,\"stream_options\":{\"include_usage\":true},"
        "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    struct event ev[MAX_EVENTS];
    json_t *j;
    size_t n, i;
    (void)state;

    srv_start(&s, &o);
    cli_open(&c, s.port);
    /* Asked for usage, and without the fault it comes... */
    send_request(&c, "POST", "/v1/chat/completions", asks, NULL);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 6);
    assert_non_null(json_object_get(ev[4].json, "usage"));
    events_free(ev, n);
    /* ...with it, not at all. */
    send_request(&c, "POST", "/v1/chat/completions", asks, "X-Mock-Fault: no-usage\r\n");
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 5); /* role, 2 tokens, finish, [DONE] */
    for (i = 0; i + 1 < n; i++)
        assert_null(json_object_get(ev[i].json, "usage"));
    events_free(ev, n);
    /* A whole answer loses its "usage" too. */
    send_chat(&c, 2, 0, "no-usage");
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_null(json_object_get(j, "usage"));
    assert_non_null(json_object_get(j, "choices"));
    json_decref(j);
    free(r.body);
    cli_close(&c);
    check_fault_counts(&s, LLMB_MOCK_FAULT_NO_USAGE, 2, 2);
    srv_stop(&s);

    /* By options, where usage would be in the last chunk. */
    o.fault = LLMB_MOCK_FAULT_NO_USAGE;
    o.usage = LLMB_MOCK_USAGE_LAST_CHUNK;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_chat(&c, 2, 1, NULL);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 5);
    assert_string_equal(json_string_value(json_object_get(choice0(ev[3].json), "finish_reason")),
                        "length");
    assert_null(json_object_get(ev[3].json, "usage"));
    events_free(ev, n);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_fault_error_event(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    struct event ev[MAX_EVENTS];
    json_t *j;
    static const char err_json[] =
        "{\"error\":{\"message\":\"mock fault: generation failed mid-stream\","
        "\"type\":\"server_error\"}}";
    size_t n;
    (void)state;

    srv_start(&s, &o);
    cli_open(&c, s.port);
    /* After 2 of 4 tokens: the error, [DONE], the end; no finish chunk. */
    send_chat(&c, 4, 1, "error-event; after=2");
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 5); /* role, 2 tokens, error, [DONE] */
    assert_token(ev[1].json, 0);
    assert_token(ev[2].json, 1);
    assert_json(ev[3].json, err_json);
    events_free(ev, n);
    /* The connection serves on. */
    send_chat(&c, 1, 1, NULL);
    read_normal_stream(&c, 1);
    /* A whole answer is the error object. */
    send_chat(&c, 4, 0, "error-event");
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_json(j, err_json);
    json_decref(j);
    free(r.body);
    cli_close(&c);
    check_fault_counts(&s, LLMB_MOCK_FAULT_ERROR_EVENT, 2, 2);
    srv_stop(&s);

    /* By options, after 0 tokens. */
    o.fault = LLMB_MOCK_FAULT_ERROR_EVENT;
    o.fault_after = 0;
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_chat(&c, 3, 1, NULL);
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 3); /* role, error, [DONE] */
    assert_json(ev[1].json, err_json);
    events_free(ev, n);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_fault_whole_answer(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    json_t *j;
    (void)state;

    srv_start(&s, &o);
    cli_open(&c, s.port);
    /* Malformed: a body cut short, with a Content-Length that says so. */
    send_chat(&c, 3, 0, "malformed");
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.body_len > 20);
    assert_null(json_loadb(r.body, r.body_len, 0, NULL));
    assert_int_equal(strncmp(r.body, "{\"id\":\"chatcmpl-mock-", 21), 0);
    free(r.body);
    /* Oversize: padded to the size asked, still valid. */
    send_chat(&c, 3, 0, "oversize; size=6000");
    read_response(&c, &r);
    assert_int_equal(r.body_len, 6000);
    j = body_json(&r);
    assert_non_null(json_object_get(j, "usage"));
    assert_true(json_is_string(json_object_get(j, "mock_padding")));
    json_decref(j);
    free(r.body);
    /* No-done changes nothing here. */
    send_chat(&c, 3, 0, "no-done");
    read_response(&c, &r);
    j = body_json(&r);
    assert_non_null(json_object_get(j, "usage"));
    json_decref(j);
    free(r.body);
    cli_close(&c);
    srv_stop(&s);
}

static void test_mock_fault_header_errors(void **state)
{
    llmb_mock_options o = test_options();
    struct srv s;
    struct cli c;
    struct resp r;
    struct event ev[MAX_EVENTS];
    llmb_mock_stats st;
    size_t n;
    (void)state;

    o.fault = LLMB_MOCK_FAULT_STATUS; /* every request, unless its header says otherwise */
    srv_start(&s, &o);
    cli_open(&c, s.port);
    send_chat(&c, 1, 1, "bogus");
    read_response(&c, &r);
    check_error(&r, 400, "unknown kind 'bogus'");
    send_chat(&c, 1, 1, "reset; after=lots");
    read_response(&c, &r);
    check_error(&r, 400, "'after' needs a whole number");
    send_chat(&c, 1, 1, "reset; code=500");
    read_response(&c, &r);
    check_error(&r, 400, "does not apply to reset");
    send_chat(&c, 1, 1, "status; code=200");
    read_response(&c, &r);
    check_error(&r, 400, "400 to 599");
    send_request(&c, "POST", "/v1/chat/completions",
                 "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                 "X-Mock-Fault: reset\r\nX-Mock-Fault: stall\r\n");
    read_response(&c, &r);
    check_error(&r, 400, "at most one X-Mock-Fault");
    /* Not a generation request: the header does not matter. */
    send_request(&c, "GET", "/v1/models", NULL, "X-Mock-Fault: bogus\r\n");
    read_response(&c, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    /* None of those was a request that counts; this one is number 1. */
    send_chat(&c, 1, 1, "none");
    check_stream_head(&c);
    n = read_events(&c, ev, MAX_EVENTS);
    assert_int_equal(n, 4);
    assert_string_equal(json_string_value(json_object_get(ev[0].json, "id")), "chatcmpl-mock-1");
    events_free(ev, n);
    cli_close(&c);
    llmb_mock_get_stats(s.m, &st);
    assert_int_equal(st.faults[LLMB_MOCK_FAULT_NONE], 0);
    srv_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_head_parser),
        cmocka_unit_test(test_mock_new_rejects_bad_options),
        cmocka_unit_test(test_mock_chat_stream_sequence),
        cmocka_unit_test(test_mock_completions_stream_sequence),
        cmocka_unit_test(test_mock_usage_modes),
        cmocka_unit_test(test_mock_max_tokens),
        cmocka_unit_test(test_mock_prompt_tokens),
        cmocka_unit_test(test_mock_token_timing),
        cmocka_unit_test(test_mock_keep_alive),
        cmocka_unit_test(test_mock_stream_false),
        cmocka_unit_test(test_mock_models),
        cmocka_unit_test(test_mock_errors),
        cmocka_unit_test(test_mock_expect_continue),
        cmocka_unit_test(test_mock_http10_stream),
        cmocka_unit_test(test_mock_disconnect_mid_stream),
        cmocka_unit_test(test_mock_stop_from_thread),
        cmocka_unit_test(test_mock_stats),
        cmocka_unit_test(test_mock_max_connections),
        cmocka_unit_test(test_mock_slots_queue),
        cmocka_unit_test(test_mock_slots_release),
        cmocka_unit_test(test_mock_itl_per_stream),
        cmocka_unit_test(test_mock_fault_parser),
        cmocka_unit_test(test_mock_fault_status),
        cmocka_unit_test(test_mock_fault_429),
        cmocka_unit_test(test_mock_fault_probability),
        cmocka_unit_test(test_mock_fault_reset),
        cmocka_unit_test(test_mock_fault_stall),
        cmocka_unit_test(test_mock_fault_malformed),
        cmocka_unit_test(test_mock_fault_oversize),
        cmocka_unit_test(test_mock_fault_html),
        cmocka_unit_test(test_mock_fault_no_done),
        cmocka_unit_test(test_mock_fault_no_usage),
        cmocka_unit_test(test_mock_fault_error_event),
        cmocka_unit_test(test_mock_fault_whole_answer),
        cmocka_unit_test(test_mock_fault_header_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
