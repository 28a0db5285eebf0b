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

struct cli {
    int fd;
    char buf[1 << 16];
    size_t off, len;
    uint64_t rx_ns; /* when the last bytes arrived */
};

static void cli_open(struct cli *c, unsigned port)
{
    struct sockaddr_in sa;
    int one = 1;
    memset(c, 0, sizeof *c);
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
    if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->len == sizeof c->buf)
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
        r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
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
    json_t *json; /* NULL for [DONE] */
    uint64_t t_ns;
};

static void events_free(struct event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(ev[i].json);
}

/*
 * Read a whole event stream: every chunk must be exactly one
 * "data: ...\n\n" event of compact JSON, the last one [DONE].
 */
static size_t read_events(struct cli *c, struct event *ev, size_t max)
{
    size_t n = 0;
    char *data;
    size_t len;
    while (read_chunk(c, &data, &len) == 1) {
        assert_true(n < max);
        assert_true(len > 8);
        assert_memory_equal(data, "data: ", 6);
        assert_memory_equal(data + len - 2, "\n\n", 2);
        ev[n].t_ns = c->rx_ns;
        if (len == 14 && memcmp(data + 6, "[DONE]", 6) == 0) {
            ev[n].json = NULL;
        } else {
            json_error_t e;
            char *again;
            if (n > 0 && ev[n - 1].json == NULL)
                fail_msg("an event after [DONE]");
            ev[n].json = json_loadb(data + 6, len - 8, 0, &e);
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
    assert_null(ev[n - 1].json);
    return n;
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
    /* NULL options are the defaults; NULL frees nothing. */
    assert_int_equal(llmb_mock_new(NULL, &m, &err), LLMB_OK);
    assert_true(llmb_mock_port(m) > 0);
    llmb_mock_free(m);
    llmb_mock_free(NULL);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
