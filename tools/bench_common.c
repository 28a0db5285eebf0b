/*
 * The body shared by llm-seq and llm-conc.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llmbench/llmbench.h"

#include "bench_common.h"
#include "options.h"

typedef struct bench_opts {
    const char *tool;
    tool_mode mode;
    const char *provider;
    const char *base_url;
    const char *model;
    const char *api;
    const char *prompt;
    const char *output;
    const char *summary;
    const char *api_key_env;
    const char *api_key_file;
    uint64_t requests;
    uint64_t max_tokens;
    double seconds; /* --delay or --interval */
    double timeout_s;
    double connect_timeout_s;
    int quiet;
} bench_opts;

/* What the record callback needs. */
typedef struct bench_ctx {
    const bench_opts *o;
    llmb_results_writer *csv;
    llmb_metrics *metrics;
    int csv_failed;
    int tty;            /* stderr is a terminal: show a live progress line */
    int progress_shown; /* a progress line is on the terminal now */
    uint64_t planned;
    FILE *lines; /* per-request lines and the table: stdout, or stderr when the CSV is */
} bench_ctx;

/* The runner being driven, for the signal handler. */
static llmb_runner *volatile active_runner;
static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    (void)sig;
    if (signals_seen++ > 0)
        _exit(130); /* a second signal: the user wants out now */
    if (active_runner)
        llmb_runner_stop(active_runner);
}

static void usage(const bench_opts *o)
{
    int seq = o->mode == TOOL_MODE_SEQUENTIAL;
    printf("Usage: %s [OPTION]...\n", o->tool);
    if (seq)
        printf("Send chat requests to an LLM server one after another, with a pause between\n"
               "them, and measure each: time to first token, inter-token latency, end-to-end\n"
               "latency, prompt and generated tokens, tokens per second.\n");
    else
        printf("Start chat requests to an LLM server at a fixed interval, all in flight\n"
               "together, and measure each: time to first token, inter-token latency,\n"
               "end-to-end latency, prompt and generated tokens, tokens per second.\n");
    printf("Every finished request is printed and written to the CSV at once; a summary\n"
           "with percentiles follows at the end.\n\n");
    printf("Server:\n"
           "  --provider NAME      preset: ");
    for (size_t i = 0; i < llmb_preset_count(); i++)
        printf("%s%s", i ? ", " : "", llmb_preset_at(i)->name);
    printf(" (default mock)\n"
           "  --base-url URL       override the preset's base URL (e.g. http://host:8000/v1)\n"
           "  --model NAME         model to ask for (default: the preset's, else the first\n"
           "                       one the server lists at /models)\n"
           "  --api chat|completions  /chat/completions (default) or /completions\n"
           "  --api-key-env NAME   read the API key from this environment variable\n"
           "                       (openai: OPENAI_API_KEY, groq: GROQ_API_KEY by default)\n"
           "  --api-key-file FILE  read the API key from the first line of FILE\n"
           "  --timeout S          give up on a request after S seconds (default 600, 0 = never)\n"
           "  --connect-timeout S  give up connecting after S seconds (default 10)\n\n");
    printf("Load:\n"
           "  --requests N         number of requests (default 5)\n"
           "  --prompt TEXT        the prompt (default \"%s\")\n"
           "  --max-tokens N       ask for at most N generated tokens (default: not sent)\n",
           LLMB_DEFAULT_PROMPT);
    if (seq)
        printf("  --delay S            pause after each request ends (default %g s)\n",
               LLMB_DEFAULT_DELAY_S);
    else
        printf("  --interval S         start request i at i * S seconds (default %g s)\n",
               LLMB_DEFAULT_INTERVAL_S);
    printf("\nOutput:\n"
           "  --output FILE        results CSV, one row per request (default results.csv;\n"
           "                       - for standard output)\n"
           "  --summary FILE       also write the summary as JSON (- for standard output)\n"
           "  --quiet              no per-request lines and no progress line\n"
           "  -h, --help           show this help\n"
           "  --version            show the version\n\n");
    printf("Exit status: 0 if every request succeeded, 1 if any failed or the run could not\n"
           "complete, 2 if the command line is wrong. The API key is never printed or stored.\n\n");
    printf("Examples:\n"
           "  %s --provider mock          # with llm-mock --port 8800 already running\n"
           "  %s --provider vllm --base-url http://gpu1:8000/v1 --max-tokens 256\n"
           "  OPENAI_API_KEY=... %s --provider openai --model gpt-4o-mini --requests 10\n",
           o->tool, o->tool, o->tool);
}

enum {
    OPT_PROVIDER = 256,
    OPT_BASE_URL,
    OPT_MODEL,
    OPT_API,
    OPT_REQUESTS,
    OPT_PROMPT,
    OPT_MAX_TOKENS,
    OPT_OUTPUT,
    OPT_SUMMARY,
    OPT_DELAY,
    OPT_INTERVAL,
    OPT_API_KEY_ENV,
    OPT_API_KEY_FILE,
    OPT_TIMEOUT,
    OPT_CONNECT_TIMEOUT,
    OPT_QUIET,
    OPT_HELP,
    OPT_VERSION,
};

/* Whether two output names are the same file: the same name, or existing
 * files with the same device and inode. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0)
        return 1;
    if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return 0;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Whether a file can be created or replaced at `path`, checked before a run
 * so that its results are not lost at the end to a typo. Prints why not. */
static int writable(const char *tool, const char *opt, const char *path)
{
    struct stat st;
    char dir[4096];
    const char *slash;

    if (strcmp(path, "-") == 0)
        return 1;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            tool_error(tool, "%s: %s is a directory", opt, path);
            return 0;
        }
        if (access(path, W_OK) != 0) {
            tool_error(tool, "%s: cannot write %s: %s", opt, path, strerror(errno));
            return 0;
        }
        return 1;
    }
    slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (access(dir, W_OK | X_OK) != 0) {
        tool_error(tool, "%s: cannot create %s: %s", opt, path, strerror(errno));
        return 0;
    }
    return 1;
}

/* Returns -1 on a usage error, 1 when --help or --version was handled, 0 to run. */
static int parse(int argc, char **argv, bench_opts *o)
{
    static const struct option seq_opts[] = {
        {"provider", required_argument, NULL, OPT_PROVIDER},
        {"base-url", required_argument, NULL, OPT_BASE_URL},
        {"model", required_argument, NULL, OPT_MODEL},
        {"api", required_argument, NULL, OPT_API},
        {"requests", required_argument, NULL, OPT_REQUESTS},
        {"prompt", required_argument, NULL, OPT_PROMPT},
        {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"summary", required_argument, NULL, OPT_SUMMARY},
        {"delay", required_argument, NULL, OPT_DELAY},
        {"api-key-env", required_argument, NULL, OPT_API_KEY_ENV},
        {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct option conc_opts[sizeof seq_opts / sizeof seq_opts[0]];
    const struct option *table = seq_opts;
    int c;

    if (o->mode == TOOL_MODE_CONCURRENT) {
        /* The same table with --interval in place of --delay. */
        memcpy(conc_opts, seq_opts, sizeof seq_opts);
        for (size_t i = 0; conc_opts[i].name; i++)
            if (conc_opts[i].val == OPT_DELAY) {
                conc_opts[i].name = "interval";
                conc_opts[i].val = OPT_INTERVAL;
            }
        table = conc_opts;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", table, NULL)) != -1) {
        switch (c) {
        case OPT_PROVIDER:
            if (!llmb_preset_find(optarg)) {
                char names[256] = "";
                size_t used = 0;
                for (size_t i = 0; i < llmb_preset_count(); i++) {
                    int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                     llmb_preset_at(i)->name);
                    if (w < 0 || (size_t)w >= sizeof names - used)
                        break;
                    used += (size_t)w;
                }
                tool_usage_error(o->tool, "--provider: unknown provider '%s' (known: %s)", optarg,
                                 names);
                return -1;
            }
            o->provider = optarg;
            break;
        case OPT_BASE_URL:
            o->base_url = optarg;
            break;
        case OPT_MODEL:
            if (!*optarg) {
                tool_usage_error(o->tool, "--model: the model name is empty");
                return -1;
            }
            o->model = optarg;
            break;
        case OPT_API: {
            llmb_api api;
            if (llmb_api_from_name(optarg, &api) != LLMB_OK) {
                tool_usage_error(o->tool, "--api: '%s' is not chat or completions", optarg);
                return -1;
            }
            o->api = optarg;
            break;
        }
        case OPT_REQUESTS:
            if (tool_parse_u64(o->tool, "--requests", optarg, 1, 100000000, &o->requests))
                return -1;
            break;
        case OPT_PROMPT:
            o->prompt = optarg;
            break;
        case OPT_MAX_TOKENS:
            if (tool_parse_u64(o->tool, "--max-tokens", optarg, 1, 10000000, &o->max_tokens))
                return -1;
            break;
        case OPT_OUTPUT:
            if (!*optarg) {
                tool_usage_error(o->tool, "--output: the file name is empty");
                return -1;
            }
            o->output = optarg;
            break;
        case OPT_SUMMARY:
            if (!*optarg) {
                tool_usage_error(o->tool, "--summary: the file name is empty");
                return -1;
            }
            o->summary = optarg;
            break;
        case OPT_DELAY:
            if (tool_parse_double(o->tool, "--delay", optarg, 0, 3600, &o->seconds))
                return -1;
            break;
        case OPT_INTERVAL:
            if (tool_parse_double(o->tool, "--interval", optarg, 0, 3600, &o->seconds))
                return -1;
            break;
        case OPT_API_KEY_ENV:
            if (!*optarg) {
                tool_usage_error(o->tool, "--api-key-env: the variable name is empty");
                return -1;
            }
            o->api_key_env = optarg;
            break;
        case OPT_API_KEY_FILE:
            o->api_key_file = optarg;
            break;
        case OPT_TIMEOUT:
            if (tool_parse_double(o->tool, "--timeout", optarg, 0, 86400, &o->timeout_s))
                return -1;
            break;
        case OPT_CONNECT_TIMEOUT:
            if (tool_parse_double(o->tool, "--connect-timeout", optarg, 0.001, 3600,
                                  &o->connect_timeout_s))
                return -1;
            break;
        case OPT_QUIET:
            o->quiet = 1;
            break;
        case 'h':
        case OPT_HELP:
            usage(o);
            return 1;
        case OPT_VERSION:
            printf("%s (libllmbench) %s\n", o->tool, llmb_version());
            return 1;
        case ':':
            tool_usage_error(o->tool, "%s needs a value", argv[optind - 1]);
            return -1;
        default:
            if (optopt >= OPT_PROVIDER)
                tool_usage_error(o->tool, "%s needs a value", argv[optind - 1]);
            else
                tool_usage_error(o->tool, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        tool_usage_error(o->tool, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (o->summary && same_file(o->summary, o->output)) {
        tool_usage_error(o->tool, "--summary and --output name the same file");
        return -1;
    }
    return 0;
}

static void clear_progress(bench_ctx *c)
{
    if (c->progress_shown) {
        fputs("\r\033[K", stderr);
        c->progress_shown = 0;
    }
}

static void on_progress(const llmb_progress *p, void *user)
{
    bench_ctx *c = user;
    if (!c->tty)
        return;
    fprintf(stderr,
            "\r\033[K%s: %" PRIu64 "/%" PRIu64 " done, %" PRIu64 " in flight, %" PRIu64
            " failed, %.1f s",
            c->o->tool, p->finished, p->planned, p->in_flight, p->failed,
            (double)p->elapsed_ns / 1e9);
    fflush(stderr);
    c->progress_shown = 1;
}

static void on_record(const llmb_record *r, void *user)
{
    bench_ctx *c = user;
    llmb_error e;

    if (c->csv && !c->csv_failed && llmb_results_write(c->csv, r, &e) != LLMB_OK) {
        clear_progress(c);
        tool_error(c->o->tool, "%s; results are still printed here", e.text);
        c->csv_failed = 1;
    }
    if (llmb_metrics_add(c->metrics, r) != LLMB_OK) {
        clear_progress(c);
        tool_error(c->o->tool, "out of memory adding request %" PRIu64 " to the summary",
                   r->request);
    }
    if (c->o->quiet)
        return;
    clear_progress(c);
    if (llmb_record_ok(r)) {
        double ttft = llmb_record_ttft_ms(r);
        fprintf(c->lines,
                "request %" PRIu64 "/%" PRIu64 ": %.3f s, %" PRId64 " prompt + %" PRId64
                " generated tokens%s, %.1f tok/s",
                r->request, c->planned, llmb_record_time_taken_s(r), r->prompt_tokens,
                r->generated_tokens, r->token_source == LLMB_TOKENS_CHUNKS ? " (counted)" : "",
                llmb_record_tokens_per_s(r));
        if (!isnan(ttft))
            fprintf(c->lines, ", TTFT %.1f ms", ttft);
        fputc('\n', c->lines);
    } else {
        fprintf(c->lines, "request %" PRIu64 "/%" PRIu64 ": FAILED (%s) after %.3f s: %s\n",
                r->request, c->planned, llmb_error_class_name(r->error_class),
                llmb_record_time_taken_s(r), r->error);
    }
    fflush(c->lines);
}

/* Endpoint from the options; prints its own errors. 0 on success, else an exit status. */
static int make_endpoint(const bench_opts *o, llmb_endpoint **out)
{
    llmb_endpoint *ep = NULL;
    llmb_error e;
    llmb_api api = LLMB_API_CHAT;

    *out = NULL;
    if (llmb_endpoint_new(o->provider, &ep, &e) != LLMB_OK) {
        tool_usage_error(o->tool, "%s", e.text);
        return TOOL_EXIT_USAGE;
    }
    if (o->base_url && llmb_endpoint_set_base_url(ep, o->base_url, &e) != LLMB_OK) {
        tool_usage_error(o->tool, "--base-url: %s", e.text);
        goto usage;
    }
    if (o->api)
        llmb_api_from_name(o->api, &api);
    llmb_endpoint_set_api(ep, api);
    llmb_endpoint_set_timeouts(ep, o->connect_timeout_s, o->timeout_s);
    if (o->api_key_file) {
        if (llmb_endpoint_api_key_from_file(ep, o->api_key_file, &e) != LLMB_OK) {
            tool_usage_error(o->tool, "--api-key-file: %s", e.text);
            goto usage;
        }
    } else if (llmb_endpoint_api_key_from_env(ep, o->api_key_env, &e) != LLMB_OK) {
        tool_usage_error(o->tool, "%s (or give --api-key-file)", e.text);
        goto usage;
    }
    if (o->model && llmb_endpoint_set_model(ep, o->model, &e) != LLMB_OK) {
        tool_usage_error(o->tool, "--model: %s", e.text);
        goto usage;
    }
    if (!llmb_endpoint_model(ep) && llmb_endpoint_discover_model(ep, &e) != LLMB_OK) {
        tool_error(o->tool, "no --model given, and asking the server for one failed: %s", e.text);
        llmb_endpoint_free(ep);
        return TOOL_EXIT_FAILED;
    }
    *out = ep;
    return 0;
usage:
    llmb_endpoint_free(ep);
    return TOOL_EXIT_USAGE;
}

int tool_bench_main(int argc, char **argv, tool_mode mode)
{
    bench_opts o;
    bench_ctx ctx;
    llmb_endpoint *ep = NULL;
    llmb_schedule *sched = NULL;
    llmb_runner *runner = NULL;
    llmb_run_options ro = LLMB_RUN_OPTIONS_INIT;
    llmb_results_meta meta;
    llmb_summary sum;
    llmb_run_info info;
    llmb_error e;
    llmb_status st;
    struct sigaction sa;
    int rc = TOOL_EXIT_FAILED;
    int summary_failed = 0;
    int p;

    memset(&o, 0, sizeof o);
    memset(&ctx, 0, sizeof ctx);
    o.mode = mode;
    o.tool = mode == TOOL_MODE_SEQUENTIAL ? "llm-seq" : "llm-conc";
    o.provider = "mock";
    o.prompt = LLMB_DEFAULT_PROMPT;
    o.output = "results.csv";
    o.requests = 5;
    o.seconds = mode == TOOL_MODE_SEQUENTIAL ? LLMB_DEFAULT_DELAY_S : LLMB_DEFAULT_INTERVAL_S;
    o.timeout_s = 600.0;
    o.connect_timeout_s = 10.0;

    p = parse(argc, argv, &o);
    if (p < 0)
        return TOOL_EXIT_USAGE;
    if (p > 0)
        return TOOL_EXIT_OK;

    if (o.summary && !writable(o.tool, "--summary", o.summary))
        return TOOL_EXIT_FAILED;
    rc = make_endpoint(&o, &ep);
    if (rc != 0)
        goto out;
    rc = TOOL_EXIT_FAILED;
    st = mode == TOOL_MODE_SEQUENTIAL ? llmb_schedule_sequential(o.seconds, &sched, &e)
                                      : llmb_schedule_interval(o.seconds, &sched, &e);
    if (st != LLMB_OK) {
        tool_usage_error(o.tool, "%s", e.text);
        rc = TOOL_EXIT_USAGE;
        goto out;
    }

    ctx.o = &o;
    ctx.planned = o.requests;
    /* Standard output carries the CSV or the JSON when asked to; the human
     * lines then go to standard error. */
    ctx.lines = strcmp(o.output, "-") == 0 || (o.summary && strcmp(o.summary, "-") == 0)
                    ? stderr
                    : stdout;
    ctx.tty = !o.quiet && isatty(STDERR_FILENO);
    ctx.metrics = llmb_metrics_new();
    if (!ctx.metrics) {
        tool_error(o.tool, "out of memory");
        goto out;
    }
    meta.schedule = llmb_schedule_name(sched);
    meta.provider = llmb_endpoint_preset_name(ep);
    meta.model = llmb_endpoint_model(ep);
    if (llmb_results_open(o.output, &meta, &ctx.csv, &e) != LLMB_OK) {
        tool_error(o.tool, "%s", e.text);
        goto out;
    }

    ro.requests = o.requests;
    ro.prompt = o.prompt;
    ro.max_tokens = (long)o.max_tokens;
    ro.on_record = on_record;
    ro.record_user = &ctx;
    ro.on_progress = on_progress;
    ro.progress_user = &ctx;
    if (llmb_runner_new(ep, sched, &ro, &runner, &e) != LLMB_OK) {
        tool_error(o.tool, "%s", e.text);
        goto out;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    active_runner = runner;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (!o.quiet) {
        fprintf(ctx.lines, "%s: %" PRIu64 " request%s to %s (%s, model %s), %s %g s\n", o.tool,
                o.requests, o.requests == 1 ? "" : "s", llmb_endpoint_base_url(ep),
                llmb_endpoint_preset_name(ep), llmb_endpoint_model(ep),
                mode == TOOL_MODE_SEQUENTIAL ? "pause" : "interval", o.seconds);
        fflush(ctx.lines);
    }
    memset(&info, 0, sizeof info);
    info.tool = o.tool;
    info.endpoint = ep;
    info.schedule = sched;
    info.requests = o.requests;
    info.max_tokens = (long)o.max_tokens;
    info.prompt = o.prompt;
    info.start_time = time(NULL);

    st = llmb_runner_run(runner);
    active_runner = NULL;
    {
        llmb_progress prog;
        llmb_runner_progress(runner, &prog);
        info.sent = prog.sent;
        info.stopped = st == LLMB_ERR_STOPPED;
    }
    clear_progress(&ctx);
    if (st == LLMB_ERR_STOPPED) {
        tool_error(o.tool, "stopped by a signal; requests in flight are recorded as cancelled");
    } else if (st != LLMB_OK) {
        tool_error(o.tool, "the run failed: %s", llmb_runner_errmsg(runner));
    }

    if (llmb_metrics_summarize(ctx.metrics, &sum) != LLMB_OK) {
        tool_error(o.tool, "out of memory computing the summary");
        goto out;
    }
    if (!o.quiet)
        fputc('\n', ctx.lines);
    llmb_summary_write_table(&sum, &info, ctx.lines);
    fflush(ctx.lines);
    rc = (st == LLMB_OK && sum.failed == 0) ? TOOL_EXIT_OK : TOOL_EXIT_FAILED;
    if (o.summary) {
        llmb_status js = strcmp(o.summary, "-") == 0
                             ? llmb_summary_write_json_to(&sum, &info, stdout)
                             : llmb_summary_write_json(&sum, &info, o.summary, &e);
        if (js != LLMB_OK) {
            if (strcmp(o.summary, "-") == 0)
                tool_error(o.tool, "cannot write the summary to standard output");
            else
                tool_error(o.tool, "%s", e.text);
            rc = TOOL_EXIT_FAILED;
            summary_failed = 1;
        }
    }
    if (llmb_results_close(ctx.csv, &e) != LLMB_OK || ctx.csv_failed) {
        if (!ctx.csv_failed)
            tool_error(o.tool, "%s", e.text);
        rc = TOOL_EXIT_FAILED;
    } else if (!o.quiet && strcmp(o.output, "-") != 0) {
        int show = o.summary && !summary_failed && strcmp(o.summary, "-") != 0;
        fprintf(ctx.lines, "Results: %s%s%s\n", o.output, show ? ", summary: " : "",
                show ? o.summary : "");
    }
    ctx.csv = NULL;
out:
    llmb_results_close(ctx.csv, NULL);
    llmb_runner_free(runner);
    llmb_metrics_free(ctx.metrics);
    llmb_schedule_free(sched);
    llmb_endpoint_free(ep);
    return rc;
}
