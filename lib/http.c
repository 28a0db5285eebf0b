/*
 * The transport: libcurl's multi socket interface on one epoll set.
 *
 * curl tells us, through the socket callback, which sockets to watch for
 * what, and through the timer callback when it next needs attention. One
 * timerfd serves both curl's timeout and the caller's deadline (the next
 * scheduled send), so a wake-up costs the same with ten streams or ten
 * thousand: no handle is scanned that has nothing to do.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "h1.h"
#include "h1_parse.h"
#include "http.h"
#include "internal.h"
#include "llmbench/clock.h"
#include "llmbench/version.h"

#define NO_DEADLINE     UINT64_MAX
#define EVENTS_PER_WAIT 256
/* Transfers in progress beyond which new requests do not look for a
 * connection to reuse (see llmbi_http_start). */
#define FRESH_ABOVE 512

struct llmbi_headers {
    struct curl_slist *list;
    char *block; /* the same lines, each ended by CRLF, for the built-in transport */
    size_t block_len;
};

typedef struct curl_req {
    llmbi_http_req base; /* first: the caller holds a pointer to it */
    CURL *easy;
    llmbi_http *h;
    llmbi_http_handlers hd;
    void *user;
    int got_response;
    int aborted;
    int out_of_files;     /* the socket could not be made: the open-file limit */
    double retry_after_s; /* from a Retry-After header, -1 if none */
    struct curl_req *prev, *next;
    /* A list node of our own put in front of the shared header list, so a
     * per-request header costs no copy of the others (curl only reads it). */
    struct curl_slist extra;
    char extra_line[128];
    char errbuf[CURL_ERROR_SIZE];
} curl_req;

struct llmbi_http {
    CURLM *multi;
    int epfd;
    int tfd;                /* timerfd: earliest of curl's timeout and the caller's deadline */
    int efd;                /* eventfd: wake-ups from signal handlers and other threads */
    uint64_t curl_deadline; /* absolute ns, NO_DEADLINE when curl wants no timeout */
    uint64_t armed_ns;      /* what the timerfd is armed for, NO_DEADLINE when disarmed */
    size_t active;          /* libcurl's transfers */
    curl_req *reqs;         /* transfers in progress, to abort on free */
    llmbi_h1 *h1;           /* the built-in transport, on the same epoll set */
    int proxy_env;          /* a proxy is set in the environment: libcurl honours it */
};

const char llmbi_too_many_files[] = "too many open files: the open-file limit (ulimit -n) stops "
                                    "this run from opening another connection";

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int ensure_curl(llmb_error *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK) {
        llmbi_error_set(err, "libcurl initialisation failed: %s",
                        curl_easy_strerror(curl_init_result));
        return -1;
    }
    return 0;
}

llmbi_headers *llmbi_headers_new(const char *const *lines, size_t n)
{
    llmbi_headers *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        struct curl_slist *l = curl_slist_append(h->list, lines[i]);
        if (!l) {
            llmbi_headers_free(h);
            return NULL;
        }
        h->list = l;
        h->block_len += strlen(lines[i]) + 2;
    }
    h->block = malloc(h->block_len + 1);
    if (!h->block) {
        llmbi_headers_free(h);
        return NULL;
    }
    /* As libcurl reads a list: "Name:" with no value removes a header the
     * transport would add (sent by neither), "Name;" sends it empty. */
    h->block_len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(lines[i]);
        if (k > 0 && lines[i][k - 1] == ':' && !memchr(lines[i], ' ', k))
            continue;
        memcpy(h->block + h->block_len, lines[i], k);
        if (k > 0 && lines[i][k - 1] == ';')
            h->block[h->block_len + k - 1] = ':';
        memcpy(h->block + h->block_len + k, "\r\n", 2);
        h->block_len += k + 2;
    }
    h->block[h->block_len] = '\0';
    return h;
}

const char *llmbi_headers_block(const llmbi_headers *h, size_t *len)
{
    *len = h->block_len;
    return h->block;
}

void llmbi_headers_free(llmbi_headers *h)
{
    if (!h)
        return;
    /* A header may carry an API key: do not leave it in freed memory. */
    for (struct curl_slist *l = h->list; l; l = l->next)
        if (l->data)
            explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(h->list);
    if (h->block)
        explicit_bzero(h->block, h->block_len);
    free(h->block);
    free(h);
}

static llmb_error_class classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return LLMB_FAIL_NONE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return LLMB_FAIL_DNS;
    case CURLE_COULDNT_CONNECT:
        return LLMB_FAIL_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return LLMB_FAIL_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return LLMB_FAIL_TLS;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return LLMB_FAIL_RESET;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        return LLMB_FAIL_PROTOCOL;
    default:
        return LLMB_FAIL_OTHER;
    }
}

static void report_response(curl_req *r)
{
    long status = 0;
    char *ctype = NULL;
    r->got_response = 1;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
    if (r->hd.on_response)
        r->hd.on_response(r->user, status, ctype ? ctype : "");
}

/* Response headers: only Retry-After matters here (the status and type are
 * read from curl once the body starts). */
static size_t header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    curl_req *r = ud;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(p, "retry-after:", 12) == 0)
        r->retry_after_s = llmbi_parse_retry_after(p + 12, n - 12);
    return n;
}

/* Makes each connection's socket, to tell the open-file limit apart from a
 * server that refuses: libcurl reports both as "could not connect". */
static curl_socket_t open_socket_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    curl_req *r = ud;
    curl_socket_t fd;
    (void)purpose;
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd == CURL_SOCKET_BAD && (errno == EMFILE || errno == ENFILE))
        r->out_of_files = 1;
    return fd;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    /* The arrival time is read first, before any work on the bytes. */
    uint64_t t = llmb_now_ns();
    curl_req *r = ud;
    size_t n = size * nmemb;

    if (!r->got_response)
        report_response(r);
    if (r->hd.on_data && r->hd.on_data(r->user, p, n, t)) {
        r->aborted = 1;
        return n == 0 ? 1 : 0; /* anything but n makes curl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    llmbi_http *h = userp;
    struct epoll_event ev;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        /* The socket may already be closed; a failure here changes nothing. */
        epoll_ctl(h->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    ev.data.fd = s;
    if (!socketp) {
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST)
            epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(h->multi, s, h);
    } else if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
        epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev);
    }
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    llmbi_http *h = userp;
    (void)multi;
    if (timeout_ms < 0)
        h->curl_deadline = NO_DEADLINE;
    else
        h->curl_deadline = llmb_now_ns() + (uint64_t)timeout_ms * LLMB_NS_PER_MS;
    return 0;
}

/* Arms the timerfd at an absolute time. A timer already armed earlier is
 * left alone: it wakes the loop a little early, once, and the loop arms the
 * right time then; that costs less than a system call on every turn, which is
 * what following curl's every move of its timeout would. */
static int arm(llmbi_http *h, uint64_t at_ns)
{
    struct itimerspec its;
    if (at_ns == h->armed_ns || (h->armed_ns != NO_DEADLINE && h->armed_ns <= at_ns))
        return 0;
    memset(&its, 0, sizeof its);
    if (at_ns != NO_DEADLINE) {
        if (at_ns == 0)
            at_ns = 1; /* all zeros would disarm */
        its.it_value.tv_sec = (time_t)(at_ns / LLMB_NS_PER_S);
        its.it_value.tv_nsec = (long)(at_ns % LLMB_NS_PER_S);
    }
    if (timerfd_settime(h->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        return -1;
    h->armed_ns = at_ns;
    return 0;
}

static void unlink_req(llmbi_http *h, curl_req *r)
{
    LLMBI_LIST_UNLINK(h->reqs, r);
    h->active--;
}

static void destroy_req(llmbi_http *h, curl_req *r)
{
    curl_multi_remove_handle(h->multi, r->easy);
    curl_easy_cleanup(r->easy);
    free(r);
}

static void finish(llmbi_http *h, curl_req *r, CURLcode rc)
{
    llmbi_http_result res;
    long status = 0;

    memset(&res, 0, sizeof res);
    res.end_ns = llmb_now_ns();
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    res.status = status;
    res.aborted = r->aborted;
    res.retry_after_s = r->retry_after_s;
    res.error_class = r->aborted ? LLMB_FAIL_NONE : classify(rc);
    if (rc == CURLE_OK || r->aborted) {
        res.message = "";
    } else {
        res.message = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
        if (r->out_of_files) {
            /* Not the server's fault: say what stops the run and how to lift it. */
            res.error_class = LLMB_FAIL_OTHER;
            res.message = llmbi_too_many_files;
        }
    }
    if (!r->got_response && rc == CURLE_OK)
        report_response(r);
    unlink_req(h, r);
    curl_multi_remove_handle(h->multi, r->easy);
    if (r->hd.on_done)
        r->hd.on_done(r->user, &res);
    curl_easy_cleanup(r->easy);
    free(r);
}

static void drain(llmbi_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        curl_req *r = NULL;
        CURLcode rc;
        if (m->msg != CURLMSG_DONE)
            continue;
        rc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r)
            finish(h, r, rc);
    }
}

llmb_status llmbi_http_new(llmbi_http **out, llmb_error *err)
{
    llmbi_http *h;
    struct epoll_event ev;

    *out = NULL;
    if (ensure_curl(err))
        return LLMB_ERR_TRANSFER;
    h = calloc(1, sizeof *h);
    if (!h) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    h->epfd = h->tfd = h->efd = -1;
    h->curl_deadline = NO_DEADLINE;
    h->armed_ns = NO_DEADLINE;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->epfd < 0 || h->tfd < 0 || h->efd < 0) {
        llmbi_error_set(err, "cannot create the event loop: %s", strerror(errno));
        goto fail;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = h->tfd;
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->tfd, &ev) != 0)
        goto fail_sys;
    ev.data.fd = h->efd;
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->efd, &ev) != 0)
        goto fail_sys;
    h->multi = curl_multi_init();
    if (!h->multi) {
        llmbi_error_set(err, "libcurl could not create a multi handle");
        goto fail;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    if (llmbi_h1_new(h->epfd, &h->h1, err) != LLMB_OK)
        goto fail;
    /* libcurl reads these (not HTTP_PROXY, which a CGI request could set). */
    for (const char *const *v = (const char *const[]){"http_proxy", "all_proxy", "ALL_PROXY", NULL};
         *v; v++) {
        const char *val = getenv(*v);
        if (val && *val)
            h->proxy_env = 1;
    }
    *out = h;
    return LLMB_OK;
fail_sys:
    llmbi_error_set(err, "cannot set up the event loop: %s", strerror(errno));
fail:
    llmbi_http_free(h);
    return LLMB_ERR_SYSTEM;
}

void llmbi_http_free(llmbi_http *h)
{
    if (!h)
        return;
    llmbi_h1_free(h->h1);
    while (h->reqs) {
        curl_req *r = h->reqs;
        unlink_req(h, r);
        destroy_req(h, r);
    }
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->epfd >= 0)
        close(h->epfd);
    if (h->tfd >= 0)
        close(h->tfd);
    if (h->efd >= 0)
        close(h->efd);
    free(h);
}

static long to_ms(double s)
{
    double ms = s * 1000.0;
    if (!(ms > 0.0))
        return 0;
    if (ms > 2e9)
        return 2000000000L;
    return ms < 1.0 ? 1 : (long)(ms + 0.5);
}

/* Options common to streamed requests and blocking GETs. */
static void set_common(CURL *e, const llmbi_http_spec *spec, char *errbuf)
{
    curl_easy_setopt(e, CURLOPT_URL, spec->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "libllmbench/" LLMB_VERSION_STRING);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    /* Redirects are not followed: a benchmark measures the server it was
     * pointed at, and an Authorization header must not travel elsewhere. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (spec->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, spec->headers->list);
    if (spec->body) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, spec->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)spec->body_len);
    }
    if (spec->connect_timeout_s > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, to_ms(spec->connect_timeout_s));
    if (spec->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (spec->timeout_s > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to_ms(spec->timeout_s));
}

int llmbi_http_builtin_for(const char *url, llmb_transport transport, int proxy_env)
{
    if (transport == LLMB_TRANSPORT_LIBCURL || !llmbi_h1_url_ok(url))
        return 0;
    return transport == LLMB_TRANSPORT_BUILTIN || !proxy_env;
}

llmb_status llmbi_http_start(llmbi_http *h, const llmbi_http_spec *spec,
                             const llmbi_http_handlers *hd, void *user, llmbi_http_req **out,
                             llmb_error *err)
{
    curl_req *r;
    int running = 0;
    CURLMcode mc;

    /* Built in when asked for, or chosen: it refuses a URL it cannot take. */
    if (spec->transport == LLMB_TRANSPORT_BUILTIN ||
        llmbi_http_builtin_for(spec->url, spec->transport, h->proxy_env))
        return llmbi_h1_start(h->h1, spec, hd, user, out, err);
    r = calloc(1, sizeof *r);
    if (!r) {
        llmbi_error_set(err, "out of memory");
        return LLMB_ERR_NOMEM;
    }
    r->easy = curl_easy_init();
    if (!r->easy) {
        free(r);
        llmbi_error_set(err, "libcurl could not create a transfer");
        return LLMB_ERR_TRANSFER;
    }
    r->h = h;
    r->hd = *hd;
    r->user = user;
    set_common(r->easy, spec, r->errbuf);
    if (spec->extra_header) {
        snprintf(r->extra_line, sizeof r->extra_line, "%s", spec->extra_header);
        r->extra.data = r->extra_line;
        r->extra.next = spec->headers ? spec->headers->list : NULL;
        curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, &r->extra);
    }
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r);
    if (h->active >= FRESH_ABOVE) {
        /* libcurl looks through every connection to the host for one to
         * reuse, busy ones included: with thousands in flight that search
         * costs more than a new connection, and it stalls the loop while
         * other streams' bytes wait. So past this many, a request opens its
         * own connection and closes it after. */
        curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(r->easy, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
    curl_easy_setopt(r->easy, CURLOPT_OPENSOCKETDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    r->retry_after_s = -1;
    mc = curl_multi_add_handle(h->multi, r->easy);
    if (mc != CURLM_OK) {
        curl_easy_cleanup(r->easy);
        free(r);
        llmbi_error_set(err, "libcurl could not start a transfer: %s", curl_multi_strerror(mc));
        return LLMB_ERR_TRANSFER;
    }
    LLMBI_LIST_PUSH(h->reqs, r);
    h->active++;
    /* Start it now (connect, or write the request on a kept-alive connection)
     * instead of at the next loop turn. Completions are left queued for
     * llmbi_http_poll, so no handler runs inside this call. */
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    if (out)
        *out = &r->base;
    return LLMB_OK;
}

void llmbi_http_cancel(llmbi_http *h, llmbi_http_req *req)
{
    if (!req)
        return;
    if (req->builtin) {
        llmbi_h1_cancel(h->h1, req);
        return;
    }
    unlink_req(h, (curl_req *)req);
    destroy_req(h, (curl_req *)req);
}

static void run_timeouts(llmbi_http *h)
{
    int running = 0;
    h->curl_deadline = NO_DEADLINE;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

llmb_status llmbi_http_poll(llmbi_http *h, uint64_t deadline_ns, llmb_error *err)
{
    struct epoll_event ev[EVENTS_PER_WAIT];
    uint64_t now = llmb_now_ns();
    uint64_t wake, h1_deadline = llmbi_h1_deadline(h->h1);
    int n, running = 0;

    if (llmbi_h1_pending(h->h1)) {
        llmbi_h1_drain(h->h1);
        return LLMB_OK;
    }
    if (h->curl_deadline <= now || h1_deadline <= now) {
        if (h->curl_deadline <= now)
            run_timeouts(h);
        llmbi_h1_expire(h->h1, now);
        drain(h);
        llmbi_h1_drain(h->h1);
        return LLMB_OK;
    }
    if (deadline_ns <= now)
        return LLMB_OK;
    wake = deadline_ns < h->curl_deadline ? deadline_ns : h->curl_deadline;
    if (h1_deadline < wake)
        wake = h1_deadline;
    if (arm(h, wake) != 0) {
        llmbi_error_set(err, "cannot arm the timer: %s", strerror(errno));
        return LLMB_ERR_SYSTEM;
    }
    n = epoll_wait(h->epfd, ev, EVENTS_PER_WAIT, -1);
    if (n < 0) {
        if (errno == EINTR)
            return LLMB_OK;
        llmbi_error_set(err, "waiting for events failed: %s", strerror(errno));
        return LLMB_ERR_SYSTEM;
    }
    if (n > 0)
        llmbi_h1_sync_clock(h->h1); /* for the kernel's receive times, read next */
    for (int i = 0; i < n; i++) {
        int fd = ev[i].data.fd;
        int mask = 0;
        if (ev[i].data.u64 & LLMBI_H1_TAG) {
            llmbi_h1_event(h->h1, ev[i].data.u64, ev[i].events);
            continue;
        }
        if (fd == h->tfd || fd == h->efd) {
            uint64_t v;
            /* Reading resets the descriptor; its value does not matter. */
            if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN) {
                llmbi_error_set(err, "reading the loop's timer failed: %s", strerror(errno));
                return LLMB_ERR_SYSTEM;
            }
            if (fd == h->tfd)
                h->armed_ns = NO_DEADLINE; /* a one-shot timer is disarmed once it fired */
            continue;
        }
        if (ev[i].events & EPOLLIN)
            mask |= CURL_CSELECT_IN;
        if (ev[i].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (ev[i].events & (EPOLLERR | EPOLLHUP))
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(h->multi, fd, mask, &running);
    }
    now = llmb_now_ns();
    if (h->curl_deadline <= now)
        run_timeouts(h);
    llmbi_h1_expire(h->h1, now);
    drain(h);
    llmbi_h1_drain(h->h1);
    return LLMB_OK;
}

void llmbi_http_wake(llmbi_http *h)
{
    uint64_t one = 1;
    ssize_t rc = write(h->efd, &one, sizeof one);
    (void)rc; /* a full counter already means "wake up" */
}

size_t llmbi_http_active(const llmbi_http *h)
{
    return h->active + llmbi_h1_active(h->h1);
}

/* A blocking GET: a loop of its own, so the transport is chosen as for the
 * streamed requests. */
typedef struct get_state {
    char *p;
    size_t len, cap, max;
    int too_big, oom, done;
    long status;
    llmbi_http_result res;
    char msg[CURL_ERROR_SIZE];
} get_state;

static void get_on_response(void *user, long status, const char *content_type)
{
    get_state *g = user;
    (void)content_type;
    g->status = status;
}

static int get_on_data(void *user, const char *p, size_t n, uint64_t t_ns)
{
    get_state *g = user;
    (void)t_ns;
    if (n > g->max - g->len) {
        g->too_big = 1;
        return 1;
    }
    if (llmbi_grow((void **)&g->p, &g->cap, g->len + n + 1, 1, 4096) != 0) {
        g->oom = 1;
        return 1;
    }
    memcpy(g->p + g->len, p, n);
    g->len += n;
    g->p[g->len] = '\0';
    return 0;
}

static void get_on_done(void *user, const llmbi_http_result *res)
{
    get_state *g = user;
    g->done = 1;
    g->res = *res;
    if (res->status)
        g->status = res->status;
    snprintf(g->msg, sizeof g->msg, "%s", res->message ? res->message : "");
    g->res.message = g->msg;
}

llmb_status llmbi_http_get(const char *url, const llmbi_headers *headers, double connect_timeout_s,
                           double timeout_s, int insecure, llmb_transport transport,
                           size_t max_bytes, char **body, size_t *len, long *status,
                           llmb_error *err)
{
    static const llmbi_http_handlers hd = {get_on_response, get_on_data, get_on_done};
    llmbi_http_spec spec;
    llmbi_http *h;
    get_state g;
    llmb_status st;

    *body = NULL;
    *len = 0;
    *status = 0;
    memset(&g, 0, sizeof g);
    g.max = max_bytes;
    memset(&spec, 0, sizeof spec);
    spec.url = url;
    spec.headers = headers;
    spec.connect_timeout_s = connect_timeout_s;
    spec.timeout_s = timeout_s;
    spec.insecure = insecure;
    spec.transport = transport;
    if ((st = llmbi_http_new(&h, err)) != LLMB_OK)
        return st;
    st = llmbi_http_start(h, &spec, &hd, &g, NULL, err);
    while (st == LLMB_OK && !g.done)
        st = llmbi_http_poll(h, UINT64_MAX, err);
    llmbi_http_free(h);
    *status = g.status;
    if (st == LLMB_OK) {
        if (g.too_big) {
            llmbi_error_set(err, "response from %s is larger than %zu bytes", url, max_bytes);
            st = LLMB_ERR_LIMIT;
        } else if (g.oom) {
            llmbi_error_set(err, "out of memory");
            st = LLMB_ERR_NOMEM;
        } else if (g.res.error_class != LLMB_FAIL_NONE) {
            llmbi_error_set(err, "%s: %s", url, g.msg);
            st = LLMB_ERR_TRANSFER;
        } else if (!g.p && !(g.p = calloc(1, 1))) {
            llmbi_error_set(err, "out of memory");
            st = LLMB_ERR_NOMEM;
        }
    }
    if (st != LLMB_OK) {
        free(g.p);
        return st;
    }
    *body = g.p;
    *len = g.len;
    return LLMB_OK;
}
