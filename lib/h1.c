/*
 * The built-in transport (see h1.h): non-blocking connect, one write of the
 * request, and the response read with one recv per readable socket and
 * parsed in place by h1_parse.c. A finished transfer is queued and its
 * on_done called from llmbi_h1_drain, as libcurl's completions are, so no
 * handler of the caller runs inside another.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dheap.h"
#include "h1.h"
#include "h1_parse.h"
#include "internal.h"
#include "llmbench/clock.h"
#include "llmbench/version.h"

#define NO_DEADLINE UINT64_MAX
#define READ_BUF    65536

enum { ST_CONNECTING, ST_SENDING, ST_RECEIVING, ST_DONE };

typedef struct h1_conn h1_conn;
typedef struct h1_req h1_req;

typedef struct h1_origin {
    char *authority; /* host[:port] as in the URL: the key, and the Host header */
    char *host;      /* for the resolver (an IPv6 literal without brackets) */
    char port[8];
    struct addrinfo *ai; /* resolved once, on the first request */
    h1_conn *idle;       /* kept-alive connections, most recently used first */
    struct h1_origin *next;
} h1_origin;

struct h1_conn {
    int fd;
    uint32_t serial; /* tells this connection from an earlier one on the same fd */
    uint32_t interest;
    h1_origin *o;
    h1_req *req;          /* NULL while idle */
    h1_conn *prev, *next; /* in the origin's idle list */
    int reused;           /* has carried a response before */
};

struct h1_req {
    llmbi_http_req base;
    llmbi_h1 *t;
    llmbi_http_handlers hd;
    void *user;
    h1_origin *o;
    h1_conn *c;
    int state;
    const struct addrinfo *next_ai; /* to try if this connection attempt fails */
    int last_errno;
    char *out;
    size_t out_len, out_off;
    llmbi_h1_parser ps;
    uint64_t t_ns;          /* arrival of the bytes being parsed */
    uint64_t connect_by_ns; /* NO_DEADLINE: none */
    uint64_t end_by_ns;
    llmbi_dheap_node due; /* in the timeout heap while it has a deadline */
    double connect_timeout_s, timeout_s;
    int retried; /* already sent again after a kept-alive connection died */
    int aborted;
    llmbi_http_result res;
    char msg[192];
    h1_req *prev, *next; /* in the active list, or the done queue */
};

struct llmbi_h1 {
    int epfd;
    uint32_t serial;
    h1_origin *origins;
    h1_conn **by_fd;
    size_t n_by_fd;
    h1_req *active;
    h1_req *done_head, *done_tail; /* finished, their on_done not yet called */
    size_t n_active, n_done;
    llmbi_dheap heap;     /* transfers by their next deadline */
    int64_t rt_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC, for the kernel's timestamps */
    char buf[READ_BUF];
};

/* ---- The URL ---- */

typedef struct url_parts {
    const char *auth, *path;
    size_t auth_len, path_len;
} url_parts;

static int split_url(const char *url, url_parts *u)
{
    const char *p, *q;
    if (!url || strncasecmp(url, "http://", 7) != 0)
        return -1;
    p = url + 7;
    q = p + strcspn(p, "/?#");
    if (q == p || memchr(p, '@', (size_t)(q - p)))
        return -1;
    u->auth = p;
    u->auth_len = (size_t)(q - p);
    u->path = q;
    u->path_len = strcspn(q, "#");
    return 0;
}

int llmbi_h1_url_ok(const char *url)
{
    url_parts u;
    return split_url(url, &u) == 0;
}

static h1_origin *origin_for(llmbi_h1 *t, const url_parts *u)
{
    h1_origin *o;
    const char *a = u->auth, *colon;
    size_t hl;
    for (o = t->origins; o; o = o->next)
        if (strlen(o->authority) == u->auth_len && memcmp(o->authority, a, u->auth_len) == 0)
            return o;
    o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->authority = strndup(a, u->auth_len);
    if (a[0] == '[') {
        const char *close = memchr(a, ']', u->auth_len);
        hl = close ? (size_t)(close - a) - 1 : 0;
        o->host = strndup(a + 1, hl);
        colon = close && close + 1 < a + u->auth_len && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(a, ':', u->auth_len);
        hl = colon ? (size_t)(colon - a) : u->auth_len;
        o->host = strndup(a, hl);
    }
    if (colon) {
        size_t pl = (size_t)(a + u->auth_len - colon - 1);
        if (pl == 0 || pl >= sizeof o->port)
            pl = 0;
        memcpy(o->port, colon + 1, pl);
        o->port[pl] = '\0';
    }
    if (!o->port[0])
        strcpy(o->port, "80");
    if (!o->authority || !o->host) {
        free(o->authority);
        free(o->host);
        free(o);
        return NULL;
    }
    o->next = t->origins;
    t->origins = o;
    return o;
}

/* ---- Timeouts: a binary heap of transfers by their next deadline ---- */

static uint64_t deadline_of(const h1_req *r)
{
    if (r->state == ST_CONNECTING && r->connect_by_ns < r->end_by_ns)
        return r->connect_by_ns;
    return r->end_by_ns;
}

static void heap_remove(llmbi_h1 *t, h1_req *r)
{
    llmbi_dheap_remove(&t->heap, &r->due);
}

/* Puts the transfer where its deadline (for its state now) belongs. */
static int heap_update(llmbi_h1 *t, h1_req *r)
{
    uint64_t d = deadline_of(r);
    if (d == NO_DEADLINE) {
        heap_remove(t, r);
        return 0;
    }
    return llmbi_dheap_set(&t->heap, &r->due, d);
}

/* ---- Connections ---- */

/* A connection that waits for bytes is watched edge-triggered: each arrival
 * reports it once, and receive() reads until a short read, which on TCP means
 * the socket was drained (bytes that come later report themselves again),
 * or, when the report says the peer has closed or failed, until the read
 * that says so. A level-triggered watch would make the kernel poll every
 * socket it reported once more at the next wait, only to find it empty: a
 * cost per event. */
#define RX_INTEREST (EPOLLIN | EPOLLRDHUP | EPOLLET)
#define RX_ENDED    (EPOLLRDHUP | EPOLLHUP | EPOLLERR)

static int set_interest(llmbi_h1 *t, h1_conn *c, uint32_t events)
{
    struct epoll_event ev;
    int op = c->interest ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (c->interest == events)
        return 0;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = LLMBI_H1_TAG | ((uint64_t)(c->serial & 0x7fffffffu) << 32) | (uint32_t)c->fd;
    if (epoll_ctl(t->epfd, op, c->fd, &ev) != 0)
        return -1;
    c->interest = events;
    return 0;
}

static void conn_close(llmbi_h1 *t, h1_conn *c)
{
    if (!c)
        return;
    LLMBI_LIST_UNLINK(c->o->idle, c);
    if (c->req)
        c->req->c = NULL;
    if ((size_t)c->fd < t->n_by_fd)
        t->by_fd[c->fd] = NULL;
    close(c->fd); /* also leaves the epoll set */
    free(c);
}

/* A response ended cleanly on a connection that may carry another: it waits,
 * watched for the server closing it, to be reused. */
static void conn_release(llmbi_h1 *t, h1_conn *c, int keep)
{
    if (c->req)
        c->req->c = NULL;
    c->req = NULL;
    if (!keep || set_interest(t, c, RX_INTEREST) != 0) {
        conn_close(t, c);
        return;
    }
    c->reused = 1;
    LLMBI_LIST_PUSH(c->o->idle, c);
}

static h1_conn *conn_new(llmbi_h1 *t, h1_origin *o, int fd)
{
    h1_conn *c;
    if ((size_t)fd >= t->n_by_fd) {
        size_t n = t->n_by_fd;
        if (llmbi_grow_to((void **)&t->by_fd, &n, (size_t)fd + 1, sizeof *t->by_fd, 256) != 0)
            return NULL;
        memset(t->by_fd + t->n_by_fd, 0, (n - t->n_by_fd) * sizeof *t->by_fd);
        t->n_by_fd = n;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->serial = ++t->serial;
    c->o = o;
    t->by_fd[fd] = c;
    return c;
}

/* ---- Ending a transfer ---- */

static void list_unlink(llmbi_h1 *t, h1_req *r)
{
    LLMBI_LIST_UNLINK(t->active, r);
    t->n_active--;
}

static void req_free(h1_req *r)
{
    free(r->out);
    llmbi_h1_parser_free(&r->ps);
    free(r);
}

static void finish(llmbi_h1 *t, h1_req *r, llmb_error_class cls, const char *fmt, ...)
    LLMBI_PRINTF(4, 5);

/* Ends the transfer (its connection must already be released or closed) and
 * queues its on_done. */
static void finish(llmbi_h1 *t, h1_req *r, llmb_error_class cls, const char *fmt, ...)
{
    if (r->state == ST_DONE)
        return;
    if (r->c)
        conn_close(t, r->c);
    heap_remove(t, r);
    list_unlink(t, r);
    r->state = ST_DONE;
    r->res.error_class = r->aborted ? LLMB_FAIL_NONE : cls;
    r->res.aborted = r->aborted;
    r->res.status = r->ps.head_done ? r->ps.status : 0;
    r->res.retry_after_s = r->ps.retry_after_s;
    r->res.end_ns = r->ps.head_done && cls == LLMB_FAIL_NONE ? r->t_ns : llmb_now_ns();
    r->msg[0] = '\0';
    if (fmt && !r->aborted) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->msg, sizeof r->msg, fmt, ap);
        va_end(ap);
    }
    r->res.message = r->msg;
    free(r->out);
    r->out = NULL;
    llmbi_h1_parser_free(&r->ps);
    r->next = NULL;
    if (t->done_tail)
        t->done_tail->next = r;
    else
        t->done_head = r;
    t->done_tail = r;
    t->n_done++;
}

/* ---- Sending ---- */

static void start_connect(llmbi_h1 *t, h1_req *r);

/* A kept-alive connection the server had closed: the request goes again on
 * a new one, once, as long as no byte of a response came back. */
static int retry_fresh(llmbi_h1 *t, h1_req *r)
{
    if (r->retried || !r->c || !r->c->reused || llmbi_h1_started(&r->ps))
        return 0;
    r->retried = 1;
    conn_close(t, r->c);
    r->out_off = 0;
    llmbi_h1_parser_free(&r->ps);
    llmbi_h1_parser_init(&r->ps);
    start_connect(t, r);
    return 1;
}

static void send_some(llmbi_h1 *t, h1_req *r)
{
    h1_conn *c = r->c;
    while (r->out_off < r->out_len) {
        ssize_t n = send(c->fd, r->out + r->out_off, r->out_len - r->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            r->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (set_interest(t, c, EPOLLOUT) != 0)
                finish(t, r, LLMB_FAIL_OTHER, "cannot watch a connection: %s", strerror(errno));
            return;
        }
        if (!retry_fresh(t, r))
            finish(t, r, LLMB_FAIL_RESET, "sending the request failed: %s",
                   n < 0 ? strerror(errno) : "nothing written");
        return;
    }
    r->state = ST_RECEIVING;
    if (set_interest(t, c, RX_INTEREST) != 0)
        finish(t, r, LLMB_FAIL_OTHER, "cannot watch a connection: %s", strerror(errno));
    else if (heap_update(t, r) != 0)
        finish(t, r, LLMB_FAIL_OTHER, "out of memory");
}

static void connected(llmbi_h1 *t, h1_req *r)
{
    r->state = ST_SENDING;
    if (heap_update(t, r) != 0) {
        finish(t, r, LLMB_FAIL_OTHER, "out of memory");
        return;
    }
    send_some(t, r);
}

/* Tries the next address of the origin; reports the last failure when
 * there is none left. */
static void try_address(llmbi_h1 *t, h1_req *r)
{
    while (r->next_ai) {
        const struct addrinfo *ai = r->next_ai;
        int fd, one = 1;
        r->next_ai = ai->ai_next;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                finish(t, r, LLMB_FAIL_OTHER, "%s", llmbi_too_many_files);
                return;
            }
            r->last_errno = errno;
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* The kernel stamps each segment as it arrives; reads report it. */
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        r->c = conn_new(t, r->o, fd);
        if (!r->c) {
            close(fd);
            finish(t, r, LLMB_FAIL_OTHER, "out of memory");
            return;
        }
        r->c->req = r;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            connected(t, r);
            return;
        }
        if (errno == EINPROGRESS) {
            if (set_interest(t, r->c, EPOLLOUT) != 0)
                finish(t, r, LLMB_FAIL_OTHER, "cannot watch a connection: %s", strerror(errno));
            return;
        }
        r->last_errno = errno;
        conn_close(t, r->c);
    }
    finish(t, r, LLMB_FAIL_CONNECT, "cannot connect to %s port %s: %s", r->o->host, r->o->port,
           strerror(r->last_errno ? r->last_errno : ECONNREFUSED));
}

static void start_connect(llmbi_h1 *t, h1_req *r)
{
    h1_origin *o = r->o;
    if (o->idle) {
        h1_conn *c = o->idle;
        LLMBI_LIST_UNLINK(o->idle, c);
        c->req = r;
        r->c = c;
        connected(t, r);
        return;
    }
    if (!o->ai) {
        struct addrinfo hints;
        int rc;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        rc = getaddrinfo(o->host, o->port, &hints, &o->ai);
        if (rc != 0) {
            o->ai = NULL;
            finish(t, r, LLMB_FAIL_DNS, "cannot resolve host %s: %s", o->host,
                   rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
            return;
        }
    }
    r->state = ST_CONNECTING;
    if (heap_update(t, r) != 0) {
        finish(t, r, LLMB_FAIL_OTHER, "out of memory");
        return;
    }
    r->next_ai = o->ai;
    try_address(t, r);
}

/* ---- Receiving ---- */

static void on_head(void *user, const llmbi_h1_parser *p)
{
    h1_req *r = user;
    if (r->hd.on_response)
        r->hd.on_response(r->user, p->status, p->content_type);
}

static int on_body(void *user, const char *p, size_t n)
{
    h1_req *r = user;
    if (r->hd.on_data && r->hd.on_data(r->user, p, n, r->t_ns)) {
        r->aborted = 1;
        return 1;
    }
    return 0;
}

static const llmbi_h1_callbacks parse_cb = {on_head, on_body};

/* The response is whole: the connection goes back for reuse if it may. */
static void complete(llmbi_h1 *t, h1_req *r, int keep)
{
    conn_release(t, r->c, keep && r->ps.keep_alive);
    finish(t, r, LLMB_FAIL_NONE, NULL);
}

/* When the bytes of a read arrived: the kernel's receive time of the last
 * segment in it, on the monotonic clock, or `now` when there is none. So the
 * time is true even when the loop comes to the socket late. */
static uint64_t arrival(const llmbi_h1 *t, struct msghdr *m, uint64_t now)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        struct timespec ts;
        int64_t mono;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        mono = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - t->rt_offset_ns;
        /* A clock step between the stamp and now could put it in the future. */
        return mono > 0 && (uint64_t)mono <= now ? (uint64_t)mono : now;
    }
    return now;
}

static void receive(llmbi_h1 *t, h1_req *r, uint32_t events)
{
    for (;;) {
        union {
            char buf[CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {t->buf, sizeof t->buf};
        struct msghdr m;
        ssize_t n;
        size_t used;
        llmbi_h1_result res;
        memset(&m, 0, sizeof m);
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof ctl.buf;
        n = recvmsg(r->c->fd, &m, 0);
        r->t_ns = arrival(t, &m, llmb_now_ns());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (!retry_fresh(t, r))
                finish(t, r, LLMB_FAIL_RESET, "receiving failed: %s", strerror(errno));
            return;
        }
        if (n == 0) {
            if (llmbi_h1_eof(&r->ps) == LLMBI_H1_DONE)
                complete(t, r, 0);
            else if (!retry_fresh(t, r))
                finish(t, r, LLMB_FAIL_RESET, "%s", r->ps.error);
            return;
        }
        if (r->out) {
            /* A response has begun: the request will not be sent again. */
            free(r->out);
            r->out = NULL;
        }
        res = llmbi_h1_feed(&r->ps, t->buf, (size_t)n, &parse_cb, r, &used);
        switch (res) {
        case LLMBI_H1_DONE:
            /* Bytes after the response, or a full read that may have left
             * some unread (no edge would tell of them): the connection is
             * not to be trusted again. */
            complete(t, r, used == (size_t)n && (size_t)n < sizeof t->buf);
            return;
        case LLMBI_H1_ABORT:
            finish(t, r, LLMB_FAIL_NONE, NULL);
            return;
        case LLMBI_H1_ERROR:
            finish(t, r, LLMB_FAIL_PROTOCOL, "malformed response: %s", r->ps.error);
            return;
        default:
            break;
        }
        if ((size_t)n < sizeof t->buf && !(events & RX_ENDED))
            return; /* drained: what comes later is a new edge */
    }
}

void llmbi_h1_sync_clock(llmbi_h1 *t)
{
    /* The wall clock read between two monotonic readings close together, so
     * that a preemption between the readings cannot skew the offset; if none
     * of three tries is close, the offset from the last turn stays. */
    for (int i = 0; i < 3; i++) {
        struct timespec rt;
        uint64_t m1 = llmb_now_ns(), m2;
        clock_gettime(CLOCK_REALTIME, &rt);
        m2 = llmb_now_ns();
        if (m2 - m1 < 2000) {
            t->rt_offset_ns =
                (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (int64_t)(m1 + (m2 - m1) / 2);
            return;
        }
    }
}

void llmbi_h1_event(llmbi_h1 *t, uint64_t data, uint32_t events)
{
    int fd = (int)(uint32_t)data;
    uint32_t serial = (uint32_t)(data >> 32) & 0x7fffffffu;
    h1_conn *c = (size_t)fd < t->n_by_fd ? t->by_fd[fd] : NULL;
    h1_req *r;

    if (!c || (c->serial & 0x7fffffffu) != serial)
        return; /* an event for a connection closed earlier in the same batch */
    r = c->req;
    if (!r) {
        /* Idle: the server closed it, or sent what nobody asked for. */
        conn_close(t, c);
        return;
    }
    switch (r->state) {
    case ST_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == 0 && !(events & (EPOLLERR | EPOLLHUP))) {
            connected(t, r);
        } else {
            r->last_errno = err ? err : ECONNREFUSED;
            conn_close(t, c);
            try_address(t, r);
        }
        break;
    }
    case ST_SENDING:
        send_some(t, r);
        break;
    case ST_RECEIVING:
        receive(t, r, events);
        break;
    default:
        break;
    }
}

/* ---- The transport ---- */

llmb_status llmbi_h1_new(int epfd, llmbi_h1 **out, llmb_error *err)
{
    llmbi_h1 *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    t->epfd = epfd;
    llmbi_h1_sync_clock(t);
    *out = t;
    return LLMB_OK;
}

void llmbi_h1_free(llmbi_h1 *t)
{
    if (!t)
        return;
    while (t->active)
        llmbi_h1_cancel(t, &t->active->base);
    while (t->done_head) {
        h1_req *r = t->done_head;
        t->done_head = r->next;
        req_free(r);
    }
    while (t->origins) {
        h1_origin *o = t->origins;
        t->origins = o->next;
        while (o->idle)
            conn_close(t, o->idle);
        if (o->ai)
            freeaddrinfo(o->ai);
        free(o->authority);
        free(o->host);
        free(o);
    }
    free(t->by_fd);
    llmbi_dheap_free(&t->heap);
    free(t);
}

/* The request's bytes: its head and body, ready to send in one go. */
static char *build_request(const llmbi_http_spec *spec, const url_parts *u, const h1_origin *o,
                           size_t *len)
{
    size_t hb_len = 0, cap;
    const char *hb = spec->headers ? llmbi_headers_block(spec->headers, &hb_len) : "";
    const char *extra = spec->extra_header ? spec->extra_header : "";
    char *out;
    int n;

    cap = u->path_len + strlen(o->authority) + hb_len + strlen(extra) + spec->body_len + 200;
    out = malloc(cap);
    if (!out)
        return NULL;
    /* The runner's URLs always have a path; any other gets one. */
    n = snprintf(out, cap,
                 "%s %s%.*s HTTP/1.1\r\nHost: %s\r\nUser-Agent: libllmbench/" LLMB_VERSION_STRING
                 "\r\n%s%s%s",
                 spec->body ? "POST" : "GET", u->path_len && u->path[0] == '/' ? "" : "/",
                 (int)u->path_len, u->path, o->authority, hb, extra, extra[0] ? "\r\n" : "");
    if (n < 0 || (size_t)n >= cap) {
        free(out);
        return NULL;
    }
    if (spec->body)
        n += snprintf(out + n, cap - (size_t)n, "Content-Length: %zu\r\n", spec->body_len);
    n += snprintf(out + n, cap - (size_t)n, "\r\n");
    if (spec->body && spec->body_len)
        memcpy(out + n, spec->body, spec->body_len);
    *len = (size_t)n + (spec->body ? spec->body_len : 0);
    return out;
}

llmb_status llmbi_h1_start(llmbi_h1 *t, const llmbi_http_spec *spec, const llmbi_http_handlers *hd,
                           void *user, llmbi_http_req **out, llmb_error *err)
{
    url_parts u;
    h1_req *r;
    uint64_t now = llmb_now_ns();

    if (split_url(spec->url, &u) != 0) {
        llmbi_error_set(err, "the built-in transport takes only http:// URLs without user info");
        return LLMB_ERR_INVALID;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    r->base.builtin = 1;
    r->t = t;
    r->hd = *hd;
    r->user = user;
    llmbi_dheap_node_init(&r->due);
    r->connect_timeout_s = spec->connect_timeout_s > 0 ? spec->connect_timeout_s : 300;
    r->timeout_s = spec->timeout_s;
    r->connect_by_ns = now + llmb_s_to_ns(r->connect_timeout_s);
    r->end_by_ns = spec->timeout_s > 0 ? now + llmb_s_to_ns(spec->timeout_s) : NO_DEADLINE;
    llmbi_h1_parser_init(&r->ps);
    r->o = origin_for(t, &u);
    r->out = r->o ? build_request(spec, &u, r->o, &r->out_len) : NULL;
    if (!r->out) {
        req_free(r);
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    LLMBI_LIST_PUSH(t->active, r);
    t->n_active++;
    r->state = ST_SENDING;
    if (out)
        *out = &r->base;
    start_connect(t, r);
    return LLMB_OK;
}

void llmbi_h1_cancel(llmbi_h1 *t, llmbi_http_req *req)
{
    h1_req *r = (h1_req *)req;
    if (!r)
        return;
    if (r->state == ST_DONE) {
        /* Finished, its on_done not yet called: out of the queue. */
        h1_req **pp = &t->done_head, *prev = NULL;
        while (*pp && *pp != r) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (*pp) {
            *pp = r->next;
            if (t->done_tail == r)
                t->done_tail = prev;
            t->n_done--;
        }
    } else {
        if (r->c)
            conn_close(t, r->c);
        heap_remove(t, r);
        list_unlink(t, r);
    }
    req_free(r);
}

uint64_t llmbi_h1_deadline(const llmbi_h1 *t)
{
    const llmbi_dheap_node *n = llmbi_dheap_top(&t->heap);
    return n ? n->key : NO_DEADLINE;
}

void llmbi_h1_expire(llmbi_h1 *t, uint64_t now_ns)
{
    llmbi_dheap_node *n;
    while ((n = llmbi_dheap_top(&t->heap)) != NULL && n->key <= now_ns) {
        h1_req *r = LLMBI_CONTAINER_OF(n, h1_req, due);
        if (r->state == ST_CONNECTING && r->connect_by_ns <= now_ns)
            finish(t, r, LLMB_FAIL_TIMEOUT, "connecting timed out after %g s",
                   r->connect_timeout_s);
        else
            finish(t, r, LLMB_FAIL_TIMEOUT, "timed out after %g s (the request timeout)",
                   r->timeout_s);
    }
}

int llmbi_h1_pending(const llmbi_h1 *t)
{
    return t->done_head != NULL;
}

void llmbi_h1_drain(llmbi_h1 *t)
{
    /* Those queued now only: an on_done may start a transfer that fails at
     * once, and that one waits for the next turn of the loop. */
    for (size_t n = t->n_done; n > 0 && t->done_head; n--) {
        h1_req *r = t->done_head;
        t->done_head = r->next;
        if (!t->done_head)
            t->done_tail = NULL;
        t->n_done--;
        if (r->hd.on_done)
            r->hd.on_done(r->user, &r->res);
        req_free(r);
    }
}

size_t llmbi_h1_active(const llmbi_h1 *t)
{
    return t->n_active;
}
