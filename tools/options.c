/*
 * Command-line helpers shared by the tools.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "options.h"

void tool_usage_error(const char *tool, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", tool);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", tool);
}

void tool_error(const char *tool, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", tool);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int tool_parse_u64(const char *tool, const char *opt, const char *arg, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    const char *p = arg;

    while (isspace((unsigned char)*p))
        p++;
    /* strtoull accepts a sign and wraps negatives around: refuse them first. */
    if (*p == '-' || *p == '+' || !isdigit((unsigned char)*p))
        goto bad;
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        goto bad;
    *out = (uint64_t)v;
    return 0;
bad:
    tool_usage_error(tool, "%s: '%s' is not a whole number from %" PRIu64 " to %" PRIu64, opt, arg,
                     min, max);
    return -1;
}

int tool_parse_double(const char *tool, const char *opt, const char *arg, double min, double max,
                      double *out)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (end == arg || *end != '\0' || errno == ERANGE || !isfinite(v) || v < min || v > max) {
        tool_usage_error(tool, "%s: '%s' is not a number from %g to %g", opt, arg, min, max);
        return -1;
    }
    *out = v;
    return 0;
}
