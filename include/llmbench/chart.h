/*
 * libllmbench: charts. An RGBA canvas with anti-aliased primitives and text,
 * chart types drawn on it, and PNG output.
 *
 * Colours are 0xRRGGBBAA. Coordinates are in pixels, doubles, origin at the
 * top-left corner, y growing downwards; a pixel (x, y) covers the square
 * [x, x+1) x [y, y+1). Drawing outside the canvas is clipped, never an error.
 */
#ifndef LLMBENCH_CHART_H
#define LLMBENCH_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmb_canvas llmb_canvas;

/** Horizontal anchoring of text at the given x. */
typedef enum llmb_align { LLMB_ALIGN_LEFT = 0, LLMB_ALIGN_CENTER, LLMB_ALIGN_RIGHT } llmb_align;

/**
 * A new canvas filled with `background`. Width and height 1..16384.
 * The caller owns it; free with llmb_canvas_free. NULL on bad size or no memory.
 */
LLMB_API llmb_canvas *llmb_canvas_new(unsigned width, unsigned height, uint32_t background);
/** Free a canvas; NULL does nothing. */
LLMB_API void llmb_canvas_free(llmb_canvas *c);
LLMB_API unsigned llmb_canvas_width(const llmb_canvas *c);
LLMB_API unsigned llmb_canvas_height(const llmb_canvas *c);
/**
 * The pixels: height rows of width RGBA quadruplets (8 bits each, not
 * premultiplied), top row first. Owned by the canvas; valid until it is freed.
 */
LLMB_API const uint8_t *llmb_canvas_pixels(const llmb_canvas *c);

/** Fill an axis-aligned rectangle; fractional edges are anti-aliased. */
LLMB_API void llmb_canvas_fill_rect(llmb_canvas *c, double x, double y, double w, double h,
                                    uint32_t rgba);
/** A straight line of the given width (pixels) with round caps, anti-aliased. */
LLMB_API void llmb_canvas_line(llmb_canvas *c, double x0, double y0, double x1, double y1,
                               double width, uint32_t rgba);
/**
 * Draw text with the built-in stroke font: printable ASCII as glyphs, any
 * other character (a whole UTF-8 sequence, or a stray byte) as a box. `size` is the em height in
 * pixels, like a CSS font-size: capitals and digits are 0.70 * size tall, lowercase x-height is
 * 0.50 * size, ascenders reach 0.75 * size above the baseline and descenders (g j p q y) 0.25 *
 * size below it; ink may exceed these by half a stroke width. `x`, `y` are the anchor: `align` says
 * where x falls on the text, and y is the baseline. `angle_deg` rotates the text about the anchor,
 * counter-clockwise (90 = reading upwards, for a vertical axis label). Text at a multiple of 90
 * degrees is fitted to the pixel grid for sharpness. `text` is only read during the call; NULL
 * text, a non-positive size or non-finite coordinates draw nothing.
 */
LLMB_API void llmb_canvas_text(llmb_canvas *c, double x, double y, const char *text, double size,
                               llmb_align align, double angle_deg, uint32_t rgba);
/**
 * As llmb_canvas_text with a stroke weight: 1 is the regular weight, about
 * 1.6 a bold one for titles. Heavier weights also widen the spacing, so
 * measure such text with llmb_text_width_weighted.
 */
LLMB_API void llmb_canvas_text_weighted(llmb_canvas *c, double x, double y, const char *text,
                                        double size, double weight, llmb_align align,
                                        double angle_deg, uint32_t rgba);
/**
 * Advance width in pixels of `text` drawn at `size`, as llmb_canvas_text would;
 * the ink lies within [x, x + width] of a left-aligned anchor x. 0 for NULL.
 */
LLMB_API double llmb_text_width(const char *text, double size);
/** Advance width of `text` drawn by llmb_canvas_text_weighted at `size` and `weight`. */
LLMB_API double llmb_text_width_weighted(const char *text, double size, double weight);

/**
 * Encode the canvas as an 8-bit RGBA PNG file at `path` (created or replaced).
 * The image is written to a temporary file in the same directory and renamed
 * over `path` only when complete, so a failure never leaves a partial image
 * there (nor a temporary file). LLMB_ERR_INVALID for a NULL canvas or an empty
 * path, LLMB_ERR_IO (with the system's reason in *err) when the file cannot
 * be written, LLMB_ERR_NOMEM when memory runs out.
 */
LLMB_API llmb_status llmb_canvas_write_png(const llmb_canvas *c, const char *path, llmb_error *err);

/** A bar chart: one bar per value, in order. */
typedef struct llmb_bar_chart {
    unsigned width, height;    /**< pixels (default 1000 x 600); limits below */
    const char *title;         /**< drawn at the top; NULL or "" for none */
    const char *x_label;       /**< below the x axis; NULL for none */
    const char *y_label;       /**< left of the y axis, reading upwards; NULL for none */
    const double *values;      /**< n values; NAN marks a missing one (drawn as a marker) */
    const char *const *labels; /**< n category labels under the bars; NULL: 1..n */
    size_t n;
    uint32_t bar_color; /**< default a calm blue */
    int show_mean;      /**< draw a dashed line at the mean of the finite values */
    int show_values;    /**< print each value above its bar when they fit */
} llmb_bar_chart;

/** Accepted image sizes of a bar chart, pixels. */
#define LLMB_BAR_CHART_MIN_WIDTH  160
#define LLMB_BAR_CHART_MIN_HEIGHT 120
#define LLMB_BAR_CHART_MAX_SIDE   8192

/** Default initializer for llmb_bar_chart; set values and n, the rest is optional. */
#define LLMB_BAR_CHART_INIT                                                                        \
    {                                                                                              \
        1000, 600, NULL, NULL, NULL, NULL, NULL, 0, 0x4C72B0FFu, 1, 1                              \
    }

/**
 * Render a bar chart into a new canvas (*out, owned by the caller; free it
 * with llmb_canvas_free). The value axis starts at 0 and ends at a round
 * number above the largest value, with ticks and gridlines at round steps
 * (1, 2 or 5 times a power of ten). NAN values are drawn as a red cross on
 * the baseline, with a "failed" legend entry. Category labels are thinned
 * out so they never overlap; value labels are drawn only when they fit. The
 * spec and everything it points to are only read during the call. Fails
 * with LLMB_ERR_INVALID (and a text in *err) when spec, out or values is
 * NULL, n is 0, the size is out of range, or a value is negative or
 * infinite; LLMB_ERR_NOMEM when memory runs out. *out is NULL on failure.
 */
LLMB_API llmb_status llmb_bar_chart_render(const llmb_bar_chart *spec, llmb_canvas **out,
                                           llmb_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LLMBENCH_CHART_H */
