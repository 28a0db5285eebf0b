/*
 * The files the library writes results into: a path, or "-" for standard
 * output, which is flushed at the end but never closed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

FILE *llmb_output_open(const char *path, llmb_error *err)
{
    FILE *fp;
    if (strcmp(path, "-") == 0)
        return stdout;
    fp = fopen(path, "w");
    if (!fp)
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno));
    return fp;
}

int llmb_output_close(FILE *fp)
{
    int e = 0;
    if (fflush(fp) != 0)
        e = errno ? errno : EIO;
    if (fp != stdout && fclose(fp) != 0 && !e)
        e = errno ? errno : EIO;
    return e;
}
