/*
 * PNG output: the only file that talks to libpng.
 *
 * The image goes to a temporary file beside `path` (same directory, hence
 * same file system) that is renamed over `path` once it is complete and
 * flushed, so readers see either the old file or the whole new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chart_internal.h"
#include "internal.h"

/* What went wrong inside libpng, carried out of its longjmp. */
typedef struct png_sink {
    FILE *fp;
    int io_errno;  /* errno of a failed write or flush, 0 if none */
    char msg[128]; /* libpng's own message */
} png_sink;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_sink *sink = png_get_error_ptr(png);
    snprintf(sink->msg, sizeof sink->msg, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

/* The library never prints: libpng's warnings (none are expected when
 * writing) are dropped instead of going to stderr. */
static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void on_png_write(png_structp png, png_bytep data, size_t len)
{
    png_sink *sink = png_get_io_ptr(png);
    if (fwrite(data, 1, len, sink->fp) != len) {
        sink->io_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void on_png_flush(png_structp png)
{
    png_sink *sink = png_get_io_ptr(png);
    if (fflush(sink->fp) != 0) {
        sink->io_errno = errno ? errno : EIO;
        png_error(png, "flush failed");
    }
}

/* Encode the canvas to sink->fp. Returns 0 on success; on failure the
 * sink says why (sink->io_errno for I/O, sink->msg otherwise). */
static int encode(const llmb_canvas *c, png_sink *sink)
{
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, on_png_error, on_png_warning);
    if (!png) {
        snprintf(sink->msg, sizeof sink->msg, "out of memory for the libpng writer");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    /* Modified between setjmp and a possible longjmp, so it must be volatile
     * to have a defined value afterwards; png and info are not modified. */
    volatile int ok = 0;
    if (!info) {
        snprintf(sink->msg, sizeof sink->msg, "out of memory for the libpng info");
        goto out;
    }
    if (setjmp(png_jmpbuf(png)))
        goto out;

    unsigned w = llmb_canvas_width(c), h = llmb_canvas_height(c);
    const uint8_t *px = llmb_canvas_pixels(c);
    png_set_write_fn(png, sink, on_png_write, on_png_flush);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (unsigned y = 0; y < h; y++)
        png_write_row(png, px + (size_t)y * w * 4);
    png_write_end(png, info);
    ok = 1;
out:
    png_destroy_write_struct(&png, info ? &info : NULL);
    return ok ? 0 : -1;
}

/*
 * Create a new, empty temporary file "<path>.tmp-<pid>-<n>" exclusively
 * (never reusing an existing one). Mode 0666 lets the umask decide the
 * permissions, as for any newly created file. Returns the fd or -1 (errno).
 */
static int open_temp(const char *path, char *tmp, size_t tmp_size)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long salt = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20);
    for (int attempt = 0; attempt < 100; attempt++) {
        int len = snprintf(tmp, tmp_size, "%s.tmp-%ld-%lx", path, (long)getpid(),
                           salt + (unsigned long)attempt);
        if (len < 0 || (size_t)len >= tmp_size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

llmb_status llmb_canvas_write_png(const llmb_canvas *c, const char *path, llmb_error *err)
{
    llmb_status st = LLMB_OK;
    char *tmp = NULL;
    FILE *fp = NULL;
    int fd = -1, have_tmp = 0;
    png_sink sink = {0};

    if (!c || !path || !*path) {
        llmbi_error_set(err, "write png: %s", !c ? "no canvas" : "no file name");
        return LLMB_ERR_INVALID;
    }
    size_t tmp_size = strlen(path) + 64;
    tmp = malloc(tmp_size);
    if (!tmp) {
        llmbi_error_set(err, "write png %s: out of memory", path);
        st = LLMB_ERR_NOMEM;
        goto out;
    }
    fd = open_temp(path, tmp, tmp_size);
    if (fd < 0) {
        llmbi_error_set(err, "cannot create a file beside %s: %s", path, strerror(errno));
        st = LLMB_ERR_IO;
        goto out;
    }
    have_tmp = 1;
    fp = fdopen(fd, "wb");
    if (!fp) {
        llmbi_error_set(err, "cannot open %s: %s", tmp, strerror(errno));
        st = LLMB_ERR_IO;
        goto out;
    }
    fd = -1; /* owned by fp now */
    sink.fp = fp;
    if (encode(c, &sink) != 0) {
        if (sink.io_errno)
            llmbi_error_set(err, "cannot write %s: %s", path, strerror(sink.io_errno));
        else
            llmbi_error_set(err, "cannot encode %s: %s", path, sink.msg);
        /* Given a valid canvas, libpng fails on its own only for lack of memory. */
        st = sink.io_errno || !strstr(sink.msg, "emory") ? LLMB_ERR_IO : LLMB_ERR_NOMEM;
        goto out;
    }
    /* Flush to the disk before the rename, or a crash could leave an empty
     * file under the final name. */
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno));
        st = LLMB_ERR_IO;
        goto out;
    }
    int rc = fclose(fp);
    fp = NULL;
    if (rc != 0) {
        llmbi_error_set(err, "cannot write %s: %s", path, strerror(errno));
        st = LLMB_ERR_IO;
        goto out;
    }
    if (rename(tmp, path) != 0) {
        llmbi_error_set(err, "cannot replace %s: %s", path, strerror(errno));
        st = LLMB_ERR_IO;
        goto out;
    }
    have_tmp = 0;
out:
    if (fp)
        fclose(fp);
    if (fd >= 0)
        close(fd);
    if (have_tmp)
        unlink(tmp);
    free(tmp);
    return st;
}
