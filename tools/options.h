/*
 * Command-line helpers shared by the tools: exit codes, checked number
 * parsing and usage errors. Every parser prints its own message (naming the
 * tool and the option) and returns -1 on a bad value, 0 on success.
 */
#ifndef LLMB_TOOLS_OPTIONS_H
#define LLMB_TOOLS_OPTIONS_H

#include <stdint.h>

#define TOOL_EXIT_OK     0 /* everything worked */
#define TOOL_EXIT_FAILED 1 /* a request failed, or the run could not complete */
#define TOOL_EXIT_USAGE  2 /* the command line is wrong */

#if defined(__GNUC__)
#define TOOL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TOOL_PRINTF(fmt, args)
#endif

/** Print "TOOL: message" and a pointer to --help on stderr. */
void tool_usage_error(const char *tool, const char *fmt, ...) TOOL_PRINTF(2, 3);
/** Print "TOOL: message" on stderr. */
void tool_error(const char *tool, const char *fmt, ...) TOOL_PRINTF(2, 3);

/** A whole decimal number in [min, max]. */
int tool_parse_u64(const char *tool, const char *opt, const char *arg, uint64_t min, uint64_t max,
                   uint64_t *out);
/** A finite decimal number in [min, max]. */
int tool_parse_double(const char *tool, const char *opt, const char *arg, double min, double max,
                      double *out);

#endif /* LLMB_TOOLS_OPTIONS_H */
