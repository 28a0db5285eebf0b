/*
 * Provider decoding: content detection, usage in its several places, error
 * events, request bodies and error messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "provider.h"

static llmbi_chunk decode(llmb_api api, const char *s)
{
    llmbi_chunk c;
    llmb_error e;
    assert_int_equal(llmbi_decode_chunk(api, s, strlen(s), &c, &e), LLMB_OK);
    return c;
}

static void test_provider_role_chunk_is_not_content(void **state)
{
    llmbi_chunk c =
        decode(LLMB_API_CHAT, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                              "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}");
    (void)state;
    assert_false(c.has_content);
    assert_false(c.has_usage);
    assert_false(c.finished);
    assert_false(c.is_error);
    c = decode(LLMB_API_CHAT, "{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}");
    assert_false(c.has_content);
    c = decode(LLMB_API_CHAT, "{\"choices\":[{\"delta\":{\"content\":null}}]}");
    assert_false(c.has_content);
}

static void test_provider_content_chunk(void **state)
{
    llmbi_chunk c = decode(LLMB_API_CHAT, "{\"choices\":[{\"delta\":{\"content\":\" spring\"},"
                                          "\"finish_reason\":null}],\"usage\":null}");
    (void)state;
    assert_true(c.has_content);
    assert_false(c.has_usage);
    /* Reasoning text counts as generated output. */
    c = decode(LLMB_API_CHAT, "{\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}");
    assert_true(c.has_content);
    c = decode(LLMB_API_CHAT, "{\"choices\":[{\"delta\":{\"reasoning\":\"hmm\"}}]}");
    assert_true(c.has_content);
    /* Completions use "text"; a chat delta in a completions stream is not content. */
    c = decode(LLMB_API_COMPLETIONS, "{\"choices\":[{\"text\":\"abc\",\"index\":0}]}");
    assert_true(c.has_content);
    c = decode(LLMB_API_COMPLETIONS, "{\"choices\":[{\"text\":\"\",\"index\":0}]}");
    assert_false(c.has_content);
    c = decode(LLMB_API_CHAT, "{\"choices\":[{\"text\":\"abc\"}]}");
    assert_false(c.has_content);
}

static void test_provider_usage_final_chunk(void **state)
{
    /* OpenAI, vLLM, SGLang: a last chunk with empty choices and usage. */
    llmbi_chunk c =
        decode(LLMB_API_CHAT, "{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\""
                              ":11,\"completion_tokens\":128,\"total_tokens\":139}}");
    (void)state;
    assert_false(c.has_content);
    assert_true(c.has_usage);
    assert_int_equal(c.prompt_tokens, 11);
    assert_int_equal(c.completion_tokens, 128);
}

static void test_provider_usage_in_last_content_chunk(void **state)
{
    /* Some llama.cpp builds: usage rides on the chunk with the finish reason. */
    llmbi_chunk c = decode(LLMB_API_CHAT,
                           "{\"choices\":[{\"delta\":{\"content\":\"end\"},\"finish_reason\":"
                           "\"length\"}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":5}}");
    (void)state;
    assert_true(c.has_content);
    assert_true(c.finished);
    assert_true(c.has_usage);
    assert_int_equal(c.prompt_tokens, 7);
    assert_int_equal(c.completion_tokens, 5);
}

static void test_provider_usage_groq(void **state)
{
    llmbi_chunk c =
        decode(LLMB_API_CHAT, "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"x_groq\":"
                              "{\"id\":\"req_1\",\"usage\":{\"queue_time\":0.01,\"prompt_tokens\":"
                              "42,\"completion_tokens\":300,\"total_tokens\":342}}}");
    (void)state;
    assert_false(c.has_content);
    assert_true(c.finished);
    assert_true(c.has_usage);
    assert_int_equal(c.prompt_tokens, 42);
    assert_int_equal(c.completion_tokens, 300);
    /* x_groq without usage (its first chunk) says nothing about tokens. */
    c = decode(LLMB_API_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"x_groq\":"
                              "{\"id\":\"req_1\"}}");
    assert_false(c.has_usage);
}

static void test_provider_usage_absent(void **state)
{
    llmbi_chunk c =
        decode(LLMB_API_CHAT, "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}");
    (void)state;
    assert_false(c.has_usage);
    assert_int_equal(c.prompt_tokens, -1);
    assert_int_equal(c.completion_tokens, -1);
    /* Malformed usage values are not usage. */
    c = decode(LLMB_API_CHAT, "{\"choices\":[],\"usage\":{\"prompt_tokens\":\"7\"}}");
    assert_false(c.has_usage);
    c = decode(LLMB_API_CHAT, "{\"choices\":[],\"usage\":{\"prompt_tokens\":-5,"
                              "\"completion_tokens\":3}}");
    assert_true(c.has_usage);
    assert_int_equal(c.prompt_tokens, -1);
    assert_int_equal(c.completion_tokens, 3);
}

static void test_provider_error_events(void **state)
{
    llmbi_chunk c = decode(LLMB_API_CHAT, "{\"error\":{\"message\":\"The model is overloaded\","
                                          "\"type\":\"server_error\"}}");
    (void)state;
    assert_true(c.is_error);
    assert_string_equal(c.error, "The model is overloaded");
    c = decode(LLMB_API_CHAT, "{\"object\":\"error\",\"message\":\"bad\\nthing\",\"code\":400}");
    assert_true(c.is_error);
    assert_string_equal(c.error, "bad thing");
    c = decode(LLMB_API_CHAT, "{\"error\":\"plain string\"}");
    assert_true(c.is_error);
    assert_string_equal(c.error, "plain string");
    c = decode(LLMB_API_CHAT, "{\"error\":null,\"choices\":[]}");
    assert_false(c.is_error);
}

static void test_provider_malformed(void **state)
{
    llmbi_chunk c;
    llmb_error e;
    (void)state;
    assert_int_equal(llmbi_decode_chunk(LLMB_API_CHAT, "{\"choices\":", 11, &c, &e),
                     LLMB_ERR_PARSE);
    assert_non_null(strstr(e.text, "not valid JSON"));
    assert_int_equal(llmbi_decode_chunk(LLMB_API_CHAT, "[1,2]", 5, &c, &e), LLMB_ERR_PARSE);
    assert_int_equal(llmbi_decode_chunk(LLMB_API_CHAT, "", 0, &c, &e), LLMB_ERR_PARSE);
    /* Odd but valid shapes are not errors, just nothing. */
    c = decode(LLMB_API_CHAT, "{\"choices\":[1,null,{\"delta\":5}]}");
    assert_false(c.has_content);
}

static void test_provider_build_body(void **state)
{
    char *body = llmbi_build_body(LLMB_API_CHAT, "m1", "Write \"x\"", 64);
    json_t *root, *msg;
    (void)state;
    assert_non_null(body);
    root = json_loads(body, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "model")), "m1");
    assert_true(json_is_true(json_object_get(root, "stream")));
    assert_true(
        json_is_true(json_object_get(json_object_get(root, "stream_options"), "include_usage")));
    assert_int_equal(json_integer_value(json_object_get(root, "max_tokens")), 64);
    msg = json_array_get(json_object_get(root, "messages"), 0);
    assert_string_equal(json_string_value(json_object_get(msg, "role")), "user");
    assert_string_equal(json_string_value(json_object_get(msg, "content")), "Write \"x\"");
    json_decref(root);
    free(body);

    body = llmbi_build_body(LLMB_API_COMPLETIONS, "m2", "p", 0);
    root = json_loads(body, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "prompt")), "p");
    assert_null(json_object_get(root, "max_tokens"));
    assert_null(json_object_get(root, "messages"));
    json_decref(root);
    free(body);
}

static void test_provider_error_message(void **state)
{
    char out[64];
    const char *html = "<html>\r\n<body>502 Bad Gateway</body></html>";
    char longtext[300];
    (void)state;
    llmbi_error_message("{\"error\":{\"message\":\"Rate limit reached\"}}", 42, out, sizeof out);
    assert_string_equal(out, "Rate limit reached");
    llmbi_error_message("{\"detail\":\"Not Found\"}", 22, out, sizeof out);
    assert_string_equal(out, "Not Found");
    llmbi_error_message(html, strlen(html), out, sizeof out);
    assert_string_equal(out, "<html>  <body>502 Bad Gateway</body></html>");
    memset(longtext, 'a', sizeof longtext);
    llmbi_error_message(longtext, sizeof longtext, out, sizeof out);
    assert_int_equal(strlen(out), sizeof out - 1);
    assert_string_equal(out + sizeof out - 4, "...");
    llmbi_error_message("", 0, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_provider_models(void **state)
{
    const char *vllm = "{\"object\":\"list\",\"data\":[{\"id\":\"meta-llama/Llama-3.1-8B\","
                       "\"object\":\"model\"},{\"id\":\"other\"}]}";
    llmb_error e;
    char *id;
    (void)state;
    id = llmbi_models_first_id(vllm, strlen(vllm), &e);
    assert_non_null(id);
    assert_string_equal(id, "meta-llama/Llama-3.1-8B");
    free(id);
    assert_null(llmbi_models_first_id("{\"data\":[]}", 11, &e));
    assert_non_null(strstr(e.text, "no models"));
    assert_null(llmbi_models_first_id("nope", 4, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_role_chunk_is_not_content),
        cmocka_unit_test(test_provider_content_chunk),
        cmocka_unit_test(test_provider_usage_final_chunk),
        cmocka_unit_test(test_provider_usage_in_last_content_chunk),
        cmocka_unit_test(test_provider_usage_groq),
        cmocka_unit_test(test_provider_usage_absent),
        cmocka_unit_test(test_provider_error_events),
        cmocka_unit_test(test_provider_malformed),
        cmocka_unit_test(test_provider_build_body),
        cmocka_unit_test(test_provider_error_message),
        cmocka_unit_test(test_provider_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
