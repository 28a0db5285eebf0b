/*
 * The RGBA canvas and its anti-aliased primitives: rectangles with exact area
 * coverage and capsules (round-capped strokes) with coverage from the
 * distance of each pixel centre to the stroke's centre line.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chart_internal.h"

#define CANVAS_MAX_SIDE 16384u

/* Capsule sets are rasterized in square tiles whose coverage mask lives on
 * the stack, so text and polylines never need a heap allocation. */
#define TILE 64

struct llmb_canvas {
    unsigned width, height;
    uint8_t *px;
};

llmb_canvas *llmb_canvas_new(unsigned width, unsigned height, uint32_t background)
{
    if (width < 1 || height < 1 || width > CANVAS_MAX_SIDE || height > CANVAS_MAX_SIDE)
        return NULL;
    llmb_canvas *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    size_t count = (size_t)width * height;
    c->px = malloc(count * 4);
    if (!c->px) {
        free(c);
        return NULL;
    }
    c->width = width;
    c->height = height;
    uint8_t bg[4] = {(uint8_t)(background >> 24), (uint8_t)(background >> 16),
                     (uint8_t)(background >> 8), (uint8_t)background};
    for (size_t i = 0; i < count; i++)
        memcpy(c->px + i * 4, bg, 4);
    return c;
}

void llmb_canvas_free(llmb_canvas *c)
{
    if (!c)
        return;
    free(c->px);
    free(c);
}

unsigned llmb_canvas_width(const llmb_canvas *c)
{
    return c ? c->width : 0;
}

unsigned llmb_canvas_height(const llmb_canvas *c)
{
    return c ? c->height : 0;
}

const uint8_t *llmb_canvas_pixels(const llmb_canvas *c)
{
    return c ? c->px : NULL;
}

static uint8_t to_byte(double v)
{
    if (v <= 0.0)
        return 0;
    if (v >= 255.0)
        return 255;
    return (uint8_t)(v + 0.5);
}

/* Straight (not premultiplied) alpha "source over destination". */
static void blend_px(uint8_t *p, uint32_t rgba, double coverage)
{
    double sa = (double)(rgba & 0xFFu) / 255.0 * coverage;
    if (!(sa > 0.0))
        return;
    uint8_t sr = (uint8_t)(rgba >> 24), sg = (uint8_t)(rgba >> 16), sb = (uint8_t)(rgba >> 8);
    if (sa >= 1.0) {
        p[0] = sr;
        p[1] = sg;
        p[2] = sb;
        p[3] = 255;
        return;
    }
    double da = p[3] / 255.0;
    double keep = da * (1.0 - sa);
    double oa = sa + keep;
    p[0] = to_byte((sr * sa + p[0] * keep) / oa);
    p[1] = to_byte((sg * sa + p[1] * keep) / oa);
    p[2] = to_byte((sb * sa + p[2] * keep) / oa);
    p[3] = to_byte(oa * 255.0);
}

void llmbi_canvas_blend(llmb_canvas *c, long x, long y, uint32_t rgba, double coverage)
{
    if (!c || x < 0 || y < 0 || x >= (long)c->width || y >= (long)c->height)
        return;
    blend_px(c->px + ((size_t)y * c->width + (size_t)x) * 4, rgba, coverage);
}

/* Clamp a pixel-space interval [lo, hi) to [0, limit) as whole pixel indices,
 * before any conversion to an integer type can overflow. Returns 0 if empty. */
static int clip_span(double lo, double hi, unsigned limit, long *first, long *end)
{
    if (!(lo < hi) || hi <= 0.0 || lo >= (double)limit)
        return 0;
    if (lo < 0.0)
        lo = 0.0;
    if (hi > (double)limit)
        hi = (double)limit;
    *first = (long)floor(lo);
    *end = (long)ceil(hi);
    return *first < *end;
}

/* The part of pixel [p, p+1) covered by the interval [lo, hi). */
static double overlap(long p, double lo, double hi)
{
    double a = lo > (double)p ? lo : (double)p;
    double b = hi < (double)(p + 1) ? hi : (double)(p + 1);
    return b > a ? b - a : 0.0;
}

void llmb_canvas_fill_rect(llmb_canvas *c, double x, double y, double w, double h, uint32_t rgba)
{
    if (!c || !(w > 0.0) || !(h > 0.0) || !isfinite(x) || !isfinite(y) || !isfinite(w) ||
        !isfinite(h))
        return;
    double x1 = x + w, y1 = y + h;
    long px0, px1, py0, py1;
    if (!clip_span(x, x1, c->width, &px0, &px1) || !clip_span(y, y1, c->height, &py0, &py1))
        return;
    for (long py = py0; py < py1; py++) {
        double cy = overlap(py, y, y1);
        uint8_t *row = c->px + (size_t)py * c->width * 4;
        for (long px = px0; px < px1; px++)
            blend_px(row + (size_t)px * 4, rgba, cy * overlap(px, x, x1));
    }
}

static double dist_to_segment(double px, double py, const llmbi_capsule *k)
{
    double dx = k->x1 - k->x0, dy = k->y1 - k->y0;
    double len2 = dx * dx + dy * dy;
    double t = 0.0;
    if (len2 > 1e-12) {
        t = ((px - k->x0) * dx + (py - k->y0) * dy) / len2;
        t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
    }
    double ex = px - (k->x0 + t * dx), ey = py - (k->y0 + t * dy);
    return sqrt(ex * ex + ey * ey);
}

/*
 * Coverage of the pixel whose centre lies at distance d from the centre line
 * of a stroke of radius r: a one-pixel linear ramp centred on the edge, which
 * is exact for edges parallel to the pixel grid. Strokes thinner than a pixel
 * are drawn one pixel wide at proportionally lower opacity, so they fade
 * instead of breaking up.
 */
static double capsule_coverage(double d, double r)
{
    double scale = 1.0;
    if (r < 0.5) {
        scale = 2.0 * r;
        r = 0.5;
    }
    double cov = r + 0.5 - d;
    if (cov <= 0.0)
        return 0.0;
    return (cov >= 1.0 ? 1.0 : cov) * scale;
}

/*
 * Clip the centre line of k to the canvas grown by the stroke radius and a
 * margin (Liang-Barsky), into *out. The parts cut off cannot touch a canvas
 * pixel, and what remains has coordinates of canvas magnitude, so distances
 * stay accurate however far away the caller's end points were.
 * Returns 0 if nothing of the capsule can be visible.
 */
static int clip_capsule(const llmb_canvas *c, const llmbi_capsule *k, llmbi_capsule *out)
{
    if (!isfinite(k->x0) || !isfinite(k->y0) || !isfinite(k->x1) || !isfinite(k->y1) ||
        !(k->r > 0.0) || !isfinite(k->r))
        return 0;
    double m = k->r + 2.0;
    double dx = k->x1 - k->x0, dy = k->y1 - k->y0;
    if (!isfinite(dx) || !isfinite(dy))
        return 0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {k->x0 + m, (double)c->width + m - k->x0, k->y0 + m,
                         (double)c->height + m - k->y0};
    double t0 = 0.0, t1 = 1.0;
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0.0) {
            if (q[i] < 0.0)
                return 0;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0.0)
            t0 = t > t0 ? t : t0;
        else
            t1 = t < t1 ? t : t1;
    }
    if (t0 > t1)
        return 0;
    *out =
        (llmbi_capsule){k->x0 + t0 * dx, k->y0 + t0 * dy, k->x0 + t1 * dx, k->y0 + t1 * dy, k->r};
    return 1;
}

/* Bounds of the pixels a (clipped) capsule can touch, clipped to the canvas. */
static int capsule_span(const llmb_canvas *c, const llmbi_capsule *k, long *x0, long *x1, long *y0,
                        long *y1)
{
    double m = k->r + 1.0;
    double lx = fmin(k->x0, k->x1) - m, hx = fmax(k->x0, k->x1) + m;
    double ly = fmin(k->y0, k->y1) - m, hy = fmax(k->y0, k->y1) + m;
    return clip_span(lx, hx, c->width, x0, x1) && clip_span(ly, hy, c->height, y0, y1);
}

void llmbi_canvas_capsules(llmb_canvas *c, const llmbi_capsule *caps, size_t n, uint32_t rgba)
{
    if (!c || !caps || n == 0)
        return;
    long bx0 = 0, bx1 = 0, by0 = 0, by1 = 0;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        llmbi_capsule k;
        long x0, x1, y0, y1;
        if (!clip_capsule(c, &caps[i], &k) || !capsule_span(c, &k, &x0, &x1, &y0, &y1))
            continue;
        if (!any) {
            bx0 = x0, bx1 = x1, by0 = y0, by1 = y1;
            any = 1;
            continue;
        }
        bx0 = x0 < bx0 ? x0 : bx0;
        by0 = y0 < by0 ? y0 : by0;
        bx1 = x1 > bx1 ? x1 : bx1;
        by1 = y1 > by1 ? y1 : by1;
    }
    if (!any)
        return;

    float mask[TILE * TILE];
    for (long ty = by0; ty < by1; ty += TILE) {
        long tye = ty + TILE < by1 ? ty + TILE : by1;
        for (long tx = bx0; tx < bx1; tx += TILE) {
            long txe = tx + TILE < bx1 ? tx + TILE : bx1;
            int touched = 0;
            memset(mask, 0, sizeof mask);
            for (size_t i = 0; i < n; i++) {
                llmbi_capsule k;
                long x0, x1, y0, y1;
                if (!clip_capsule(c, &caps[i], &k) || !capsule_span(c, &k, &x0, &x1, &y0, &y1))
                    continue;
                x0 = x0 > tx ? x0 : tx;
                y0 = y0 > ty ? y0 : ty;
                x1 = x1 < txe ? x1 : txe;
                y1 = y1 < tye ? y1 : tye;
                for (long py = y0; py < y1; py++) {
                    float *mrow = mask + (py - ty) * TILE;
                    for (long px = x0; px < x1; px++) {
                        double cov = capsule_coverage(dist_to_segment(px + 0.5, py + 0.5, &k), k.r);
                        if (cov > mrow[px - tx]) {
                            mrow[px - tx] = (float)cov;
                            touched = 1;
                        }
                    }
                }
            }
            if (!touched)
                continue;
            for (long py = ty; py < tye; py++) {
                const float *mrow = mask + (py - ty) * TILE;
                uint8_t *row = c->px + (size_t)py * c->width * 4;
                for (long px = tx; px < txe; px++)
                    if (mrow[px - tx] > 0.0f)
                        blend_px(row + (size_t)px * 4, rgba, mrow[px - tx]);
            }
        }
    }
}

void llmb_canvas_line(llmb_canvas *c, double x0, double y0, double x1, double y1, double width,
                      uint32_t rgba)
{
    if (!(width > 0.0))
        return;
    llmbi_capsule k = {x0, y0, x1, y1, width / 2.0};
    llmbi_canvas_capsules(c, &k, 1, rgba);
}
