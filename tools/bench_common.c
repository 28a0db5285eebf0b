/*
 * The body shared by llm-seq and llm-conc: the endpoint, the outputs, one run
 * per level (one, or one per value of a sweep), and the exit status.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llmbench/llmbench.h"

#include "bench_common.h"
#include "bench_opts.h"
#include "options.h"

/* Per-request lines are printed for runs up to this size (--verbose: always). */
#define LINES_UP_TO 100
/* Without a terminal, a progress line this often on long runs. */
#define PLAIN_PROGRESS_NS (10 * 1000000000ULL)

/* What the callbacks need. */
typedef struct bench_ctx {
    const bench_opts *o;
    llmb_results_writer *csv;
    llmb_trace *trace;
    int csv_failed;
    int trace_failed;
    int tty;            /* stderr is a terminal: show a live progress line */
    int progress_shown; /* a progress line is on the terminal now */
    int lines_on;       /* print a line per request */
    uint64_t planned;
    uint64_t last_plain_ns;    /* when the last plain progress line was printed */
    const llmb_run_info *info; /* the level being run */
    const llmb_runner *runner;
    FILE *lines; /* human output: stdout, or stderr when stdout carries data */
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

/* Whether a file can be created or replaced at `path`, checked before a run
 * so that its results are not lost at the end to a typo. Prints why not. */
static int writable(const char *tool, const char *opt, const char *path)
{
    struct stat st;
    char dir[4096];
    const char *slash;

    if (!path || strcmp(path, "-") == 0)
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

/* As many open files as the system allows this process: each stream in
 * flight is a socket. Says so when even that may be too few. */
static void raise_file_limit(const bench_opts *o)
{
    struct rlimit rl;
    uint64_t want = o->concurrency ? o->concurrency : o->max_concurrency;
    if (o->sweep == SWEEP_CONCURRENCY)
        for (size_t i = 0; i < o->n_levels; i++)
            if (o->levels[i] > (double)want)
                want = (uint64_t)o->levels[i];
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (want && rl.rlim_cur != RLIM_INFINITY && want + 64 > rl.rlim_cur)
        tool_error(o->tool,
                   "warning: the open-file limit (%llu) is too low for %llu streams in flight; "
                   "raise it (ulimit -n) or requests will fail",
                   (unsigned long long)rl.rlim_cur, (unsigned long long)want);
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
    char planned[32];
    if (c->o->quiet)
        return;
    if (p->planned)
        snprintf(planned, sizeof planned, "/%" PRIu64, p->planned);
    else
        planned[0] = '\0';
    if (c->tty) {
        fprintf(stderr,
                "\r\033[K%s: %" PRIu64 "%s done, %" PRIu64 " in flight, %" PRIu64 " failed, %.1f s",
                c->o->tool, p->finished, planned, p->in_flight, p->failed,
                (double)p->elapsed_ns / 1e9);
        fflush(stderr);
        c->progress_shown = 1;
    } else if (p->elapsed_ns >= c->last_plain_ns + PLAIN_PROGRESS_NS) {
        /* Not a terminal: a plain line now and then, so a long run in a log
         * still shows that it is alive. */
        c->last_plain_ns = p->elapsed_ns;
        fprintf(
            stderr, "%s: %" PRIu64 "%s done, %" PRIu64 " in flight, %" PRIu64 " failed, %.0f s\n",
            c->o->tool, p->finished, planned, p->in_flight, p->failed, (double)p->elapsed_ns / 1e9);
    }
}

/* The run has its origin: the trace's header line for it comes first. */
static void on_start(uint64_t origin_ns, void *user)
{
    bench_ctx *c = user;
    llmb_error e;
    if (c->trace && !c->trace_failed &&
        llmb_trace_begin(c->trace, origin_ns, llmb_runner_run_id(c->runner), c->info, &e) !=
            LLMB_OK) {
        tool_error(c->o->tool, "%s; the run goes on", e.text);
        c->trace_failed = 1;
    }
}

static void on_record(const llmb_record *r, void *user)
{
    bench_ctx *c = user;
    llmb_error e;

    if (c->csv && !c->csv_failed && llmb_results_write(c->csv, r, &e) != LLMB_OK) {
        clear_progress(c);
        tool_error(c->o->tool, "%s; the run goes on", e.text);
        c->csv_failed = 1;
    }
    if (c->trace && !c->trace_failed && llmb_trace_write(c->trace, r, &e) != LLMB_OK) {
        clear_progress(c);
        tool_error(c->o->tool, "%s; the run goes on", e.text);
        c->trace_failed = 1;
    }
    if (!c->lines_on)
        return;
    clear_progress(c);
    if (c->planned)
        fprintf(c->lines, "request %" PRIu64 "/%" PRIu64 ": ", r->request, c->planned);
    else
        fprintf(c->lines, "request %" PRIu64 ": ", r->request);
    if (llmb_record_ok(r)) {
        double ttft = llmb_record_ttft_ms(r);
        fprintf(c->lines, "%.3f s, %" PRId64 " prompt + %" PRId64 " generated tokens%s, %.1f tok/s",
                llmb_record_time_taken_s(r), r->prompt_tokens, r->generated_tokens,
                r->token_source == LLMB_TOKENS_CHUNKS ? " (counted)" : "",
                llmb_record_tokens_per_s(r));
        if (!isnan(ttft))
            fprintf(c->lines, ", TTFT %.1f ms", ttft);
    } else {
        fprintf(c->lines, "FAILED (%s) after %.3f s: %s", llmb_error_class_name(r->error_class),
                llmb_record_time_taken_s(r), r->error);
    }
    if (r->attempt > 1)
        fprintf(c->lines, " [attempt %u]", r->attempt);
    if (r->will_retry)
        fprintf(c->lines, " [will retry]");
    fprintf(c->lines, "%s\n", r->warmup ? " [warmup]" : "");
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
    if (o->transport) {
        llmb_transport t = LLMB_TRANSPORT_AUTO;
        llmb_transport_from_name(o->transport, &t);
        /* A known name is refused only for builtin with a URL that is not http://. */
        if (llmb_endpoint_set_transport(ep, t) != LLMB_OK) {
            tool_usage_error(o->tool, "--transport builtin speaks plain HTTP only: use an http:// "
                                      "--base-url, or --transport libcurl");
            goto usage;
        }
    }
    if (o->insecure) {
        llmb_endpoint_set_insecure(ep, 1);
        if (strncmp(llmb_endpoint_base_url(ep), "https:", 6) == 0)
            tool_error(o->tool, "warning: --insecure: the server's TLS certificate is not checked");
    }
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

static void describe_level(FILE *fp, const bench_opts *o, const llmb_endpoint *ep,
                           const llmb_schedule *sc, size_t level, size_t levels)
{
    char what[160];
    switch (llmb_schedule_get_kind(sc)) {
    case LLMB_SCHEDULE_SEQUENTIAL:
        snprintf(what, sizeof what, "one at a time, pause %g s", llmb_schedule_seconds(sc));
        break;
    case LLMB_SCHEDULE_INTERVAL:
        snprintf(what, sizeof what, "interval %g s", llmb_schedule_seconds(sc));
        break;
    case LLMB_SCHEDULE_RATE:
        snprintf(what, sizeof what, "%g req/s, %s arrivals", llmb_schedule_rate_value(sc),
                 llmb_arrival_name(llmb_schedule_arrival(sc)));
        break;
    case LLMB_SCHEDULE_CONCURRENCY:
        snprintf(what, sizeof what, "%u in flight", llmb_schedule_concurrency_value(sc));
        break;
    }
    if (levels > 1)
        fprintf(fp, "%s: level %zu/%zu: ", o->tool, level + 1, levels);
    else
        fprintf(fp, "%s: ", o->tool);
    if (o->requests)
        fprintf(fp, "%" PRIu64 " request%s", o->requests, o->requests == 1 ? "" : "s");
    else
        fprintf(fp, "requests for %g s", o->duration_s);
    if (o->requests && o->duration_s > 0)
        fprintf(fp, " (at most %g s)", o->duration_s);
    if (o->warmup)
        fprintf(fp, " after %" PRIu64 " warmup", o->warmup);
    fprintf(fp, " to %s (%s, model %s), %s\n", llmb_endpoint_base_url(ep),
            llmb_endpoint_preset_name(ep), llmb_endpoint_model(ep), what);
    fflush(fp);
}

/* Where the outputs of all levels go. */
typedef struct outputs {
    llmb_summary *levels; /* a sweep's summaries, for the table at the end */
    FILE *summary_fp;     /* JSON: one object, or an array over a sweep */
    FILE *sweep_fp;       /* one CSV row per level */
    int summary_failed;
    int sweep_failed;
} outputs;

/* The sweep at a glance: one line per level. */
static void sweep_table(FILE *fp, const bench_opts *o, const llmb_summary *sums, size_t n)
{
    fprintf(fp, "\n================================ Sweep ================================\n");
    fprintf(fp, "%11s %6s %6s %9s %9s %9s %9s %9s %9s\n",
            o->sweep == SWEEP_RATE ? "rate (/s)" : "concurrency", "ok", "failed", "req/s", "tok/s",
            "TTFT p50", "TTFT p99", "TPOT p50", "E2E p99");
    for (size_t i = 0; i < n; i++) {
        const llmb_summary *s = &sums[i];
        fprintf(fp, "%11g %6llu %6llu %9.2f %9.1f %9.1f %9.1f %9.2f %9.1f\n", o->levels[i],
                (unsigned long long)s->completed, (unsigned long long)s->failed,
                s->request_throughput, s->output_throughput, s->ttft_ms.median, s->ttft_ms.p99,
                s->tpot_ms.median, s->e2el_ms.p99);
    }
    fprintf(fp, "(latencies in ms, raw; the corrected ones are in the sweep file)\n");
}

/* One level: run it and report it. Returns its exit status; sets *stopped
 * when a signal ended it. */
static int run_level(const bench_opts *o, bench_ctx *ctx, const llmb_endpoint *ep, size_t level,
                     size_t levels, outputs *out, int *stopped)
{
    llmb_schedule *sched = NULL;
    llmb_runner *runner = NULL;
    llmb_run_options ro = LLMB_RUN_OPTIONS_INIT;
    llmb_results_meta meta;
    llmb_summary sum;
    llmb_run_info info;
    llmb_progress prog;
    llmb_error e;
    llmb_status st;
    int rc = TOOL_EXIT_FAILED;

    if (bench_schedule(o, level, &sched, &e) != LLMB_OK) {
        tool_usage_error(o->tool, "%s", e.text);
        return TOOL_EXIT_USAGE;
    }
    ro.requests = o->requests;
    ro.warmup = o->warmup;
    ro.duration_s = o->duration_s;
    ro.threads = (unsigned)o->threads;
    ro.prompt = o->prompt;
    ro.max_tokens = (long)o->max_tokens;
    ro.keep_chunk_times = o->trace != NULL;
    ro.metrics = &o->mopts;
    ro.on_record = on_record;
    ro.record_user = ctx;
    ro.on_progress = on_progress;
    ro.progress_user = ctx;
    ro.on_start = on_start;
    ro.start_user = ctx;
    ro.idle_timeout_s = o->idle_timeout_s;
    ro.max_event_bytes = (size_t)o->max_event_bytes;
    ro.retries = (unsigned)o->retries;
    ro.allow_no_usage = o->allow_no_usage;
    if (llmb_runner_new(ep, sched, &ro, &runner, &e) != LLMB_OK) {
        tool_error(o->tool, "%s", e.text);
        goto out;
    }
    meta.schedule = llmb_schedule_name(sched);
    meta.provider = llmb_endpoint_preset_name(ep);
    meta.model = llmb_endpoint_model(ep);
    meta.has_level = 1;
    meta.level = llmb_schedule_level(sched);
    if (!ctx->csv) {
        if (llmb_results_open(o->output, &meta, &ctx->csv, &e) != LLMB_OK) {
            tool_error(o->tool, "--output: %s", e.text);
            goto out;
        }
    } else if (llmb_results_set_meta(ctx->csv, &meta) != LLMB_OK) {
        tool_error(o->tool, "out of memory");
        goto out;
    }

    memset(&info, 0, sizeof info);
    info.tool = o->tool;
    info.endpoint = ep;
    info.schedule = sched;
    info.requests = o->requests;
    info.warmup = o->warmup;
    info.duration_s = o->duration_s;
    info.threads = llmb_runner_threads(runner);
    info.max_tokens = (long)o->max_tokens;
    info.prompt = o->prompt;
    info.metrics = &o->mopts;
    info.start_time = time(NULL);

    if (!o->quiet)
        describe_level(ctx->lines, o, ep, sched, level, levels);
    if (!o->quiet && o->threads > llmb_runner_threads(runner) && o->max_concurrency && level == 0)
        fprintf(ctx->lines,
                "%s: one event loop, not %llu: a capped open loop shares its cap in the "
                "order requests are due\n",
                o->tool, (unsigned long long)o->threads);
    ctx->planned = o->requests ? o->requests + o->warmup : 0;
    ctx->last_plain_ns = 0;
    ctx->info = &info;
    ctx->runner = runner;
    active_runner = runner;
    st = llmb_runner_run(runner);
    active_runner = NULL;
    clear_progress(ctx);
    llmb_runner_progress(runner, &prog);
    info.sent = prog.sent - prog.resent;
    info.stopped = st == LLMB_ERR_STOPPED;
    *stopped = info.stopped;
    if (st == LLMB_ERR_STOPPED)
        tool_error(o->tool, "stopped by a signal; requests in flight are recorded as cancelled");
    else if (st != LLMB_OK)
        tool_error(o->tool, "the run failed: %s", llmb_runner_errmsg(runner));

    if (llmb_metrics_summarize(llmb_runner_metrics(runner), &sum) != LLMB_OK) {
        tool_error(o->tool, "out of memory computing the summary");
        goto out;
    }
    if (!o->quiet)
        fputc('\n', ctx->lines);
    llmb_summary_write_table(&sum, &info, ctx->lines);
    fflush(ctx->lines);
    /* A failed warmup request is a failed request too, though not measured. */
    rc = (st == LLMB_OK && sum.failed == 0 && sum.warmup_failed == 0) ? TOOL_EXIT_OK
                                                                      : TOOL_EXIT_FAILED;
    if (out->levels)
        out->levels[level] = sum;
    if (out->summary_fp && !out->summary_failed) {
        if ((levels > 1 && level > 0 && fputs(",\n", out->summary_fp) == EOF) ||
            llmb_summary_write_json_to(&sum, &info, out->summary_fp) != LLMB_OK) {
            tool_error(o->tool, "cannot write the summary to %s", o->summary);
            out->summary_failed = 1;
        }
    }
    if (out->sweep_fp && !out->sweep_failed &&
        llmb_summary_write_csv(&sum, &info, level == 0, out->sweep_fp) != LLMB_OK) {
        tool_error(o->tool, "cannot write %s", o->sweep_output);
        out->sweep_failed = 1;
    }
out:
    llmb_runner_free(runner);
    llmb_schedule_free(sched);
    return rc;
}

static FILE *open_out(const char *tool, const char *opt, const char *path)
{
    llmb_error e;
    FILE *fp = llmb_output_open(path, &e);
    if (!fp)
        tool_error(tool, "%s: %s", opt, e.text);
    return fp;
}

/* Flushes and closes (standard output: flushes) what open_out opened; 0 when
 * all of it was written. */
static int close_out(const char *tool, const char *path, FILE *fp, int failed)
{
    int err_no = llmb_output_close(fp);
    if (err_no && !failed)
        tool_error(tool, "cannot write %s: %s", path, strerror(err_no));
    return err_no || failed ? -1 : 0;
}

int tool_bench_main(int argc, char **argv, tool_mode mode)
{
    bench_opts o;
    bench_ctx ctx;
    outputs out;
    llmb_endpoint *ep = NULL;
    struct sigaction sa;
    llmb_error e;
    size_t levels;
    int rc = TOOL_EXIT_OK;
    size_t done_levels = 0;
    int p;

    bench_opts_init(&o, mode);
    memset(&ctx, 0, sizeof ctx);
    memset(&out, 0, sizeof out);
    p = bench_parse(argc, argv, &o);
    if (p < 0)
        return TOOL_EXIT_USAGE;
    if (p > 0)
        return TOOL_EXIT_OK;
    levels = bench_level_count(&o);
    if (levels > 1) {
        out.levels = calloc(levels, sizeof *out.levels);
        if (!out.levels) {
            tool_error(o.tool, "out of memory");
            return TOOL_EXIT_FAILED;
        }
    }

    /* Outputs that would fail at the end are refused now, before any work. */
    if (!writable(o.tool, "--summary", o.summary) || !writable(o.tool, "--trace", o.trace) ||
        !writable(o.tool, "--sweep-output", o.sweep_output))
        return TOOL_EXIT_FAILED;
    rc = make_endpoint(&o, &ep);
    if (rc != 0)
        goto out;
    raise_file_limit(&o);

    ctx.o = &o;
    ctx.tty = !o.quiet && isatty(STDERR_FILENO);
    /* Standard output carries data when asked to; human lines then go to standard error. */
    ctx.lines = (strcmp(o.output, "-") == 0 || (o.summary && strcmp(o.summary, "-") == 0) ||
                 (o.trace && strcmp(o.trace, "-") == 0) ||
                 (o.sweep_output && strcmp(o.sweep_output, "-") == 0))
                    ? stderr
                    : stdout;
    ctx.lines_on = !o.quiet && (o.verbose || (o.requests && o.requests + o.warmup <= LINES_UP_TO));
    if (o.trace && llmb_trace_open(o.trace, &ctx.trace, &e) != LLMB_OK) {
        tool_error(o.tool, "%s", e.text);
        rc = TOOL_EXIT_FAILED;
        goto out;
    }
    if (o.summary && !(out.summary_fp = open_out(o.tool, "--summary", o.summary))) {
        rc = TOOL_EXIT_FAILED;
        goto out;
    }
    if (o.sweep_output && !(out.sweep_fp = open_out(o.tool, "--sweep-output", o.sweep_output))) {
        rc = TOOL_EXIT_FAILED;
        goto out;
    }
    if (out.summary_fp && levels > 1 && fputs("[\n", out.summary_fp) == EOF)
        out.summary_failed = 1;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rc = TOOL_EXIT_OK;
    for (size_t i = 0; i < levels; i++) {
        int stopped = 0;
        int lrc = run_level(&o, &ctx, ep, i, levels, &out, &stopped);
        if (lrc == TOOL_EXIT_USAGE) {
            rc = lrc;
            break;
        }
        if (lrc != TOOL_EXIT_OK)
            rc = TOOL_EXIT_FAILED;
        done_levels = i + 1;
        if (stopped)
            break;
        if (i + 1 < levels && !o.quiet)
            fputc('\n', ctx.lines);
    }
    if (levels > 1 && done_levels > 0 && rc != TOOL_EXIT_USAGE)
        sweep_table(ctx.lines, &o, out.levels, done_levels);
    if (out.summary_fp && levels > 1 && !out.summary_failed && fputs("]\n", out.summary_fp) == EOF)
        out.summary_failed = 1;
out:
    if (out.summary_fp && close_out(o.tool, o.summary, out.summary_fp, out.summary_failed) != 0)
        rc = TOOL_EXIT_FAILED;
    if (out.sweep_fp && close_out(o.tool, o.sweep_output, out.sweep_fp, out.sweep_failed) != 0)
        rc = TOOL_EXIT_FAILED;
    if (ctx.trace && (llmb_trace_close(ctx.trace, &e) != LLMB_OK || ctx.trace_failed)) {
        if (!ctx.trace_failed)
            tool_error(o.tool, "%s", e.text);
        rc = TOOL_EXIT_FAILED;
    }
    if (ctx.csv) {
        if (llmb_results_close(ctx.csv, &e) != LLMB_OK || ctx.csv_failed) {
            if (!ctx.csv_failed)
                tool_error(o.tool, "%s", e.text);
            rc = TOOL_EXIT_FAILED;
        } else if (!o.quiet && strcmp(o.output, "-") != 0 && rc != TOOL_EXIT_USAGE) {
            fprintf(ctx.lines, "Results: %s", o.output);
            if (o.summary && strcmp(o.summary, "-") != 0 && !out.summary_failed)
                fprintf(ctx.lines, ", summary: %s", o.summary);
            if (o.sweep_output && strcmp(o.sweep_output, "-") != 0 && !out.sweep_failed)
                fprintf(ctx.lines, ", sweep: %s", o.sweep_output);
            if (o.trace && strcmp(o.trace, "-") != 0 && !ctx.trace_failed)
                fprintf(ctx.lines, ", trace: %s", o.trace);
            fputc('\n', ctx.lines);
        }
    }
    llmb_endpoint_free(ep);
    free(out.levels);
    return rc;
}
