/*
 * Status texts, error detail helpers and the library version.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "llmbench/version.h"

static const char *const status_text[LLMB_STATUS_COUNT_] = {
    [LLMB_OK] = "success",
    [LLMB_ERR_INVALID] = "invalid argument",
    [LLMB_ERR_NOMEM] = "out of memory",
    [LLMB_ERR_IO] = "input/output error",
    [LLMB_ERR_PARSE] = "malformed input",
    [LLMB_ERR_LIMIT] = "limit reached",
    [LLMB_ERR_SYSTEM] = "system call failed",
    [LLMB_ERR_TRANSFER] = "transfer failed",
    [LLMB_ERR_STOPPED] = "stopped",
    [LLMB_ERR_UNSUPPORTED] = "not supported",
};

const char *llmb_strerror(llmb_status status)
{
    if ((unsigned)status >= LLMB_STATUS_COUNT_ || !status_text[status])
        return "unknown status";
    return status_text[status];
}

const char *llmb_version(void)
{
    return LLMB_VERSION_STRING;
}

static void error_vset(llmb_error *err, unsigned long line, unsigned long column, const char *fmt,
                       va_list ap) LLMBI_PRINTF(4, 0);

static void error_vset(llmb_error *err, unsigned long line, unsigned long column, const char *fmt,
                       va_list ap)
{
    if (!err)
        return;
    err->line = line;
    err->column = column;
    vsnprintf(err->text, sizeof err->text, fmt, ap);
}

void llmbi_error_set(llmb_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, 0, 0, fmt, ap);
    va_end(ap);
}

void llmbi_error_set_at(llmb_error *err, unsigned long line, unsigned long column, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, line, column, fmt, ap);
    va_end(ap);
}

void llmbi_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    if (!buf || size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

int llmbi_grow_to(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t c = *cap ? *cap : first;
    void *np;
    if (need <= *cap)
        return 0;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    if (c > SIZE_MAX / elem)
        return -1;
    np = realloc(*p, c * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = c;
    return 0;
}

char *llmbi_strdup(const char *s)
{
    size_t n;
    char *d;
    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
