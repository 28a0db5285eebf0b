/*
 * The bar chart: layout (margins from the text sizes, a round value axis,
 * label thinning) and drawing on a canvas.
 *
 * Everything scales with the image: text sizes follow the smaller of
 * width / 1000 and height / 600, with floors that keep small charts legible.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chart_internal.h"
#include "internal.h"

#define WHITE          0xFFFFFFFFu
#define TITLE_RGBA     0x1A1A1AFFu
#define LABEL_RGBA     0x333333FFu
#define TICK_RGBA      0x555555FFu
#define TITLE_WEIGHT   1.5
#define TITLE_MIN_SIZE 10.0

/* Bars narrower than this many pixels per value are drawn as an envelope. */
#define DENSE_SLOT 3.0

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Unit scale of the image relative to the default 1000 x 600. */
static double ui_scale(const llmbi_bar_layout *lay)
{
    return fmin(lay->width / 1000.0, lay->height / 600.0);
}

static double pad_of(const llmbi_bar_layout *lay)
{
    return fmax(14.0 * ui_scale(lay), 6.0);
}

static double tick_gap_of(const llmbi_bar_layout *lay)
{
    return fmax(8.0 * ui_scale(lay), 5.0);
}

/* Line thickness of gridlines and the axis: whole pixels, so they stay sharp. */
static double hairline(const llmbi_bar_layout *lay)
{
    return fmax(1.0, floor(ui_scale(lay) + 0.5));
}

/* Thousands suffixes keep big tick labels short: 20k rather than 20000. */
typedef struct num_scale {
    double div;
    const char *suffix;
} num_scale;

static num_scale scale_for(double axis_max)
{
    if (axis_max >= 1e10)
        return (num_scale){1e9, "G"};
    if (axis_max >= 1e7)
        return (num_scale){1e6, "M"};
    if (axis_max >= 1e4)
        return (num_scale){1e3, "k"};
    return (num_scale){1.0, ""};
}

/* Decimals that show a step of `step` exactly: 0 for whole steps, 1 for 0.5... */
static int decimals_for_step(double step)
{
    if (step >= 1.0)
        return 0;
    return (int)clampd(ceil(-log10(step) - 1e-9), 0.0, 12.0);
}

/* Decimals for three significant digits of numbers around `v`. */
static int decimals_for_magnitude(double v)
{
    if (!(v > 0.0))
        return 0;
    return (int)clampd(2.0 - floor(log10(v)), 0.0, 6.0);
}

static void format_number(char *buf, size_t size, double v, num_scale sc, int decimals)
{
    /* Beyond the suffixes, or for steps too small to print plainly, let %g
     * choose an exponent form rather than print dozens of digits. */
    if (v != 0.0 && (v / sc.div >= 1e6 || decimals > 8)) {
        llmbi_format(buf, size, "%.3g", v);
        return;
    }
    llmbi_format(buf, size, "%.*f%s", decimals, v / sc.div, sc.suffix);
}

static void format_tick(const llmbi_bar_layout *lay, double v, char *buf, size_t size)
{
    num_scale sc = scale_for(lay->axis_max);
    format_number(buf, size, v, sc, decimals_for_step(lay->tick_step / sc.div));
}

/* The smallest 1, 2 or 5 times a power of ten that is at least `raw`. */
static double nice_step(double raw)
{
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double mant = f <= 1.0 + 1e-9 ? 1.0 : f <= 2.0 + 1e-9 ? 2.0 : f <= 5.0 + 1e-9 ? 5.0 : 10.0;
    return mant * mag;
}

static double next_nice(double step)
{
    double mag = pow(10.0, floor(log10(step) + 1e-9));
    double mant = step / mag;
    return (mant < 1.5 ? 2.0 : mant < 3.5 ? 5.0 : 10.0) * mag;
}

/* Value axis: the smallest round step giving at most `max_intervals`
 * intervals, ending at the first multiple of the step strictly above the
 * largest value, so the tallest bar never touches the top of the plot. */
static void value_axis(llmbi_bar_layout *lay, double max, double max_intervals)
{
    if (!(max > 0.0))
        max = 1.0;
    /* The first candidate gives at most one interval too many, the next
     * (at least twice as large) never does; the bound is only a guard. */
    double step = nice_step(max / max_intervals);
    double k = floor(max / step + 1e-9) + 1.0;
    for (int i = 0; i < 4 && k > max_intervals; i++) {
        step = next_nice(step);
        k = floor(max / step + 1e-9) + 1.0;
    }
    double top = k * step;
    if (!isfinite(top) || !isfinite(step) || step <= 0.0) {
        /* Only for values near DBL_MAX: give up on roundness, not on drawing. */
        step = max / 4.0;
        k = 4.0;
        top = max;
    }
    lay->tick_step = step;
    lay->axis_max = top;
    lay->ticks = (unsigned)k + 1;
}

static const char *category_label(const llmb_bar_chart *spec, size_t i, char *buf, size_t size)
{
    if (spec->labels)
        return spec->labels[i] ? spec->labels[i] : "";
    llmbi_format(buf, size, "%zu", i + 1);
    return buf;
}

static double widest_category(const llmb_bar_chart *spec, double size)
{
    char buf[32];
    if (!spec->labels)
        return llmb_text_width(category_label(spec, spec->n - 1, buf, sizeof buf), size);
    double w = 0.0;
    for (size_t i = 0; i < spec->n; i++)
        w = fmax(w, llmb_text_width(category_label(spec, i, buf, sizeof buf), size));
    return w;
}

/* Decimals shared by all value labels: none for whole numbers, else three
 * significant digits of the largest value. */
static int value_decimals(const llmb_bar_chart *spec, num_scale sc, double max)
{
    int whole = 1;
    for (size_t i = 0; i < spec->n && whole; i++)
        if (isfinite(spec->values[i]) &&
            spec->values[i] / sc.div != floor(spec->values[i] / sc.div))
            whole = 0;
    return whole ? 0 : decimals_for_magnitude(max / sc.div);
}

static double widest_value_label(const llmb_bar_chart *spec, double size, double max)
{
    num_scale sc = scale_for(max);
    int dec = value_decimals(spec, sc, max);
    double w = 0.0;
    char buf[48];
    for (size_t i = 0; i < spec->n; i++) {
        if (!isfinite(spec->values[i]))
            continue;
        format_number(buf, sizeof buf, spec->values[i], sc, dec);
        w = fmax(w, llmb_text_width(buf, size));
    }
    return w;
}

static int has_text(const char *s)
{
    return s && *s;
}

llmb_status llmbi_bar_chart_layout(const llmb_bar_chart *spec, llmbi_bar_layout *lay,
                                   llmb_error *err)
{
    if (!spec || !lay) {
        llmbi_error_set(err, "bar chart: no %s", !spec ? "chart" : "layout");
        return LLMB_ERR_INVALID;
    }
    if (spec->n == 0 || !spec->values) {
        llmbi_error_set(err, "bar chart: %s",
                        spec->n == 0 ? "no values (n is 0)" : "values is NULL");
        return LLMB_ERR_INVALID;
    }
    if (spec->width < LLMB_BAR_CHART_MIN_WIDTH || spec->width > LLMB_BAR_CHART_MAX_SIDE ||
        spec->height < LLMB_BAR_CHART_MIN_HEIGHT || spec->height > LLMB_BAR_CHART_MAX_SIDE) {
        llmbi_error_set(err, "bar chart: size %ux%u out of range (%ux%u to %ux%u)", spec->width,
                        spec->height, LLMB_BAR_CHART_MIN_WIDTH, LLMB_BAR_CHART_MIN_HEIGHT,
                        LLMB_BAR_CHART_MAX_SIDE, LLMB_BAR_CHART_MAX_SIDE);
        return LLMB_ERR_INVALID;
    }
    double max = 0.0, sum = 0.0;
    size_t finite = 0;
    memset(lay, 0, sizeof *lay);
    for (size_t i = 0; i < spec->n; i++) {
        double v = spec->values[i];
        if (isnan(v)) {
            lay->any_failed = 1;
            continue;
        }
        if (isinf(v) || v < 0.0) {
            llmbi_error_set(err, "bar chart: value %zu is %s (%g); values must be finite and >= 0",
                            i + 1, isinf(v) ? "infinite" : "negative", v);
            return LLMB_ERR_INVALID;
        }
        max = fmax(max, v);
        sum += v;
        finite++;
    }
    lay->mean = finite ? sum / (double)finite : NAN;
    if (!isfinite(lay->mean) && finite)
        lay->mean = NAN; /* a sum beyond DBL_MAX: no mean line rather than a wrong one */

    lay->width = spec->width;
    lay->height = spec->height;
    double s = ui_scale(lay);
    lay->title_size = fmax(19.0 * s, 12.0);
    lay->label_size = fmax(14.0 * s, 10.5);
    lay->tick_size = fmax(12.5 * s, 10.0);
    lay->value_size = fmax(11.5 * s, 9.5);
    double pad = pad_of(lay), tick_gap = tick_gap_of(lay);

    /* Top: a row for the title and the "failed" legend, then headroom for
     * the value labels of bars that reach close to the axis maximum. */
    double top = pad;
    if (has_text(spec->title))
        top += lay->title_size;
    else if (lay->any_failed || (spec->show_mean && finite))
        top += lay->tick_size;
    top += fmax(lay->value_size * 1.3, 10.0 * s);

    /* Bottom: category labels, then the x label. */
    double bottom = pad + tick_gap + LLMBI_FONT_CAP_HEIGHT * lay->tick_size;
    if (spec->labels)
        bottom += LLMBI_FONT_DESCENT * lay->tick_size;
    if (has_text(spec->x_label))
        bottom += (0.7 + LLMBI_FONT_CAP_HEIGHT + LLMBI_FONT_DESCENT) * lay->label_size;
    lay->plot_top = round(top);
    lay->plot_bottom = round(spec->height - bottom);
    if (lay->plot_bottom - lay->plot_top < 8.0)
        lay->plot_bottom = lay->plot_top + 8.0; /* only reachable with absurd aspect ratios */

    double plot_h = lay->plot_bottom - lay->plot_top;
    value_axis(lay, max, clampd(floor(plot_h / (4.5 * lay->tick_size)), 3.0, 10.0));

    double tick_w = 0.0;
    char buf[48];
    for (unsigned t = 0; t < lay->ticks; t++) {
        format_tick(lay, t * lay->tick_step, buf, sizeof buf);
        tick_w = fmax(tick_w, llmb_text_width(buf, lay->tick_size));
    }
    double left = pad + tick_w + tick_gap;
    if (has_text(spec->y_label))
        left += (LLMBI_FONT_ASCENT + LLMBI_FONT_DESCENT + 0.5) * lay->label_size;
    /* Room for half of the last label beyond the last bar; other labels
     * that would cross the edge are left out when drawing. */
    double last_w =
        llmb_text_width(category_label(spec, spec->n - 1, buf, sizeof buf), lay->tick_size);
    double right = fmax(pad * 1.5, last_w / 2.0 + pad * 0.5);
    lay->plot_left = round(left);
    lay->plot_right = round(spec->width - right);
    if (lay->plot_right - lay->plot_left < 8.0)
        lay->plot_right = lay->plot_left + 8.0;

    lay->slot = (lay->plot_right - lay->plot_left) / (double)spec->n;
    lay->dense = lay->slot < DENSE_SLOT;

    /* Label every k-th value, k from 1, 2, 5, 10, 20, ..., so that labels
     * are at least a small gap apart; the drawing also checks each one. */
    double need = widest_category(spec, lay->tick_size) + fmax(0.8 * lay->tick_size, 6.0);
    double k = 1.0;
    for (int m = 0; k * lay->slot < need && k < (double)spec->n; m++)
        k = (m % 3 == 0 ? 2.0 : m % 3 == 1 ? 2.5 : 2.0) * k;
    lay->label_every = (unsigned)fmin(fmin(k, (double)spec->n), 4e9);

    if (spec->show_values && !lay->dense && finite) {
        double room = lay->slot - fmax(2.0, 0.15 * lay->slot);
        double w = widest_value_label(spec, lay->value_size, max);
        if (w > room && lay->value_size * 0.85 >= 9.0) {
            lay->value_size *= 0.85;
            w = widest_value_label(spec, lay->value_size, max);
        }
        lay->show_values = w <= room;
    }
    return LLMB_OK;
}

double llmbi_bar_value_y(const llmbi_bar_layout *lay, double v)
{
    return lay->plot_bottom - v / lay->axis_max * (lay->plot_bottom - lay->plot_top);
}

/* Bar width in whole pixels: the same for every bar, at least one pixel of
 * gap to the next, and not absurdly wide when there are only a few bars. */
static double bar_width(const llmbi_bar_layout *lay)
{
    double w = fmin(floor(lay->slot * 0.78), floor(lay->slot) - 1.0);
    w = fmin(w, fmax(8.0, floor((lay->plot_right - lay->plot_left) * 0.16)));
    return fmax(w, 1.0);
}

void llmbi_bar_x_range(const llmbi_bar_layout *lay, size_t i, double *x0, double *x1)
{
    double w = bar_width(lay);
    double centre = lay->plot_left + ((double)i + 0.5) * lay->slot;
    *x0 = round(centre - w / 2.0);
    *x1 = *x0 + w;
}

static void draw_bars(llmb_canvas *c, const llmb_bar_chart *spec, const llmbi_bar_layout *lay)
{
    double base = lay->plot_bottom;
    if (!lay->dense) {
        for (size_t i = 0; i < spec->n; i++) {
            double v = spec->values[i], x0, x1;
            if (!isfinite(v) || v <= 0.0)
                continue;
            llmbi_bar_x_range(lay, i, &x0, &x1);
            double y = llmbi_bar_value_y(lay, v);
            llmb_canvas_fill_rect(c, x0, y, x1 - x0, base - y, spec->bar_color);
        }
        return;
    }
    /* Too many bars for the pixels: each pixel column shows the largest
     * value among the bars it touches, so peaks stay visible. */
    for (double col = lay->plot_left; col < lay->plot_right; col += 1.0) {
        double lo = (col - lay->plot_left) / lay->slot;
        double hi = (col + 1.0 - lay->plot_left) / lay->slot;
        size_t end = hi < (double)spec->n ? (size_t)ceil(hi) : spec->n;
        double max = -1.0;
        for (size_t i = (size_t)floor(lo); i < end; i++)
            if (isfinite(spec->values[i]))
                max = fmax(max, spec->values[i]);
        if (max > 0.0) {
            double y = llmbi_bar_value_y(lay, max);
            llmb_canvas_fill_rect(c, col, y, 1.0, base - y, spec->bar_color);
        }
    }
}

static void draw_cross(llmb_canvas *c, double cx, double cy, double r, double width, uint32_t rgba)
{
    llmbi_capsule k[2] = {{cx - r, cy - r, cx + r, cy + r, width / 2.0},
                          {cx - r, cy + r, cx + r, cy - r, width / 2.0}};
    llmbi_canvas_capsules(c, k, 2, rgba);
}

static double cross_radius(const llmbi_bar_layout *lay)
{
    double s = ui_scale(lay);
    /* Never smaller than a legible mark, even if crosses of dense bars overlap. */
    return clampd(lay->slot * 0.3, fmax(2.5 * s, 2.5), fmax(5.0 * s, 3.5));
}

static double cross_width(double r)
{
    return fmax(1.25, r * 0.45);
}

static void draw_failed(llmb_canvas *c, const llmb_bar_chart *spec, const llmbi_bar_layout *lay)
{
    double r = cross_radius(lay), w = cross_width(r);
    double cy = lay->plot_bottom - r - w / 2.0 - fmax(2.0 * ui_scale(lay), 1.5);
    for (size_t i = 0; i < spec->n; i++)
        if (isnan(spec->values[i]))
            draw_cross(c, lay->plot_left + ((double)i + 0.5) * lay->slot, cy, r, w,
                       LLMBI_CHART_FAILED_RGBA);
}

static void draw_value_axis(llmb_canvas *c, const llmbi_bar_layout *lay)
{
    double th = hairline(lay);
    char buf[48];
    for (unsigned t = 0; t < lay->ticks; t++) {
        double y = llmbi_bar_value_y(lay, t * lay->tick_step);
        if (t > 0)
            llmb_canvas_fill_rect(c, lay->plot_left, floor(y), lay->plot_right - lay->plot_left, th,
                                  LLMBI_CHART_GRID_RGBA);
        format_tick(lay, t * lay->tick_step, buf, sizeof buf);
        llmb_canvas_text(c, lay->plot_left - tick_gap_of(lay), y + 0.35 * lay->tick_size, buf,
                         lay->tick_size, LLMB_ALIGN_RIGHT, 0.0, TICK_RGBA);
    }
}

int llmbi_bar_next_label(const llmb_bar_chart *spec, const llmbi_bar_layout *lay,
                         llmbi_label_iter *it, size_t *index, double *cx, double *width)
{
    double gap = fmax(0.5 * lay->tick_size, 4.0), edge = 2.0;
    size_t k = lay->label_every;
    char buf[32], next[32];
    while (it->next < spec->n) {
        size_t i = it->next;
        /* The first value, then every k-th: requests 1, 20, 40... */
        it->next = i == 0 && k > 1 ? k - 1 : i + k;
        if (it->next <= i)
            it->next = spec->n; /* k is at least 1; this guards the overflow */
        const char *label = category_label(spec, i, buf, sizeof buf);
        double w = llmb_text_width(label, lay->tick_size);
        double x = lay->plot_left + ((double)i + 0.5) * lay->slot;
        if (x - w / 2.0 < it->last_right + gap || x - w / 2.0 < edge ||
            x + w / 2.0 > lay->width - edge)
            continue;
        if (i == 0 && k > 1 && k - 1 < spec->n) {
            /* Drop the first label rather than the k-th when the two would be too close. */
            double wk =
                llmb_text_width(category_label(spec, k - 1, next, sizeof next), lay->tick_size);
            if ((double)(k - 1) * lay->slot < (w + wk) / 2.0 + gap)
                continue;
        }
        it->last_right = x + w / 2.0;
        *index = i;
        *cx = x;
        *width = w;
        return 1;
    }
    return 0;
}

static void draw_categories(llmb_canvas *c, const llmb_bar_chart *spec, const llmbi_bar_layout *lay)
{
    double baseline = lay->plot_bottom + tick_gap_of(lay) + LLMBI_FONT_CAP_HEIGHT * lay->tick_size;
    llmbi_label_iter it = LLMBI_LABEL_ITER_INIT;
    size_t i;
    double cx, w;
    char buf[32];
    while (llmbi_bar_next_label(spec, lay, &it, &i, &cx, &w))
        llmb_canvas_text(c, cx, baseline, category_label(spec, i, buf, sizeof buf), lay->tick_size,
                         LLMB_ALIGN_CENTER, 0.0, TICK_RGBA);
}

static void draw_values(llmb_canvas *c, const llmb_bar_chart *spec, const llmbi_bar_layout *lay,
                        int backing)
{
    double max = 0.0;
    for (size_t i = 0; i < spec->n; i++)
        if (isfinite(spec->values[i]))
            max = fmax(max, spec->values[i]);
    num_scale sc = scale_for(max);
    int dec = value_decimals(spec, sc, max);
    double lift = fmax(4.0 * ui_scale(lay), 3.0);
    char buf[48];
    for (size_t i = 0; i < spec->n; i++) {
        double v = spec->values[i];
        if (!isfinite(v))
            continue;
        format_number(buf, sizeof buf, v, sc, dec);
        double cx = lay->plot_left + ((double)i + 0.5) * lay->slot;
        double baseline = llmbi_bar_value_y(lay, v) - lift;
        if (backing) {
            /* Keeps the label readable where the mean line runs through it. */
            double w = llmb_text_width(buf, lay->value_size), m = 0.15 * lay->value_size;
            llmb_canvas_fill_rect(
                c, cx - w / 2.0 - m, baseline - LLMBI_FONT_CAP_HEIGHT * lay->value_size - m,
                w + 2.0 * m, LLMBI_FONT_CAP_HEIGHT * lay->value_size + 2.0 * m, 0xFFFFFFD8u);
        }
        llmb_canvas_text(c, cx, baseline, buf, lay->value_size, LLMB_ALIGN_CENTER, 0.0, LABEL_RGBA);
    }
}

static double mean_thickness(const llmbi_bar_layout *lay)
{
    return fmax(1.5, 2.0 * ui_scale(lay));
}

/* A dashed horizontal line from x0 to x1 centred on y. */
static void dashed(llmb_canvas *c, const llmbi_bar_layout *lay, double x0, double x1, double y)
{
    double s = ui_scale(lay), th = mean_thickness(lay);
    double dash = fmax(7.0 * s, 4.0), space = fmax(4.0 * s, 3.0);
    for (double x = x0; x < x1; x += dash + space)
        llmb_canvas_fill_rect(c, x, y - th / 2.0, fmin(dash, x1 - x), th, LLMBI_CHART_MEAN_RGBA);
}

static void format_mean(const llmbi_bar_layout *lay, char *buf, size_t size)
{
    num_scale sc = scale_for(lay->mean);
    char num[48];
    format_number(num, sizeof num, lay->mean, sc, decimals_for_magnitude(lay->mean / sc.div));
    llmbi_format(buf, size, "mean %s", num);
}

/*
 * The legend, right-aligned on the title row: a dashed sample with the mean
 * and a cross for failed requests. Kept out of the plot so it never hides a
 * bar or a value label. Returns its left edge (plot_right when empty); with
 * c NULL it only measures.
 */
static double legend(llmb_canvas *c, const llmbi_bar_layout *lay, double baseline, int mean,
                     int failed)
{
    double size = lay->tick_size, s = ui_scale(lay);
    double mid = baseline - 0.5 * LLMBI_FONT_X_HEIGHT * size;
    double x = lay->plot_right, sample_gap = 0.4 * size, entry_gap = 1.2 * size;
    if (mean) {
        char text[64];
        format_mean(lay, text, sizeof text);
        x -= llmb_text_width(text, size);
        llmb_canvas_text(c, x, baseline, text, size, LLMB_ALIGN_LEFT, 0.0, LABEL_RGBA);
        double len = fmax(18.0 * s, 12.0);
        x -= sample_gap + len;
        if (c)
            dashed(c, lay, x, x + len, mid);
        x -= entry_gap;
    }
    if (failed) {
        double r = fmax(5.0 * s, 3.5), w = cross_width(r);
        x -= llmb_text_width("failed", size);
        llmb_canvas_text(c, x, baseline, "failed", size, LLMB_ALIGN_LEFT, 0.0, LABEL_RGBA);
        x -= sample_gap + r;
        if (c)
            draw_cross(c, x, mid, r, w, LLMBI_CHART_FAILED_RGBA);
        x -= r + w;
    }
    return x;
}

/* The longest prefix of `text` that, followed by "...", fits in `avail`
 * pixels at the given size and weight. */
static const char *shorten(const char *text, double size, double weight, double avail, char *buf,
                           size_t cap)
{
    size_t len = strlen(text);
    if (len > cap - 4)
        len = cap - 4;
    for (; len > 0; len--) {
        memcpy(buf, text, len);
        memcpy(buf + len, "...", 4);
        if (llmb_text_width_weighted(buf, size, weight) <= avail)
            return buf;
    }
    return "";
}

/* Fit a label into `avail` pixels: shrink it down to `min_size`, then cut it
 * short. Returns the text to draw (the original or `buf`); sets *size. */
static const char *fit_label(const char *text, double *size, double min_size, double weight,
                             double avail, char *buf, size_t cap)
{
    double w = llmb_text_width_weighted(text, *size, weight);
    if (w <= avail || avail <= 0.0)
        return text;
    *size = fmax(*size * avail / w, fmin(min_size, *size));
    if (llmb_text_width_weighted(text, *size, weight) <= avail)
        return text;
    return shorten(text, *size, weight, avail, buf, cap);
}

#define LABEL_MIN_SIZE 9.0

static void draw_texts(llmb_canvas *c, const llmb_bar_chart *spec, const llmbi_bar_layout *lay)
{
    double pad = pad_of(lay);
    char cut[256];

    /* Axis labels: shrunk or cut short rather than run off the canvas. */
    double xl_size = lay->label_size, xl_right = lay->plot_left;
    double xl_baseline = spec->height - pad - LLMBI_FONT_DESCENT * xl_size;
    if (has_text(spec->x_label)) {
        const char *text = fit_label(spec->x_label, &xl_size, LABEL_MIN_SIZE, 1.0,
                                     spec->width - 2.0 * pad, cut, sizeof cut);
        double w = llmb_text_width(text, xl_size);
        double cx = clampd((lay->plot_left + lay->plot_right) / 2.0, pad + w / 2.0,
                           spec->width - pad - w / 2.0);
        llmb_canvas_text(c, cx, xl_baseline, text, xl_size, LLMB_ALIGN_CENTER, 0.0, LABEL_RGBA);
        xl_right = cx + w / 2.0 + pad;
    }
    if (has_text(spec->y_label)) {
        double size = lay->label_size;
        const char *text = fit_label(spec->y_label, &size, LABEL_MIN_SIZE, 1.0,
                                     spec->height - 2.0 * pad, cut, sizeof cut);
        double w = llmb_text_width(text, size);
        double cy = clampd((lay->plot_top + lay->plot_bottom) / 2.0, pad + w / 2.0,
                           spec->height - pad - w / 2.0);
        llmb_canvas_text(c, pad + LLMBI_FONT_ASCENT * lay->label_size, cy, text, size,
                         LLMB_ALIGN_CENTER, 90.0, LABEL_RGBA);
    }

    double row_size = has_text(spec->title) ? lay->title_size : lay->tick_size;
    double row_baseline = pad + LLMBI_FONT_CAP_HEIGHT * row_size;
    int mean = spec->show_mean && isfinite(lay->mean), failed = lay->any_failed;
    int low_mean = 0, low_failed = 0;
    if (has_text(spec->title)) {
        /* On a narrow chart the title keeps at least 60% of the row. Legend
         * entries that do not fit beside it move to the x label's row, or
         * are left out if they do not fit there either. */
        double row = spec->width - 2.0 * pad;
        double need =
            fmin(llmb_text_width_weighted(spec->title, lay->title_size, TITLE_WEIGHT), 0.6 * row);
        if (mean && legend(NULL, lay, row_baseline, mean, failed) < pad + need + 2.0 * pad)
            mean = 0, low_mean = 1;
        if (failed && legend(NULL, lay, row_baseline, mean, failed) < pad + need + 2.0 * pad)
            failed = 0, low_failed = 1;
    }
    if (low_mean || low_failed) {
        if (low_mean && low_failed && legend(NULL, lay, xl_baseline, 1, 1) < xl_right)
            low_mean = 0; /* both do not fit: keep the one about failures */
        if (legend(NULL, lay, xl_baseline, low_mean, low_failed) >= xl_right)
            legend(c, lay, xl_baseline, low_mean, low_failed);
    }
    double legend_left = legend(c, lay, row_baseline, mean, failed);

    if (has_text(spec->title)) {
        double size = lay->title_size;
        double right_limit =
            legend_left < lay->plot_right ? legend_left - 2.0 * pad : spec->width - pad;
        const char *title = fit_label(spec->title, &size, TITLE_MIN_SIZE, TITLE_WEIGHT,
                                      right_limit - pad, cut, sizeof cut);
        double w = llmb_text_width_weighted(title, size, TITLE_WEIGHT);
        /* Centred over the plot, pushed left of the legend, kept on the canvas. */
        double cx = fmax(fmin((lay->plot_left + lay->plot_right) / 2.0, right_limit - w / 2.0),
                         pad + w / 2.0);
        llmb_canvas_text_weighted(c, cx, row_baseline, title, size, TITLE_WEIGHT, LLMB_ALIGN_CENTER,
                                  0.0, TITLE_RGBA);
    }
}

llmb_status llmb_bar_chart_render(const llmb_bar_chart *spec, llmb_canvas **out, llmb_error *err)
{
    llmbi_bar_layout lay;
    if (!out) {
        llmbi_error_set(err, "bar chart: no output canvas pointer");
        return LLMB_ERR_INVALID;
    }
    *out = NULL;
    llmb_status st = llmbi_bar_chart_layout(spec, &lay, err);
    if (st != LLMB_OK)
        return st;
    llmb_canvas *c = llmb_canvas_new(lay.width, lay.height, WHITE);
    if (!c) {
        llmbi_error_set(err, "bar chart: out of memory for a %ux%u image", lay.width, lay.height);
        return LLMB_ERR_NOMEM;
    }
    draw_value_axis(c, &lay);
    draw_bars(c, spec, &lay);
    draw_failed(c, spec, &lay);
    llmb_canvas_fill_rect(c, lay.plot_left, lay.plot_bottom, lay.plot_right - lay.plot_left,
                          hairline(&lay), LLMBI_CHART_AXIS_RGBA);
    int mean_line = spec->show_mean && isfinite(lay.mean);
    if (mean_line)
        dashed(c, &lay, lay.plot_left, lay.plot_right, llmbi_bar_value_y(&lay, lay.mean));
    if (lay.show_values)
        draw_values(c, spec, &lay, mean_line);
    draw_categories(c, spec, &lay);
    draw_texts(c, spec, &lay);
    *out = c;
    return LLMB_OK;
}
