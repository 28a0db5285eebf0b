/*
 * bench_mock_precision: how precisely the mock engine keeps its schedule
 * under load. For each stream count it forks a child that runs the mock
 * pinned to CPU 1, pins itself to CPU 0, opens that many concurrent streaming
 * requests with a minimal epoll client, checks that every stream got all its
 * tokens and [DONE], and prints the mock's own lateness figures (from
 * GET /mock/stats) beside the lateness the client saw.
 *
 * Usage: bench_mock_precision [--ttft-ms MS] [--itl-ms MS] [--tokens N]
 *                             [--spread-ms MS] [--spin-us US] [--rt-priority N]
 *                             [STREAMS]...
 * With no STREAMS, it runs 1, 64, 256 and 1000.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "llmbench/clock.h"
#include "llmbench/mock.h"

#define MAX_STREAMS   20000
#define LINE_MAX_B    8192
#define IO_TIMEOUT_MS 5000

struct settings {
    double ttft_ms;
    double itl_ms;
    unsigned tokens;
    double spread_ms; /* stream starts spread evenly over this span (0: all at once) */
    unsigned spin_us;
    int rt_priority;
};

/* ---- the child: the mock on CPU 1 ---- */

static llmb_mock *child_mock;

static void child_on_term(int sig)
{
    (void)sig;
    llmb_mock_stop(child_mock);
}

static int pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

static void run_child(const struct settings *s, unsigned streams, int port_fd)
{
    llmb_mock_options o = LLMB_MOCK_OPTIONS_INIT;
    struct sigaction sa;
    llmb_error err;
    unsigned port;
    int code = 1;

    if (pin_to(1) != 0)
        fprintf(stderr, "bench: cannot pin the mock to CPU 1: %s\n", strerror(errno));
    o.ttft_ms = s->ttft_ms;
    o.itl_ms = s->itl_ms;
    o.default_tokens = s->tokens;
    o.max_connections = streams + 64;
    o.spin_us = s->spin_us;
    o.rt_priority = s->rt_priority;
    if (llmb_mock_new(&o, &child_mock, &err) != LLMB_OK) {
        fprintf(stderr, "bench: mock: %s\n", err.text);
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = child_on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    port = llmb_mock_port(child_mock);
    if (write(port_fd, &port, sizeof port) != (ssize_t)sizeof port)
        goto out;
    close(port_fd);
    code = llmb_mock_run(child_mock) == LLMB_OK ? 0 : 1;
out:
    llmb_mock_free(child_mock);
    _exit(code);
}

/* ---- the client: one epoll loop over raw sockets ---- */

enum phase { P_WAIT, P_CONNECTING, P_HEAD, P_SIZE, P_DATA, P_CRLF, P_END, P_DONE, P_FAILED };

struct stream {
    int fd;
    enum phase phase;
    uint64_t start_ns; /* when its request is due */
    uint64_t sent_ns;
    char head[1024];
    size_t head_len;
    uint64_t chunk_left;
    unsigned crlf_left;
    char line[LINE_MAX_B];
    size_t line_len;
    unsigned tokens;
    int done;
};

struct client {
    const struct settings *s;
    struct stream *st;
    unsigned n;
    unsigned finished;
    unsigned errors;
    int ep;
    unsigned port;
    char request[512];
    size_t request_len;
    uint64_t *late; /* client-side lateness of every token */
    size_t n_late;
};

static void stream_fail(struct client *c, struct stream *s, const char *why)
{
    if (s->phase == P_DONE || s->phase == P_FAILED)
        return;
    if (c->errors < 5)
        fprintf(stderr, "bench: stream %td failed: %s\n", s - c->st, why);
    s->phase = P_FAILED;
    c->errors++;
    c->finished++;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static void stream_ok(struct client *c, struct stream *s)
{
    if (s->tokens != c->s->tokens || !s->done) {
        stream_fail(c, s, "missing tokens or [DONE]");
        return;
    }
    s->phase = P_DONE;
    c->finished++;
    close(s->fd);
    s->fd = -1;
}

static void sse_line(struct client *c, struct stream *s, uint64_t now)
{
    static const char token_key[] = "\"delta\":{\"content\":\"";
    if (s->line_len < 6 || memcmp(s->line, "data: ", 6) != 0)
        return;
    if (s->line_len == 12 && memcmp(s->line + 6, "[DONE]", 6) == 0) {
        s->done = 1;
        return;
    }
    s->line[s->line_len] = '\0';
    if (strstr(s->line, token_key)) {
        uint64_t due = s->sent_ns + llmb_s_to_ns((c->s->ttft_ms + s->tokens * c->s->itl_ms) / 1e3);
        c->late[c->n_late++] = now > due ? now - due : 0;
        s->tokens++;
    }
}

/* Feed received bytes through the chunked decoder and the SSE line splitter. */
static void stream_bytes(struct client *c, struct stream *s, const char *p, size_t n, uint64_t now)
{
    while (n > 0 && s->phase != P_FAILED) {
        switch (s->phase) {
        case P_HEAD:
            if (s->head_len + 1 >= sizeof s->head) {
                stream_fail(c, s, "response head too long");
                return;
            }
            s->head[s->head_len++] = *p++;
            n--;
            if (s->head_len >= 4 && memcmp(s->head + s->head_len - 4, "\r\n\r\n", 4) == 0) {
                if (strncmp(s->head, "HTTP/1.1 200 ", 13) != 0) {
                    stream_fail(c, s, "status is not 200");
                    return;
                }
                s->phase = P_SIZE;
                s->chunk_left = 0;
            }
            break;
        case P_SIZE: {
            char ch = *p++;
            n--;
            if (ch == '\n') {
                if (s->chunk_left == 0) {
                    s->phase = P_END;
                    s->crlf_left = 2;
                } else {
                    s->phase = P_DATA;
                }
            } else if (ch != '\r') {
                int d = (ch >= '0' && ch <= '9')   ? ch - '0'
                        : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                        : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
                                                   : -1;
                if (d < 0 || s->chunk_left > (UINT64_MAX >> 4)) {
                    stream_fail(c, s, "bad chunk size");
                    return;
                }
                s->chunk_left = s->chunk_left * 16 + (uint64_t)d;
            }
            break;
        }
        case P_DATA: {
            size_t k = n < s->chunk_left ? n : (size_t)s->chunk_left;
            for (size_t i = 0; i < k; i++) {
                if (p[i] == '\n') {
                    sse_line(c, s, now);
                    s->line_len = 0;
                } else if (s->line_len + 1 < sizeof s->line) {
                    s->line[s->line_len++] = p[i];
                }
            }
            p += k;
            n -= k;
            s->chunk_left -= k;
            if (s->chunk_left == 0) {
                s->phase = P_CRLF;
                s->crlf_left = 2;
            }
            break;
        }
        case P_CRLF:
        case P_END:
            p++;
            n--;
            if (--s->crlf_left == 0) {
                if (s->phase == P_END) {
                    stream_ok(c, s);
                    return;
                }
                s->phase = P_SIZE;
                s->chunk_left = 0;
            }
            break;
        default:
            return;
        }
    }
}

static void stream_start(struct client *c, struct stream *s)
{
    struct sockaddr_in sa;
    struct epoll_event ev;
    int one = 1;

    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        stream_fail(c, s, strerror(errno));
        return;
    }
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)c->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        stream_fail(c, s, strerror(errno));
        return;
    }
    s->phase = P_CONNECTING;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLOUT;
    ev.data.ptr = s;
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, s->fd, &ev) != 0)
        stream_fail(c, s, strerror(errno));
}

static void stream_event(struct client *c, struct stream *s, uint32_t events)
{
    char buf[16384];
    if (s->phase == P_CONNECTING) {
        struct epoll_event ev;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        ssize_t w;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) {
            stream_fail(c, s, strerror(soerr));
            return;
        }
        /* The request is small: one send takes it all on a new connection. */
        s->sent_ns = llmb_now_ns();
        w = send(s->fd, c->request, c->request_len, MSG_NOSIGNAL);
        if (w != (ssize_t)c->request_len) {
            stream_fail(c, s, "short send");
            return;
        }
        s->phase = P_HEAD;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.ptr = s;
        epoll_ctl(c->ep, EPOLL_CTL_MOD, s->fd, &ev);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    for (int round = 0; round < 4 && s->fd >= 0; round++) {
        ssize_t r = recv(s->fd, buf, sizeof buf, 0);
        if (r > 0) {
            stream_bytes(c, s, buf, (size_t)r, llmb_now_ns());
            if ((size_t)r < sizeof buf)
                break;
        } else if (r == 0) {
            stream_fail(c, s, "connection closed early");
        } else if (errno != EAGAIN && errno != EINTR) {
            stream_fail(c, s, strerror(errno));
        } else {
            break;
        }
    }
}

/* GET /mock/stats on a blocking socket with timeouts; NULL on failure. */
static json_t *fetch_stats(unsigned port)
{
    static const char req[] = "GET /mock/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct sockaddr_in sa;
    struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
    char buf[4096];
    size_t len = 0;
    json_t *j = NULL;
    char *body;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return NULL;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
        goto out;
    for (;;) {
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof buf - 1)
            break;
    }
    buf[len] = '\0';
    body = strstr(buf, "\r\n\r\n");
    if (body)
        j = json_loads(body + 4, 0, NULL);
out:
    close(fd);
    return j;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, size_t n, double p)
{
    size_t i;
    if (n == 0)
        return 0;
    i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e3;
}

static long long stat_int(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Stop our child (only it, by its PID); the CPU seconds it used, or -1. */
static double stop_child(pid_t pid)
{
    uint64_t deadline = llmb_now_ns() + 5 * LLMB_NS_PER_S;
    struct rusage ru;
    pid_t r;
    kill(pid, SIGTERM);
    while ((r = wait4(pid, NULL, WNOHANG, &ru)) == 0) {
        if (llmb_now_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        usleep(5000);
    }
    if (r != pid)
        return -1;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One row of the table. Returns 0 when every stream completed. */
static int run_row(const struct settings *set, unsigned n)
{
    struct client c;
    int pipefd[2];
    pid_t pid;
    unsigned next = 0, port = 0;
    uint64_t t_begin, deadline, t_end = 0;
    double cpu_s;
    struct pollfd pfd;
    json_t *stats = NULL;
    int rc = 1;

    memset(&c, 0, sizeof c);
    c.ep = -1;
    if (pipe(pipefd) != 0)
        return 1;
    pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        close(pipefd[0]);
        run_child(set, n, pipefd[1]);
    }
    close(pipefd[1]);
    pfd.fd = pipefd[0];
    pfd.events = POLLIN;
    if (poll(&pfd, 1, IO_TIMEOUT_MS) != 1 || read(pipefd[0], &port, sizeof port) != sizeof port) {
        fprintf(stderr, "bench: the mock did not start\n");
        close(pipefd[0]);
        stop_child(pid);
        return 1;
    }
    close(pipefd[0]);

    c.s = set;
    c.n = n;
    c.port = port;
    c.st = calloc(n, sizeof *c.st);
    c.late = calloc((size_t)n * set->tokens + 1, sizeof *c.late);
    c.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!c.st || !c.late || c.ep < 0)
        goto out;
    {
        char body[256];
        int bl = snprintf(body, sizeof body,
                          "{\"model\":\"bench\",\"stream\":true,\"max_tokens\":%u,"
                          "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}",
                          set->tokens);
        c.request_len = (size_t)snprintf(c.request, sizeof c.request,
                                         "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                         "Content-Type: application/json\r\n"
                                         "Content-Length: %d\r\n\r\n%s",
                                         bl, body);
    }
    t_begin = llmb_now_ns();
    for (unsigned i = 0; i < n; i++) {
        c.st[i].fd = -1;
        c.st[i].phase = P_WAIT;
        c.st[i].start_ns = t_begin + (n > 1 ? llmb_s_to_ns(set->spread_ms / 1e3 * i / (n - 1)) : 0);
    }
    deadline = t_begin +
               llmb_s_to_ns((set->spread_ms + set->ttft_ms + set->itl_ms * set->tokens) / 1e3) +
               20 * LLMB_NS_PER_S;

    while (c.finished < n) {
        struct epoll_event evs[256];
        uint64_t now = llmb_now_ns();
        int timeout_ms = 100, k;
        if (now > deadline) {
            for (unsigned i = 0; i < n; i++)
                stream_fail(&c, &c.st[i], "timed out");
            break;
        }
        while (next < n && c.st[next].start_ns <= now)
            stream_start(&c, &c.st[next++]);
        if (next < n) {
            uint64_t wait = c.st[next].start_ns - now;
            timeout_ms = (int)(wait / LLMB_NS_PER_MS);
        }
        k = epoll_wait(c.ep, evs, 256, timeout_ms);
        if (k < 0 && errno != EINTR)
            break;
        for (int i = 0; i < k; i++)
            stream_event(&c, evs[i].data.ptr, evs[i].events);
    }
    t_end = llmb_now_ns();
    stats = fetch_stats(port);
    if (!stats) {
        fprintf(stderr, "bench: cannot read /mock/stats\n");
        goto out;
    }
    close(c.ep);
    c.ep = -1;
    cpu_s = stop_child(pid);
    pid = -1;
    qsort(c.late, c.n_late, sizeof *c.late, cmp_u64);
    printf("%7u %8lld %8lld %8lld %8lld %8lld %10.0f %10.0f %10.0f %6u %5s %4.0f%%\n", n,
           stat_int(stats, "events"), stat_int(stats, "late_p50_us"),
           stat_int(stats, "late_p99_us"), stat_int(stats, "late_max_us"),
           stat_int(stats, "late_over_1ms"), pct_us(c.late, c.n_late, 0.5),
           pct_us(c.late, c.n_late, 0.99), pct_us(c.late, c.n_late, 1.0), c.errors,
           json_is_true(json_object_get(stats, "realtime")) ? "fifo" : "other",
           cpu_s < 0 ? -1.0 : 100.0 * cpu_s / ((double)(t_end - t_begin) / 1e9));
    fflush(stdout);
    rc = c.errors == 0 && stat_int(stats, "events") == (long long)n * (set->tokens + 1) ? 0 : 1;
out:
    json_decref(stats);
    for (unsigned i = 0; c.st && i < n; i++) {
        if (c.st[i].fd >= 0)
            close(c.st[i].fd);
    }
    if (c.ep >= 0)
        close(c.ep);
    free(c.st);
    free(c.late);
    if (pid > 0)
        stop_child(pid);
    return rc;
}

static int parse_num(const char *opt, const char *arg, double max, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !(*out >= 0) || *out > max) {
        fprintf(stderr, "bench: %s: '%s' is not a number from 0 to %g\n", opt, arg, max);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    llmb_mock_options defaults = LLMB_MOCK_OPTIONS_INIT;
    struct settings set = {50.0, 20.0, 100, 0.0, defaults.spin_us, 0};
    unsigned rows[64], n_rows = 0;
    static const unsigned default_rows[] = {1, 64, 256, 1000};
    struct rlimit rl;
    int failed = 0;
    double v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(a, "--ttft-ms") == 0 || strcmp(a, "--itl-ms") == 0 ||
            strcmp(a, "--tokens") == 0 || strcmp(a, "--spread-ms") == 0 ||
            strcmp(a, "--spin-us") == 0 || strcmp(a, "--rt-priority") == 0) {
            double max = strcmp(a, "--tokens") == 0        ? 100000
                         : strcmp(a, "--spin-us") == 0     ? 1000000
                         : strcmp(a, "--rt-priority") == 0 ? 99
                                                           : 60000;
            if (parse_num(a, val, max, &v) != 0)
                return 2;
            if (strcmp(a, "--ttft-ms") == 0)
                set.ttft_ms = v;
            else if (strcmp(a, "--itl-ms") == 0)
                set.itl_ms = v;
            else if (strcmp(a, "--tokens") == 0)
                set.tokens = (unsigned)v;
            else if (strcmp(a, "--spin-us") == 0)
                set.spin_us = (unsigned)v;
            else if (strcmp(a, "--rt-priority") == 0)
                set.rt_priority = (int)v;
            else
                set.spread_ms = v;
            i++;
        } else if (strcmp(a, "--help") == 0) {
            printf("Usage: %s [--ttft-ms MS] [--itl-ms MS] [--tokens N] [--spread-ms MS]\n"
                   "       [--spin-us US] [--rt-priority N] [STREAMS]...\n",
                   argv[0]);
            return 0;
        } else {
            if (parse_num("STREAMS", a, MAX_STREAMS, &v) != 0 || v < 1 || n_rows == 64)
                return 2;
            rows[n_rows++] = (unsigned)v;
        }
    }
    if (n_rows == 0) {
        for (size_t i = 0; i < sizeof default_rows / sizeof default_rows[0]; i++)
            rows[n_rows++] = default_rows[i];
    }
    /* Each stream is a descriptor here and one in the child. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (pin_to(0) != 0)
        fprintf(stderr, "bench: cannot pin the client to CPU 0: %s\n", strerror(errno));
    signal(SIGPIPE, SIG_IGN);

    printf("mock precision: ttft %.1f ms, itl %.1f ms, %u tokens per stream, starts spread over "
           "%.1f ms, spin %u us, rt priority %d; mock on CPU 1, client on CPU 0\n",
           set.ttft_ms, set.itl_ms, set.tokens, set.spread_ms, set.spin_us, set.rt_priority);
    printf("%7s %8s %8s %8s %8s %8s %10s %10s %10s %6s %5s %5s\n", "streams", "events", "p50_us",
           "p99_us", "max_us", ">1ms", "cli_p50_us", "cli_p99_us", "cli_max_us", "errors", "sched",
           "cpu");
    printf("%7s %8s %8s %8s %8s %8s %10s %10s %10s %6s %5s %5s\n", "", "", "(mock", "lateness", ")",
           "", "(client", "lateness", ")", "", "", "mock");
    for (unsigned i = 0; i < n_rows; i++)
        failed |= run_row(&set, rows[i]);
    return failed ? 1 : 0;
}
