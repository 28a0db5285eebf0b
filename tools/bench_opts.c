/*
 * Command-line options of llm-seq and llm-conc.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_opts.h"
#include "options.h"

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
    OPT_RATE,
    OPT_ARRIVAL,
    OPT_BURSTINESS,
    OPT_SEED,
    OPT_CONCURRENCY,
    OPT_MAX_CONCURRENCY,
    OPT_DURATION,
    OPT_WARMUP,
    OPT_THREADS,
    OPT_PERCENTILES,
    OPT_SLO,
    OPT_SWEEP_RATE,
    OPT_SWEEP_CONCURRENCY,
    OPT_SWEEP_OUTPUT,
    OPT_TRACE,
    OPT_API_KEY_ENV,
    OPT_API_KEY_FILE,
    OPT_TIMEOUT,
    OPT_CONNECT_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_MAX_EVENT_BYTES,
    OPT_RETRIES,
    OPT_ALLOW_NO_USAGE,
    OPT_INSECURE,
    OPT_TRANSPORT,
    OPT_QUIET,
    OPT_VERBOSE,
    OPT_HELP,
    OPT_VERSION,
};

/* Options both tools take. */
static const struct option common_opts[] = {
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"base-url", required_argument, NULL, OPT_BASE_URL},
    {"model", required_argument, NULL, OPT_MODEL},
    {"api", required_argument, NULL, OPT_API},
    {"requests", required_argument, NULL, OPT_REQUESTS},
    {"prompt", required_argument, NULL, OPT_PROMPT},
    {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"percentiles", required_argument, NULL, OPT_PERCENTILES},
    {"slo", required_argument, NULL, OPT_SLO},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"api-key-env", required_argument, NULL, OPT_API_KEY_ENV},
    {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"max-event-bytes", required_argument, NULL, OPT_MAX_EVENT_BYTES},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"allow-no-usage", no_argument, NULL, OPT_ALLOW_NO_USAGE},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
};

static const struct option seq_only[] = {
    {"delay", required_argument, NULL, OPT_DELAY},
};

static const struct option conc_only[] = {
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"rate", required_argument, NULL, OPT_RATE},
    {"arrival", required_argument, NULL, OPT_ARRIVAL},
    {"burstiness", required_argument, NULL, OPT_BURSTINESS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"max-concurrency", required_argument, NULL, OPT_MAX_CONCURRENCY},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"sweep-rate", required_argument, NULL, OPT_SWEEP_RATE},
    {"sweep-concurrency", required_argument, NULL, OPT_SWEEP_CONCURRENCY},
    {"sweep-output", required_argument, NULL, OPT_SWEEP_OUTPUT},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void bench_opts_init(bench_opts *o, tool_mode mode)
{
    llmb_metrics_options d = LLMB_METRICS_OPTIONS_INIT;
    memset(o, 0, sizeof *o);
    o->mode = mode;
    o->tool = mode == TOOL_MODE_SEQUENTIAL ? "llm-seq" : "llm-conc";
    o->provider = "mock";
    o->prompt = LLMB_DEFAULT_PROMPT;
    o->output = "results.csv";
    o->requests = 5;
    o->threads = 1;
    o->seconds = mode == TOOL_MODE_SEQUENTIAL ? LLMB_DEFAULT_DELAY_S : LLMB_DEFAULT_INTERVAL_S;
    o->timeout_s = 600.0;
    o->connect_timeout_s = 10.0;
    o->arrival = LLMB_ARRIVAL_POISSON;
    o->burstiness = 1.0;
    o->mopts = d;
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
        printf("Send chat requests to an LLM server, many in flight together: started at a\n"
               "fixed interval (the default), at a rate (open loop), or keeping N in flight\n"
               "(closed loop); and measure each: time to first token, inter-token latency,\n"
               "end-to-end latency, prompt and generated tokens, tokens per second.\n");
    printf("Every finished request is written to the CSV at once (and printed, in runs of\n"
           "up to 100 requests); a summary with percentiles follows at the end.\n\n");
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
           "  --connect-timeout S  give up connecting after S seconds (default 10)\n"
           "  --idle-timeout S     give up on a request silent for S seconds (default: never)\n"
           "  --max-event-bytes N  largest event accepted (default 1048576)\n"
           "  --retries N          send a request again after a 429, 5xx, refused or reset\n"
           "                       connection, up to N times (default 0: never)\n"
           "  --allow-no-usage     accept streams without usage, counting chunks as tokens\n"
           "  --insecure           do not verify the server's TLS certificate\n"
           "  --transport T        auto (default: the built-in HTTP/1.1 client for http://,\n"
           "                       libcurl for https:// or a proxy), builtin or libcurl\n\n");
    printf("Load:\n"
           "  --requests N         requests to measure (default 5; with --duration alone,\n"
           "                       as many as fit)\n"
           "  --duration S         send no request after S seconds\n"
           "  --warmup N           send N requests first, marked in the CSV and left out\n"
           "                       of the summary\n"
           "  --prompt TEXT        the prompt (default \"%s\")\n"
           "  --max-tokens N       ask for at most N generated tokens (default: not sent)\n",
           LLMB_DEFAULT_PROMPT);
    if (seq) {
        printf("  --delay S            pause after each request ends (default %g s)\n",
               LLMB_DEFAULT_DELAY_S);
    } else {
        printf("  --interval S         start request n at (n - 1) * S seconds (default %g s)\n"
               "  --rate R             open loop: R requests per second, each sent at its own\n"
               "                       time from the start whatever the server does\n"
               "  --arrival KIND       constant, poisson (default) or gamma gaps for --rate\n"
               "  --burstiness B       gamma shape for --rate (implies gamma; 1 = Poisson,\n"
               "                       below 1 burstier)\n"
               "  --seed N             seed of the random arrivals (default 0)\n"
               "  --max-concurrency N  with --interval or --rate: at most N in flight; a due\n"
               "                       request waits, and its wait is recorded\n"
               "  --concurrency N      closed loop: keep exactly N requests in flight\n"
               "  --threads N          event loops on N threads (default 1)\n"
               "  --sweep-rate LIST    run one level per rate (e.g. 1,2,4,8), one after another\n"
               "  --sweep-concurrency LIST  run one level per concurrency (e.g. 1,4,16,64)\n"
               "  --sweep-output FILE  one summary row per level (default sweep.csv)\n",
               LLMB_DEFAULT_INTERVAL_S);
    }
    printf("\nStatistics:\n"
           "  --percentiles LIST   percentiles to report (default 50,90,99)\n"
           "  --slo ttft:MS,tpot:MS,e2e:MS  objectives for goodput (any of them)\n\n");
    printf("Output:\n"
           "  --output FILE        results CSV, one row per request (default results.csv;\n"
           "                       - for standard output)\n"
           "  --summary FILE       also write the summary as JSON (- for standard output)\n"
           "  --trace FILE         JSON lines: the arrival of every chunk of every request\n"
           "  --quiet              no per-request lines and no progress line\n"
           "  --verbose            per-request lines however many requests\n"
           "  -h, --help           show this help\n"
           "  --version            show the version\n\n");
    printf("Exit status: 0 if every request succeeded, 1 if any failed or the run could not\n"
           "complete, 2 if the command line is wrong. The API key is never printed or stored.\n\n");
    printf("Examples:\n"
           "  %s --provider mock          # with llm-mock --port 8800 already running\n"
           "  %s --provider vllm --base-url http://gpu1:8000/v1 --max-tokens 256\n",
           o->tool, o->tool);
    if (!seq)
        printf("  %s --provider vllm --rate 20 --duration 60 --warmup 10 --slo ttft:500\n"
               "  %s --provider sglang --sweep-concurrency 1,4,16,64 --requests 200\n",
               o->tool, o->tool);
    printf("  OPENAI_API_KEY=... %s --provider openai --model gpt-4o-mini --requests 10\n",
           o->tool);
}

/* Whether two output names are the same file: the same name, or existing
 * files with the same device and inode. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b)
        return 0;
    if (strcmp(a, b) == 0)
        return 1;
    if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return 0;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int parse_levels(const bench_opts *o, const char *opt, const char *arg, int whole,
                        double *out, size_t *n)
{
    const char *p = arg;
    *n = 0;
    while (*p) {
        char *end = NULL;
        double v;
        errno = 0;
        v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v <= 0 || (*end && *end != ',') ||
            (whole && v != floor(v)) || v > 1000000.0) {
            tool_usage_error(o->tool, "%s: '%s' is not a list of %s", opt, arg,
                             whole ? "whole numbers from 1 to 1000000"
                                   : "rates above 0 and at most 1000000");
            return -1;
        }
        if (*n == BENCH_MAX_LEVELS) {
            tool_usage_error(o->tool, "%s: at most %d levels", opt, BENCH_MAX_LEVELS);
            return -1;
        }
        out[(*n)++] = v;
        p = *end ? end + 1 : end;
    }
    if (*n == 0) {
        tool_usage_error(o->tool, "%s: no levels given", opt);
        return -1;
    }
    return 0;
}

static int nonempty(const bench_opts *o, const char *opt, const char *arg)
{
    if (*arg)
        return 0;
    tool_usage_error(o->tool, "%s: the value is empty", opt);
    return -1;
}

/* Which options go together. Prints the first conflict; -1 if any. */
static int check(bench_opts *o)
{
    int kinds = (o->seconds_given && o->mode == TOOL_MODE_CONCURRENT) + o->rate_given +
                (o->concurrency > 0) + (o->sweep != SWEEP_NONE);
    int open_rate = o->rate_given || o->sweep == SWEEP_RATE;

    if (kinds > 1 || o->two_sweeps) {
        tool_usage_error(o->tool, "choose one of --interval, --rate, --concurrency, "
                                  "--sweep-rate and --sweep-concurrency");
        return -1;
    }
    if ((o->arrival_given || o->burstiness_given || o->seed_given) && !open_rate) {
        tool_usage_error(o->tool, "--arrival, --burstiness and --seed go with --rate or "
                                  "--sweep-rate");
        return -1;
    }
    if (o->burstiness_given) {
        if (o->arrival_given && o->arrival != LLMB_ARRIVAL_GAMMA) {
            tool_usage_error(o->tool,
                             "--burstiness is the shape of gamma arrivals: it does not "
                             "go with --arrival %s",
                             llmb_arrival_name(o->arrival));
            return -1;
        }
        o->arrival = LLMB_ARRIVAL_GAMMA;
    }
    if (o->max_concurrency && (o->concurrency || o->sweep == SWEEP_CONCURRENCY)) {
        tool_usage_error(o->tool, "--max-concurrency caps an open loop (--interval or --rate); "
                                  "a closed loop has --concurrency alone");
        return -1;
    }
    if (o->quiet && o->verbose) {
        tool_usage_error(o->tool, "choose one of --quiet and --verbose");
        return -1;
    }
    if (o->sweep_output && o->sweep == SWEEP_NONE) {
        tool_usage_error(o->tool, "--sweep-output goes with --sweep-rate or --sweep-concurrency");
        return -1;
    }
    if (o->sweep != SWEEP_NONE && !o->sweep_output)
        o->sweep_output = "sweep.csv";
    if (o->duration_s > 0 && !o->requests_given)
        o->requests = 0; /* bounded by time alone */
    if (same_file(o->summary, o->output) || same_file(o->trace, o->output) ||
        same_file(o->trace, o->summary) || same_file(o->sweep_output, o->output) ||
        same_file(o->sweep_output, o->summary) || same_file(o->sweep_output, o->trace)) {
        tool_usage_error(o->tool, "--output, --summary, --trace and --sweep-output must name "
                                  "different files (only one of them may be -)");
        return -1;
    }
    return 0;
}

int bench_parse(int argc, char **argv, bench_opts *o)
{
    struct option table[COUNT(common_opts) + COUNT(conc_only) + 1];
    size_t n = 0;
    int c;

    memcpy(table, common_opts, sizeof common_opts);
    n = COUNT(common_opts);
    if (o->mode == TOOL_MODE_SEQUENTIAL) {
        memcpy(table + n, seq_only, sizeof seq_only);
        n += COUNT(seq_only);
    } else {
        memcpy(table + n, conc_only, sizeof conc_only);
        n += COUNT(conc_only);
    }
    memset(&table[n], 0, sizeof table[n]);

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", table, NULL)) != -1) {
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
            if (nonempty(o, "--model", optarg))
                return -1;
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
            o->requests_given = 1;
            break;
        case OPT_PROMPT:
            o->prompt = optarg;
            break;
        case OPT_MAX_TOKENS:
            if (tool_parse_u64(o->tool, "--max-tokens", optarg, 1, 10000000, &o->max_tokens))
                return -1;
            break;
        case OPT_OUTPUT:
            if (nonempty(o, "--output", optarg))
                return -1;
            o->output = optarg;
            break;
        case OPT_SUMMARY:
            if (nonempty(o, "--summary", optarg))
                return -1;
            o->summary = optarg;
            break;
        case OPT_TRACE:
            if (nonempty(o, "--trace", optarg))
                return -1;
            o->trace = optarg;
            break;
        case OPT_SWEEP_OUTPUT:
            if (nonempty(o, "--sweep-output", optarg))
                return -1;
            o->sweep_output = optarg;
            break;
        case OPT_DELAY:
        case OPT_INTERVAL:
            if (tool_parse_double(o->tool, c == OPT_DELAY ? "--delay" : "--interval", optarg, 0,
                                  3600, &o->seconds))
                return -1;
            o->seconds_given = 1;
            break;
        case OPT_RATE:
            if (tool_parse_double(o->tool, "--rate", optarg, 1e-6, 1e6, &o->rate))
                return -1;
            o->rate_given = 1;
            break;
        case OPT_ARRIVAL:
            if (llmb_arrival_from_name(optarg, &o->arrival) != LLMB_OK) {
                tool_usage_error(o->tool, "--arrival: '%s' is not constant, poisson or gamma",
                                 optarg);
                return -1;
            }
            o->arrival_given = 1;
            break;
        case OPT_BURSTINESS:
            if (tool_parse_double(o->tool, "--burstiness", optarg, 0.001, 1000, &o->burstiness))
                return -1;
            o->burstiness_given = 1;
            break;
        case OPT_SEED:
            if (tool_parse_u64(o->tool, "--seed", optarg, 0, UINT64_MAX, &o->seed))
                return -1;
            o->seed_given = 1;
            break;
        case OPT_CONCURRENCY:
            if (tool_parse_u64(o->tool, "--concurrency", optarg, 1, 1000000, &o->concurrency))
                return -1;
            break;
        case OPT_MAX_CONCURRENCY:
            if (tool_parse_u64(o->tool, "--max-concurrency", optarg, 1, 1000000,
                               &o->max_concurrency))
                return -1;
            break;
        case OPT_DURATION:
            if (tool_parse_double(o->tool, "--duration", optarg, 0.001, 1e7, &o->duration_s))
                return -1;
            break;
        case OPT_WARMUP:
            if (tool_parse_u64(o->tool, "--warmup", optarg, 0, 100000000, &o->warmup))
                return -1;
            break;
        case OPT_THREADS:
            if (tool_parse_u64(o->tool, "--threads", optarg, 1, 64, &o->threads))
                return -1;
            break;
        case OPT_PERCENTILES: {
            llmb_error e;
            size_t k = llmb_parse_percentiles(optarg, o->percentiles, LLMB_MAX_PERCENTILES, &e);
            if (k == 0) {
                tool_usage_error(o->tool, "--percentiles: %s", e.text);
                return -1;
            }
            o->mopts.percentiles = o->percentiles;
            o->mopts.n_percentiles = k;
            break;
        }
        case OPT_SLO: {
            llmb_error e;
            if (llmb_parse_slo(optarg, &o->mopts, &e) != LLMB_OK) {
                tool_usage_error(o->tool, "--slo: %s", e.text);
                return -1;
            }
            break;
        }
        case OPT_SWEEP_RATE:
        case OPT_SWEEP_CONCURRENCY:
            if (parse_levels(o, c == OPT_SWEEP_RATE ? "--sweep-rate" : "--sweep-concurrency",
                             optarg, c == OPT_SWEEP_CONCURRENCY, o->levels, &o->n_levels))
                return -1;
            {
                bench_sweep kind = c == OPT_SWEEP_RATE ? SWEEP_RATE : SWEEP_CONCURRENCY;
                if (o->sweep != SWEEP_NONE && o->sweep != kind)
                    o->two_sweeps = 1;
                o->sweep = kind;
            }
            break;
        case OPT_API_KEY_ENV:
            if (nonempty(o, "--api-key-env", optarg))
                return -1;
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
        case OPT_IDLE_TIMEOUT:
            if (tool_parse_double(o->tool, "--idle-timeout", optarg, 0.001, 86400,
                                  &o->idle_timeout_s))
                return -1;
            break;
        case OPT_MAX_EVENT_BYTES:
            if (tool_parse_u64(o->tool, "--max-event-bytes", optarg, 1024, 1u << 30,
                               &o->max_event_bytes))
                return -1;
            break;
        case OPT_RETRIES:
            if (tool_parse_u64(o->tool, "--retries", optarg, 0, 100, &o->retries))
                return -1;
            break;
        case OPT_ALLOW_NO_USAGE:
            o->allow_no_usage = 1;
            break;
        case OPT_INSECURE:
            o->insecure = 1;
            break;
        case OPT_TRANSPORT: {
            llmb_transport t;
            if (llmb_transport_from_name(optarg, &t) != LLMB_OK) {
                tool_usage_error(o->tool, "--transport: '%s' is not auto, builtin or libcurl",
                                 optarg);
                return -1;
            }
            o->transport = optarg;
            break;
        }
        case OPT_QUIET:
            o->quiet = 1;
            break;
        case OPT_VERBOSE:
            o->verbose = 1;
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
    return check(o);
}

size_t bench_level_count(const bench_opts *o)
{
    return o->sweep == SWEEP_NONE ? 1 : o->n_levels;
}

llmb_status bench_schedule(const bench_opts *o, size_t i, llmb_schedule **out, llmb_error *err)
{
    llmb_status st;
    if (o->mode == TOOL_MODE_SEQUENTIAL)
        return llmb_schedule_sequential(o->seconds, out, err);
    if (o->sweep == SWEEP_CONCURRENCY)
        return llmb_schedule_concurrency((unsigned)o->levels[i], out, err);
    if (o->concurrency)
        return llmb_schedule_concurrency((unsigned)o->concurrency, out, err);
    if (o->sweep == SWEEP_RATE || o->rate_given)
        st = llmb_schedule_rate(o->sweep == SWEEP_RATE ? o->levels[i] : o->rate, o->arrival,
                                o->burstiness, o->seed, out, err);
    else
        st = llmb_schedule_interval(o->seconds, out, err);
    if (st == LLMB_OK && o->max_concurrency)
        st = llmb_schedule_set_max_concurrency(*out, (unsigned)o->max_concurrency, err);
    if (st != LLMB_OK) {
        llmb_schedule_free(*out);
        *out = NULL;
    }
    return st;
}
