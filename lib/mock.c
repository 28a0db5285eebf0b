/*
 * The mock engine: sockets, one epoll loop, and the clock.
 *
 * Every connection has at most one pending deadline (its next event, the
 * moment its whole answer is due, or the end of a lingering close), kept in
 * a binary min-heap indexed from the connection, so that scheduling and
 * cancelling cost O(log n) and nothing ever scans all connections. One
 * timerfd (absolute CLOCK_MONOTONIC) is armed at the heap's earliest
 * deadline; an eventfd carries llmb_mock_stop. Due events are sent before
 * and between socket events, so that a burst of requests delays a token by
 * at most one socket event's work.
 *
 * The load model keeps a count of the requests holding a slot and a FIFO
 * queue (linked through the connections) of those waiting for one; a slot
 * that frees goes to the head of the queue at once. A request's events are
 * each due a gap after the one before was due, not after it was sent, so
 * that a late event does not delay the rest of its stream.
 *
 * Only the run thread touches connections. The statistics that other threads
 * read are single-writer atomics: the writer does a relaxed load and store
 * (no locked instruction on the hot path), readers a relaxed load.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "dheap.h"
#include "internal.h"
#include "llmbench/clock.h"
#include "mock_internal.h"

/* Lateness histogram: 1 us buckets below 4.096 ms, then 32 per octave (3 %). */
#define HIST_LINEAR   4096u
#define HIST_SUB_BITS 5u
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_OCTAVES  42u /* 2^12 us up to 2^54 us, beyond any uint64_t of ns */
#define HIST_BUCKETS  (HIST_LINEAR + HIST_OCTAVES * HIST_SUB)

#define BUSY_IN_MAX      (64u * 1024u)   /* pipelined bytes held while answering */
#define OUT_MAX          (1024u * 1024u) /* unsent bytes before a client is deemed gone */
#define LINGER_NS        (2 * LLMB_NS_PER_S)
#define LINGER_BYTES_MAX (64u * 1024u * 1024u)
#define ACCEPT_BATCH     64 /* accepts per wake-up, so that due events are not held up */
#define READ_ROUNDS      4
#define MAX_EVENTS       128
#define MAX_MS           3600000.0        /* ttft and itl: at most an hour */
#define SPIN_GAP_FACTOR  4                /* spin only before gaps this many spin windows long */
#define TX_KEEP          (64u * 1024u)    /* what the send buffer keeps after a large answer */
#define DEADLINE_MAX     (UINT64_MAX / 2) /* deadlines saturate here rather than wrap */

/*
 * IDLE: reading a request. QUEUED: a generation request waiting for a slot.
 * BUSY: answering (holding a slot when it generates). STALLED: a stall fault
 * holds the connection open, silent. LINGER: closing gracefully.
 */
enum conn_state { CONN_IDLE, CONN_QUEUED, CONN_BUSY, CONN_STALLED, CONN_LINGER, CONN_DEAD };

struct mock_conn {
    int fd;
    enum conn_state state;
    uint32_t ev_mask;              /* events registered with epoll */
    llmbi_dheap_node due;          /* its next deadline (due.key), in the heap or not */
    struct mock_conn *prev, *next; /* the live list; `next` links the dead list too */

    llmbi_mock_buf in; /* request bytes not consumed yet */
    size_t scan;       /* where the search for the end of the head resumes */
    int head_parsed;
    llmbi_mock_head head;
    int continue_sent;
    int close_after;    /* close once the current answer is out */
    llmbi_mock_buf out; /* bytes the socket did not take yet */

    /* The answer in progress (CONN_QUEUED, CONN_BUSY). */
    llmbi_mock_job job;
    int chunked;
    uint64_t arrival_ns;
    uint64_t next_token;
    llmbi_mock_fault fault; /* kind NONE when it has none */
    uint64_t fault_at;      /* min(fault.after, job.tokens) */
    int has_slot;
    struct mock_conn *q_prev, *q_next; /* the queue for slots */

    uint64_t linger_bytes;
};

typedef atomic_uint_least64_t mock_counter;

/* A log-bucketed histogram of durations, with its exact maximum. */
struct mock_hist {
    mock_counter bucket[HIST_BUCKETS];
    mock_counter max;
};

struct llmb_mock {
    char *host;
    char *model;
    unsigned port;
    unsigned default_tokens;
    unsigned max_connections;
    llmb_mock_usage usage;
    uint64_t ttft_ns;
    uint64_t itl_ns;
    uint64_t spin_ns;
    int rt_priority;
    char *models_body; /* GET /v1/models never changes */
    unsigned slots;    /* 0: unlimited */
    uint64_t itl_per_stream_ns, ttft_per_stream_ns;
    llmbi_mock_fault fault; /* the configured one, and the defaults of a header's */
    unsigned fault_every;
    double fault_probability;
    uint64_t fault_seed;

    int listen_fd;
    int epoll_fd;
    int timer_fd;
    int stop_fd;
    int reserve_fd; /* given up to accept-and-close when out of descriptors */
    /* Their addresses tell the non-connection descriptors apart in epoll events. */
    char tag_listen, tag_timer, tag_stop;
    atomic_int running;
    uint64_t armed_ns;    /* the timer's deadline; 0 disarmed, UINT64_MAX unknown */
    uint64_t spin_target; /* the deadline we woke early for, 0 if none */
    atomic_int realtime;

    llmbi_dheap heap;
    struct mock_conn *conns; /* live */
    struct mock_conn *dead;  /* closed, freed at the end of the loop iteration */
    size_t n_conns;
    uint64_t next_id;
    uint64_t active;                   /* requests holding a slot */
    uint64_t n_queued;                 /* requests in the queue */
    struct mock_conn *q_head, *q_tail; /* the queue for slots, oldest first */
    int granting;                      /* handing out slots: do not start again */
    int stopping;                      /* closing everything: hand out no slots */

    llmbi_mock_buf tx; /* what is being sent, reused */
    char ev[LLMBI_MOCK_EVENT_MAX];
    char rx[64 * 1024];

    mock_counter requests, events, open_conns, max_open, over_1ms;
    mock_counter active_now, queued_now, max_active, max_queued;
    mock_counter faults[LLMB_MOCK_FAULT_KINDS];
    struct mock_hist late, queue_wait;
};

static void conn_process_input(llmb_mock *m, struct mock_conn *c);
static void slot_release(llmb_mock *m, struct mock_conn *c, uint64_t free_ns);

/* ---- statistics ---- */

static void bump(mock_counter *a, uint64_t n)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static uint64_t peek(mock_counter *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static unsigned top_bit(uint64_t v)
{
    unsigned e = 0;
    while (v >>= 1)
        e++;
    return e;
}

static size_t hist_index(uint64_t late_ns)
{
    uint64_t us = late_ns / 1000;
    unsigned e;
    size_t i;
    if (us < HIST_LINEAR)
        return (size_t)us;
    e = top_bit(us); /* >= 12 */
    i = HIST_LINEAR + (size_t)(e - 12) * HIST_SUB +
        (size_t)((us >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
    return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* The middle of a bucket, in ns. */
static uint64_t hist_value(size_t i)
{
    size_t j, e, sub;
    uint64_t width;
    if (i < HIST_LINEAR)
        return (uint64_t)i * 1000 + 500;
    j = i - HIST_LINEAR;
    e = j / HIST_SUB + 12;
    sub = j % HIST_SUB;
    width = (uint64_t)1 << (e - HIST_SUB_BITS);
    return ((HIST_SUB + sub) * width + width / 2) * 1000;
}

static void hist_add(struct mock_hist *h, uint64_t ns, unsigned n)
{
    bump(&h->bucket[hist_index(ns)], n);
    if (ns > peek(&h->max))
        atomic_store_explicit(&h->max, ns, memory_order_relaxed);
}

static void hist_read(struct mock_hist *h, uint64_t *p50, uint64_t *p99, uint64_t *max)
{
    uint64_t total = 0, seen = 0, rank50, rank99;
    size_t i;
    int have50 = 0;

    *p50 = *p99 = 0;
    *max = peek(&h->max);
    /* Buckets change while we read: rank against the sum of what we read. */
    for (i = 0; i < HIST_BUCKETS; i++)
        total += peek(&h->bucket[i]);
    if (total == 0)
        return;
    rank50 = (total + 1) / 2;
    rank99 = total - total / 100; /* ceil(0.99 * total) */
    for (i = 0; i < HIST_BUCKETS && seen < rank99; i++) {
        seen += peek(&h->bucket[i]);
        if (!have50 && seen >= rank50) {
            *p50 = hist_value(i);
            have50 = 1;
        }
        if (seen >= rank99)
            *p99 = hist_value(i);
    }
    /* A bucket's middle may pass the exact maximum. */
    if (*p50 > *max)
        *p50 = *max;
    if (*p99 > *max)
        *p99 = *max;
}

static void record_late(llmb_mock *m, uint64_t late_ns, unsigned n)
{
    if (n == 0)
        return;
    hist_add(&m->late, late_ns, n);
    bump(&m->events, n);
    if (late_ns > LLMB_NS_PER_MS)
        bump(&m->over_1ms, n);
}

static void set_max(mock_counter *max, uint64_t v)
{
    if (v > peek(max))
        atomic_store_explicit(max, v, memory_order_relaxed);
}

/* Make the load counts visible to other threads. */
static void publish_load(llmb_mock *m)
{
    atomic_store_explicit(&m->active_now, m->active, memory_order_relaxed);
    atomic_store_explicit(&m->queued_now, m->n_queued, memory_order_relaxed);
    set_max(&m->max_active, m->active);
    set_max(&m->max_queued, m->n_queued);
}

static void fault_fired(llmb_mock *m, llmb_mock_fault kind)
{
    bump(&m->faults[kind], 1);
    bump(&m->faults[LLMB_MOCK_FAULT_NONE], 1);
}

void llmb_mock_get_stats(llmb_mock *m, llmb_mock_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!m)
        return;
    out->requests = peek(&m->requests);
    out->events = peek(&m->events);
    out->late_over_1ms = peek(&m->over_1ms);
    out->open_connections = peek(&m->open_conns);
    out->max_open_connections = peek(&m->max_open);
    out->realtime = atomic_load_explicit(&m->realtime, memory_order_relaxed);
    out->active = peek(&m->active_now);
    out->queued = peek(&m->queued_now);
    out->max_active = peek(&m->max_active);
    out->max_queued = peek(&m->max_queued);
    for (int k = 0; k < LLMB_MOCK_FAULT_KINDS; k++)
        out->faults[k] = peek(&m->faults[k]);
    hist_read(&m->late, &out->late_p50_ns, &out->late_p99_ns, &out->late_max_ns);
    hist_read(&m->queue_wait, &out->queue_wait_p50_ns, &out->queue_wait_p99_ns,
              &out->queue_wait_max_ns);
}

/* ---- the deadline heap ---- */

static struct mock_conn *heap_top(const llmb_mock *m)
{
    llmbi_dheap_node *n = llmbi_dheap_top(&m->heap);
    return n ? LLMBI_CONTAINER_OF(n, struct mock_conn, due) : NULL;
}

/* Room is reserved when a connection is accepted, so this cannot fail. */
static void heap_push(llmb_mock *m, struct mock_conn *c, uint64_t deadline_ns)
{
    llmbi_dheap_set(&m->heap, &c->due, deadline_ns);
}

static int arm_timer(llmb_mock *m, uint64_t want)
{
    struct itimerspec its;
    if (want == m->armed_ns)
        return 0;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(want / LLMB_NS_PER_S);
    its.it_value.tv_nsec = (long)(want % LLMB_NS_PER_S);
    if (timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        return -1;
    m->armed_ns = want;
    return 0;
}

/*
 * Get ready to wait for the next deadline: sets the epoll timeout, 0 (poll
 * and come back) while spinning, -1 when the timer will wake us up.
 *
 * A CPU that sleeps through a long gap halts, and waking it is late by tens
 * of microseconds to over a millisecond; so before a long gap the timer goes
 * off spin_ns early and we busy-poll the rest. Short gaps are slept through
 * (the idle CPU polls by itself then), which keeps the spinning bounded and
 * the loop a light sleeper that the scheduler lets preempt busy processes.
 */
static int wait_timeout(llmb_mock *m, int *timeout)
{
    uint64_t next, now;
    *timeout = -1;
    if (!heap_top(m)) {
        m->spin_target = 0;
        return arm_timer(m, 0);
    }
    next = heap_top(m)->due.key;
    now = llmb_now_ns();
    /* Only answers need the precision; a lingering close can wait. */
    if (m->spin_ns > 0 && next > now && next - now >= SPIN_GAP_FACTOR * m->spin_ns &&
        heap_top(m)->state == CONN_BUSY) {
        m->spin_target = next;
        return arm_timer(m, next - m->spin_ns);
    }
    if (m->spin_target != 0 && now < m->spin_target) {
        *timeout = 0;
        return 0;
    }
    m->spin_target = 0;
    return arm_timer(m, next);
}

/* ---- the queue for slots ---- */

static void queue_push(llmb_mock *m, struct mock_conn *c)
{
    c->state = CONN_QUEUED;
    c->q_next = NULL;
    c->q_prev = m->q_tail;
    if (m->q_tail)
        m->q_tail->q_next = c;
    else
        m->q_head = c;
    m->q_tail = c;
    m->n_queued++;
    publish_load(m);
}

static void queue_remove(llmb_mock *m, struct mock_conn *c)
{
    if (c->q_prev)
        c->q_prev->q_next = c->q_next;
    else
        m->q_head = c->q_next;
    if (c->q_next)
        c->q_next->q_prev = c->q_prev;
    else
        m->q_tail = c->q_prev;
    c->q_prev = c->q_next = NULL;
    m->n_queued--;
    publish_load(m);
}

/* ---- connections ---- */

static void conn_close(llmb_mock *m, struct mock_conn *c)
{
    if (c->state == CONN_DEAD)
        return;
    if (c->state == CONN_QUEUED)
        queue_remove(m, c);
    llmbi_dheap_remove(&m->heap, &c->due);
    close(c->fd);
    c->fd = -1;
    c->state = CONN_DEAD;
    LLMBI_LIST_UNLINK(m->conns, c);
    /* Freed later: an event for it may still wait in this round's epoll array. */
    c->next = m->dead;
    m->dead = c;
    m->n_conns--;
    atomic_store_explicit(&m->open_conns, m->n_conns, memory_order_relaxed);
    /* A client gone mid-answer frees its slot now. */
    slot_release(m, c, llmb_now_ns());
}

static void free_dead(llmb_mock *m)
{
    while (m->dead) {
        struct mock_conn *c = m->dead;
        m->dead = c->next;
        llmbi_mock_job_clear(&c->job);
        llmbi_mock_buf_free(&c->in);
        llmbi_mock_buf_free(&c->out);
        free(c);
    }
}

static size_t conn_in_limit(const struct mock_conn *c)
{
    switch (c->state) {
    case CONN_IDLE:
        if (c->close_after)
            return 0;
        if (c->head_parsed)
            return c->head.head_len + (size_t)c->head.content_length;
        return LLMBI_MOCK_HEAD_MAX;
    case CONN_QUEUED:
    case CONN_BUSY:
    case CONN_STALLED:
        return BUSY_IN_MAX;
    case CONN_LINGER:
        return SIZE_MAX;
    default:
        return 0;
    }
}

/*
 * Ask epoll for what the connection can use now: reading only while its
 * buffer may grow (level-triggered epoll would otherwise spin), writing only
 * while bytes wait. Hang-ups are always reported.
 */
static void conn_update_events(llmb_mock *m, struct mock_conn *c)
{
    uint32_t want = EPOLLRDHUP;
    struct epoll_event ev;
    if (c->state == CONN_DEAD)
        return;
    if (c->in.len < conn_in_limit(c))
        want |= EPOLLIN;
    if (c->out.len > 0)
        want |= EPOLLOUT;
    if (want == c->ev_mask)
        return;
    memset(&ev, 0, sizeof ev);
    ev.events = want;
    ev.data.ptr = c;
    if (epoll_ctl(m->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        conn_close(m, c);
        return;
    }
    c->ev_mask = want;
}

/*
 * Send now what the socket takes and keep the rest, in order. Returns -1 when
 * the connection is closed (the caller must stop using it but need not free).
 * A client is deemed gone when OUT_MAX bytes wait before a write; the bound
 * is checked before, not after, so that one large answer always goes out.
 */
static int conn_send(llmb_mock *m, struct mock_conn *c, const char *p, size_t n)
{
    if (c->state == CONN_DEAD)
        return -1;
    if (c->out.len == 0) {
        while (n > 0) {
            ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                conn_close(m, c);
                return -1;
            }
            p += w;
            n -= (size_t)w;
        }
        if (n == 0)
            return 0;
    }
    if (c->out.len > OUT_MAX || llmbi_mock_buf_append(&c->out, p, n) != 0) {
        conn_close(m, c);
        return -1;
    }
    conn_update_events(m, c);
    return c->state == CONN_DEAD ? -1 : 0;
}

/* Half-close, then read and drop what the client still sends, so that closing
 * with unread bytes does not reset the connection before it read our answer. */
static void conn_linger(llmb_mock *m, struct mock_conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->linger_bytes = 0;
    llmbi_mock_buf_free(&c->in);
    llmbi_mock_buf_free(&c->out);
    heap_push(m, c, llmb_now_ns() + LINGER_NS);
    conn_update_events(m, c);
}

static void reply(llmb_mock *m, struct mock_conn *c, int status, const char *extra_headers,
                  const char *body)
{
    m->tx.len = 0;
    if (!body || llmbi_mock_append_json_response(&m->tx, status, extra_headers, c->close_after,
                                                 body, strlen(body)) != 0) {
        conn_close(m, c);
        return;
    }
    bump(&m->requests, 1);
    conn_send(m, c, m->tx.data, m->tx.len);
}

static void reply_error(llmb_mock *m, struct mock_conn *c, int status, int close,
                        const char *extra_headers, const char *message)
{
    char *body;
    if (close)
        c->close_after = 1;
    body = llmbi_mock_body_error(status, message);
    reply(m, c, status, extra_headers, body);
    free(body);
}

/* A request path or method fit for an error text: printable ASCII, shortened. */
static void printable(char *dst, size_t cap, const char *src, size_t n)
{
    size_t i, k = 0;
    for (i = 0; i < n && k + 4 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[k++] = (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') ? (char)ch : '?';
    }
    if (i < n && k + 3 < cap) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k] = '\0';
}

/* ---- the load model ---- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return (b > DEADLINE_MAX || a > DEADLINE_MAX - b) ? DEADLINE_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t n)
{
    return (n != 0 && a > DEADLINE_MAX / n) ? DEADLINE_MAX : a * n;
}

/* What the other active requests add to a time that grows with load. */
static uint64_t load_cost(const llmb_mock *m, uint64_t per_stream_ns)
{
    return m->active > 1 ? sat_mul(per_stream_ns, m->active - 1) : 0;
}

/* The gap before the next token, as the load is now. */
static uint64_t token_gap(const llmb_mock *m)
{
    return sat_add(m->itl_ns, load_cost(m, m->itl_per_stream_ns));
}

/* Put an event's JSON (n bytes in m->ev, 0 if it did not fit) into m->tx. */
static int add_event(llmb_mock *m, const struct mock_conn *c, size_t n)
{
    return n == 0 ? -1 : llmbi_mock_append_event(&m->tx, c->chunked, m->ev, n);
}

/*
 * The request on c gets a slot at at_ns (not before its arrival): its first
 * event is due ttft later. A chat stream's role chunk leaves now: it holds
 * no content, so it does not wait for a token, but it does wait for the slot,
 * as a server's first chunk waits for the request to be scheduled. With
 * `after_head`, m->tx holds the stream's head, unsent, and the role chunk
 * joins it in one write, as before there were slots.
 */
static void grant(llmb_mock *m, struct mock_conn *c, uint64_t at_ns, int after_head)
{
    uint64_t first;

    c->has_slot = 1;
    c->state = CONN_BUSY;
    m->active++;
    publish_load(m);
    hist_add(&m->queue_wait, at_ns - c->arrival_ns, 1);
    first = sat_add(sat_add(at_ns, m->ttft_ns), load_cost(m, m->ttft_per_stream_ns));
    c->next_token = 0;
    if (!c->job.stream) {
        uint64_t gaps = c->job.tokens ? c->job.tokens - 1 : 0;
        heap_push(m, c, sat_add(first, sat_mul(token_gap(m), gaps)));
        return;
    }
    if (!after_head)
        m->tx.len = 0;
    if (c->job.api == LLMBI_MOCK_API_CHAT &&
        add_event(m, c, llmbi_mock_json_role(m->ev, sizeof m->ev, &c->job)) != 0) {
        conn_close(m, c);
        return;
    }
    if (m->tx.len > 0 && conn_send(m, c, m->tx.data, m->tx.len) != 0)
        return;
    heap_push(m, c, first);
}

/*
 * Give c's slot back, as of free_ns (when its last event was due, or now),
 * and hand free slots to the queue, oldest first. A connection that closes
 * while it gets its slot comes back here: the loop below goes on for it.
 */
static void slot_release(llmb_mock *m, struct mock_conn *c, uint64_t free_ns)
{
    if (!c->has_slot)
        return;
    c->has_slot = 0;
    m->active--;
    publish_load(m);
    if (m->granting || m->stopping)
        return;
    m->granting = 1;
    while (m->q_head && (m->slots == 0 || m->active < m->slots)) {
        struct mock_conn *d = m->q_head;
        queue_remove(m, d);
        grant(m, d, d->arrival_ns > free_ns ? d->arrival_ns : free_ns, 0);
    }
    m->granting = 0;
}

/* ---- faults ---- */

int llmbi_mock_fault_draw(uint64_t seed, uint64_t n, double p)
{
    /* SplitMix64's output function of seed + n * golden ratio: a good hash of
     * (seed, n), so that which requests fail does not depend on their order. */
    uint64_t z = seed + n * UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53 < p;
}

/* Does the configured fault hit request n? */
static int fault_chosen(const llmb_mock *m, uint64_t n)
{
    if (m->fault.kind == LLMB_MOCK_FAULT_NONE)
        return 0;
    if (m->fault_every > 0)
        return n % m->fault_every == 0;
    return llmbi_mock_fault_draw(m->fault_seed, n, m->fault_probability);
}

/* Faults that end the answer early, and those that add an event to a stream. */
static int fault_cuts(llmb_mock_fault f)
{
    return f == LLMB_MOCK_FAULT_RESET || f == LLMB_MOCK_FAULT_STALL;
}

static int fault_inserts(llmb_mock_fault f)
{
    return f == LLMB_MOCK_FAULT_MALFORMED || f == LLMB_MOCK_FAULT_OVERSIZE ||
           f == LLMB_MOCK_FAULT_ERROR_EVENT;
}

/* A status or html fault: the answer, at once and without a slot. */
static void fault_reply(llmb_mock *m, struct mock_conn *c)
{
    int status = llmbi_mock_fault_status(&c->fault);
    char extra[48];
    char *body;

    fault_fired(m, c->fault.kind);
    if (c->fault.kind == LLMB_MOCK_FAULT_HTML) {
        m->tx.len = 0;
        if (llmbi_mock_append_html_response(&m->tx, status, c->close_after) != 0) {
            conn_close(m, c);
            return;
        }
        bump(&m->requests, 1);
        conn_send(m, c, m->tx.data, m->tx.len);
        return;
    }
    extra[0] = '\0';
    if (status == 429)
        llmbi_format(extra, sizeof extra, "Retry-After: %u\r\n", c->fault.retry_after);
    body = llmbi_mock_body_fault(status);
    reply(m, c, status, extra, body);
    free(body);
}

/* A reset or a stall, when the next event was due. */
static void fault_cut(llmb_mock *m, struct mock_conn *c)
{
    fault_fired(m, c->fault.kind);
    slot_release(m, c, c->due.key);
    if (c->fault.kind == LLMB_MOCK_FAULT_RESET) {
        /* Closing with a zero linger time sends RST and drops unsent bytes. */
        struct linger lg;
        memset(&lg, 0, sizeof lg);
        lg.l_onoff = 1;
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        conn_close(m, c);
        return;
    }
    /* Silent from now on; the client's hang-up or the stop closes it. */
    llmbi_mock_job_clear(&c->job);
    c->state = CONN_STALLED;
    conn_update_events(m, c);
}

/* The fault's own event into m->tx. */
static int add_fault_event(llmb_mock *m, const struct mock_conn *c)
{
    fault_fired(m, c->fault.kind);
    switch (c->fault.kind) {
    case LLMB_MOCK_FAULT_MALFORMED:
        return add_event(m, c, llmbi_mock_json_malformed(m->ev, sizeof m->ev, &c->job));
    case LLMB_MOCK_FAULT_OVERSIZE:
        return llmbi_mock_append_oversize(&m->tx, c->chunked, &c->job, c->fault.size);
    default:
        return add_event(m, c, llmbi_mock_json_error_event(m->ev, sizeof m->ev));
    }
}

/* ---- answers ---- */

static void start_answer(llmb_mock *m, struct mock_conn *c, llmbi_mock_api api, uint64_t now)
{
    char msg[LLMBI_MOCK_FAULT_MSG_MAX];
    const char *body = c->in.data + c->head.head_len;
    llmbi_mock_fault asked;
    llmb_status st;

    if (c->head.fault_headers > 1) {
        reply_error(m, c, 400, 0, NULL, "at most one X-Mock-Fault header per request");
        return;
    }
    if (c->head.fault_headers == 1 &&
        llmbi_mock_parse_fault(c->in.data + c->head.fault_off, c->head.fault_len, &m->fault, &asked,
                               msg, sizeof msg) != 0) {
        reply_error(m, c, 400, 0, NULL, msg);
        return;
    }
    st = llmbi_mock_decode(body, (size_t)c->head.content_length, api, m->model, m->default_tokens,
                           &c->job, msg, sizeof msg);
    if (st != LLMB_OK) {
        reply_error(m, c, st == LLMB_ERR_NOMEM ? 500 : 400, 0, NULL, msg);
        return;
    }
    c->job.id = ++m->next_id;
    c->job.created = (long long)time(NULL);
    /* The header, when there is one, decides alone: "none" opts out. */
    if (c->head.fault_headers == 1)
        c->fault = asked;
    else if (fault_chosen(m, c->job.id))
        c->fault = m->fault;
    else
        c->fault.kind = LLMB_MOCK_FAULT_NONE;
    c->fault_at = c->fault.after < c->job.tokens ? c->fault.after : c->job.tokens;
    if (c->fault.kind == LLMB_MOCK_FAULT_STATUS || c->fault.kind == LLMB_MOCK_FAULT_429 ||
        c->fault.kind == LLMB_MOCK_FAULT_HTML) {
        llmbi_mock_job_clear(&c->job);
        fault_reply(m, c);
        return;
    }
    c->arrival_ns = now;
    /* HTTP/1.0 has no chunks: the end of the stream is the end of the connection. */
    c->chunked = c->head.version_minor >= 1;
    c->state = CONN_BUSY;
    /* A stream's head leaves at once, as a server's does, even when it must queue. */
    m->tx.len = 0;
    if (c->job.stream && llmbi_mock_append_stream_head(&m->tx, c->chunked, c->close_after) != 0) {
        conn_close(m, c);
        return;
    }
    if (!m->q_head && (m->slots == 0 || m->active < m->slots)) {
        grant(m, c, now, 1);
        return;
    }
    if (m->tx.len > 0 && conn_send(m, c, m->tx.data, m->tx.len) != 0)
        return;
    queue_push(m, c);
}

static int path_is(const struct mock_conn *c, const char *path)
{
    size_t n = strlen(path);
    return c->head.path_len == n && memcmp(c->in.data + c->head.path_off, path, n) == 0;
}

static int method_is(const struct mock_conn *c, const char *method)
{
    size_t n = strlen(method);
    return c->head.method_len == n && memcmp(c->in.data + c->head.method_off, method, n) == 0;
}

static void reply_not_allowed(llmb_mock *m, struct mock_conn *c, const char *allowed)
{
    char method[48], path[120], msg[256], allow[32];
    printable(method, sizeof method, c->in.data + c->head.method_off, c->head.method_len);
    printable(path, sizeof path, c->in.data + c->head.path_off, c->head.path_len);
    llmbi_format(msg, sizeof msg, "method %s is not allowed for %s; use %s", method, path, allowed);
    llmbi_format(allow, sizeof allow, "Allow: %s\r\n", allowed);
    reply_error(m, c, 405, 0, allow, msg);
}

/* Answer the complete request at the head of the input buffer. */
static void dispatch(llmb_mock *m, struct mock_conn *c)
{
    uint64_t now = llmb_now_ns();

    c->close_after = c->head.conn_close || c->head.version_minor == 0;
    if (path_is(c, "/v1/chat/completions") || path_is(c, "/v1/completions")) {
        if (!method_is(c, "POST")) {
            reply_not_allowed(m, c, "POST");
            return;
        }
        start_answer(
            m, c, path_is(c, "/v1/completions") ? LLMBI_MOCK_API_COMPLETIONS : LLMBI_MOCK_API_CHAT,
            now);
    } else if (path_is(c, "/v1/models")) {
        if (!method_is(c, "GET")) {
            reply_not_allowed(m, c, "GET");
            return;
        }
        reply(m, c, 200, NULL, m->models_body);
    } else if (path_is(c, "/mock/stats")) {
        llmb_mock_stats st;
        char *body;
        if (!method_is(c, "GET")) {
            reply_not_allowed(m, c, "GET");
            return;
        }
        llmb_mock_get_stats(m, &st);
        body = llmbi_mock_body_stats(&st);
        reply(m, c, 200, NULL, body);
        free(body);
    } else {
        char path[120], msg[200];
        printable(path, sizeof path, c->in.data + c->head.path_off, c->head.path_len);
        llmbi_format(msg, sizeof msg, "unknown path %s", path);
        reply_error(m, c, 404, 0, NULL, msg);
    }
}

/*
 * Parse and answer what the input buffer holds, one request at a time: a
 * request waits while an answer is in progress or unsent bytes remain, so
 * that pipelined answers leave in order and the output stays bounded.
 */
static void conn_process_input(llmb_mock *m, struct mock_conn *c)
{
    while (c->state == CONN_IDLE && !c->close_after && c->out.len == 0 && c->in.len > 0) {
        llmbi_mock_head *h = &c->head;
        if (!c->head_parsed) {
            switch (llmbi_mock_parse_head(c->in.data, c->in.len, &c->scan, h)) {
            case LLMBI_MOCK_HEAD_PARTIAL:
                goto out;
            case LLMBI_MOCK_HEAD_BAD:
                reply_error(m, c, 400, 1, NULL, "malformed HTTP request head");
                goto out;
            case LLMBI_MOCK_HEAD_TOO_BIG:
                reply_error(m, c, 431, 1, NULL, "request head larger than 16 KiB");
                goto out;
            case LLMBI_MOCK_HEAD_DONE:
                break;
            }
            c->head_parsed = 1;
            if (h->te_other) {
                reply_error(m, c, 501, 1, NULL,
                            "Transfer-Encoding is not supported; send a Content-Length");
                goto out;
            }
            if (h->expect_other) {
                reply_error(m, c, 417, 1, NULL, "only 'Expect: 100-continue' is supported");
                goto out;
            }
            if (h->content_length > LLMBI_MOCK_BODY_MAX) {
                reply_error(m, c, 413, 1, NULL, "request body larger than 8 MiB");
                goto out;
            }
        }
        if (c->in.len - h->head_len < h->content_length) {
            if (h->expect_continue && !c->continue_sent && h->version_minor >= 1) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                c->continue_sent = 1;
                conn_send(m, c, cont, sizeof cont - 1);
            }
            goto out;
        }
        dispatch(m, c);
        if (c->state == CONN_DEAD)
            return;
        llmbi_mock_buf_consume(&c->in, h->head_len + (size_t)h->content_length);
        c->head_parsed = 0;
        c->scan = 0;
        c->continue_sent = 0;
    }
out:
    if (c->state == CONN_DEAD)
        return;
    if (c->state == CONN_IDLE && c->close_after && c->out.len == 0) {
        conn_linger(m, c);
        return;
    }
    /* A large body is gone once answered: give its memory back. */
    if (c->state != CONN_LINGER)
        llmbi_mock_buf_shrink(&c->in, 4096);
    conn_update_events(m, c);
}

/*
 * Record how late the events in m->tx leave, then send them. The counters
 * move before the bytes do, so that a client never sees more than the
 * statistics say; `last` counts the answer as given.
 */
static int send_timed(llmb_mock *m, struct mock_conn *c, unsigned events, int last)
{
    uint64_t now = llmb_now_ns();
    int rc;
    record_late(m, now > c->due.key ? now - c->due.key : 0, events);
    if (last)
        bump(&m->requests, 1);
    rc = conn_send(m, c, m->tx.data, m->tx.len);
    /* An oversize event or a long whole answer should not pin its memory. */
    if (m->tx.cap > TX_KEEP) {
        m->tx.len = 0;
        llmbi_mock_buf_shrink(&m->tx, TX_KEEP);
    }
    return rc;
}

static void answer_done(llmb_mock *m, struct mock_conn *c)
{
    /* First the slot, so that the queue is served before this connection's next request. */
    slot_release(m, c, c->due.key);
    llmbi_mock_job_clear(&c->job);
    c->fault.kind = LLMB_MOCK_FAULT_NONE;
    c->state = CONN_IDLE;
    conn_process_input(m, c);
}

/*
 * Step k of a stream into m->tx: token k (if any), the end when `last`, and
 * an inserted fault's event when due: before token k when k is where it
 * goes, or after the last token when it goes beyond. *events counts the
 * timed events; *end says whether the stream ends here.
 */
static int build_stream_step(llmb_mock *m, const struct mock_conn *c, uint64_t k, int last,
                             unsigned *events, int *end)
{
    const llmbi_mock_job *job = &c->job;
    llmb_mock_fault f = c->fault.kind;
    int before = fault_inserts(f) && k == c->fault_at && k < job->tokens;
    int after = fault_inserts(f) && last && c->fault_at >= job->tokens;
    int no_usage = f == LLMB_MOCK_FAULT_NO_USAGE;

    m->tx.len = 0;
    *events = 0;
    *end = last;
    if (before) {
        if (add_fault_event(m, c) != 0)
            return -1;
        ++*events;
        if (f == LLMB_MOCK_FAULT_ERROR_EVENT) {
            *end = 1;
            return llmbi_mock_append_done(&m->tx, c->chunked, 0);
        }
    }
    if (k < job->tokens) {
        if (add_event(m, c, llmbi_mock_json_token(m->ev, sizeof m->ev, job, k)) != 0)
            return -1;
        ++*events;
    }
    if (after) {
        if (add_fault_event(m, c) != 0)
            return -1;
        ++*events;
        if (f == LLMB_MOCK_FAULT_ERROR_EVENT)
            return llmbi_mock_append_done(&m->tx, c->chunked, 0);
    }
    if (!last)
        return 0;
    if (no_usage || f == LLMB_MOCK_FAULT_NO_DONE)
        fault_fired(m, f);
    if (add_event(m, c,
                  llmbi_mock_json_finish(m->ev, sizeof m->ev, job,
                                         no_usage ? LLMB_MOCK_USAGE_NONE : m->usage)) != 0)
        return -1;
    ++*events;
    if (m->usage == LLMB_MOCK_USAGE_FINAL && job->include_usage && !no_usage &&
        add_event(m, c, llmbi_mock_json_usage(m->ev, sizeof m->ev, job)) != 0)
        return -1;
    return llmbi_mock_append_done(&m->tx, c->chunked, f == LLMB_MOCK_FAULT_NO_DONE);
}

static void stream_step(llmb_mock *m, struct mock_conn *c)
{
    uint64_t k = c->next_token;
    unsigned events;
    int last, end;

    if (fault_cuts(c->fault.kind) && k == c->fault_at) {
        fault_cut(m, c);
        return;
    }
    /* With no tokens, the finish leaves at ttft; a stream to be cut never finishes. */
    last = k + 1 >= c->job.tokens && !fault_cuts(c->fault.kind);
    if (build_stream_step(m, c, k, last, &events, &end) != 0) {
        conn_close(m, c);
        return;
    }
    if (send_timed(m, c, events, end) != 0)
        return;
    if (!end) {
        /* Due a gap after this step was due, not after it left: lateness does not add up. */
        c->next_token = k + 1;
        heap_push(m, c, sat_add(c->due.key, token_gap(m)));
        return;
    }
    answer_done(m, c);
}

static void whole_answer(llmb_mock *m, struct mock_conn *c)
{
    size_t len = 0;
    char *body;
    int rc;

    if (fault_cuts(c->fault.kind)) {
        fault_cut(m, c);
        return;
    }
    if (c->fault.kind != LLMB_MOCK_FAULT_NONE)
        fault_fired(m, c->fault.kind);
    body = llmbi_mock_body_completion(&c->job, &c->fault, &len);
    m->tx.len = 0;
    rc = body ? llmbi_mock_append_json_response(&m->tx, 200, NULL, c->close_after, body, len) : -1;
    free(body);
    if (rc != 0) {
        conn_close(m, c);
        return;
    }
    if (send_timed(m, c, 1, 1) != 0)
        return;
    answer_done(m, c);
}

static void conn_deadline(llmb_mock *m, struct mock_conn *c)
{
    if (c->state == CONN_LINGER)
        conn_close(m, c);
    else if (c->state == CONN_BUSY && c->job.stream)
        stream_step(m, c);
    else if (c->state == CONN_BUSY)
        whole_answer(m, c);
}

/* Send every event that is due, earliest first. */
static void run_due(llmb_mock *m)
{
    struct mock_conn *c;
    while ((c = heap_top(m)) != NULL) {
        if (c->due.key > llmb_now_ns())
            break;
        llmbi_dheap_remove(&m->heap, &c->due);
        conn_deadline(m, c);
    }
}

/* After reading or writing: an idle connection may hold its next request;
 * any other waits for what it waits for. */
static void conn_next(llmb_mock *m, struct mock_conn *c)
{
    if (c->state == CONN_IDLE)
        conn_process_input(m, c);
    else
        conn_update_events(m, c);
}

static void conn_read(llmb_mock *m, struct mock_conn *c)
{
    int round;
    for (round = 0; round < READ_ROUNDS; round++) {
        size_t limit = conn_in_limit(c), want;
        ssize_t r;
        if (c->in.len >= limit)
            break;
        want = limit - c->in.len < sizeof m->rx ? limit - c->in.len : sizeof m->rx;
        r = recv(c->fd, m->rx, want, 0);
        if (r == 0) {
            conn_close(m, c);
            return;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_close(m, c);
            return;
        }
        if (c->state == CONN_LINGER) {
            c->linger_bytes += (uint64_t)r;
            if (c->linger_bytes > LINGER_BYTES_MAX) {
                conn_close(m, c);
                return;
            }
            continue;
        }
        if (llmbi_mock_buf_append(&c->in, m->rx, (size_t)r) != 0) {
            conn_close(m, c);
            return;
        }
        if ((size_t)r < want)
            break;
    }
    conn_next(m, c);
}

static void conn_flush(llmb_mock *m, struct mock_conn *c)
{
    while (c->out.len > 0) {
        ssize_t w = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_close(m, c);
            return;
        }
        llmbi_mock_buf_consume(&c->out, (size_t)w);
    }
    if (c->out.len == 0)
        llmbi_mock_buf_free(&c->out);
    conn_next(m, c);
}

static void conn_event(llmb_mock *m, struct mock_conn *c, uint32_t events)
{
    if (c->state == CONN_DEAD)
        return;
    if (events & (EPOLLERR | EPOLLHUP)) {
        conn_close(m, c);
        return;
    }
    if (events & EPOLLOUT)
        conn_flush(m, c);
    if ((events & EPOLLIN) && c->state != CONN_DEAD)
        conn_read(m, c);
    /* The peer closed its side: a mock has no use for a client that cannot
     * read on, and this is how a client cancels a stream. */
    if ((events & EPOLLRDHUP) && c->state != CONN_DEAD)
        conn_close(m, c);
}

static void conn_add(llmb_mock *m, int fd)
{
    struct mock_conn *c;
    struct epoll_event ev;
    int one = 1;

    if (llmbi_dheap_reserve(&m->heap, m->n_conns + 1) != 0 || !(c = calloc(1, sizeof *c))) {
        close(fd);
        return;
    }
    /* Each event must leave at once, not wait to be coalesced with the next. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->state = CONN_IDLE;
    llmbi_dheap_node_init(&c->due);
    c->ev_mask = EPOLLIN | EPOLLRDHUP;
    memset(&ev, 0, sizeof ev);
    ev.events = c->ev_mask;
    ev.data.ptr = c;
    if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        free(c);
        return;
    }
    LLMBI_LIST_PUSH(m->conns, c);
    m->n_conns++;
    atomic_store_explicit(&m->open_conns, m->n_conns, memory_order_relaxed);
    if (m->n_conns > peek(&m->max_open))
        atomic_store_explicit(&m->max_open, m->n_conns, memory_order_relaxed);
}

static void accept_some(llmb_mock *m)
{
    int i;
    for (i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && m->reserve_fd >= 0) {
                /* Out of descriptors: without taking the connection off the
                 * queue, the listening socket would wake us forever. */
                close(m->reserve_fd);
                fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0)
                    close(fd);
                m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            return;
        }
        if (m->n_conns >= m->max_connections) {
            close(fd);
            continue;
        }
        conn_add(m, fd);
    }
}

static void close_all(llmb_mock *m)
{
    m->stopping = 1;
    while (m->conns)
        conn_close(m, m->conns);
    free_dead(m);
    m->stopping = 0;
}

/* ---- public API ---- */

static llmb_status listen_on(llmb_mock *m, const char *host, unsigned port, llmb_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char service[16];
    int rc, one = 1, last_errno = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof service, "%u", port);
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        llmbi_error_set(err, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return LLMB_ERR_INVALID;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0) {
            m->listen_fd = fd;
            break;
        }
        last_errno = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (m->listen_fd < 0) {
        llmbi_error_set(err, "cannot listen on %s:%u: %s", host, port, strerror(last_errno));
        return LLMB_ERR_SYSTEM;
    }
    if (getsockname(m->listen_fd, (struct sockaddr *)&ss, &sl) != 0) {
        llmbi_error_set(err, "getsockname: %s", strerror(errno));
        return LLMB_ERR_SYSTEM;
    }
    if (ss.ss_family == AF_INET6)
        m->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        m->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return LLMB_OK;
}

static int watch(llmb_mock *m, int fd, void *tag)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = tag;
    return epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int ms_ok(double ms)
{
    return isfinite(ms) && ms >= 0.0 && ms <= MAX_MS;
}

/* The fault options, checked one by one so that the message names the culprit. */
static int faults_ok(const llmb_mock_options *o, llmb_error *err)
{
    if ((unsigned)o->fault >= LLMB_MOCK_FAULT_KINDS) {
        llmbi_error_set(err, "fault is not a llmb_mock_fault");
        return 0;
    }
    if (!isfinite(o->fault_probability) || o->fault_probability < 0.0 ||
        o->fault_probability > 1.0) {
        llmbi_error_set(err, "fault_probability must be from 0 to 1");
        return 0;
    }
    if (o->fault_after > LLMBI_MOCK_TOKENS_MAX) {
        llmbi_error_set(err, "fault_after must be at most %u", LLMBI_MOCK_TOKENS_MAX);
        return 0;
    }
    if (o->fault_status != 0 &&
        (o->fault_status < (o->fault == LLMB_MOCK_FAULT_STATUS ? 400 : 200) ||
         o->fault_status > 599)) {
        llmbi_error_set(err, "fault_status must be 0 or from %d to 599",
                        o->fault == LLMB_MOCK_FAULT_STATUS ? 400 : 200);
        return 0;
    }
    if (o->fault_retry_after > LLMBI_MOCK_RETRY_MAX) {
        llmbi_error_set(err, "fault_retry_after must be at most %u", LLMBI_MOCK_RETRY_MAX);
        return 0;
    }
    if (o->fault_size < LLMBI_MOCK_OVERSIZE_MIN || o->fault_size > LLMBI_MOCK_OVERSIZE_MAX) {
        llmbi_error_set(err, "fault_size must be from %u to %u bytes", LLMBI_MOCK_OVERSIZE_MIN,
                        LLMBI_MOCK_OVERSIZE_MAX);
        return 0;
    }
    return 1;
}

llmb_status llmb_mock_new(const llmb_mock_options *opts, llmb_mock **out, llmb_error *err)
{
    static const llmb_mock_options defaults = LLMB_MOCK_OPTIONS_INIT;
    llmb_status rc = LLMB_ERR_INVALID;
    llmb_mock *m = NULL;
    const char *host, *model;

    if (!out) {
        llmbi_error_set(err, "no place for the result");
        return LLMB_ERR_INVALID;
    }
    *out = NULL;
    if (!opts)
        opts = &defaults;
    host = opts->host ? opts->host : defaults.host;
    model = opts->model ? opts->model : defaults.model;
    if (!ms_ok(opts->ttft_ms) || !ms_ok(opts->itl_ms) || !ms_ok(opts->itl_per_stream_ms) ||
        !ms_ok(opts->ttft_per_stream_ms)) {
        llmbi_error_set(err,
                        "ttft_ms, itl_ms, itl_per_stream_ms and ttft_per_stream_ms must be "
                        "from 0 to %.0f",
                        MAX_MS);
        goto out;
    }
    if (!faults_ok(opts, err))
        goto out;
    if (opts->port > 65535 || opts->max_connections == 0 ||
        opts->default_tokens > LLMBI_MOCK_TOKENS_MAX || strlen(model) > LLMBI_MOCK_MODEL_MAX ||
        (unsigned)opts->usage > LLMB_MOCK_USAGE_NONE || opts->spin_us > 1000000 ||
        opts->rt_priority < 0 || opts->rt_priority > 99) {
        llmbi_error_set(err, "port, max_connections, default_tokens, model, usage, "
                             "spin_us or rt_priority out of range");
        goto out;
    }

    rc = LLMB_ERR_NOMEM;
    m = calloc(1, sizeof *m);
    if (!m)
        goto out;
    m->listen_fd = m->epoll_fd = m->timer_fd = m->stop_fd = m->reserve_fd = -1;
    m->host = llmbi_strdup(host);
    m->model = llmbi_strdup(model);
    m->models_body = llmbi_mock_body_models(model, (long long)time(NULL));
    if (!m->host || !m->model || !m->models_body || llmbi_dheap_reserve(&m->heap, 64) != 0) {
        llmbi_error_set(err, "out of memory (or the model name is not UTF-8)");
        goto out;
    }
    m->default_tokens = opts->default_tokens;
    m->max_connections = opts->max_connections;
    m->usage = opts->usage;
    m->ttft_ns = llmb_s_to_ns(opts->ttft_ms / 1000.0);
    m->itl_ns = llmb_s_to_ns(opts->itl_ms / 1000.0);
    m->spin_ns = (uint64_t)opts->spin_us * 1000;
    m->rt_priority = opts->rt_priority;
    m->slots = opts->slots;
    m->itl_per_stream_ns = llmb_s_to_ns(opts->itl_per_stream_ms / 1000.0);
    m->ttft_per_stream_ns = llmb_s_to_ns(opts->ttft_per_stream_ms / 1000.0);
    m->fault.kind = opts->fault;
    m->fault.after = opts->fault_after;
    m->fault.status = opts->fault_status;
    m->fault.retry_after = opts->fault_retry_after;
    m->fault.size = opts->fault_size;
    m->fault_every = opts->fault_every;
    m->fault_probability = opts->fault_probability;
    m->fault_seed = opts->fault_seed;

    rc = listen_on(m, host, opts->port, err);
    if (rc != LLMB_OK)
        goto out;
    rc = LLMB_ERR_SYSTEM;
    m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    m->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (m->epoll_fd < 0 || m->timer_fd < 0 || m->stop_fd < 0 ||
        watch(m, m->listen_fd, &m->tag_listen) != 0 || watch(m, m->timer_fd, &m->tag_timer) != 0 ||
        watch(m, m->stop_fd, &m->tag_stop) != 0) {
        llmbi_error_set(err, "cannot set up the event loop: %s", strerror(errno));
        goto out;
    }
    *out = m;
    m = NULL;
    rc = LLMB_OK;
out:
    llmb_mock_free(m);
    return rc;
}

unsigned llmb_mock_port(const llmb_mock *m)
{
    return m ? m->port : 0;
}

llmb_status llmb_mock_run(llmb_mock *m)
{
    struct epoll_event evs[MAX_EVENTS];
    llmb_status rc = LLMB_OK;
    int expected = 0, stop = 0, old_slack, old_policy = -1;
    struct sched_param old_param;
    uint64_t drained;

    if (!m || !atomic_compare_exchange_strong(&m->running, &expected, 1))
        return LLMB_ERR_INVALID;
    /* Wake-ups from the default 50 us of slack would show up as lateness. */
    old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    atomic_store(&m->realtime, 0);
    if (m->rt_priority > 0 && pthread_getschedparam(pthread_self(), &old_policy, &old_param) == 0) {
        struct sched_param p;
        memset(&p, 0, sizeof p);
        p.sched_priority = m->rt_priority;
        if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0)
            atomic_store(&m->realtime, 1);
        else
            old_policy = -1;
    }
    m->armed_ns = UINT64_MAX;
    m->spin_target = 0;

    while (!stop) {
        int n, i, timeout;
        run_due(m);
        free_dead(m);
        if (wait_timeout(m, &timeout) != 0) {
            rc = LLMB_ERR_SYSTEM;
            break;
        }
        n = epoll_wait(m->epoll_fd, evs, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = LLMB_ERR_SYSTEM;
            break;
        }
        for (i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &m->tag_stop) {
                stop = 1;
            } else if (tag == &m->tag_timer) {
                /* No read(2) needed: re-arming (forced here) clears the expiry,
                 * and saves a system call per wake-up. */
                m->armed_ns = UINT64_MAX;
            } else if (tag == &m->tag_listen) {
                accept_some(m);
            } else {
                conn_event(m, tag, evs[i].events);
            }
            run_due(m);
        }
        if (rc != LLMB_OK)
            break;
    }

    close_all(m);
    if (read(m->stop_fd, &drained, sizeof drained) < 0 && errno != EAGAIN)
        rc = rc == LLMB_OK ? LLMB_ERR_SYSTEM : rc;
    m->armed_ns = UINT64_MAX;
    arm_timer(m, 0);
    if (old_policy >= 0)
        pthread_setschedparam(pthread_self(), old_policy, &old_param);
    if (old_slack > 0)
        prctl(PR_SET_TIMERSLACK, (unsigned long)old_slack, 0, 0, 0);
    atomic_store(&m->running, 0);
    return rc;
}

void llmb_mock_stop(llmb_mock *m)
{
    /* Only write(2) here: this runs in signal handlers. */
    int saved = errno;
    uint64_t one = 1;
    if (m && m->stop_fd >= 0) {
        ssize_t r = write(m->stop_fd, &one, sizeof one);
        (void)r;
    }
    errno = saved;
}

void llmb_mock_free(llmb_mock *m)
{
    if (!m)
        return;
    close_all(m);
    if (m->listen_fd >= 0)
        close(m->listen_fd);
    if (m->epoll_fd >= 0)
        close(m->epoll_fd);
    if (m->timer_fd >= 0)
        close(m->timer_fd);
    if (m->stop_fd >= 0)
        close(m->stop_fd);
    if (m->reserve_fd >= 0)
        close(m->reserve_fd);
    llmbi_dheap_free(&m->heap);
    llmbi_mock_buf_free(&m->tx);
    free(m->models_body);
    free(m->host);
    free(m->model);
    free(m);
}
