/*
 * Names shared between the chart sources (canvas, font, bar chart) and their
 * tests, not exported (prefix llmbi_).
 */
#ifndef LLMB_CHART_INTERNAL_H
#define LLMB_CHART_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "llmbench/chart.h"

/*
 * A capsule: every point within distance r of the segment (x0,y0)-(x1,y1),
 * in canvas pixels. A stroke of width 2r with round caps; a zero-length
 * segment is a dot of radius r.
 */
typedef struct llmbi_capsule {
    double x0, y0, x1, y1, r;
} llmbi_capsule;

/*
 * Blend `rgba` over pixel (x, y) with its alpha scaled by `coverage` (0..1).
 * Out-of-canvas pixels are ignored.
 */
void llmbi_canvas_blend(llmb_canvas *c, long x, long y, uint32_t rgba, double coverage);

/*
 * Draw the union of n capsules as one shape: each pixel is blended once with
 * the largest coverage any capsule gives it, so joints of a polyline are not
 * darkened by overlapping anti-aliased edges.
 */
void llmbi_canvas_capsules(llmb_canvas *c, const llmbi_capsule *caps, size_t n, uint32_t rgba);

/* Font design metrics as fractions of the em size passed to the text calls. */
#define LLMBI_FONT_CAP_HEIGHT 0.70 /* capitals and digits */
#define LLMBI_FONT_X_HEIGHT   0.50 /* lowercase without ascenders */
#define LLMBI_FONT_ASCENT     0.75 /* b d f h k l, brackets */
#define LLMBI_FONT_DESCENT    0.25 /* g j p q y, brackets, below the baseline */

/** Stroke width in pixels of text drawn at `size` and `weight`. */
double llmbi_font_stroke_width(double size, double weight);

/*
 * The computed geometry of a bar chart, shared by the renderer and the tests
 * so a test can check pixels against the positions the renderer used.
 */
typedef struct llmbi_bar_layout {
    unsigned width, height;
    /* The plot rectangle, whole pixels: bars stand on plot_bottom (value 0)
     * and the axis maximum is at plot_top. */
    double plot_left, plot_top, plot_right, plot_bottom;
    double axis_max;      /* value at plot_top: a multiple of tick_step above the largest value */
    double tick_step;     /* 1, 2 or 5 times a power of ten */
    unsigned ticks;       /* gridlines including 0 and axis_max */
    double slot;          /* horizontal space per value, pixels */
    int dense;            /* bars narrower than a few pixels: drawn as a column envelope */
    unsigned label_every; /* category labels are drawn for every k-th value */
    int show_values;      /* value labels fit and are drawn */
    /* Text em sizes, pixels. */
    double title_size, label_size, tick_size, value_size;
    int any_failed; /* some value is NAN */
    double mean;    /* mean of the finite values; NAN when there are none */
} llmbi_bar_layout;

/* Validate `spec` and compute its layout; the errors are those of llmb_bar_chart_render. */
llmb_status llmbi_bar_chart_layout(const llmb_bar_chart *spec, llmbi_bar_layout *out,
                                   llmb_error *err);
/* The canvas y at which value v lies (0 at plot_bottom, axis_max at plot_top). */
double llmbi_bar_value_y(const llmbi_bar_layout *lay, double v);
/* The horizontal extent [*x0, *x1) of bar i in non-dense layouts (whole pixels). */
void llmbi_bar_x_range(const llmbi_bar_layout *lay, size_t i, double *x0, double *x1);

/* Walks the category labels that are drawn, left to right, after thinning
 * and overlap checks. Start from LLMBI_LABEL_ITER_INIT. */
typedef struct llmbi_label_iter {
    size_t next;       /* next candidate value index */
    double last_right; /* right end of the last label returned */
} llmbi_label_iter;
#define LLMBI_LABEL_ITER_INIT                                                                      \
    {                                                                                              \
        0, -1e300                                                                                  \
    }

/* The next label: returns 1 with its value index, centre x and advance
 * width (at lay->tick_size), or 0 when there are no more. */
int llmbi_bar_next_label(const llmb_bar_chart *spec, const llmbi_bar_layout *lay,
                         llmbi_label_iter *it, size_t *index, double *cx, double *width);

/* Bar chart colours the tests look for. */
#define LLMBI_CHART_GRID_RGBA   0xE3E3E3FFu
#define LLMBI_CHART_AXIS_RGBA   0x595959FFu
#define LLMBI_CHART_FAILED_RGBA 0xD62728FFu
#define LLMBI_CHART_MEAN_RGBA   0xDD8452FFu

#endif /* LLMB_CHART_INTERNAL_H */
