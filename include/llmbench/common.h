/*
 * libllmbench: common definitions shared by every public header.
 *
 * Status codes, the error detail struct and the export macro. Every function
 * that can fail returns an llmb_status (LLMB_OK == 0); those that have no
 * handle to keep a last-error text on take an optional llmb_error pointer,
 * which they fill on failure and leave untouched on success.
 */
#ifndef LLMBENCH_COMMON_H
#define LLMBENCH_COMMON_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LLMB_API __attribute__((visibility("default")))
#else
#define LLMB_API
#endif

/** Result of every fallible libllmbench call. */
typedef enum llmb_status {
    LLMB_OK = 0,          /**< success */
    LLMB_ERR_INVALID,     /**< an argument or option value is not acceptable */
    LLMB_ERR_NOMEM,       /**< memory allocation failed */
    LLMB_ERR_IO,          /**< reading or writing a file failed */
    LLMB_ERR_PARSE,       /**< input is malformed (CSV, JSON, event stream) */
    LLMB_ERR_LIMIT,       /**< a size or count limit was reached */
    LLMB_ERR_SYSTEM,      /**< an operating-system call failed (socket, epoll, timer) */
    LLMB_ERR_TRANSFER,    /**< an HTTP transfer could not be set up or failed */
    LLMB_ERR_STOPPED,     /**< the operation was stopped on request */
    LLMB_ERR_UNSUPPORTED, /**< the operation is not available in this build or setting */
    LLMB_STATUS_COUNT_    /**< number of codes; not a code */
} llmb_status;

/** Static English text for a status code; never NULL. */
LLMB_API const char *llmb_strerror(llmb_status status);

/** Size of llmb_error's text buffer, including the terminating NUL. */
#define LLMB_ERROR_TEXT_SIZE 256

/**
 * Detail of a failure, for calls without a handle. Callers own it (usually on
 * the stack). `line` and `column` are 1-based positions in the input when the
 * failure is about a position (CSV, JSON), 0 otherwise. `text` is always
 * NUL-terminated, never holds an API key, and is truncated if longer.
 */
typedef struct llmb_error {
    unsigned long line;
    unsigned long column;
    char text[LLMB_ERROR_TEXT_SIZE];
} llmb_error;

/**
 * Opens a file to write results into: `path`, or standard output when it is
 * "-". NULL, with err "cannot write PATH: reason", when it cannot be opened.
 * The library's own writers (CSV, trace) open their files this way.
 */
LLMB_API FILE *llmb_output_open(const char *path, llmb_error *err);

/**
 * Flushes an output from llmb_output_open and closes it, unless it is
 * standard output (flushed only). Returns 0, or the errno of the first
 * failure (a write that failed late, on a full disk, shows here).
 */
LLMB_API int llmb_output_close(FILE *fp);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_COMMON_H */
