/*
 * A minimal harness on libllmbench: send requests to an OpenAI-compatible
 * server at a fixed interval and print one line per finished request.
 *
 *   cc print_records.c $(pkg-config --cflags --libs llmbench) -o print_records
 *   ./print_records http://127.0.0.1:8800/v1 [REQUESTS]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <llmbench/llmbench.h>

/* Called on the run's thread as soon as each request finishes. */
static void on_record(const llmb_record *r, void *user)
{
    (void)user;
    if (llmb_record_ok(r))
        printf("#%" PRIu64 ": TTFT %.1f ms, %" PRId64 " tokens, %.1f tok/s, E2E %.1f ms\n",
               r->request, llmb_record_ttft_ms(r), r->generated_tokens, llmb_record_tokens_per_s(r),
               llmb_record_e2e_ms(r));
    else
        printf("#%" PRIu64 ": failed (%s): %s\n", r->request, llmb_error_class_name(r->error_class),
               r->error);
}

int main(int argc, char **argv)
{
    llmb_endpoint *ep = NULL;
    llmb_schedule *sched = NULL;
    llmb_runner *runner = NULL;
    llmb_run_options opts = LLMB_RUN_OPTIONS_INIT;
    llmb_error err;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: %s BASE_URL [REQUESTS]\n", argv[0]);
        return 2;
    }
    /* A "vllm" endpoint pointed at any OpenAI-compatible base URL; the model
     * is whatever the server lists first at /models. */
    if (llmb_endpoint_new("vllm", &ep, &err) != LLMB_OK ||
        llmb_endpoint_set_base_url(ep, argv[1], &err) != LLMB_OK ||
        llmb_endpoint_discover_model(ep, &err) != LLMB_OK)
        goto fail;
    /* One request every 100 ms, whatever the others are doing. */
    if (llmb_schedule_interval(0.1, &sched, &err) != LLMB_OK)
        goto fail;
    opts.requests = argc > 2 ? strtoull(argv[2], NULL, 10) : 5;
    opts.max_tokens = 64;
    opts.on_record = on_record;
    if (llmb_runner_new(ep, sched, &opts, &runner, &err) != LLMB_OK)
        goto fail;
    printf("%s, model %s\n", llmb_endpoint_base_url(ep), llmb_endpoint_model(ep));
    if (llmb_runner_run(runner) != LLMB_OK) {
        fprintf(stderr, "run failed: %s\n", llmb_runner_errmsg(runner));
        goto out;
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "error: %s\n", err.text);
out:
    llmb_runner_free(runner);
    llmb_schedule_free(sched);
    llmb_endpoint_free(ep);
    return rc;
}
