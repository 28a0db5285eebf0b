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
} llmb_mock_options;

#define LLMB_MOCK_OPTIONS_INIT                                                                     \
    {                                                                                              \
        "127.0.0.1", 0, 50.0, 10.0, 128, "mock-model", LLMB_MOCK_USAGE_FINAL, 16384, 500, 0        \
    }

/** Lateness of the events the mock sent, against their scheduled times. */
typedef struct llmb_mock_stats {
    uint64_t requests; /**< requests answered (any endpoint) */
    uint64_t events; /**< timed events sent (tokens and final chunks; a whole JSON answer is one) */
    uint64_t late_p50_ns; /**< median lateness */
    uint64_t late_p99_ns;
    uint64_t late_max_ns;
    uint64_t open_connections;
    uint64_t max_open_connections;
    uint64_t late_over_1ms; /**< events sent more than 1 ms after their scheduled time */
    int realtime;           /**< 1 if the last (or current) run got SCHED_FIFO */
} llmb_mock_stats;

/**
 * Create a mock engine listening on host:port (it binds and listens here, so
 * clients may connect as soon as this returns, before llmb_mock_run). The
 * options are copied; NULL means all defaults. ttft_ms and itl_ms must be
 * finite and within [0, 3600000], default_tokens at most 1,000,000,
 * max_connections at least 1, and model at most 256 bytes of UTF-8
 * (LLMB_ERR_INVALID otherwise). Free with llmb_mock_free.
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

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_MOCK_H */
