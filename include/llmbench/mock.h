/*
 * libllmbench: the mock engine, a simulated OpenAI-compatible inference
 * server for dry runs and tests.
 *
 * It serves POST /v1/chat/completions and POST /v1/completions (streaming as
 * server-sent events, or a single JSON body when "stream" is false) and
 * GET /v1/models, over HTTP/1.1 with keep-alive, on one thread and one epoll
 * loop. Tokens leave at precise times: the first `ttft_ms` after the request
 * arrived, then one every `itl_ms`. Usage is exact: prompt tokens follow
 * llmb_mock_prompt_tokens(), generated tokens are the request's max_tokens
 * (or max_completion_tokens), or `default_tokens` when it gives none.
 * GET /mock/stats returns JSON with how late, against schedule, it sent
 * every event.
 *
 * The details a client may rely on:
 * - Token k (0-based) of a stream leaves at arrival + ttft + k * itl, where
 *   arrival is when the whole request (head and body) was read; a request
 *   pipelined behind another one arrives when the answer before it ends. A
 *   chat stream starts at once with a role chunk that holds no content.
 *   The chunk with the finish_reason ("length" when the request set a limit,
 *   "stop" otherwise) leaves with the last token (at ttft when there are no
 *   tokens), followed by the usage chunk if any, "data: [DONE]" and the end.
 * - With "stream" false or absent, one JSON body (with "usage", whatever the
 *   usage option says) leaves when the last token would have.
 * - Limits: request head 16 KiB (431), body 8 MiB (413), model name 256
 *   bytes and 1,000,000 tokens per answer (400). Errors are OpenAI-style
 *   JSON bodies: 400 bad JSON or fields, 404 unknown path, 405 wrong method.
 * - The generated text cycles through a fixed list of words, each after a
 *   space except the first.
 * - A client that closes (or shuts down the sending side of) its connection
 *   is taken as gone: its stream stops at once and its state is freed. That
 *   is how a client cancels a stream.
 *
 * A load model, off by default, makes it behave like a batching server:
 * - With `slots` N > 0, at most N requests generate at once; one that comes
 *   when all are taken waits in a FIFO queue. Its stream's head leaves at
 *   once, its role chunk when it gets a slot, and its first token ttft after
 *   that, so the client sees queue wait + ttft. A slot frees when the last
 *   event of its answer has been sent (a stall frees it at the stall), or
 *   when its client goes away. Answers with "stream" false take slots too.
 *   "Arrival" above then means the moment the request got its slot.
 * - The gap before each token is itl + itl_per_stream * (active - 1), and
 *   the first token's ttft + ttft_per_stream * (active - 1), where active is
 *   the number of requests holding a slot (all generating requests when
 *   slots is 0), counting this one, when that gap is scheduled. Each event
 *   is due a gap after the previous one was due, so lateness does not add
 *   up. A whole answer ("stream" false) takes its gaps from the load when it
 *   got its slot.
 *
 * Fault injection, for testing clients: a request gets at most one fault,
 * either the one its "X-Mock-Fault" header asks for or, without that header,
 * the configured `fault` when the request is chosen (by count or by chance).
 * Requests are numbered from 1 in the order their bodies were accepted
 * (generation requests only). The header is
 *     X-Mock-Fault: KIND[; NAME=VALUE]...
 * with KIND one of the names of llmb_mock_fault_name() (or "none", which
 * turns a configured fault off for this request) and the parameters
 * after=K, code=N, retry-after=S and size=BYTES (decimal, each only with the
 * kinds it applies to; names and kinds in any case). Anything else gets a
 * 400 that says what is wrong. Parameters not given come from the options.
 * "After K tokens" means after min(K, tokens) content tokens: a reset or a
 * stall happens when the next token would have been due; an inserted event
 * leaves just before the next token (or, when there is none, after the last
 * one and before the finish chunk).
 */
#ifndef LLMBENCH_MOCK_H
#define LLMBENCH_MOCK_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmb_mock llmb_mock;

/** How the mock reports token usage in a stream. */
typedef enum llmb_mock_usage {
    /** As OpenAI: a final chunk with "choices": [] and "usage", sent only when the request
     *  asked with "stream_options": {"include_usage": true}. */
    LLMB_MOCK_USAGE_FINAL = 0,
    /** As some llama.cpp builds: "usage" inside the last content chunk, always. */
    LLMB_MOCK_USAGE_LAST_CHUNK,
    /** As Groq: "x_groq": {"usage": {...}} in the last chunk, always. */
    LLMB_MOCK_USAGE_GROQ,
    /** Never report usage. */
    LLMB_MOCK_USAGE_NONE
} llmb_mock_usage;

/** A fault the mock can inject into an answer (see the file comment for when). */
typedef enum llmb_mock_fault {
    LLMB_MOCK_FAULT_NONE = 0,
    /** An HTTP error status (fault_status, default 500) with an OpenAI-style JSON error
     *  body, at once and without taking a slot. A 429 also carries Retry-After. */
    LLMB_MOCK_FAULT_STATUS,
    /** "429": status 429 with "Retry-After: fault_retry_after" and a rate-limit error body. */
    LLMB_MOCK_FAULT_429,
    /** After fault_after tokens, close the connection with a TCP reset (SO_LINGER 0). */
    LLMB_MOCK_FAULT_RESET,
    /** After fault_after tokens, send nothing more but keep the connection open until the
     *  client closes it or the mock stops. Frees its slot. */
    LLMB_MOCK_FAULT_STALL,
    /** After fault_after tokens, one event whose data is not valid JSON (a chunk cut
     *  short), then the stream goes on as usual. */
    LLMB_MOCK_FAULT_MALFORMED,
    /** After fault_after tokens, one event of fault_size bytes of valid JSON (a chunk
     *  with "choices": [] and a long "mock_padding" string), then the stream goes on. */
    LLMB_MOCK_FAULT_OVERSIZE,
    /** An HTML error page with Content-Type text/html (status fault_status, default 200)
     *  instead of an answer, at once and without taking a slot. */
    LLMB_MOCK_FAULT_HTML,
    /** A normal stream that ends without "data: [DONE]". */
    LLMB_MOCK_FAULT_NO_DONE,
    /** A normal stream (or whole answer) without usage anywhere, even when asked. */
    LLMB_MOCK_FAULT_NO_USAGE,
    /** After fault_after tokens, the event {"error":{"message":...,"type":"server_error"}},
     *  then "data: [DONE]" and the end of the stream, with no finish chunk. */
    LLMB_MOCK_FAULT_ERROR_EVENT
} llmb_mock_fault;

/** The number of llmb_mock_fault values, LLMB_MOCK_FAULT_NONE included. */
#define LLMB_MOCK_FAULT_KINDS 11

/*
 * A request with "stream" false gets reset and stall when its answer is due,
 * malformed as a body cut short, oversize as a body padded to fault_size
 * bytes, error-event as a 200 whose body is the error object, no-usage as a
 * body without "usage"; no-done changes nothing there.
 */

/** Options of a mock engine. Start from LLMB_MOCK_OPTIONS_INIT. */
typedef struct llmb_mock_options {
    const char *host;         /**< address to listen on (default "127.0.0.1") */
    unsigned port;            /**< TCP port; 0 picks a free one (see llmb_mock_port) */
    double ttft_ms;           /**< request arrival to first token (default 50) */
    double itl_ms;            /**< gap between tokens (default 10) */
    unsigned default_tokens;  /**< tokens generated when the request sets no limit (default 128) */
    const char *model;        /**< model id reported and listed (default "mock-model") */
    llmb_mock_usage usage;    /**< usage reporting style (default FINAL) */
    unsigned max_connections; /**< open connections at most (default 16384) */
    /**
     * Before a deadline that follows an idle gap of at least 4 * spin_us,
     * wake spin_us early and busy-poll up to it (default 500; 0 never spins;
     * at most 1000000). Waking a halted CPU can take from 50 us to over a
     * millisecond, notably in virtual machines; a spin hides that. Between
     * closely spaced events the loop sleeps instead (the CPU does not halt
     * then), so spinning never takes more than a quarter of a CPU.
     */
    unsigned spin_us;
    /**
     * If from 1 to 99, llmb_mock_run runs its thread under SCHED_FIFO at this
     * priority, and restores the previous policy when it returns, so that
     * other busy processes on the same CPU cannot delay events. It needs
     * CAP_SYS_NICE or RLIMIT_RTPRIO; without, the run goes on as usual (see
     * llmb_mock_stats.realtime). Default 0: leave the scheduling alone.
     */
    int rt_priority;

    /* The load model (see the file comment). */
    unsigned slots;            /**< requests generating at once; 0 (default) is unlimited */
    double itl_per_stream_ms;  /**< added to each token gap per other active request (0) */
    double ttft_per_stream_ms; /**< added to ttft per other active request (default 0) */

    /* Fault injection (see the file comment and llmb_mock_fault). */
    llmb_mock_fault fault;    /**< injected into chosen requests (default NONE) */
    unsigned fault_every;     /**< choose requests N, 2N, ... (default 1: all); 0: by chance */
    double fault_probability; /**< with fault_every 0: the chance of each request, 0 to 1 */
    uint64_t fault_seed;      /**< the seed of that chance; the choice of request n is a
                                   function of (seed, n) only, so runs repeat (default 0) */
    unsigned fault_after;     /**< content tokens before a mid-stream fault (default 3) */
    /** HTTP status of status faults (400-599) and html faults (200-599); 0 (default)
     *  is 500 for status and 200 for html. */
    int fault_status;
    unsigned fault_retry_after; /**< Retry-After seconds of a 429, at most 86400 (default 1) */
    size_t fault_size; /**< bytes of an oversize event's JSON, 4 KiB to 64 MiB (default 2 MiB) */
} llmb_mock_options;

#define LLMB_MOCK_OPTIONS_INIT                                                                     \
    {                                                                                              \
        "127.0.0.1", 0, 50.0, 10.0, 128, "mock-model", LLMB_MOCK_USAGE_FINAL, 16384, 500, 0, 0,    \
            0.0, 0.0, LLMB_MOCK_FAULT_NONE, 1, 0.0, 0, 3, 0, 1, 2u * 1024u * 1024u                 \
    }

/** Lateness of the events the mock sent, against their scheduled times. */
typedef struct llmb_mock_stats {
    uint64_t requests; /**< requests answered (any endpoint; not those reset or stalled) */
    /** Timed events sent: tokens, final chunks and injected events (malformed, oversize,
     *  error); a whole JSON answer is one. */
    uint64_t events;
    uint64_t late_p50_ns; /**< median lateness */
    uint64_t late_p99_ns;
    uint64_t late_max_ns;
    uint64_t open_connections;
    uint64_t max_open_connections;
    uint64_t late_over_1ms; /**< events sent more than 1 ms after their scheduled time */
    int realtime;           /**< 1 if the last (or current) run got SCHED_FIFO */

    /* The load model. Queue waits are those of every generation request that got a slot
     * (0 when it got one at once), from its arrival to its slot. */
    uint64_t active;     /**< requests holding a slot (generating) now */
    uint64_t queued;     /**< requests waiting for a slot now */
    uint64_t max_active; /**< most requests generating at once */
    uint64_t max_queued; /**< most requests waiting at once */
    uint64_t queue_wait_p50_ns;
    uint64_t queue_wait_p99_ns;
    uint64_t queue_wait_max_ns;

    /** Faults injected, per llmb_mock_fault (index LLMB_MOCK_FAULT_NONE: all of them). A
     *  fault counts when it takes effect, so not when its client left before. */
    uint64_t faults[LLMB_MOCK_FAULT_KINDS];
} llmb_mock_stats;

/**
 * Create a mock engine listening on host:port (it binds and listens here, so
 * clients may connect as soon as this returns, before llmb_mock_run). The
 * options are copied; NULL means all defaults. ttft_ms, itl_ms,
 * itl_per_stream_ms and ttft_per_stream_ms must be finite and within
 * [0, 3600000], default_tokens at most 1,000,000, max_connections at least
 * 1, model at most 256 bytes of UTF-8, and the fault options within the
 * ranges their comments give (LLMB_ERR_INVALID otherwise, with the option
 * named in err). Free with llmb_mock_free.
 */
LLMB_API llmb_status llmb_mock_new(const llmb_mock_options *opts, llmb_mock **out, llmb_error *err);
/** The TCP port it listens on (the chosen one when the options said 0). */
LLMB_API unsigned llmb_mock_port(const llmb_mock *m);
/**
 * Serve until llmb_mock_stop is called. Runs on the calling thread (with its
 * timer slack set to 1 ns meanwhile). Returns LLMB_OK after a stop, or an
 * error if the event loop itself failed; LLMB_ERR_INVALID if another thread
 * is already running it. On return every client connection is closed; the
 * listening socket stays open, so it may be run again.
 */
LLMB_API llmb_status llmb_mock_run(llmb_mock *m);
/**
 * Ask a running llmb_mock_run to return. Safe from a signal handler and from
 * any thread; open streams are closed. A stop asked before llmb_mock_run
 * makes the next run return at once.
 */
LLMB_API void llmb_mock_stop(llmb_mock *m);
/** A snapshot of the statistics; safe to call from another thread while it runs. */
LLMB_API void llmb_mock_get_stats(llmb_mock *m, llmb_mock_stats *out);
/**
 * Close the listening socket and all connections and free; NULL does nothing.
 * Not while llmb_mock_run runs: stop it and wait for it to return first.
 */
LLMB_API void llmb_mock_free(llmb_mock *m);

/**
 * The mock's deterministic prompt token count for one text: ceil(bytes / 4),
 * so 0 for an empty text. A chat request counts the sum, over its
 * messages, of this count for each message's "content" string (or of each
 * of its text parts); a completions request its "prompt" string.
 */
LLMB_API uint64_t llmb_mock_prompt_tokens(const char *text, size_t len);

/**
 * The name of a fault kind as llm-mock's --fault and the X-Mock-Fault header
 * spell it: "none", "status", "429", "reset", "stall", "malformed",
 * "oversize", "html", "no-done", "no-usage", "error-event". A static string;
 * NULL for a value out of range.
 */
LLMB_API const char *llmb_mock_fault_name(llmb_mock_fault kind);
/**
 * The fault kind of a name (any case, as llmb_mock_fault_name gives them):
 * LLMB_OK and *out set, or LLMB_ERR_INVALID and *out unchanged.
 */
LLMB_API llmb_status llmb_mock_fault_from_name(const char *name, llmb_mock_fault *out);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_MOCK_H */
