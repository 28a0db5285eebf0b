/*
 * The built-in stroke font: every printable ASCII glyph is a few polylines
 * and elliptical arcs on a grid, drawn as round-capped anti-aliased strokes.
 *
 * Grid: 20 units to the em, y up, baseline at 0. Capitals and digits are 14
 * units tall, the x-height is 10, ascenders reach 15 and descenders -5, so a
 * glyph's ink stays within the em plus half a stroke. Coordinates are stroke
 * centre lines; side bearings keep ink inside the advance width.
 *
 * Path language (one string per glyph, tokens separated by spaces):
 *   M x y        start a new stroke at (x, y)
 *   L x y        straight line to (x, y)
 *   A cx cy rx ry a0 a1
 *                elliptical arc from angle a0 to a1 (degrees, counter-
 *                clockwise, a1 < a0 runs clockwise); joined by a line to the
 *                current stroke if there is one, otherwise it starts a stroke
 *   D x y        a round dot (for i, j and punctuation), slightly heavier
 *                than the stroke so it does not look faint
 *   ;            lift the pen: the next A starts a new stroke
 *
 * When text is axis-aligned, coordinates are fitted to the pixel grid before
 * drawing ("hinting"): stroke centres land on pixel centres (or on pixel
 * edges for even stroke widths), so stems, bars, baselines and the tops and
 * sides of round letters come out sharp instead of smeared over two pixels.
 * Arcs are fitted through their extreme points, which keeps curves smooth.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "chart_internal.h"

#define GRID_EM 20.0
/* Stroke width as a fraction of the em: a regular weight. */
#define STROKE_EM 0.085
/* Strokes are never thinner than this many pixels at weight 1, for small text. */
#define STROKE_MIN_PX 1.0
#define DOT_SCALE     1.2

#define PI 3.14159265358979323846

/* Capsules of one glyph; arcs are flattened to at most ARC_MAX_SEGS each. */
#define GLYPH_MAX_CAPS 512
#define ARC_MAX_SEGS   64

typedef struct glyph {
    double advance; /* grid units */
    const char *path;
} glyph;

/* Drawn for bytes outside 32..126. */
static const glyph box_glyph = {11, "M 1.5 0 L 1.5 14 L 9.5 14 L 9.5 0 L 1.5 0"};

static const glyph glyphs[95] = {
    [' ' - 32] = {5.5, ""},
    ['!' - 32] = {5, "M 2.5 14 L 2.5 4.5 D 2.5 0"},
    ['"' - 32] = {7, "M 2.25 14 L 2.25 10 M 4.75 14 L 4.75 10"},
    ['#' - 32] = {12.5,
                  "M 4.5 0 L 5.75 14 M 8 0 L 9.25 14 M 1.75 9.5 L 11.5 9.5 M 1 4.5 L 10.75 4.5"},
    ['$' - 32] = {12, "A 6.1 10.3 4.1 3.3 25 270 A 6.1 3.6 4.4 3.4 90 -155 M 6.1 15 L 6.1 -1.5"},
    ['%' - 32] = {15, "A 4 10.75 2.5 3.25 0 360 ; A 11 3.25 2.5 3.25 0 360 M 2 0 L 13 14"},
    ['&' - 32] = {13.5, "M 12.5 0 L 5.1 8.9 A 6.75 11.3 2.55 2.7 225 -45 L 3.1 5.4 "
                        "A 5.4 3.6 3.9 3.6 142 345 L 11.5 6.5"},
    ['\'' - 32] = {4.5, "M 2.25 14 L 2.25 10"},
    ['(' - 32] = {6.5, "A 8 5 5 10 116 244"},
    [')' - 32] = {6.5, "A -1.5 5 5 10 64 -64"},
    ['*' - 32] = {9, "M 4.5 14.5 L 4.5 8.5 M 1.9 13 L 7.1 10 M 1.9 10 L 7.1 13"},
    ['+' - 32] = {12, "M 6 2.5 L 6 10.5 M 2 6.5 L 10 6.5"},
    [',' - 32] = {5, "M 2.75 0.75 L 1.5 -2.75"},
    ['-' - 32] = {8, "M 1.75 5.5 L 6.25 5.5"},
    ['.' - 32] = {5, "D 2.5 0"},
    ['/' - 32] = {8, "M 1 -1.5 L 7 14.5"},
    ['0' - 32] = {11, "A 5.5 7 4 7 0 360"},
    ['1' - 32] = {11, "M 2.5 11.25 L 6.5 14 L 6.5 0"},
    ['2' - 32] = {11, "A 5.5 10 3.9 4 158 -38 L 1.5 0 L 9.75 0"},
    ['3' - 32] = {11, "A 5.4 10.6 3.6 3.4 152 -90 L 4.5 7.2 ; A 5.5 3.75 4 3.75 90 -155"},
    ['4' - 32] = {11, "M 7.75 0 L 7.75 14 L 1.25 4 L 10.25 4"},
    ['5' - 32] = {11, "M 9 14 L 2.6 14 L 2.1 7.6 A 5.6 4.5 3.9 4.5 128 -150"},
    ['6' - 32] = {11, "A 7.25 4.5 5.75 9.5 180 72 ; A 5.5 4.5 4 4.5 0 360"},
    ['7' - 32] = {11, "M 1.5 14 L 9.5 14 L 4 0"},
    ['8' - 32] = {11, "A 5.5 10.65 3.45 3.35 0 360 ; A 5.5 3.65 4 3.65 0 360"},
    ['9' - 32] = {11, "A 3.75 9.5 5.75 9.5 0 -108 ; A 5.5 9.5 4 4.5 0 360"},
    [':' - 32] = {5, "D 2.5 9 D 2.5 0"},
    [';' - 32] = {5, "D 2.75 9 M 2.75 0.75 L 1.5 -2.75"},
    ['<' - 32] = {12, "M 10 11 L 2 6.5 L 10 2"},
    ['=' - 32] = {12, "M 2 8.5 L 10 8.5 M 2 4.5 L 10 4.5"},
    ['>' - 32] = {12, "M 2 11 L 10 6.5 L 2 2"},
    ['?' - 32] = {10, "A 5 10.4 3.5 3.6 160 -55 L 5 5.6 L 5 4.25 D 5 0"},
    ['@' - 32] = {17, "A 8.25 6.25 2.75 3 0 360 ; M 11 9.25 L 11 4.4 A 12.75 4.4 1.75 1.75 180 360 "
                      "A 8.5 6 6.8 7.25 -10 295"},
    ['A' - 32] = {13, "M 1 0 L 6.5 14 L 12 0 M 2.9 4.75 L 10.1 4.75"},
    ['B' - 32] = {12.5, "M 2 0 L 2 14 L 7 14 A 7 10.5 3.5 3.5 90 -90 L 2 7 M 7.25 7 "
                        "A 7.25 3.5 3.75 3.5 90 -90 L 2 0"},
    ['C' - 32] = {13.5, "A 7.5 7 6 7 50 310"},
    ['D' - 32] = {13.5, "M 2 0 L 2 14 L 5.5 14 A 5.5 7 6 7 90 -90 L 2 0"},
    ['E' - 32] = {11.5, "M 10 14 L 2 14 L 2 0 L 10 0 M 2 7 L 9 7"},
    ['F' - 32] = {11, "M 10 14 L 2 14 L 2 0 M 2 7 L 9 7"},
    ['G' - 32] = {14, "A 7.5 7 6 7 50 360 L 13.5 6 L 8.25 6"},
    ['H' - 32] = {13.5, "M 2 0 L 2 14 M 11.5 0 L 11.5 14 M 2 7 L 11.5 7"},
    ['I' - 32] = {5, "M 2.5 0 L 2.5 14"},
    ['J' - 32] = {10, "M 8 14 L 8 4 A 4.75 4 3.25 4 0 -165"},
    ['K' - 32] = {12.5, "M 2 0 L 2 14 M 11 14 L 2 4.75 M 5.3 8.2 L 11.5 0"},
    ['L' - 32] = {10.5, "M 2 14 L 2 0 L 9.75 0"},
    ['M' - 32] = {16, "M 2 0 L 2 14 L 8 1.5 L 14 14 L 14 0"},
    ['N' - 32] = {13.5, "M 2 0 L 2 14 L 11.5 0 L 11.5 14"},
    ['O' - 32] = {15, "A 7.5 7 6 7 0 360"},
    ['P' - 32] = {12.5, "M 2 0 L 2 14 L 7 14 A 7 10.25 3.75 3.75 90 -90 L 2 6.5"},
    ['Q' - 32] = {15, "A 7.5 7 6 7 0 360 M 8.75 3.5 L 13.25 -0.75"},
    ['R' - 32] = {12.5, "M 2 0 L 2 14 L 7 14 A 7 10.25 3.75 3.75 90 -90 L 2 6.5 M 7 6.5 L 11 0"},
    ['S' - 32] = {12.5, "A 6.25 10.5 4.25 3.5 30 270 A 6.25 3.5 4.6 3.5 90 -150"},
    ['T' - 32] = {12, "M 1 14 L 11 14 M 6 14 L 6 0"},
    ['U' - 32] = {13.5, "M 2 14 L 2 5 A 6.75 5 4.75 5 180 360 L 11.5 14"},
    ['V' - 32] = {13, "M 1 14 L 6.5 0 L 12 14"},
    ['W' - 32] = {18, "M 1 14 L 4.75 0 L 9 14 L 13.25 0 L 17 14"},
    ['X' - 32] = {12.5, "M 1.5 14 L 11 0 M 11 14 L 1.5 0"},
    ['Y' - 32] = {12.5, "M 1 14 L 6.25 6.5 L 11.5 14 M 6.25 6.5 L 6.25 0"},
    ['Z' - 32] = {12, "M 1.75 14 L 10.25 14 L 1.5 0 L 10.5 0"},
    ['[' - 32] = {6.5, "M 5.5 15 L 2.5 15 L 2.5 -4 L 5.5 -4"},
    ['\\' - 32] = {8, "M 1 14.5 L 7 -1.5"},
    [']' - 32] = {6.5, "M 1 15 L 4 15 L 4 -4 L 1 -4"},
    ['^' - 32] = {11, "M 2 8 L 5.5 14 L 9 8"},
    ['_' - 32] = {11, "M 0.5 -3 L 10.5 -3"},
    ['`' - 32] = {6, "M 2 14.5 L 4 12"},
    ['a' - 32] = {11, "A 5 6.75 3.5 3.25 150 0 L 8.5 0 M 8.5 5.75 L 5 5.75 "
                      "A 5 2.9 3.4 2.85 90 270 A 5 3.6 3.5 3.6 -90 -25"},
    ['b' - 32] = {11.5, "M 2 15 L 2 0 ; A 5.75 5 3.75 5 0 360"},
    ['c' - 32] = {10.5, "A 5.5 5 4 5 48 312"},
    ['d' - 32] = {11.5, "A 5.75 5 3.75 5 0 360 M 9.5 15 L 9.5 0"},
    ['e' - 32] = {11, "M 1.5 5 L 9.5 5 A 5.5 5 4 5 0 318"},
    ['f' - 32] = {7.5, "M 3.5 0 L 3.5 12 A 6 12 2.5 3 180 60 M 1 10 L 7 10"},
    ['g' - 32] = {11.5, "A 5.75 5 3.75 5 0 360 M 9.5 10 L 9.5 -1.5 A 5.75 -1.5 3.75 3.5 0 -155"},
    ['h' - 32] = {11, "M 2 15 L 2 0 M 2 6.5 A 5.5 6.5 3.5 3.5 180 0 L 9 0"},
    ['i' - 32] = {4.5, "M 2.25 0 L 2.25 10 D 2.25 13.5"},
    ['j' - 32] = {5, "M 3 10 L 3 -2.5 A 0.75 -2.5 2.25 2.5 0 -100 D 3 13.5"},
    ['k' - 32] = {10, "M 2 15 L 2 0 M 8.75 10 L 2 3.5 M 4.7 6.1 L 9 0"},
    ['l' - 32] = {4.5, "M 2.25 15 L 2.25 0"},
    ['m' - 32] = {15.5, "M 2 0 L 2 10 M 2 7 A 4.75 7 2.75 3 180 0 L 7.5 0 M 7.5 7 "
                        "A 10.5 7 3 3 180 0 L 13.5 0"},
    ['n' - 32] = {11, "M 2 0 L 2 10 M 2 6.5 A 5.5 6.5 3.5 3.5 180 0 L 9 0"},
    ['o' - 32] = {11, "A 5.5 5 4 5 0 360"},
    ['p' - 32] = {11.5, "M 2 10 L 2 -5 ; A 5.75 5 3.75 5 0 360"},
    ['q' - 32] = {11.5, "A 5.75 5 3.75 5 0 360 M 9.5 10 L 9.5 -5"},
    ['r' - 32] = {7.5, "M 2 0 L 2 10 M 2 6.25 A 5.5 6.25 3.5 3.75 180 75"},
    ['s' - 32] = {10, "A 5 7.55 3.2 2.45 30 270 A 5 2.55 3.5 2.55 90 -150"},
    ['t' - 32] = {8, "M 3.75 13 L 3.75 2.5 A 6.25 2.5 2.5 2.5 180 295 M 1 10 L 7 10"},
    ['u' - 32] = {11, "M 2 10 L 2 3.5 A 5.5 3.5 3.5 3.5 180 360 ; M 9 10 L 9 0"},
    ['v' - 32] = {10, "M 1 10 L 5 0 L 9 10"},
    ['w' - 32] = {14, "M 1 10 L 4 0 L 7 10 L 10 0 L 13 10"},
    ['x' - 32] = {10, "M 1.5 10 L 8.5 0 M 8.5 10 L 1.5 0"},
    ['y' - 32] = {10, "M 1 10 L 5.1 0 M 9 10 L 3.6 -5"},
    ['z' - 32] = {10, "M 1.5 10 L 8.5 10 L 1.5 0 L 8.75 0"},
    ['{' - 32] = {8, "M 6.5 15 A 6.5 13 2 2 90 180 L 4.5 7.5 A 2.5 7.5 2 2 0 -90 "
                     "A 2.5 3.5 2 2 90 0 L 4.5 -2 A 6.5 -2 2 2 180 270"},
    ['|' - 32] = {6, "M 3 15 L 3 -4.5"},
    ['}' - 32] = {8, "M 1.5 15 A 1.5 13 2 2 90 0 L 3.5 7.5 A 5.5 7.5 2 2 180 270 "
                     "A 5.5 3.5 2 2 90 180 L 3.5 -2 A 1.5 -2 2 2 0 -90"},
    ['~' - 32] = {11, "A 3.75 6.5 1.75 1.5 180 0 A 7.25 6.5 1.75 1.5 180 360"},
};

static const glyph *glyph_for(unsigned char ch)
{
    if (ch < 32 || ch > 126)
        return &box_glyph;
    return &glyphs[ch - 32];
}

/* The glyph of the character at *s, stepping *s past it. A well-formed UTF-8
 * sequence is one character (drawn as one box, as the font has only ASCII);
 * a stray byte is a character of its own. */
static const glyph *next_glyph(const unsigned char **s)
{
    const unsigned char *p = *s;
    size_t len = 1;
    if (p[0] >= 0xC2 && p[0] <= 0xF4) {
        size_t want = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : 2;
        size_t i = 1;
        while (i < want && (p[i] & 0xC0) == 0x80)
            i++;
        if (i == want)
            len = want;
    }
    *s = p + len;
    return glyph_for(p[0]);
}

/* Fitting of one text-frame axis to the device pixel grid (axis-aligned text only). */
typedef struct axis_fit {
    int on;
    double origin; /* device coordinate of the text frame's origin on this axis */
    double sign;   /* +1 or -1: direction of the device axis along the frame axis */
    double phase;  /* 0.5: stroke centres on pixel centres; 0: on pixel edges */
} axis_fit;

static double fit(const axis_fit *a, double t)
{
    if (!a->on)
        return t;
    double dev = a->origin + a->sign * t;
    double snapped = floor(dev - a->phase + 0.5) + a->phase;
    return (snapped - a->origin) * a->sign;
}

/*
 * Where glyph strokes go. The text frame has u along the baseline (reading
 * direction) and h upwards, in pixels from the anchor; the device position
 * is anchor + u * dir + h * up.
 */
typedef struct pen {
    double ax, ay;       /* anchor on the canvas */
    double dir_x, dir_y; /* device vector of +u */
    double up_x, up_y;   /* device vector of +h */
    axis_fit fu, fh;
    double origin_u; /* current glyph origin along u */
    double scale;    /* pixels per grid unit */
    double radius;   /* stroke half width, pixels */
    llmbi_capsule caps[GLYPH_MAX_CAPS];
    size_t n;
    int down;              /* a stroke is in progress */
    double last_x, last_y; /* device position of the pen */
} pen;

static void to_device(const pen *p, double u, double h, double *x, double *y)
{
    *x = p->ax + u * p->dir_x + h * p->up_x;
    *y = p->ay + u * p->dir_y + h * p->up_y;
}

static void add_cap(pen *p, double x0, double y0, double x1, double y1, double r)
{
    if (p->n >= GLYPH_MAX_CAPS)
        return;
    p->caps[p->n++] = (llmbi_capsule){x0, y0, x1, y1, r};
}

/* Continue the stroke to device point (x, y), or start one there. */
static void stroke_to(pen *p, double x, double y)
{
    if (p->down)
        add_cap(p, p->last_x, p->last_y, x, y, p->radius);
    p->down = 1;
    p->last_x = x;
    p->last_y = y;
}

static void grid_point(const pen *p, double gx, double gy, double *x, double *y)
{
    double u = fit(&p->fu, p->origin_u + gx * p->scale);
    double h = fit(&p->fh, gy * p->scale);
    to_device(p, u, h, x, y);
}

static void arc(pen *p, const double v[6])
{
    /* Fit the ellipse's extreme points so round letters share the sharp
     * baseline, x-height and stem positions of the straight ones. */
    double ul = fit(&p->fu, p->origin_u + (v[0] - v[2]) * p->scale);
    double ur = fit(&p->fu, p->origin_u + (v[0] + v[2]) * p->scale);
    double hb = fit(&p->fh, (v[1] - v[3]) * p->scale);
    double ht = fit(&p->fh, (v[1] + v[3]) * p->scale);
    double cu = (ul + ur) / 2.0, ru = fabs(ur - ul) / 2.0;
    double ch = (hb + ht) / 2.0, rh = fabs(ht - hb) / 2.0;
    double a0 = v[4] * PI / 180.0, a1 = v[5] * PI / 180.0;
    double sweep = fabs(a1 - a0);

    /* Enough segments that chords stay within a twentieth of a pixel. */
    double rmax = fmax(ru, rh);
    int segs = 2;
    if (rmax > 0.05) {
        double step = 2.0 * acos(1.0 - 0.05 / fmax(rmax, 0.05));
        double want = ceil(sweep / step);
        segs = want > ARC_MAX_SEGS ? ARC_MAX_SEGS : (want < 2 ? 2 : (int)want);
    }
    for (int i = 0; i <= segs; i++) {
        double t = a0 + (a1 - a0) * i / segs;
        double x, y;
        to_device(p, cu + ru * cos(t), ch + rh * sin(t), &x, &y);
        stroke_to(p, x, y);
    }
}

/* Read a number of the form -?digits(.digits)? without locale dependence. */
static int read_number(const char **s, double *out)
{
    const char *c = *s;
    while (*c == ' ')
        c++;
    double sign = 1.0, v = 0.0;
    if (*c == '-') {
        sign = -1.0;
        c++;
    }
    if (*c < '0' || *c > '9')
        return 0;
    while (*c >= '0' && *c <= '9')
        v = v * 10.0 + (*c++ - '0');
    if (*c == '.') {
        double f = 0.1;
        for (c++; *c >= '0' && *c <= '9'; c++, f /= 10.0)
            v += (*c - '0') * f;
    }
    *out = sign * v;
    *s = c;
    return 1;
}

static int read_numbers(const char **s, double *v, int count)
{
    for (int i = 0; i < count; i++)
        if (!read_number(s, &v[i]))
            return 0;
    return 1;
}

/* Turn one glyph's path into capsules. A malformed path stops at the error. */
static void build_glyph(pen *p, const char *path)
{
    double v[6];
    p->n = 0;
    p->down = 0;
    for (const char *s = path; *s;) {
        char op = *s++;
        double x, y;
        switch (op) {
        case ' ':
            continue;
        case ';':
            p->down = 0;
            continue;
        case 'M':
        case 'L':
        case 'D':
            if (!read_numbers(&s, v, 2))
                return;
            grid_point(p, v[0], v[1], &x, &y);
            if (op == 'D') {
                add_cap(p, x, y, x, y, p->radius * DOT_SCALE);
                p->down = 0;
                continue;
            }
            if (op == 'M')
                p->down = 0;
            stroke_to(p, x, y);
            continue;
        case 'A':
            if (!read_numbers(&s, v, 6))
                return;
            arc(p, v);
            continue;
        default:
            return;
        }
    }
}

double llmbi_font_stroke_width(double size, double weight)
{
    double w = size * STROKE_EM;
    return (w < STROKE_MIN_PX ? STROKE_MIN_PX : w) * weight;
}

static int text_args_ok(const char *text, double size, double weight)
{
    return text && isfinite(size) && size > 0.0 && isfinite(weight) && weight > 0.0;
}

/* Extra advance per glyph for heavy weights, so bold strokes do not touch. */
static double weight_spacing(double size, double weight)
{
    return weight > 1.0 ? llmbi_font_stroke_width(size, 1.0) * (weight - 1.0) : 0.0;
}

double llmb_text_width_weighted(const char *text, double size, double weight)
{
    if (!text_args_ok(text, size, weight))
        return 0.0;
    double units = 0.0;
    size_t n = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s; n++)
        units += next_glyph(&s)->advance;
    return units * size / GRID_EM + (double)n * weight_spacing(size, weight);
}

double llmb_text_width(const char *text, double size)
{
    return llmb_text_width_weighted(text, size, 1.0);
}

/* Exact direction vectors for multiples of 90 degrees; returns 1 for those. */
static int axis_aligned(double angle_deg, double *c, double *s)
{
    double a = fmod(angle_deg, 360.0);
    if (a < 0.0)
        a += 360.0;
    static const double cs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    for (int q = 0; q <= 4; q++) {
        if (fabs(a - 90.0 * q) < 1e-9) {
            *c = cs[q % 4][0];
            *s = cs[q % 4][1];
            return 1;
        }
    }
    *c = cos(a * PI / 180.0);
    *s = sin(a * PI / 180.0);
    return 0;
}

static void setup_fit(axis_fit *f, double dx, double dy, double ax, double ay, double phase)
{
    f->on = 1;
    f->phase = phase;
    if (dx != 0.0) {
        f->origin = ax;
        f->sign = dx;
    } else {
        f->origin = ay;
        f->sign = dy;
    }
}

void llmb_canvas_text_weighted(llmb_canvas *c, double x, double y, const char *text, double size,
                               double weight, llmb_align align, double angle_deg, uint32_t rgba)
{
    if (!c || !text_args_ok(text, size, weight) || !isfinite(x) || !isfinite(y) ||
        !isfinite(angle_deg))
        return;
    /* The pen state holds a glyph's capsules: static storage would not be
     * thread-safe and the heap could fail in a function that cannot report. */
    pen p;
    double cs, sn;
    int aligned = axis_aligned(angle_deg, &cs, &sn);
    p.ax = x;
    p.ay = y;
    /* y grows downwards on the canvas, so counter-clockwise flips sin's sign. */
    p.dir_x = cs;
    p.dir_y = -sn;
    p.up_x = -sn;
    p.up_y = -cs;
    p.scale = size / GRID_EM;
    double width = llmbi_font_stroke_width(size, weight);
    p.radius = width / 2.0;
    memset(&p.fu, 0, sizeof p.fu);
    memset(&p.fh, 0, sizeof p.fh);
    if (aligned) {
        /* Odd pixel widths are sharpest centred on a pixel, even ones on an
         * edge. In between, a full centre pixel with faint fringes reads
         * sharper than two half-covered pixels, hence the bias to odd. */
        double phase = fmod(floor(width + 0.2), 2.0) == 0.0 ? 0.0 : 0.5;
        setup_fit(&p.fu, p.dir_x, p.dir_y, x, y, phase);
        setup_fit(&p.fh, p.up_x, p.up_y, x, y, phase);
    }

    double total = llmb_text_width_weighted(text, size, weight);
    p.origin_u = align == LLMB_ALIGN_CENTER  ? -total / 2.0
                 : align == LLMB_ALIGN_RIGHT ? -total
                                             : 0.0;
    double spacing = weight_spacing(size, weight);
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        const glyph *g = next_glyph(&s);
        build_glyph(&p, g->path);
        llmbi_canvas_capsules(c, p.caps, p.n, rgba);
        p.origin_u += g->advance * p.scale + spacing;
    }
}

void llmb_canvas_text(llmb_canvas *c, double x, double y, const char *text, double size,
                      llmb_align align, double angle_deg, uint32_t rgba)
{
    llmb_canvas_text_weighted(c, x, y, text, size, 1.0, align, angle_deg, rgba);
}
