/*
 * Endpoints: presets, URL validation, keys (kept out of every text), headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "endpoint.h"

static void test_endpoint_presets(void **state)
{
    llmb_endpoint *ep;
    llmb_error e;
    const char *names[] = {"openai", "groq", "vllm", "sglang", "llamacpp", "ollama", "mock"};
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_non_null(llmb_preset_find(names[i]));
        assert_int_equal(llmb_endpoint_new(names[i], &ep, &e), LLMB_OK);
        assert_string_equal(llmb_endpoint_preset_name(ep), names[i]);
        assert_non_null(strstr(llmb_endpoint_base_url(ep), "/v1"));
        llmb_endpoint_free(ep);
    }
    assert_int_equal(llmb_endpoint_new("openai", &ep, &e), LLMB_OK);
    assert_string_equal(llmb_endpoint_api_key_env(ep), "OPENAI_API_KEY");
    assert_string_equal(llmb_endpoint_base_url(ep), "https://api.openai.com/v1");
    llmb_endpoint_free(ep);
    assert_int_equal(llmb_endpoint_new("groq", &ep, &e), LLMB_OK);
    assert_string_equal(llmb_endpoint_api_key_env(ep), "GROQ_API_KEY");
    assert_string_equal(llmb_endpoint_base_url(ep), "https://api.groq.com/openai/v1");
    llmb_endpoint_free(ep);
    assert_int_equal(llmb_endpoint_new("vllm", &ep, &e), LLMB_OK);
    assert_null(llmb_endpoint_model(ep)); /* asked from the server */
    assert_null(llmb_endpoint_api_key_env(ep));
    llmb_endpoint_free(ep);
    assert_int_equal(llmb_endpoint_new("nope", &ep, &e), LLMB_ERR_INVALID);
    assert_null(ep);
    assert_non_null(strstr(e.text, "unknown provider 'nope'"));
    assert_non_null(strstr(e.text, "sglang"));
    llmb_endpoint_free(NULL);
}

static void test_endpoint_base_url(void **state)
{
    llmb_endpoint *ep;
    llmb_error e;
    const char *bad[] = {"localhost:8000/v1", "ftp://x/v1",       "http://", "http:///v1",
                         "http://a b/v1",     "https://h/v1?x=1", "htp://h"};
    (void)state;
    assert_int_equal(llmb_endpoint_new("vllm", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_base_url(ep, "http://10.0.0.5:8000/v1//", &e), LLMB_OK);
    assert_string_equal(llmb_endpoint_base_url(ep), "http://10.0.0.5:8000/v1");
    assert_int_equal(llmb_endpoint_set_base_url(ep, "http://[::1]:65535/v1", &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_base_url(ep, "https://host.example", &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_base_url(ep, "http://10.0.0.5:8000/v1", &e), LLMB_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(llmb_endpoint_set_base_url(ep, bad[i], &e), LLMB_ERR_INVALID);
        assert_true(strlen(e.text) > 0);
    }
    /* A refused URL leaves the old one. */
    assert_string_equal(llmb_endpoint_base_url(ep), "http://10.0.0.5:8000/v1");
    assert_int_equal(llmb_endpoint_set_api(ep, LLMB_API_COMPLETIONS), LLMB_OK);
    {
        char *url = llmbi_endpoint_url(ep, "/completions");
        assert_string_equal(url, "http://10.0.0.5:8000/v1/completions");
        free(url);
    }
    assert_int_equal(llmb_endpoint_set_timeouts(ep, -1, 0), LLMB_ERR_INVALID);
    assert_int_equal(llmb_endpoint_set_timeouts(ep, 5, 60), LLMB_OK);
    assert_true(llmb_endpoint_request_timeout_s(ep) == 60);
    llmb_endpoint_free(ep);
}

static void test_endpoint_api_key_sources(void **state)
{
    llmb_endpoint *ep;
    llmb_error e;
    char path[] = "/tmp/llmb_test_key_XXXXXX";
    int fd = mkstemp(path);
    FILE *fp;
    (void)state;
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    fputs("  sk-file-canary-987  \nsecond line\n", fp);
    fclose(fp);

    assert_int_equal(llmb_endpoint_new("openai", &ep, &e), LLMB_OK);
    unsetenv("OPENAI_API_KEY");
    assert_int_equal(llmb_endpoint_api_key_from_env(ep, NULL, &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "OPENAI_API_KEY"));
    setenv("LLMB_TEST_KEY", "sk-env-canary-123", 1);
    assert_int_equal(llmb_endpoint_api_key_from_env(ep, "LLMB_TEST_KEY", &e), LLMB_OK);
    assert_true(llmb_endpoint_has_api_key(ep));
    setenv("LLMB_TEST_KEY", "bad\nkey", 1);
    assert_int_equal(llmb_endpoint_api_key_from_env(ep, "LLMB_TEST_KEY", &e), LLMB_ERR_INVALID);
    /* The message names the variable, never its value. */
    assert_null(strstr(e.text, "bad"));
    assert_int_equal(llmb_endpoint_api_key_from_file(ep, path, &e), LLMB_OK);
    {
        /* The key from the file, trimmed, goes into the Authorization header. */
        llmbi_headers *h = llmbi_endpoint_headers(ep, 1);
        assert_non_null(h);
        llmbi_headers_free(h);
    }
    assert_int_equal(llmb_endpoint_api_key_from_file(ep, "/nonexistent/key", &e), LLMB_ERR_IO);
    assert_null(strstr(e.text, "canary"));
    llmb_endpoint_free(ep);

    /* A local preset needs no key. */
    assert_int_equal(llmb_endpoint_new("vllm", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_api_key_from_env(ep, NULL, &e), LLMB_OK);
    assert_false(llmb_endpoint_has_api_key(ep));
    assert_int_equal(llmb_endpoint_set_api_key(ep, "", &e), LLMB_ERR_INVALID);
    llmb_endpoint_free(ep);
    unlink(path);
    unsetenv("LLMB_TEST_KEY");
}

static void test_endpoint_discover_unreachable(void **state)
{
    llmb_endpoint *ep;
    llmb_error e;
    (void)state;
    assert_int_equal(llmb_endpoint_new("vllm", &ep, &e), LLMB_OK);
    /* Port 1 on loopback: nothing listens there, the connection is refused. */
    assert_int_equal(llmb_endpoint_set_base_url(ep, "http://127.0.0.1:1/v1", &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_api_key(ep, "sk-canary-discover", &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_discover_model(ep, &e), LLMB_ERR_TRANSFER);
    assert_non_null(strstr(e.text, "127.0.0.1:1"));
    assert_null(strstr(e.text, "canary"));
    assert_null(llmb_endpoint_model(ep));
    llmb_endpoint_free(ep);
}

static void test_endpoint_transport(void **state)
{
    llmb_endpoint *ep;
    llmb_error e;
    llmb_transport t = LLMB_TRANSPORT_LIBCURL;
    (void)state;
    assert_int_equal(llmb_endpoint_new("vllm", &ep, &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_transport(ep), LLMB_TRANSPORT_AUTO);
    for (int k = LLMB_TRANSPORT_AUTO; k <= LLMB_TRANSPORT_LIBCURL; k++) {
        assert_int_equal(llmb_transport_from_name(llmb_transport_name((llmb_transport)k), &t),
                         LLMB_OK);
        assert_int_equal(t, k);
        assert_int_equal(llmb_endpoint_set_transport(ep, t), LLMB_OK);
        assert_int_equal(llmb_endpoint_transport(ep), k);
    }
    assert_int_equal(llmb_transport_from_name("curl", &t), LLMB_ERR_INVALID);
    assert_int_equal(llmb_transport_from_name(NULL, &t), LLMB_ERR_INVALID);
    assert_int_equal(llmb_endpoint_set_transport(ep, (llmb_transport)7), LLMB_ERR_INVALID);
    assert_int_equal(llmb_endpoint_transport(ep), LLMB_TRANSPORT_LIBCURL);
    assert_string_equal(llmb_transport_name((llmb_transport)7), "");
    /* Built in speaks plain HTTP only, whichever is set first. */
    assert_int_equal(llmb_endpoint_set_base_url(ep, "https://h/v1", &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_transport(ep, LLMB_TRANSPORT_BUILTIN), LLMB_ERR_INVALID);
    assert_int_equal(llmb_endpoint_transport(ep), LLMB_TRANSPORT_LIBCURL);
    assert_int_equal(llmb_endpoint_set_base_url(ep, "http://h:8000/v1", &e), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_transport(ep, LLMB_TRANSPORT_BUILTIN), LLMB_OK);
    assert_int_equal(llmb_endpoint_set_base_url(ep, "https://h/v1", &e), LLMB_ERR_INVALID);
    assert_non_null(strstr(e.text, "plain HTTP only"));
    assert_string_equal(llmb_endpoint_base_url(ep), "http://h:8000/v1");
    llmb_endpoint_free(ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_presets),
        cmocka_unit_test(test_endpoint_base_url),
        cmocka_unit_test(test_endpoint_api_key_sources),
        cmocka_unit_test(test_endpoint_discover_unreachable),
        cmocka_unit_test(test_endpoint_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
