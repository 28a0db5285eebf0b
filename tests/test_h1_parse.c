/*
 * The built-in transport's HTTP/1.1 response parser: status and fields, the
 * three body framings, interim responses, malformed input, and every
 * response fed whole and split at every byte (in two and in single bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "h1_parse.h"

typedef struct outcome {
    llmbi_h1_result res;
    int heads;
    long status;
    int keep_alive;
    double retry_after;
    char ctype[128];
    char body[4096];
    size_t body_len;
    size_t used;    /* bytes taken in all */
    int stop_after; /* on_body asks to stop once this many body bytes came; 0: never */
} outcome;

static void on_head(void *user, const llmbi_h1_parser *p)
{
    outcome *o = user;
    o->heads++;
    o->status = p->status;
    o->keep_alive = p->keep_alive;
    o->retry_after = p->retry_after_s;
    snprintf(o->ctype, sizeof o->ctype, "%s", p->content_type);
}

static int on_body(void *user, const char *p, size_t n)
{
    outcome *o = user;
    assert_true(n > 0);
    assert_true(o->body_len + n < sizeof o->body);
    memcpy(o->body + o->body_len, p, n);
    o->body_len += n;
    return o->stop_after && o->body_len >= (size_t)o->stop_after;
}

static const llmbi_h1_callbacks cb = {on_head, on_body};

/* Feeds `msg` in pieces ending at the offsets in cuts[] (then the rest),
 * then the end of the connection if `eof`. */
static void run(const char *msg, size_t len, const size_t *cuts, size_t n_cuts, int eof,
                int stop_after, outcome *o)
{
    llmbi_h1_parser p;
    size_t at = 0;
    memset(o, 0, sizeof *o);
    o->stop_after = stop_after;
    o->res = LLMBI_H1_MORE;
    llmbi_h1_parser_init(&p);
    for (size_t i = 0; i <= n_cuts && o->res == LLMBI_H1_MORE; i++) {
        size_t end = i < n_cuts ? cuts[i] : len, used = 0;
        if (end < at)
            continue;
        o->res = llmbi_h1_feed(&p, msg + at, end - at, &cb, o, &used);
        if (o->res == LLMBI_H1_MORE)
            assert_int_equal(used, end - at);
        o->used += used;
        at = end;
    }
    if (o->res == LLMBI_H1_MORE && eof)
        o->res = llmbi_h1_eof(&p);
    llmbi_h1_parser_free(&p);
}

static void same(const outcome *a, const outcome *b)
{
    assert_int_equal(a->res, b->res);
    assert_int_equal(a->heads, b->heads);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->keep_alive, b->keep_alive);
    assert_string_equal(a->ctype, b->ctype);
    assert_int_equal(a->body_len, b->body_len);
    assert_memory_equal(a->body, b->body, a->body_len);
    if (a->res == LLMBI_H1_DONE)
        assert_int_equal(a->used, b->used);
}

/* Whole, then cut in two at every byte, then byte by byte: all the same. */
static void check_splits(const char *msg, int eof, outcome *whole)
{
    size_t len = strlen(msg);
    size_t *each = malloc((len + 1) * sizeof *each);
    outcome o;
    run(msg, len, NULL, 0, eof, 0, whole);
    for (size_t cut = 0; cut <= len; cut++) {
        run(msg, len, &cut, 1, eof, 0, &o);
        same(whole, &o);
    }
    for (size_t i = 0; i < len; i++)
        each[i] = i + 1;
    run(msg, len, each, len, eof, 0, &o);
    same(whole, &o);
    free(each);
}

#define SSE_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"

static void test_h1_chunked_stream(void **state)
{
    static const char msg[] = SSE_HEAD "Transfer-Encoding: chunked\r\n\r\n"
                                       "f\r\ndata: {\"a\":1}\n\n\r\n"
                                       "F;ext=1\r\ndata: {\"b\":2}\n\n\r\n"
                                       "0\r\nX-Trailer: t\r\n\r\n";
    outcome o;
    (void)state;
    check_splits(msg, 0, &o);
    assert_int_equal(o.res, LLMBI_H1_DONE);
    assert_int_equal(o.heads, 1);
    assert_int_equal(o.status, 200);
    assert_true(o.keep_alive);
    assert_string_equal(o.ctype, "text/event-stream");
    assert_int_equal(o.body_len, 30);
    assert_memory_equal(o.body, "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n", 30);
    assert_int_equal(o.used, strlen(msg));
}

static void test_h1_length_and_extra_bytes(void **state)
{
    /* A Content-Length body ends the response; what follows is not taken. */
    static const char msg[] = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
                              "Content-Length: 5\r\nConnection: close\r\n\r\nslow!EXTRA";
    outcome o;
    (void)state;
    check_splits(msg, 0, &o);
    assert_int_equal(o.res, LLMBI_H1_DONE);
    assert_int_equal(o.status, 429);
    assert_false(o.keep_alive);
    assert_true(o.retry_after == 3);
    assert_int_equal(o.body_len, 5);
    assert_int_equal(o.used, strlen(msg) - 5);
}

static void test_h1_body_to_close(void **state)
{
    /* HTTP/1.0 with no length: the body runs to the end of the connection. */
    static const char msg[] = "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                              "data: x\n\n";
    outcome o;
    (void)state;
    check_splits(msg, 1, &o);
    assert_int_equal(o.res, LLMBI_H1_DONE);
    assert_false(o.keep_alive);
    assert_int_equal(o.body_len, 9);
}

static void test_h1_interim_and_no_body(void **state)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    outcome o;
    (void)state;
    check_splits(msg, 0, &o);
    assert_int_equal(o.res, LLMBI_H1_DONE);
    assert_int_equal(o.heads, 1); /* the interim one is not reported */
    assert_int_equal(o.status, 204);
    assert_int_equal(o.body_len, 0);
}

static void test_h1_early_end(void **state)
{
    outcome o;
    (void)state;
    /* Cut inside a chunk, inside a length, inside the head, and before anything. */
    check_splits(SSE_HEAD "Transfer-Encoding: chunked\r\n\r\n10\r\ndata: 1", 1, &o);
    assert_int_equal(o.res, LLMBI_H1_ERROR);
    assert_int_equal(o.body_len, 7); /* what came is still handed on */
    check_splits("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1, &o);
    assert_int_equal(o.res, LLMBI_H1_ERROR);
    check_splits("HTTP/1.1 200 OK\r\nContent-Len", 1, &o);
    assert_int_equal(o.res, LLMBI_H1_ERROR);
    assert_int_equal(o.heads, 0);
    run("", 0, NULL, 0, 1, 0, &o);
    assert_int_equal(o.res, LLMBI_H1_ERROR);
}

static void test_h1_malformed(void **state)
{
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded: value\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        outcome o;
        check_splits(bad[i], 1, &o);
        if (o.res != LLMBI_H1_ERROR)
            fail_msg("case %zu was taken (result %d)", i, (int)o.res);
    }
}

static void test_h1_head_limit(void **state)
{
    size_t n = LLMBI_H1_HEAD_MAX + 100;
    char *big = malloc(n + 1);
    outcome o;
    (void)state;
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 21);
    memset(big + 21, 'a', n - 21);
    big[n] = '\0';
    run(big, n, NULL, 0, 0, 0, &o);
    assert_int_equal(o.res, LLMBI_H1_ERROR);
    free(big);
}

static void test_h1_abort(void **state)
{
    static const char msg[] = SSE_HEAD "Content-Length: 20\r\n\r\n0123456789abcdefghij";
    outcome o;
    size_t cut = strlen(msg) - 12;
    (void)state;
    run(msg, strlen(msg), &cut, 1, 0, 5, &o);
    assert_int_equal(o.res, LLMBI_H1_ABORT);
}

static void test_h1_retry_after_date(void **state)
{
    (void)state;
    assert_true(llmbi_parse_retry_after(" 120 ", 5) == 120);
    assert_true(llmbi_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 29) == 0); /* past */
    assert_true(llmbi_parse_retry_after("soon", 4) < 0);
    assert_true(llmbi_parse_retry_after("", 0) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h1_chunked_stream),
        cmocka_unit_test(test_h1_length_and_extra_bytes),
        cmocka_unit_test(test_h1_body_to_close),
        cmocka_unit_test(test_h1_interim_and_no_body),
        cmocka_unit_test(test_h1_early_end),
        cmocka_unit_test(test_h1_malformed),
        cmocka_unit_test(test_h1_head_limit),
        cmocka_unit_test(test_h1_abort),
        cmocka_unit_test(test_h1_retry_after_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
