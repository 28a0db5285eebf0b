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
               "  --quiet                no lateness summary on exit\n"
               "  --help                 show this help and exit\n"
               "  --version              show the version and exit\n"
               "\n"
               "It prints one line, 'llm-mock listening on http://HOST:PORT/v1', once ready.\n"
               "On SIGINT or SIGTERM it stops and reports on stderr how late, against\n"
               "schedule, it sent its events.\n"
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
        } else {
            tool_usage_error(TOOL, "unknown option '%s'", argv[i]);
            return -1;
        }
    }
    return 0;
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
                     "p99 %.1f us, max %.1f us, %" PRIu64 " over 1 ms\n",
                st.requests, st.events, (double)st.late_p50_ns / 1e3, (double)st.late_p99_ns / 1e3,
                (double)st.late_max_ns / 1e3, st.late_over_1ms);
    }
    exit_code = TOOL_EXIT_OK;
out:
    running_mock = NULL;
    llmb_mock_free(m);
    return exit_code;
}
