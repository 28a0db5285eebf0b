/*
 * Names shared between library files but not exported (prefix llmbi_).
 */
#ifndef LLMB_INTERNAL_H
#define LLMB_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "llmbench/common.h"

#if defined(__GNUC__)
#define LLMBI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define LLMBI_PRINTF(fmt, args)
#endif

/** Fill *err (if not NULL) with a formatted message and no position. */
void llmbi_error_set(llmb_error *err, const char *fmt, ...) LLMBI_PRINTF(2, 3);
/** Fill *err (if not NULL) with a formatted message at line/column. */
void llmbi_error_set_at(llmb_error *err, unsigned long line, unsigned long column, const char *fmt,
                        ...) LLMBI_PRINTF(4, 5);
/** Format into a fixed buffer of `size` bytes, always NUL-terminated, truncating. */
void llmbi_format(char *buf, size_t size, const char *fmt, ...) LLMBI_PRINTF(3, 4);

/** strdup that returns NULL for NULL. */
char *llmbi_strdup(const char *s);

#endif /* LLMB_INTERNAL_H */
