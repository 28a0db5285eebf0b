/*
 * llm-mock: run the mock engine, a simulated OpenAI-compatible server whose
 * tokens leave at precise times, until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "llmbench/llmbench.h"
#include "options.h"

#define TOOL "llm-mock"

/* The handler's only way to reach the engine. */
static llmb_mock *volatile running_mock;

static void on_signal(int sig)
{
    (void)sig;
    llmb_mock_stop(running_mock);
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: " TOOL " [OPTION]...\n"
               "Serve a simulated OpenAI-compatible API (POST /v1/chat/completions,\n"
               "POST /v1/completions, GET /v1/models, GET /mock/stats) whose tokens\n"
               "leave at precise times, until interrupted.\n"
               "\n"
               "  --host ADDR            address to listen on (default 127.0.0.1)\n"
               "  --port N               TCP port; 0 picks a free one (default 8800)\n"
               "  --ttft-ms MS           request arrival to first token (default 50)\n"
               "  --itl-ms MS            gap between tokens (default 10)\n"
               "  --tokens N             tokens when a request sets no max_tokens (default 128)\n"
               "  --model NAME           model id reported and listed (default mock-model)\n"
               "  --usage MODE           usage in streams: final (OpenAI, when asked with\n"
               "                         stream_options.include_usage), last (in the last\n"
               "                         chunk), groq (x_groq.usage), none (default final)\n"
               "  --max-connections N    open connections at most (default 16384)\n"
               "  --spin-us US           before an event that follows an idle gap, wake this\n"
               "                         early and busy-wait, hiding the CPU's wake-up delay\n"
               "                         (default 500; 0 never spins)\n"
               "  --rt-priority N        run the event loop under SCHED_FIFO at priority N\n"
               "                         (1-99; needs CAP_SYS_NICE; default 0: normal)\n"
               "  --quiet                no summary on exit\n"
               "\n"
               "Load model (a batching server; off by default):\n"
               "  --slots N              at most N requests generate at once; the others wait\n"
               "                         in a FIFO queue, and their ttft counts from when they\n"
               "                         get a slot (default 0: unlimited)\n"
               "  --itl-per-stream-ms MS each token gap grows by MS per other generating\n"
               "                         request (default 0)\n"
               "  --ttft-per-stream-ms MS\n"
               "                         the ttft grows by MS per other generating request,\n"
               "                         counted when the request gets its slot (default 0)\n"
               "\n"
               "Fault injection (for testing clients; one fault per request at most):\n"
               "  --fault KIND           inject KIND: status (an HTTP error, JSON body), 429\n"
               "                         (with Retry-After), reset (TCP reset mid-stream),\n"
               "                         stall (silence mid-stream, connection kept open),\n"
               "                         malformed (an event that is not JSON), oversize (one\n"
               "                         huge valid event), html (an HTML page instead of a\n"
               "                         stream), no-done (no data: [DONE]), no-usage (no\n"
               "                         usage even when asked), error-event (an error event,\n"
               "                         then [DONE]); into every request unless:\n"
               "  --fault-every N        only requests N, 2N, 3N, ... (counted from 1)\n"
               "  --fault-probability P  each request with probability P (0 to 1)\n"
               "  --fault-seed N         the seed of that choice (default 0); the same seed\n"
               "                         picks the same request numbers\n"
               "  --fault-after K        content tokens before reset, stall, malformed,\n"
               "                         oversize and error-event (default 3)\n"
               "  --fault-status CODE    status of status faults (400-599, default 500) and of\n"
               "                         html faults (200-599, default 200)\n"
               "  --fault-retry-after S  Retry-After seconds of a 429 (0-86400, default 1)\n"
               "  --fault-size BYTES     JSON bytes of an oversize event (4096-67108864,\n"
               "                         default 2097152)\n"
               "Any request may also ask for one fault with a header, which overrides\n"
               "--fault (\"none\" opts out); parameters not given come from the options:\n"
               "  X-Mock-Fault: KIND[; after=K][; code=CODE][; retry-after=S][; size=BYTES]\n"
               "e.g. 'X-Mock-Fault: reset; after=5' or 'X-Mock-Fault: status; code=503'.\n"
               "An unknown kind or parameter gets a 400 that says why.\n"
               "\n"
               "Other:\n"
               "  --help                 show this help and exit\n"
               "  --version              show the version and exit\n"
               "\n"
               "It prints one line, 'llm-mock listening on http://HOST:PORT/v1', once ready.\n"
               "On SIGINT or SIGTERM it stops and reports on stderr how late, against\n"
               "schedule, it sent its events, the queue waits, the most requests active and\n"
               "queued at once, and the faults it injected. GET /mock/stats gives the same\n"
               "as JSON while it runs.\n"
               "\n"
               "Example:\n"
               "  " TOOL " --port 8800 --ttft-ms 200 --itl-ms 20 --tokens 64 &\n"
               "  curl -N http://127.0.0.1:8800/v1/chat/completions -H 'Content-Type: "
               "application/json' \\\n"
               "       -d '{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\","
               "\"content\":\"hi\"}]}'\n");
}

/* The value of an option given as "--name VALUE" or "--name=VALUE", or NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *name, int *matched)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    *matched = 0;
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=') {
        *matched = 1;
        return a + n + 1;
    }
    if (a[n] != '\0')
        return NULL;
    *matched = 1;
    if (*i + 1 >= argc) {
        tool_usage_error(TOOL, "%s needs a value", name);
        return NULL;
    }
    return argv[++*i];
}

static int parse_usage(const char *arg, llmb_mock_usage *out)
{
    static const struct {
        const char *name;
        llmb_mock_usage usage;
    } modes[] = {{"final", LLMB_MOCK_USAGE_FINAL},
                 {"last", LLMB_MOCK_USAGE_LAST_CHUNK},
                 {"groq", LLMB_MOCK_USAGE_GROQ},
                 {"none", LLMB_MOCK_USAGE_NONE}};
    size_t i;
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(arg, modes[i].name) == 0) {
            *out = modes[i].usage;
            return 0;
        }
    }
    tool_usage_error(TOOL, "--usage: '%s' is not one of final, last, groq, none", arg);
    return -1;
}

static int parse_fault(const char *arg, llmb_mock_fault *out)
{
    char kinds[256];
    size_t used = 0;
    if (llmb_mock_fault_from_name(arg, out) == LLMB_OK)
        return 0;
    kinds[0] = '\0';
    for (int k = 1; k < LLMB_MOCK_FAULT_KINDS; k++) {
        int n = snprintf(kinds + used, sizeof kinds - used, "%s%s", k > 1 ? ", " : "",
                         llmb_mock_fault_name((llmb_mock_fault)k));
        if (n < 0 || (size_t)n >= sizeof kinds - used)
            break;
        used += (size_t)n;
    }
    tool_usage_error(TOOL, "--fault: '%s' is not one of %s", arg, kinds);
    return -1;
}

/* Which fault options were given, to check how they combine. */
struct fault_args {
    int every, probability, seed, status;
};

static int check_fault_args(const llmb_mock_options *o, const struct fault_args *fa)
{
    const char *choice = fa->every         ? "--fault-every"
                         : fa->probability ? "--fault-probability"
                         : fa->seed        ? "--fault-seed"
                                           : NULL;
    if (fa->every && fa->probability) {
        tool_usage_error(TOOL, "--fault-every and --fault-probability exclude each other");
        return -1;
    }
    if (fa->seed && !fa->probability) {
        tool_usage_error(TOOL, "--fault-seed needs --fault-probability");
        return -1;
    }
    if (choice && o->fault == LLMB_MOCK_FAULT_NONE) {
        tool_usage_error(TOOL, "%s needs --fault", choice);
        return -1;
    }
    if (fa->status && o->fault == LLMB_MOCK_FAULT_STATUS && o->fault_status < 400) {
        tool_usage_error(TOOL, "--fault-status: a status fault needs a code from 400 to 599");
        return -1;
    }
    return 0;
}

/* Many streams need many descriptors: take all the hard limit allows. */
static void raise_fd_limit(unsigned max_connections)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)max_connections + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        fprintf(stderr,
                TOOL ": warning: only %llu file descriptors allowed; %u connections need "
                     "%llu\n",
                (unsigned long long)rl.rlim_cur, max_connections, (unsigned long long)need);
}

static int parse_args(int argc, char **argv, llmb_mock_options *o, int *quiet, int *done)
{
    struct fault_args fa = {0, 0, 0, 0};
    int i;
    for (i = 1; i < argc; i++) {
        const char *v;
        int hit;
        uint64_t u;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            *done = 1;
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf(TOOL " (libllmbench) %s\n", llmb_version());
            *done = 1;
            return 0;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            *quiet = 1;
            continue;
        }
        if ((v = option_value(argc, argv, &i, "--host", &hit)) || hit) {
            if (!v)
                return -1;
            if (*v == '\0') {
                tool_usage_error(TOOL, "--host: needs an address");
                return -1;
            }
            o->host = v;
        } else if ((v = option_value(argc, argv, &i, "--port", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--port", v, 0, 65535, &u) != 0)
                return -1;
            o->port = (unsigned)u;
        } else if ((v = option_value(argc, argv, &i, "--ttft-ms", &hit)) || hit) {
            if (!v || tool_parse_double(TOOL, "--ttft-ms", v, 0, 3600000, &o->ttft_ms) != 0)
                return -1;
        } else if ((v = option_value(argc, argv, &i, "--itl-ms", &hit)) || hit) {
            if (!v || tool_parse_double(TOOL, "--itl-ms", v, 0, 3600000, &o->itl_ms) != 0)
                return -1;
        } else if ((v = option_value(argc, argv, &i, "--tokens", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--tokens", v, 0, 1000000, &u) != 0)
                return -1;
            o->default_tokens = (unsigned)u;
        } else if ((v = option_value(argc, argv, &i, "--model", &hit)) || hit) {
            if (!v)
                return -1;
            if (*v == '\0' || strlen(v) > 256) {
                tool_usage_error(TOOL, "--model: needs a name of 1 to 256 bytes");
                return -1;
            }
            o->model = v;
        } else if ((v = option_value(argc, argv, &i, "--usage", &hit)) || hit) {
            if (!v || parse_usage(v, &o->usage) != 0)
                return -1;
        } else if ((v = option_value(argc, argv, &i, "--max-connections", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--max-connections", v, 1, 1000000, &u) != 0)
                return -1;
            o->max_connections = (unsigned)u;
        } else if ((v = option_value(argc, argv, &i, "--spin-us", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--spin-us", v, 0, 1000000, &u) != 0)
                return -1;
            o->spin_us = (unsigned)u;
        } else if ((v = option_value(argc, argv, &i, "--rt-priority", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--rt-priority", v, 0, 99, &u) != 0)
                return -1;
            o->rt_priority = (int)u;
        } else if ((v = option_value(argc, argv, &i, "--slots", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--slots", v, 0, 1000000, &u) != 0)
                return -1;
            o->slots = (unsigned)u;
        } else if ((v = option_value(argc, argv, &i, "--itl-per-stream-ms", &hit)) || hit) {
            if (!v || tool_parse_double(TOOL, "--itl-per-stream-ms", v, 0, 3600000,
                                        &o->itl_per_stream_ms) != 0)
                return -1;
        } else if ((v = option_value(argc, argv, &i, "--ttft-per-stream-ms", &hit)) || hit) {
            if (!v || tool_parse_double(TOOL, "--ttft-per-stream-ms", v, 0, 3600000,
                                        &o->ttft_per_stream_ms) != 0)
                return -1;
        } else if ((v = option_value(argc, argv, &i, "--fault", &hit)) || hit) {
            if (!v || parse_fault(v, &o->fault) != 0)
                return -1;
        } else if ((v = option_value(argc, argv, &i, "--fault-every", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--fault-every", v, 1, UINT32_MAX, &u) != 0)
                return -1;
            o->fault_every = (unsigned)u;
            fa.every = 1;
        } else if ((v = option_value(argc, argv, &i, "--fault-probability", &hit)) || hit) {
            if (!v ||
                tool_parse_double(TOOL, "--fault-probability", v, 0, 1, &o->fault_probability) != 0)
                return -1;
            o->fault_every = 0; /* chance decides, not the count */
            fa.probability = 1;
        } else if ((v = option_value(argc, argv, &i, "--fault-seed", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--fault-seed", v, 0, UINT64_MAX, &u) != 0)
                return -1;
            o->fault_seed = u;
            fa.seed = 1;
        } else if ((v = option_value(argc, argv, &i, "--fault-after", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--fault-after", v, 0, 1000000, &u) != 0)
                return -1;
            o->fault_after = (unsigned)u;
        } else if ((v = option_value(argc, argv, &i, "--fault-status", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--fault-status", v, 200, 599, &u) != 0)
                return -1;
            o->fault_status = (int)u;
            fa.status = 1;
        } else if ((v = option_value(argc, argv, &i, "--fault-retry-after", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--fault-retry-after", v, 0, 86400, &u) != 0)
                return -1;
            o->fault_retry_after = (unsigned)u;
        } else if ((v = option_value(argc, argv, &i, "--fault-size", &hit)) || hit) {
            if (!v || tool_parse_u64(TOOL, "--fault-size", v, 4096, 64u * 1024u * 1024u, &u) != 0)
                return -1;
            o->fault_size = (size_t)u;
        } else if (argv[i][0] != '-') {
            tool_usage_error(TOOL, "unexpected argument '%s'", argv[i]);
            return -1;
        } else {
            tool_usage_error(TOOL, "unknown option '%s'", argv[i]);
            return -1;
        }
    }
    return check_fault_args(o, &fa);
}

/* The summary line's fault counts: "N faults (kind n, ...)". */
static void print_faults(const llmb_mock_stats *st)
{
    int first = 1;
    fprintf(stderr, "; %" PRIu64 " faults", st->faults[LLMB_MOCK_FAULT_NONE]);
    for (int k = 1; k < LLMB_MOCK_FAULT_KINDS; k++) {
        if (st->faults[k] == 0)
            continue;
        fprintf(stderr, "%s%s %" PRIu64, first ? " (" : ", ",
                llmb_mock_fault_name((llmb_mock_fault)k), st->faults[k]);
        first = 0;
    }
    if (!first)
        fputc(')', stderr);
}

int main(int argc, char **argv)
{
    llmb_mock_options o = LLMB_MOCK_OPTIONS_INIT;
    llmb_mock *m = NULL;
    llmb_mock_stats st;
    llmb_error err;
    llmb_status rc;
    struct sigaction sa;
    int quiet = 0, done = 0, exit_code = TOOL_EXIT_FAILED;
    int ipv6;

    o.port = 8800;
    if (parse_args(argc, argv, &o, &quiet, &done) != 0)
        return TOOL_EXIT_USAGE;
    if (done)
        return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAILED;

    raise_fd_limit(o.max_connections);
    memset(&err, 0, sizeof err);
    rc = llmb_mock_new(&o, &m, &err);
    if (rc != LLMB_OK) {
        tool_error(TOOL, "%s", err.text[0] ? err.text : llmb_strerror(rc));
        goto out;
    }

    running_mock = m;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        tool_error(TOOL, "cannot handle signals: %s", strerror(errno));
        goto out;
    }

    ipv6 = strchr(o.host, ':') != NULL;
    printf(TOOL " listening on http://%s%s%s:%u/v1\n", ipv6 ? "[" : "", o.host, ipv6 ? "]" : "",
           llmb_mock_port(m));
    if (fflush(stdout) != 0) {
        tool_error(TOOL, "cannot write to standard output");
        goto out;
    }

    rc = llmb_mock_run(m);
    if (rc != LLMB_OK) {
        tool_error(TOOL, "event loop failed: %s", llmb_strerror(rc));
        goto out;
    }
    llmb_mock_get_stats(m, &st);
    if (o.rt_priority > 0 && !st.realtime)
        tool_error(TOOL, "warning: could not get SCHED_FIFO (needs CAP_SYS_NICE); ran with normal "
                         "priority");
    if (!quiet) {
        fprintf(stderr,
                TOOL ": %" PRIu64 " requests, %" PRIu64 " events, lateness p50 %.1f us, "
                     "p99 %.1f us, max %.1f us, %" PRIu64 " over 1 ms; queue wait p50 %.1f us, "
                     "p99 %.1f us, max %.1f us; at most %" PRIu64 " active, %" PRIu64 " queued",
                st.requests, st.events, (double)st.late_p50_ns / 1e3, (double)st.late_p99_ns / 1e3,
                (double)st.late_max_ns / 1e3, st.late_over_1ms, (double)st.queue_wait_p50_ns / 1e3,
                (double)st.queue_wait_p99_ns / 1e3, (double)st.queue_wait_max_ns / 1e3,
                st.max_active, st.max_queued);
        print_faults(&st);
        fputc('\n', stderr);
    }
    exit_code = TOOL_EXIT_OK;
out:
    running_mock = NULL;
    llmb_mock_free(m);
    return exit_code;
}
