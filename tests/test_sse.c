/*
 * SSE framing: line endings, comments, multi-line data, [DONE], BOM, caps,
 * and the same events whatever byte boundaries the input is cut at.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sse.h"

#define MAX_EVENTS 64

typedef struct collected {
    size_t n;
    char event[MAX_EVENTS][32];
    char data[MAX_EVENTS][256];
    size_t len[MAX_EVENTS];
    int stop_after; /* stop when this many events were seen; 0 = never */
} collected;

static int collect(void *user, const char *event, const char *data, size_t len)
{
    collected *c = user;
    assert_true(c->n < MAX_EVENTS);
    assert_true(strlen(event) < sizeof c->event[0]);
    assert_true(len < sizeof c->data[0]);
    /* The payload must be NUL-terminated at len. */
    assert_int_equal(data[len], '\0');
    snprintf(c->event[c->n], sizeof c->event[0], "%s", event);
    memcpy(c->data[c->n], data, len + 1);
    c->len[c->n] = len;
    c->n++;
    return c->stop_after && c->n >= (size_t)c->stop_after;
}

static void parse_whole(const char *in, size_t len, collected *out, int flush)
{
    llmbi_sse *p = llmbi_sse_new(0, collect, out);
    assert_non_null(p);
    memset(out, 0, sizeof *out);
    assert_int_equal(llmbi_sse_feed(p, in, len), LLMB_OK);
    assert_int_equal(llmbi_sse_finish(p, flush), LLMB_OK);
    llmbi_sse_free(p);
}

static void assert_same(const collected *a, const collected *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->event[i], b->event[i]);
        assert_int_equal(a->len[i], b->len[i]);
        assert_memory_equal(a->data[i], b->data[i], a->len[i]);
    }
}

/* Cutting the input into two pieces at every position, and into single
 * bytes, must give exactly the events of the whole input. */
static void check_all_splits(const char *in, int flush)
{
    size_t len = strlen(in);
    collected whole, part;

    parse_whole(in, len, &whole, flush);
    for (size_t cut = 0; cut <= len; cut++) {
        llmbi_sse *p = llmbi_sse_new(0, collect, &part);
        memset(&part, 0, sizeof part);
        assert_int_equal(llmbi_sse_feed(p, in, cut), LLMB_OK);
        assert_int_equal(llmbi_sse_feed(p, in + cut, len - cut), LLMB_OK);
        assert_int_equal(llmbi_sse_finish(p, flush), LLMB_OK);
        llmbi_sse_free(p);
        assert_same(&whole, &part);
    }
    {
        llmbi_sse *p = llmbi_sse_new(0, collect, &part);
        memset(&part, 0, sizeof part);
        for (size_t i = 0; i < len; i++)
            assert_int_equal(llmbi_sse_feed(p, in + i, 1), LLMB_OK);
        assert_int_equal(llmbi_sse_finish(p, flush), LLMB_OK);
        llmbi_sse_free(p);
        assert_same(&whole, &part);
    }
}

static const char openai_stream[] =
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Spring\"}}]}\n\n"
    ": keep-alive\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" is\"}}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n";

static void test_sse_openai_stream(void **state)
{
    collected c;
    (void)state;
    parse_whole(openai_stream, strlen(openai_stream), &c, 0);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.data[1], "{\"choices\":[{\"delta\":{\"content\":\"Spring\"}}]}");
    assert_string_equal(c.data[4], "[DONE]");
    assert_string_equal(c.event[0], "");
    check_all_splits(openai_stream, 0);
}

static void test_sse_line_endings(void **state)
{
    const char *lf = "data: a\n\ndata: b\n\n";
    const char *crlf = "data: a\r\n\r\ndata: b\r\n\r\n";
    const char *cr = "data: a\r\rdata: b\r\r";
    const char *mixed = "data: a\r\n\rdata: b\n\r\n";
    const char *inputs[] = {lf, crlf, cr, mixed};
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        collected c;
        parse_whole(inputs[i], strlen(inputs[i]), &c, 0);
        assert_int_equal(c.n, 2);
        assert_string_equal(c.data[0], "a");
        assert_string_equal(c.data[1], "b");
        check_all_splits(inputs[i], 0);
    }
}

static void test_sse_crlf_split_between_feeds(void **state)
{
    /* A CR at the end of one read and its LF at the start of the next are
     * one line end, not two (which would dispatch an event early). */
    collected c;
    llmbi_sse *p = llmbi_sse_new(0, collect, &c);
    (void)state;
    memset(&c, 0, sizeof c);
    assert_int_equal(llmbi_sse_feed(p, "data: x\r", 8), LLMB_OK);
    assert_int_equal(llmbi_sse_feed(p, "\ndata: y\r", 9), LLMB_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(llmbi_sse_feed(p, "\n\r\n", 3), LLMB_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.data[0], "x\ny");
    llmbi_sse_free(p);
}

static void test_sse_comments_and_fields(void **state)
{
    const char *in = ":comment only\n\n"
                     ": another\n"
                     "id: 7\n"
                     "retry: 1000\n"
                     "unknown: field\n"
                     "data:no space\n"
                     "data:  two spaces\n"
                     "data\n"
                     "\n";
    collected c;
    (void)state;
    parse_whole(in, strlen(in), &c, 0);
    /* The comment-only block dispatches nothing; the second block is one
     * event whose data lines are joined by LF ("data" alone adds an empty line). */
    assert_int_equal(c.n, 1);
    assert_string_equal(c.data[0], "no space\n two spaces\n");
    check_all_splits(in, 0);
}

static void test_sse_multiline_data(void **state)
{
    const char *in = "data: {\"a\":\ndata: 1}\n\n";
    collected c;
    (void)state;
    parse_whole(in, strlen(in), &c, 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.data[0], "{\"a\":\n1}");
    check_all_splits(in, 0);
}

static void test_sse_event_type(void **state)
{
    const char *in = "event: error\ndata: {\"error\":\"x\"}\n\ndata: plain\n\n";
    collected c;
    (void)state;
    parse_whole(in, strlen(in), &c, 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.event[0], "error");
    /* The event type resets after each dispatch. */
    assert_string_equal(c.event[1], "");
    check_all_splits(in, 0);
}

static void test_sse_empty_data_event(void **state)
{
    const char *in = "data:\n\ndata: \n\n";
    collected c;
    (void)state;
    parse_whole(in, strlen(in), &c, 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.len[0], 0);
    assert_int_equal(c.len[1], 0);
}

static void test_sse_bom(void **state)
{
    const char *in = "\xEF\xBB\xBF"
                     "data: after bom\n\n";
    const char *not_bom = "\xEF\xBB"
                          "data: x\n\n";
    collected c;
    (void)state;
    parse_whole(in, strlen(in), &c, 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.data[0], "after bom");
    check_all_splits(in, 0);
    /* Two BOM bytes and then something else: those bytes are text, making
     * an unknown field name, so no event. */
    parse_whole(not_bom, strlen(not_bom), &c, 0);
    assert_int_equal(c.n, 0);
    check_all_splits(not_bom, 0);
}

static void test_sse_unterminated_end(void **state)
{
    const char *in = "data: one\n\ndata: [DONE]";
    collected c;
    (void)state;
    /* As the standard says, an event not closed by a blank line is dropped... */
    parse_whole(in, strlen(in), &c, 0);
    assert_int_equal(c.n, 1);
    /* ...unless the caller asks to flush it. */
    parse_whole(in, strlen(in), &c, 1);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.data[1], "[DONE]");
    check_all_splits(in, 1);
    check_all_splits("data: x\n", 1);
}

static void test_sse_event_cap(void **state)
{
    collected c;
    llmbi_sse *p = llmbi_sse_new(16, collect, &c);
    char big[64];
    (void)state;
    memset(&c, 0, sizeof c);
    memset(big, 'x', sizeof big);
    assert_int_equal(llmbi_sse_feed(p, "data: ", 6), LLMB_OK);
    assert_int_equal(llmbi_sse_feed(p, big, 10), LLMB_OK);
    assert_int_equal(llmbi_sse_feed(p, big, 10), LLMB_ERR_LIMIT);
    /* After an error the parser stays failed. */
    assert_int_equal(llmbi_sse_feed(p, "\n\n", 2), LLMB_ERR_LIMIT);
    assert_int_equal(c.n, 0);
    /* Reset makes it usable again. */
    llmbi_sse_reset(p);
    assert_int_equal(llmbi_sse_feed(p, "data: ok\n\n", 10), LLMB_OK);
    assert_int_equal(c.n, 1);
    /* Many data lines, each small, still count against the cap. */
    assert_int_equal(llmbi_sse_feed(p, "data: 12345678\ndata: 12345678\n", 30), LLMB_ERR_LIMIT);
    llmbi_sse_free(p);
}

static void test_sse_callback_stop(void **state)
{
    collected c;
    llmbi_sse *p = llmbi_sse_new(0, collect, &c);
    (void)state;
    memset(&c, 0, sizeof c);
    c.stop_after = 1;
    assert_int_equal(llmbi_sse_feed(p, "data: a\n\ndata: b\n\n", 18), LLMB_ERR_STOPPED);
    assert_int_equal(c.n, 1);
    llmbi_sse_free(p);
}

static void test_sse_buffer_bounded(void **state)
{
    /* A long stream of normal events must not make the buffers grow. */
    collected c;
    llmbi_sse *p = llmbi_sse_new(0, collect, &c);
    size_t before;
    (void)state;
    memset(&c, 0, sizeof c);
    assert_int_equal(llmbi_sse_feed(p, "data: abc", 9), LLMB_OK);
    assert_int_equal(llmbi_sse_feed(p, "def\n\n", 5), LLMB_OK);
    before = llmbi_sse_buffered(p);
    for (int i = 0; i < 10000; i++) {
        c.n = 0;
        assert_int_equal(llmbi_sse_feed(p, "data: abc", 9), LLMB_OK);
        assert_int_equal(llmbi_sse_feed(p, "def\n\n", 5), LLMB_OK);
    }
    assert_int_equal(llmbi_sse_buffered(p), before);
    llmbi_sse_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_openai_stream),
        cmocka_unit_test(test_sse_line_endings),
        cmocka_unit_test(test_sse_crlf_split_between_feeds),
        cmocka_unit_test(test_sse_comments_and_fields),
        cmocka_unit_test(test_sse_multiline_data),
        cmocka_unit_test(test_sse_event_type),
        cmocka_unit_test(test_sse_empty_data_event),
        cmocka_unit_test(test_sse_bom),
        cmocka_unit_test(test_sse_unterminated_end),
        cmocka_unit_test(test_sse_event_cap),
        cmocka_unit_test(test_sse_callback_stop),
        cmocka_unit_test(test_sse_buffer_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
