/*
 * How much does our client distort what it measures? This benchmark runs
 * the library's runner against a load stub on loopback and compares, event
 * by event, when the stub really sent each content chunk with when the
 * runner's record says it arrived. The stub is a separate process pinned to
 * another core; it logs the CLOCK_MONOTONIC instant just before each write,
 * so the difference is the kernel's loopback delivery plus our client's own
 * delay, and the stub's lateness cannot hide in it.
 *
 *   bench_client_overhead [--streams 1,64,256,1024,10000] [--rates 100,1000]
 *
 * Printed per level: streams in flight, events, events/s, added delay
 * (arrival - stub send) p50/p99/max, measured TTFT and inter-token gap against
 * the configured ones, client CPU per event (over the whole level, and while
 * all its streams were in flight), memory per in-flight stream, errors; then
 * the same for a bare epoll reader, the floor; then, for open-loop rates, the
 * achieved rate against the target. Every run is bounded in count and time,
 * and the stub is ended by its PID.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "llmbench/llmbench.h"

/* ------------------------------------------------------------------------ */
/* The load stub                                                             */
/* ------------------------------------------------------------------------ */

typedef struct stub_cfg {
    uint64_t ttft_ns, itl_ns;
    unsigned tokens;
    const char *log_path;
} stub_cfg;

typedef struct sent_event {
    uint32_t request; /* from X-Request-Id */
    uint32_t index;   /* content chunk number, from 0 */
    uint64_t t_ns;    /* CLOCK_MONOTONIC just before the write */
} sent_event;

typedef struct conn {
    int fd;
    char in[8192];
    size_t in_len;
    int streaming;
    uint32_t request;
    unsigned next; /* next content chunk; tokens = the final events */
    uint64_t start_ns;
    size_t heap_idx;
    uint64_t due_ns;
    char out[4096]; /* bytes the socket did not take */
    size_t out_len;
} conn;

static volatile sig_atomic_t stub_stop;

static void stub_on_term(int sig)
{
    (void)sig;
    stub_stop = 1;
}

static uint64_t now_ns(void)
{
    return llmb_now_ns();
}

typedef struct heap {
    conn **v;
    size_t n, cap;
} heap;

static void heap_swap(heap *h, size_t a, size_t b)
{
    conn *t = h->v[a];
    h->v[a] = h->v[b];
    h->v[b] = t;
    h->v[a]->heap_idx = a;
    h->v[b]->heap_idx = b;
}

static void heap_up(heap *h, size_t i)
{
    while (i > 0 && h->v[(i - 1) / 2]->due_ns > h->v[i]->due_ns) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l]->due_ns < h->v[m]->due_ns)
            m = l;
        if (r < h->n && h->v[r]->due_ns < h->v[m]->due_ns)
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

static int heap_push(heap *h, conn *c)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        conn **nv = realloc(h->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        h->v = nv;
        h->cap = cap;
    }
    h->v[h->n] = c;
    c->heap_idx = h->n++;
    heap_up(h, c->heap_idx);
    return 0;
}

static conn *heap_pop(heap *h)
{
    conn *top = h->v[0];
    heap_swap(h, 0, h->n - 1);
    h->n--;
    if (h->n)
        heap_down(h, 0);
    top->heap_idx = SIZE_MAX;
    return top;
}

static void heap_remove(heap *h, conn *c)
{
    size_t i = c->heap_idx;
    if (i == SIZE_MAX)
        return;
    heap_swap(h, i, h->n - 1);
    h->n--;
    if (i < h->n) {
        heap_down(h, i);
        heap_up(h, i);
    }
    c->heap_idx = SIZE_MAX;
}

/* Writes what it can; keeps the rest. Returns -1 when the peer is gone. */
static int conn_send(conn *c, const char *p, size_t n)
{
    if (c->out_len == 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN)
            return -1;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
    if (n > sizeof c->out - c->out_len)
        return -1; /* a client this far behind is not being measured well anyway */
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

static int conn_flush(conn *c)
{
    while (c->out_len) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN ? 0 : -1;
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
    return 0;
}

/* An SSE event as one HTTP chunk. */
static int send_event(conn *c, const char *data)
{
    char buf[512];
    size_t dlen = strlen(data) + 8; /* "data: " + data + "\n\n" */
    int n = snprintf(buf, sizeof buf, "%zx\r\ndata: %s\n\n\r\n", dlen, data);
    return conn_send(c, buf, (size_t)n);
}

/* The stub's log: each content event's send, and (index REQUEST_SEEN) when
 * each request was read whole. */
#define REQUEST_SEEN UINT32_MAX

static int log_add(sent_event **log, size_t *n, size_t *cap, uint32_t request, uint32_t index,
                   uint64_t t_ns)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 65536;
        sent_event *nl = realloc(*log, c * sizeof *nl);
        if (!nl)
            return -1;
        *log = nl;
        *cap = c;
    }
    (*log)[*n].request = request;
    (*log)[*n].index = index;
    (*log)[*n].t_ns = t_ns;
    (*n)++;
    return 0;
}

static int stub_main(int listen_fd, const stub_cfg *cfg)
{
    int ep = epoll_create1(0), tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct epoll_event ev;
    heap h = {NULL, 0, 0};
    sent_event *log = NULL;
    size_t n_log = 0, cap_log = 0;
    uint64_t armed = 0;
    FILE *fp;

    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL; /* the listener */
    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
    ev.data.ptr = &h; /* the timer */
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    while (!stub_stop) {
        struct epoll_event evs[256];
        int n;
        uint64_t now;
        if (h.n && h.v[0]->due_ns != armed) {
            struct itimerspec its;
            memset(&its, 0, sizeof its);
            armed = h.v[0]->due_ns;
            its.it_value.tv_sec = (time_t)(armed / 1000000000ULL);
            its.it_value.tv_nsec = (long)(armed % 1000000000ULL);
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        }
        n = epoll_wait(ep, evs, 256, 200);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                int fd;
                while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    conn *c = calloc(1, sizeof *c);
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c->fd = fd;
                    c->heap_idx = SIZE_MAX;
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
            } else if (evs[i].data.ptr == &h) {
                uint64_t v;
                if (read(tfd, &v, sizeof v) < 0)
                    armed = 0;
                armed = 0;
            } else {
                conn *c = evs[i].data.ptr;
                ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
                char *end, *id;
                if (r <= 0 || conn_flush(c) != 0) {
                    heap_remove(&h, c);
                    close(c->fd);
                    free(c);
                    continue;
                }
                c->in_len += (size_t)r;
                c->in[c->in_len] = '\0';
                end = strstr(c->in, "\r\n\r\n");
                if (!end || c->streaming)
                    continue;
                {
                    char *cl = strcasestr(c->in, "content-length:");
                    size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
                    if (c->in_len < (size_t)(end + 4 - c->in) + body)
                        continue;
                }
                id = strcasestr(c->in, "x-request-id:");
                c->request = 0;
                if (id) {
                    char *eol = strstr(id, "\r\n");
                    char *dash = eol ? memrchr(id, '-', (size_t)(eol - id)) : NULL;
                    if (dash)
                        c->request = (uint32_t)strtoul(dash + 1, NULL, 10);
                }
                c->in_len = 0; /* one request at a time; the body is not needed */
                c->streaming = 1;
                c->next = 0;
                c->start_ns = now_ns();
                c->due_ns = c->start_ns + cfg->ttft_ns;
                if (log_add(&log, &n_log, &cap_log, c->request, REQUEST_SEEN, c->start_ns) != 0)
                    return 1;
                {
                    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream"
                                               "\r\nTransfer-Encoding: chunked\r\n\r\n";
                    conn_send(c, head, sizeof head - 1);
                }
                heap_push(&h, c);
            }
        }
        now = now_ns();
        while (h.n && h.v[0]->due_ns <= now) {
            conn *c = heap_pop(&h);
            int bad;
            if (c->next < cfg->tokens) {
                if (log_add(&log, &n_log, &cap_log, c->request, c->next, now_ns()) != 0)
                    return 1;
                bad =
                    send_event(c, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"}}]}");
                c->next++;
                c->due_ns = c->start_ns + cfg->ttft_ns + (uint64_t)c->next * cfg->itl_ns;
                if (c->next == cfg->tokens)
                    c->due_ns = c->due_ns - cfg->itl_ns; /* the end comes with the last token */
            } else {
                char usage[160];
                snprintf(usage, sizeof usage,
                         "{\"choices\":[],\"usage\":{\"prompt_tokens\":11,"
                         "\"completion_tokens\":%u}}",
                         cfg->tokens);
                bad =
                    send_event(c, usage) || send_event(c, "[DONE]") || conn_send(c, "0\r\n\r\n", 5);
                c->streaming = 0;
                if (!bad)
                    continue; /* kept alive for the next request */
            }
            if (bad) {
                close(c->fd);
                free(c);
                continue;
            }
            heap_push(&h, c);
            now = now_ns();
        }
    }
    fp = fopen(cfg->log_path, "wb");
    if (!fp || fwrite(log, sizeof *log, n_log, fp) != n_log || fclose(fp) != 0)
        return 1;
    return 0;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* Starts the stub in a child pinned to CPU 1; returns its pid and port. */
static pid_t stub_start(const stub_cfg *cfg, unsigned *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    pid_t pid;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4096) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("stub socket");
        exit(1);
    }
    *port = ntohs(a.sin_port);
    pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = stub_on_term;
        sigaction(SIGTERM, &sa, NULL);
        pin(1);
        _exit(stub_main(fd, cfg));
    }
    close(fd);
    return pid;
}

/* ------------------------------------------------------------------------ */
/* The client side                                                           */
/* ------------------------------------------------------------------------ */

typedef struct arrival {
    uint64_t sent;    /* absolute CLOCK_MONOTONIC, as the record says */
    uint64_t *chunks; /* absolute CLOCK_MONOTONIC */
    size_t n;
    int ok;
    double ttft_ms;
    double itl_mean_ms;
} arrival;

/* The stretch of a level while all its streams are in flight, and the
 * client's CPU time and the clock at its two ends. */
typedef struct full_window {
    uint64_t from_ns, to_ns; /* planned, from the run's start */
    double cpu_a, cpu_b;
    uint64_t t_a, t_b; /* CLOCK_MONOTONIC when cpu_a, cpu_b were read; 0 = not yet */
} full_window;

typedef struct bench_run {
    arrival *by_request; /* index = request number */
    uint64_t requests;
    uint64_t origin_ns;
    const llmb_runner *runner;
    uint64_t peak_in_flight;
    long peak_rss_kib;
    long base_rss_kib;
    uint64_t errors;
    full_window full;
} bench_run;

static double cpu_seconds(void);

/* Starts spread `interval_ns` apart, each stream `stream_ns` long: all
 * `streams` are in flight from the start of the streams-th until the first
 * end with no start after it; a twentieth of a stream's length is left out
 * at each end (ramp effects, the first token's wait). */
static full_window full_window_of(unsigned streams, uint64_t requests, uint64_t interval_ns,
                                  uint64_t stream_ns)
{
    full_window w;
    memset(&w, 0, sizeof w);
    w.from_ns = (streams - 1) * interval_ns + stream_ns / 20;
    w.to_ns = (requests - streams) * interval_ns + stream_ns - stream_ns / 20;
    return w;
}

/* Reads the CPU time at the window's ends as the run goes by them. */
static void full_window_tick(full_window *w, uint64_t elapsed_ns, uint64_t now)
{
    if (elapsed_ns >= w->from_ns && !w->t_a) {
        w->cpu_a = cpu_seconds();
        w->t_a = now;
    } else if (elapsed_ns <= w->to_ns && w->t_a) {
        w->cpu_b = cpu_seconds();
        w->t_b = now;
    }
}

/* CPU microseconds per event inside the window, NAN when it was too short. */
static double full_window_cpu_us(const full_window *w, size_t events)
{
    if (!w->t_b || events == 0)
        return NAN;
    return (w->cpu_b - w->cpu_a) / (double)events * 1e6;
}

static int in_window(const full_window *w, uint64_t t)
{
    return w->t_b && t >= w->t_a && t <= w->t_b;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp)
        return 0;
    if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(fp);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void on_start(uint64_t origin_ns, void *user)
{
    bench_run *b = user;
    b->origin_ns = origin_ns;
}

static void on_record(const llmb_record *r, void *user)
{
    bench_run *b = user;
    arrival *a;
    if (r->request > b->requests)
        return;
    a = &b->by_request[r->request];
    a->ok = llmb_record_ok(r);
    if (!a->ok && b->errors++ == 0)
        fprintf(stderr, "first failure: request %llu: %s\n", (unsigned long long)r->request,
                r->error);
    a->ttft_ms = llmb_record_ttft_ms(r);
    a->itl_mean_ms = llmb_record_itl_mean_ms(r);
    a->n = r->n_chunks;
    a->sent = b->origin_ns + r->sent_ns;
    a->chunks = malloc((r->n_chunks ? r->n_chunks : 1) * sizeof *a->chunks);
    for (size_t i = 0; a->chunks && i < r->n_chunks; i++)
        a->chunks[i] = b->origin_ns + r->chunk_ns[i];
}

static void on_progress(const llmb_progress *p, void *user)
{
    bench_run *b = user;
    full_window_tick(&b->full, p->elapsed_ns, now_ns());
    if (p->in_flight > b->peak_in_flight) {
        b->peak_in_flight = p->in_flight;
        b->peak_rss_kib = rss_kib();
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* --transport: what carries the client's requests (default auto: built in). */
static llmb_transport transport = LLMB_TRANSPORT_AUTO;

static llmb_endpoint *endpoint_for(unsigned port)
{
    llmb_endpoint *ep;
    llmb_error e;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", port);
    if (llmb_endpoint_new("mock", &ep, &e) != LLMB_OK ||
        llmb_endpoint_set_base_url(ep, url, &e) != LLMB_OK ||
        llmb_endpoint_set_model(ep, "bench", &e) != LLMB_OK) {
        fprintf(stderr, "endpoint: %s\n", e.text);
        exit(1);
    }
    llmb_endpoint_set_timeouts(ep, 30, 120);
    llmb_endpoint_set_transport(ep, transport);
    return ep;
}

static sent_event *read_log(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    sent_event *v = NULL;
    long len;
    *n = 0;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (len > 0 && (v = malloc((size_t)len)) && fread(v, 1, (size_t)len, fp) == (size_t)len)
        *n = (size_t)len / sizeof *v;
    fclose(fp);
    return v;
}

static void stop_stub(pid_t pid)
{
    int status;
    kill(pid, SIGTERM); /* our own child */
    waitpid(pid, &status, 0);
}

/* One level: `streams` in flight, each `tokens` tokens `itl` apart. */
static void run_streams(unsigned streams, double ttft_ms, double itl_ms, unsigned tokens)
{
    char log_path[64];
    stub_cfg cfg = {llmb_s_to_ns(ttft_ms / 1e3), llmb_s_to_ns(itl_ms / 1e3), tokens, log_path};
    double stream_s = (ttft_ms + (tokens - 1) * itl_ms) / 1e3;
    /* Starts spread over one stream's length reach `streams` in flight and
     * hold it; large levels run one wave, small ones two. */
    uint64_t requests = streams >= 4096 ? streams : 2ULL * streams;
    double interval = stream_s / streams * (streams >= 4096 ? 0.5 : 1.0);
    llmb_schedule *sched;
    llmb_run_options ro = LLMB_RUN_OPTIONS_INIT;
    llmb_runner *runner;
    llmb_endpoint *ep;
    llmb_error e;
    bench_run b;
    unsigned port;
    pid_t pid;
    double cpu0, cpu1, *delays, *ttfts, *itls;
    size_t n_log, nd = 0, nt = 0, ni = 0;
    sent_event *log;
    uint64_t t0, t1, events = 0;
    size_t early = 0, n_reach = 0, full_events = 0;
    double earliest = 0, reach_sum = 0;

    snprintf(log_path, sizeof log_path, "/tmp/llmb_bench_stub_%d.log", (int)getpid());
    memset(&b, 0, sizeof b);
    b.requests = requests;
    b.by_request = calloc(requests + 1, sizeof *b.by_request);
    b.full = full_window_of(streams, requests, llmb_s_to_ns(interval), llmb_s_to_ns(stream_s));
    pid = stub_start(&cfg, &port);
    ep = endpoint_for(port);
    if (llmb_schedule_interval(interval, &sched, &e) != LLMB_OK) {
        fprintf(stderr, "%s\n", e.text);
        exit(1);
    }
    ro.requests = requests;
    ro.keep_chunk_times = 1;
    ro.on_record = on_record;
    ro.record_user = &b;
    ro.on_progress = on_progress;
    ro.progress_user = &b;
    ro.progress_interval_s = 0.1;
    ro.on_start = on_start;
    ro.start_user = &b;
    ro.run_id = "bench";
    if (llmb_runner_new(ep, sched, &ro, &runner, &e) != LLMB_OK) {
        fprintf(stderr, "runner: %s\n", e.text);
        exit(1);
    }
    b.base_rss_kib = rss_kib();
    cpu0 = cpu_seconds();
    t0 = now_ns();
    llmb_runner_run(runner);
    t1 = now_ns();
    cpu1 = cpu_seconds();
    stop_stub(pid);
    log = read_log(log_path, &n_log);
    unlink(log_path);

    delays = malloc((n_log + 1) * sizeof *delays);
    ttfts = malloc((requests + 1) * sizeof *ttfts);
    itls = malloc((requests + 1) * sizeof *itls);
    for (size_t i = 0; i < n_log; i++) {
        const sent_event *s = &log[i];
        const arrival *a;
        if (s->request == 0 || s->request > requests)
            continue;
        a = &b.by_request[s->request];
        if (s->index == REQUEST_SEEN) {
            /* How long the request took to reach the stub's loop. */
            reach_sum += ((double)s->t_ns - (double)a->sent) / 1e6;
            n_reach++;
            continue;
        }
        if (s->index < a->n && a->chunks) {
            /* Signed: a kernel timestamp can come out a hair before the stub's
             * own reading, by the clock conversion's error. */
            double d = ((double)a->chunks[s->index] - (double)s->t_ns) / 1e3;
            if (d < 0) {
                early++;
                if (d < earliest)
                    earliest = d;
            }
            delays[nd++] = d;
        }
    }
    for (uint64_t r = 1; r <= requests; r++) {
        arrival *a = &b.by_request[r];
        events += a->n;
        for (size_t i = 0; a->chunks && i < a->n; i++)
            full_events += (size_t)in_window(&b.full, a->chunks[i]);
        if (a->ok && !isnan(a->ttft_ms))
            ttfts[nt++] = a->ttft_ms;
        if (a->ok && !isnan(a->itl_mean_ms))
            itls[ni++] = a->itl_mean_ms;
        free(a->chunks);
    }
    qsort(delays, nd, sizeof *delays, cmp_double);
    {
        double tsum = 0, isum = 0;
        for (size_t i = 0; i < nt; i++)
            tsum += ttfts[i];
        for (size_t i = 0; i < ni; i++)
            isum += itls[i];
        printf("%7u %8llu %9.0f %8.1f %8.1f %9.1f %8.2f (%4.0f) %7.3f (%4.0f) %8.2f %9.1f %6llu\n",
               streams, (unsigned long long)events, (double)events / ((double)(t1 - t0) / 1e9),
               llmb_percentile(delays, nd, 50), llmb_percentile(delays, nd, 99),
               nd ? delays[nd - 1] : NAN, nt ? tsum / nt : NAN, ttft_ms, ni ? isum / ni : NAN,
               itl_ms, events ? (cpu1 - cpu0) / (double)events * 1e6 : NAN,
               b.peak_in_flight
                   ? (double)(b.peak_rss_kib - b.base_rss_kib) / (double)b.peak_in_flight
                   : NAN,
               (unsigned long long)b.errors);
        printf("        (peak in flight %llu; %zu of %llu stub events matched; %.1f s)\n",
               (unsigned long long)b.peak_in_flight, nd, (unsigned long long)events,
               (double)(t1 - t0) / 1e9);
        if (n_reach)
            printf("        (a request reached the stub's loop %.2f ms after its send, mean)\n",
                   reach_sum / (double)n_reach);
        if (full_events)
            printf("        (while all %u were in flight: %.2f CPU us per event, %zu events)\n",
                   streams, full_window_cpu_us(&b.full, full_events), full_events);
        if (early)
            printf("        (%zu stamped before the stub's reading, by up to %.1f us)\n", early,
                   -earliest);
    }
    fflush(stdout);
    free(delays);
    free(ttfts);
    free(itls);
    free(log);
    free(b.by_request);
    llmb_runner_free(runner);
    llmb_schedule_free(sched);
    llmb_endpoint_free(ep);
}

/* The floor: a bare epoll reader on the same stub and load, that reads,
 * timestamps each read, counts the content events in it and throws the bytes
 * away. What the kernel and the wake-ups alone cost per event, and the delay
 * they alone add, with nothing of HTTP, SSE or JSON. */
typedef struct bare_stream {
    uint32_t request;
    uint32_t next; /* content events seen */
    uint64_t *at;  /* their arrival times */
} bare_stream;

static void run_bare(unsigned streams, double ttft_ms, double itl_ms, unsigned tokens)
{
    char log_path[64];
    stub_cfg cfg = {llmb_s_to_ns(ttft_ms / 1e3), llmb_s_to_ns(itl_ms / 1e3), tokens, log_path};
    double stream_s = (ttft_ms + (tokens - 1) * itl_ms) / 1e3;
    uint64_t interval_ns = llmb_s_to_ns(stream_s / streams);
    unsigned total = 2 * streams, started = 0, done = 0;
    bare_stream *st = calloc(total + 1, sizeof *st);
    int ep = epoll_create1(0);
    static const char marker[] = "\"content\"";
    unsigned port;
    pid_t pid;
    uint64_t t0, next_tick;
    double cpu0, cpu1, *delays;
    size_t events = 0, n_log, nd = 0, full_events = 0;
    full_window full = full_window_of(streams, total, interval_ns, llmb_s_to_ns(stream_s));
    sent_event *log;
    char buf[65536];

    snprintf(log_path, sizeof log_path, "/tmp/llmb_bench_stub_%d.log", (int)getpid());
    pid = stub_start(&cfg, &port);
    cpu0 = cpu_seconds();
    t0 = now_ns();
    next_tick = t0;
    while (done < total) {
        struct epoll_event evs[256];
        uint64_t now = now_ns();
        int n, timeout = -1;
        if (now >= next_tick) {
            /* As often as the runner's progress: a tenth of a second. */
            full_window_tick(&full, now - t0, now);
            next_tick += 100 * LLMB_NS_PER_MS;
        }
        while (started < total && now >= t0 + started * interval_ns) {
            struct sockaddr_in a;
            char req[256];
            int fd = socket(AF_INET, SOCK_STREAM, 0), len;
            struct epoll_event ev;
            memset(&a, 0, sizeof a);
            a.sin_family = AF_INET;
            a.sin_port = htons((uint16_t)port);
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
                perror("bare connect");
                exit(1);
            }
            started++;
            st[started].request = started;
            st[started].at = malloc(tokens * sizeof *st[started].at);
            len = snprintf(req, sizeof req,
                           "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                           "X-Request-Id: bare-%u\r\nContent-Length: 0\r\n\r\n",
                           started);
            if (write(fd, req, (size_t)len) != len)
                exit(1);
            fcntl(fd, F_SETFL, O_NONBLOCK);
            memset(&ev, 0, sizeof ev);
            ev.events = EPOLLIN;
            ev.data.u64 = ((uint64_t)started << 32) | (uint32_t)fd;
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        if (started < total)
            timeout = (int)((t0 + started * interval_ns - now) / 1000000ULL) + 1;
        n = epoll_wait(ep, evs, 256, timeout);
        for (int i = 0; i < n; i++) {
            int fd = (int)(uint32_t)evs[i].data.u64;
            bare_stream *b = &st[evs[i].data.u64 >> 32];
            ssize_t r = read(fd, buf, sizeof buf);
            uint64_t t = now_ns();
            const char *p = buf, *end = buf + (r > 0 ? r : 0);
            while ((p = memmem(p, (size_t)(end - p), marker, sizeof marker - 1))) {
                if (b->next < tokens)
                    b->at[b->next++] = t;
                p += sizeof marker - 1;
            }
            if (r <= 0 || memmem(buf, (size_t)r, "0\r\n\r\n", 5)) {
                close(fd);
                done++;
            }
        }
    }
    cpu1 = cpu_seconds();
    stop_stub(pid);
    log = read_log(log_path, &n_log);
    unlink(log_path);
    delays = malloc((n_log + 1) * sizeof *delays);
    for (size_t i = 0; i < n_log; i++) {
        const sent_event *e = &log[i];
        if (e->request == 0 || e->request > total || e->index == REQUEST_SEEN)
            continue;
        events++;
        if (e->index < st[e->request].next && st[e->request].at[e->index] >= e->t_ns)
            delays[nd++] = (double)(st[e->request].at[e->index] - e->t_ns) / 1e3;
        if (e->index < st[e->request].next)
            full_events += (size_t)in_window(&full, st[e->request].at[e->index]);
    }
    qsort(delays, nd, sizeof *delays, cmp_double);
    printf("%7u %8zu %9s %8.1f %8.1f %9.1f   bare epoll reader: %.2f CPU us per event\n", streams,
           events, "", llmb_percentile(delays, nd, 50), llmb_percentile(delays, nd, 99),
           nd ? delays[nd - 1] : NAN, events ? (cpu1 - cpu0) / (double)events * 1e6 : NAN);
    if (full_events)
        printf("        (while all %u were in flight: %.2f CPU us per event, %zu events)\n",
               streams, full_window_cpu_us(&full, full_events), full_events);
    fflush(stdout);
    for (unsigned i = 0; i <= total; i++)
        free(st[i].at);
    free(st);
    free(delays);
    free(log);
    close(ep);
}

/* Open loop at a constant rate: how close to the target do sends land? */
static void run_rate(double rate)
{
    char log_path[64];
    stub_cfg cfg = {llmb_s_to_ns(0.005), llmb_s_to_ns(0.005), 2, log_path};
    llmb_schedule *sched;
    llmb_run_options ro = LLMB_RUN_OPTIONS_INIT;
    llmb_runner *runner;
    llmb_endpoint *ep;
    llmb_summary s;
    llmb_error e;
    unsigned port;
    pid_t pid;

    snprintf(log_path, sizeof log_path, "/tmp/llmb_bench_stub_%d.log", (int)getpid());
    pid = stub_start(&cfg, &port);
    ep = endpoint_for(port);
    if (llmb_schedule_rate(rate, LLMB_ARRIVAL_CONSTANT, 1, 0, &sched, &e) != LLMB_OK) {
        fprintf(stderr, "%s\n", e.text);
        exit(1);
    }
    ro.requests = (uint64_t)(rate * 5); /* five seconds */
    ro.run_id = "rate";
    if (llmb_runner_new(ep, sched, &ro, &runner, &e) != LLMB_OK) {
        fprintf(stderr, "runner: %s\n", e.text);
        exit(1);
    }
    llmb_runner_run(runner);
    stop_stub(pid);
    unlink(log_path);
    llmb_metrics_summarize(llmb_runner_metrics(runner), &s);
    printf("%10.0f %10.3f %+9.3f %%  %10.3f %10.3f %8llu\n", rate, s.achieved_request_rate,
           (s.achieved_request_rate - rate) / rate * 100.0, s.send_delay_ms.p99,
           s.send_delay_ms.max, (unsigned long long)s.failed);
    fflush(stdout);
    llmb_runner_free(runner);
    llmb_schedule_free(sched);
    llmb_endpoint_free(ep);
}

static size_t parse_list(const char *s, double *out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v <= 0)
            break;
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

int main(int argc, char **argv)
{
    double streams[16] = {1, 64, 256, 1024, 10000}, rates[8] = {100, 1000};
    size_t ns = 5, nr = 2;
    int bare = 1;
    struct rlimit rl;

    for (int i = 1; i < argc; i += 2) {
        if (i + 1 < argc && strcmp(argv[i], "--streams") == 0)
            ns = parse_list(argv[i + 1], streams, 16);
        else if (i + 1 < argc && strcmp(argv[i], "--rates") == 0)
            nr = parse_list(argv[i + 1], rates, 8);
        else if (i + 1 < argc && strcmp(argv[i], "--bare") == 0)
            bare = strcmp(argv[i + 1], "no") != 0;
        else if (i + 1 < argc && strcmp(argv[i], "--transport") == 0 &&
                 llmb_transport_from_name(argv[i + 1], &transport) == LLMB_OK)
            continue;
        else {
            fprintf(strcmp(argv[i], "--help") == 0 ? stdout : stderr,
                    "usage: %s [--streams 1,64,256,1024,10000] [--rates 100,1000] "
                    "[--bare yes|no] [--transport auto|builtin|libcurl]\n",
                    argv[0]);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    pin(0);
    printf("client on CPU 0, stub on CPU 1; transport %s; added delay = client arrival - stub "
           "send\n",
           llmb_transport_name(transport));
    printf("streams   events  events/s   added delay (us)          TTFT ms (true)   ITL ms "
           "(true)  CPU us/ev  KiB/stream errors\n");
    printf("                              p50      p99       max\n");
    for (size_t i = 0; i < ns; i++) {
        unsigned n = (unsigned)streams[i];
        if (n >= 4096)
            run_streams(n, 50, 1000, 10); /* slow gaps: holding many streams is the point */
        else
            run_streams(n, 50, 10, 200); /* 100 events/s per stream */
    }
    if (bare) {
        printf("\nthe floor on this machine, same stub and load (added delay in us):\n");
        for (size_t i = 0; i < ns; i++)
            if (streams[i] < 4096)
                run_bare((unsigned)streams[i], 50, 10, 200);
    }
    printf("\nopen loop, constant arrivals, 5 s each\n");
    printf("target/s achieved/s     error   send delay p99 ms   max ms   failed\n");
    for (size_t i = 0; i < nr; i++)
        run_rate(rates[i]);
    return 0;
}
