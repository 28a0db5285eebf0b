/*
 * Charts: the canvas and its primitives, the stroke font, PNG output and the
 * bar chart, checked pixel by pixel against the geometry they should have.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chart_internal.h"
#include "fnv.h"
#include "llmbench/chart.h"

#define WHITE 0xFFFFFFFFu
#define BLACK 0x000000FFu

/* ---- helpers ---------------------------------------------------------- */

static const uint8_t *px_at(const llmb_canvas *c, unsigned x, unsigned y)
{
    return llmb_canvas_pixels(c) + ((size_t)y * llmb_canvas_width(c) + x) * 4;
}

static uint32_t rgba_at(const llmb_canvas *c, unsigned x, unsigned y)
{
    const uint8_t *p = px_at(c, x, y);
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Darkness of a pixel drawn in black on white: 0 for untouched. */
static int ink_at(const llmb_canvas *c, unsigned x, unsigned y)
{
    return 255 - px_at(c, x, y)[0];
}

typedef struct ink_box {
    int any;
    unsigned x0, y0, x1, y1; /* inclusive pixel bounds */
    double total;            /* summed ink, 255 per full pixel */
} ink_box;

static ink_box ink_region(const llmb_canvas *c, unsigned x0, unsigned y0, unsigned x1, unsigned y1)
{
    ink_box b = {0, 0, 0, 0, 0, 0.0};
    for (unsigned y = y0; y < y1; y++)
        for (unsigned x = x0; x < x1; x++) {
            int k = ink_at(c, x, y);
            if (!k)
                continue;
            b.total += k;
            if (!b.any) {
                b.any = 1;
                b.x0 = b.x1 = x;
                b.y0 = b.y1 = y;
            }
            b.x0 = x < b.x0 ? x : b.x0;
            b.x1 = x > b.x1 ? x : b.x1;
            b.y0 = y < b.y0 ? y : b.y0;
            b.y1 = y > b.y1 ? y : b.y1;
        }
    return b;
}

static ink_box ink_all(const llmb_canvas *c)
{
    return ink_region(c, 0, 0, llmb_canvas_width(c), llmb_canvas_height(c));
}

static int close_to(uint32_t got, uint32_t want, int tol)
{
    for (int shift = 0; shift < 32; shift += 8) {
        int a = (int)((got >> shift) & 0xFF), b = (int)((want >> shift) & 0xFF);
        if (abs(a - b) > tol)
            return 0;
    }
    return 1;
}

/* A fresh private directory for file tests; the caller removes it. */
static char *make_temp_dir(void)
{
    char *dir = strdup("/tmp/llmb-test-chart-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void remove_dir(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = join(dir, e->d_name);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static void write_text_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int file_equals(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

/* ---- canvas ----------------------------------------------------------- */

static void test_chart_canvas_new_fills_background(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(7, 5, 0x11223344u);
    assert_non_null(c);
    assert_int_equal(llmb_canvas_width(c), 7);
    assert_int_equal(llmb_canvas_height(c), 5);
    for (unsigned y = 0; y < 5; y++)
        for (unsigned x = 0; x < 7; x++)
            assert_int_equal(rgba_at(c, x, y), 0x11223344u);
    llmb_canvas_free(c);
    llmb_canvas_free(NULL);
    assert_int_equal(llmb_canvas_width(NULL), 0);
    assert_int_equal(llmb_canvas_height(NULL), 0);
    assert_null(llmb_canvas_pixels(NULL));
}

static void test_chart_canvas_size_limits(void **state)
{
    (void)state;
    assert_null(llmb_canvas_new(0, 5, WHITE));
    assert_null(llmb_canvas_new(5, 0, WHITE));
    assert_null(llmb_canvas_new(16385, 1, WHITE));
    assert_null(llmb_canvas_new(1, 16385, WHITE));
    llmb_canvas *c = llmb_canvas_new(16384, 1, WHITE);
    assert_non_null(c);
    assert_int_equal(llmb_canvas_width(c), 16384);
    llmb_canvas_free(c);
    c = llmb_canvas_new(1, 1, 0);
    assert_non_null(c);
    assert_int_equal(rgba_at(c, 0, 0), 0);
    llmb_canvas_free(c);
}

/* ---- rectangles and blending ------------------------------------------ */

static void test_chart_fill_rect_whole_pixels_exact(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(10, 8, 0x00000000u);
    llmb_canvas_fill_rect(c, 2, 3, 4, 2, 0x204080FFu);
    for (unsigned y = 0; y < 8; y++)
        for (unsigned x = 0; x < 10; x++) {
            int inside = x >= 2 && x < 6 && y >= 3 && y < 5;
            assert_int_equal(rgba_at(c, x, y), inside ? 0x204080FFu : 0u);
        }
    llmb_canvas_free(c);
}

static void test_chart_fill_rect_fractional_edges(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(8, 8, 0x00000000u);
    /* x from 1.5 to 4.25, y from 2 to 3: half, full, full, quarter. */
    llmb_canvas_fill_rect(c, 1.5, 2.0, 2.75, 1.0, BLACK);
    assert_int_equal(px_at(c, 0, 2)[3], 0);
    assert_int_equal(px_at(c, 1, 2)[3], 128);
    assert_int_equal(px_at(c, 2, 2)[3], 255);
    assert_int_equal(px_at(c, 3, 2)[3], 255);
    assert_int_equal(px_at(c, 4, 2)[3], 64);
    assert_int_equal(px_at(c, 5, 2)[3], 0);
    assert_int_equal(px_at(c, 2, 1)[3], 0);
    assert_int_equal(px_at(c, 2, 3)[3], 0);
    /* A corner pixel gets the product of both overlaps: 0.5 * 0.5. */
    llmb_canvas_fill_rect(c, 5.5, 5.5, 2.0, 2.0, BLACK);
    assert_int_equal(px_at(c, 5, 5)[3], 64);
    assert_int_equal(px_at(c, 6, 5)[3], 128);
    assert_int_equal(px_at(c, 6, 6)[3], 255);
    llmb_canvas_free(c);
}

static void test_chart_fill_rect_clips_and_ignores_bad_input(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(6, 6, WHITE);
    llmb_canvas_fill_rect(c, -3, -3, 5, 5, BLACK); /* covers (0..1, 0..1) */
    llmb_canvas_fill_rect(c, 1e300, 0, 1e300, 1e300, BLACK);
    llmb_canvas_fill_rect(c, -1e300, -1e300, 1e300, 1e300, BLACK);
    llmb_canvas_fill_rect(c, NAN, 0, 3, 3, BLACK);
    llmb_canvas_fill_rect(c, 3, 3, -2, 2, BLACK);
    llmb_canvas_fill_rect(c, 3, 3, 2, INFINITY, BLACK);
    llmb_canvas_fill_rect(NULL, 0, 0, 2, 2, BLACK);
    for (unsigned y = 0; y < 6; y++)
        for (unsigned x = 0; x < 6; x++)
            assert_int_equal(rgba_at(c, x, y), x < 2 && y < 2 ? BLACK : WHITE);
    llmb_canvas_free(c);
}

static void test_chart_blend_straight_alpha_over(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(3, 1, WHITE);
    /* Half-transparent red over opaque white. */
    llmb_canvas_fill_rect(c, 0, 0, 1, 1, 0xFF000080u);
    assert_int_equal(rgba_at(c, 0, 0), 0xFF7F7FFFu);
    /* Over a transparent pixel the colour stays and the alpha is the source's. */
    llmbi_canvas_blend(c, 1, 0, 0, 0.0); /* zero coverage changes nothing */
    llmb_canvas_free(c);

    c = llmb_canvas_new(3, 1, 0x00000000u);
    llmb_canvas_fill_rect(c, 0, 0, 1, 1, 0xFF000080u);
    assert_int_equal(rgba_at(c, 0, 0), 0xFF000080u);
    /* Two half layers: alpha 1 - (1 - 0.502)^2 = 0.752. */
    llmb_canvas_fill_rect(c, 0, 0, 1, 1, 0xFF000080u);
    assert_int_equal(rgba_at(c, 0, 0), 0xFF0000C0u);
    /* Blue at half coverage over opaque-ish red mixes by the weights. */
    llmb_canvas_fill_rect(c, 1, 0, 1, 1, 0xFF0000FFu);
    llmbi_canvas_blend(c, 1, 0, 0x0000FFFFu, 0.5);
    assert_true(close_to(rgba_at(c, 1, 0), 0x7F0080FFu, 1));
    /* Out of range pixels are ignored. */
    llmbi_canvas_blend(c, -1, 0, BLACK, 1.0);
    llmbi_canvas_blend(c, 3, 0, BLACK, 1.0);
    assert_int_equal(rgba_at(c, 2, 0), 0u);
    llmb_canvas_free(c);
}

/* ---- lines ------------------------------------------------------------ */

static void test_chart_line_coverage(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(30, 30, WHITE);
    /* One pixel wide, centred on row 5: exactly that row is ink. */
    llmb_canvas_line(c, 3.0, 5.5, 12.0, 5.5, 1.0, BLACK);
    for (unsigned x = 4; x < 12; x++) {
        assert_int_equal(ink_at(c, x, 5), 255);
        assert_int_equal(ink_at(c, x, 4), 0);
        assert_int_equal(ink_at(c, x, 6), 0);
    }
    /* Round cap: the pixel centred half a pixel beyond the end is half
     * covered (255 * 0.5 rounds to 128, leaving 127 of white). */
    assert_int_equal(ink_at(c, 2, 5), 127);
    assert_int_equal(ink_at(c, 1, 5), 0);

    /* Three wide, centred on the pixel edge x = 20: columns 19 and 20 full,
     * 18 and 21 half. */
    llmb_canvas_line(c, 20.0, 10.0, 20.0, 25.0, 3.0, BLACK);
    assert_int_equal(ink_at(c, 19, 17), 255);
    assert_int_equal(ink_at(c, 20, 17), 255);
    assert_int_equal(ink_at(c, 18, 17), 127);
    assert_int_equal(ink_at(c, 21, 17), 127);
    assert_int_equal(ink_at(c, 17, 17), 0);
    assert_int_equal(ink_at(c, 22, 17), 0);
    llmb_canvas_free(c);
}

static void test_chart_line_area_matches_geometry(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(120, 120, WHITE);
    double x0 = 10.3, y0 = 15.7, x1 = 100.9, y1 = 80.2, w = 4.0;
    llmb_canvas_line(c, x0, y0, x1, y1, w, BLACK);
    double len = hypot(x1 - x0, y1 - y0);
    double area = len * w + M_PI * w * w / 4.0;
    ink_box b = ink_all(c);
    assert_true(fabs(b.total / 255.0 - area) < area * 0.02);
    /* Ink stays within the capsule (plus the one-pixel anti-aliasing ramp). */
    for (unsigned y = 0; y < 120; y++)
        for (unsigned x = 0; x < 120; x++) {
            if (!ink_at(c, x, y))
                continue;
            double px = x + 0.5, py = y + 0.5, dx = x1 - x0, dy = y1 - y0;
            double t = ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy);
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double d = hypot(px - (x0 + t * dx), py - (y0 + t * dy));
            assert_true(d < w / 2.0 + 0.5);
            if (d < w / 2.0 - 0.5)
                assert_int_equal(ink_at(c, x, y), 255);
        }
    /* Thin lines fade rather than vanish; bad input draws nothing. */
    llmb_canvas *t = llmb_canvas_new(20, 20, WHITE);
    llmb_canvas_line(t, 2, 10.5, 18, 10.5, 0.25, BLACK);
    assert_true(ink_at(t, 10, 10) > 40 && ink_at(t, 10, 10) < 90);
    llmb_canvas_line(t, 2, 2, 18, 2, 0.0, BLACK);
    llmb_canvas_line(t, 2, 2, 18, NAN, 2.0, BLACK);
    llmb_canvas_line(t, -1e300, 2, 1e300, 2, 2.0, BLACK); /* huge, but must not hang or crash */
    assert_int_equal(ink_region(t, 0, 0, 20, 5).total > 0, 1);
    assert_int_equal(ink_region(t, 0, 12, 20, 20).any, 0);
    llmb_canvas_free(t);
    llmb_canvas_free(c);
}

/* ---- text ------------------------------------------------------------- */

/* Pixel bounds the text's ink may occupy, left-aligned at x with baseline y. */
static void text_bounds(const char *s, double x, double y, double size, double *l, double *r,
                        double *top, double *bottom)
{
    /* Half a stroke, half a pixel of grid fitting, a pixel of quantization. */
    double slack = llmbi_font_stroke_width(size, 1.0) / 2.0 + 1.5;
    *l = x - slack;
    *r = x + llmb_text_width(s, size) + slack;
    *top = y - LLMBI_FONT_ASCENT * size - slack;
    *bottom = y + LLMBI_FONT_DESCENT * size + slack;
}

static void test_chart_text_every_glyph_inks_within_its_box(void **state)
{
    (void)state;
    const double size = 40.0, x = 20.3, y = 50.0;
    char s[2] = {0, 0};
    for (int ch = 1; ch < 256; ch++) {
        s[0] = (char)ch;
        llmb_canvas *c = llmb_canvas_new(100, 80, WHITE);
        llmb_canvas_text(c, x, y, s, size, LLMB_ALIGN_LEFT, 0.0, BLACK);
        ink_box b = ink_all(c);
        if (ch == ' ') {
            assert_false(b.any);
            llmb_canvas_free(c);
            continue;
        }
        if (!b.any)
            fail_msg("glyph %d drew nothing", ch);
        double l, r, top, bottom;
        text_bounds(s, x, y, size, &l, &r, &top, &bottom);
        if (b.x0 < l || b.x1 + 1 > r || b.y0 < top || b.y1 + 1 > bottom)
            fail_msg("glyph %d ink [%u,%u]x[%u,%u] outside [%.1f,%.1f]x[%.1f,%.1f]", ch, b.x0,
                     b.x1 + 1, b.y0, b.y1 + 1, l, r, top, bottom);
        llmb_canvas_free(c);
    }
}

static uint64_t hash_pixels(const llmb_canvas *c)
{
    size_t n = (size_t)llmb_canvas_width(c) * llmb_canvas_height(c) * 4;
    return fnv1a(FNV_OFFSET, llmb_canvas_pixels(c), n);
}

static void test_chart_text_glyphs_are_distinct(void **state)
{
    (void)state;
    uint64_t hashes[95];
    char s[2] = {0, 0};
    for (int ch = 33; ch < 128; ch++) {
        s[0] = (char)ch; /* 127 is drawn as the box */
        llmb_canvas *c = llmb_canvas_new(40, 40, WHITE);
        llmb_canvas_text(c, 4, 30, s, 28, LLMB_ALIGN_LEFT, 0.0, BLACK);
        hashes[ch - 33] = hash_pixels(c);
        llmb_canvas_free(c);
        for (int k = 33; k < ch; k++)
            if (hashes[k - 33] == hashes[ch - 33])
                fail_msg("glyphs %d and %d look the same", k, ch);
    }
}

static void test_chart_text_vertical_metrics(void **state)
{
    (void)state;
    const double size = 40.0, y = 60.0;
    double half = llmbi_font_stroke_width(size, 1.0) / 2.0;
    const struct {
        const char *s;
        double top, bottom; /* centre-line extents in em */
    } cases[] = {
        {"H", LLMBI_FONT_CAP_HEIGHT, 0.0},
        {"x", LLMBI_FONT_X_HEIGHT, 0.0},
        {"l", LLMBI_FONT_ASCENT, 0.0},
        {"p", LLMBI_FONT_X_HEIGHT, -LLMBI_FONT_DESCENT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llmb_canvas *c = llmb_canvas_new(60, 90, WHITE);
        llmb_canvas_text(c, 10, y, cases[i].s, size, LLMB_ALIGN_LEFT, 0.0, BLACK);
        ink_box b = ink_all(c);
        double want_top = y - cases[i].top * size - half;
        double want_bottom = y - cases[i].bottom * size + half;
        if (fabs(b.y0 - want_top) > 1.5 || fabs(b.y1 + 1 - want_bottom) > 1.5)
            fail_msg("'%s' ink rows %u..%u, want %.1f..%.1f", cases[i].s, b.y0, b.y1 + 1, want_top,
                     want_bottom);
        llmb_canvas_free(c);
    }
}

static void test_chart_text_width_matches_ink(void **state)
{
    (void)state;
    const char *s = "Tokens/s 0123456789 Request";
    const double size = 20.0;
    double w = llmb_text_width(s, size);
    /* Widths add up and scale with the size. */
    assert_true(fabs(llmb_text_width("Tok", size) + llmb_text_width("ens", size) -
                     llmb_text_width("Tokens", size)) < 1e-9);
    assert_true(fabs(llmb_text_width(s, 2 * size) - 2 * w) < 1e-9);
    assert_true(llmb_text_width("\x01", size) > 0.0);
    assert_true(fabs(llmb_text_width("\x01", size) - llmb_text_width("\xC3", size)) < 1e-9);
    /* A UTF-8 character is one box, whatever its length in bytes; a stray
     * continuation or cut sequence is a box per byte. */
    {
        double box = llmb_text_width("\x01", size);
        assert_true(fabs(llmb_text_width("\xC3\xA9", size) - box) < 1e-9); /* e acute */
        assert_true(fabs(llmb_text_width("\xE6\x97\xA5\xE6\x9C\xAC", size) - 2 * box) < 1e-9);
        assert_true(fabs(llmb_text_width("\xF0\x9F\x98\x80", size) - box) < 1e-9); /* emoji */
        assert_true(fabs(llmb_text_width("\x80\x80", size) - 2 * box) < 1e-9);
        assert_true(fabs(llmb_text_width("\xE6\x97", size) - 2 * box) < 1e-9);
        assert_true(fabs(llmb_text_width("a\xC3\xA9"
                                         "b",
                                         size) -
                         (box + llmb_text_width("ab", size))) < 1e-9);
    }
    assert_true(llmb_text_width(NULL, size) == 0.0);
    assert_true(llmb_text_width(s, 0.0) == 0.0);
    assert_true(llmb_text_width_weighted(s, size, 1.5) > w);
    assert_true(fabs(llmb_text_width_weighted(s, size, 1.0) - w) < 1e-9);

    const llmb_align aligns[3] = {LLMB_ALIGN_LEFT, LLMB_ALIGN_CENTER, LLMB_ALIGN_RIGHT};
    for (int a = 0; a < 3; a++) {
        llmb_canvas *c = llmb_canvas_new(700, 40, WHITE);
        double x = 350.0, left = x - (a == 1 ? w / 2.0 : a == 2 ? w : 0.0);
        llmb_canvas_text(c, x, 28, s, size, aligns[a], 0.0, BLACK);
        ink_box b = ink_all(c);
        double l, r, top, bottom;
        text_bounds(s, left, 28, size, &l, &r, &top, &bottom);
        assert_true(b.x0 >= l && b.x1 + 1 <= r);
        /* The side bearings are small: the ink spans nearly the whole advance. */
        assert_true(b.x1 + 1 - b.x0 > w - 0.2 * size);
        llmb_canvas_free(c);
    }
}

static void test_chart_text_rotated_90_reads_upwards(void **state)
{
    (void)state;
    const char *s = "W..";
    const double size = 30.0, ax = 60.0, ay = 150.0;
    double w = llmb_text_width(s, size);
    llmb_canvas *h = llmb_canvas_new(200, 200, WHITE);
    llmb_canvas *v = llmb_canvas_new(200, 200, WHITE);
    llmb_canvas_text(h, 20, 100, s, size, LLMB_ALIGN_LEFT, 0.0, BLACK);
    llmb_canvas_text(v, ax, ay, s, size, LLMB_ALIGN_LEFT, 90.0, BLACK);
    ink_box bh = ink_all(h), bv = ink_all(v);
    assert_true(bv.any);
    /* Same ink, transposed extents. */
    assert_true(fabs(bv.total - bh.total) < 0.03 * bh.total);
    assert_true(abs((int)(bv.y1 - bv.y0) - (int)(bh.x1 - bh.x0)) <= 2);
    assert_true(abs((int)(bv.x1 - bv.x0) - (int)(bh.y1 - bh.y0)) <= 2);
    /* The text runs up from the anchor, its tops to the left of the baseline. */
    double slack = llmbi_font_stroke_width(size, 1.0) / 2.0 + 1.5;
    assert_true(bv.y1 + 1 <= ay + slack && bv.y0 >= ay - w - slack);
    assert_true(bv.x0 >= ax - LLMBI_FONT_ASCENT * size - slack);
    assert_true(bv.x1 + 1 <= ax + LLMBI_FONT_DESCENT * size + slack);
    /* "W" comes first, so it is at the bottom. */
    unsigned third = (bv.y1 - bv.y0) / 3;
    ink_box first = ink_region(v, 0, bv.y1 - third, 200, bv.y1 + 1);
    ink_box last = ink_region(v, 0, bv.y0, 200, bv.y0 + third);
    assert_true(first.total > 3.0 * last.total);
    llmb_canvas_free(h);
    llmb_canvas_free(v);

    /* A "T" turned to read upwards has its bar on the left, as a full-height
     * column, and its stem running right from the middle. */
    v = llmb_canvas_new(100, 100, WHITE);
    llmb_canvas_text(v, 60, 70, "T", size, LLMB_ALIGN_LEFT, 90.0, BLACK);
    bv = ink_all(v);
    unsigned tall = bv.y1 - bv.y0 + 1;
    ink_box left = ink_region(v, bv.x0, bv.y0, bv.x0 + 3, bv.y1 + 1);
    ink_box right = ink_region(v, bv.x1 - 2, bv.y0, bv.x1 + 1, bv.y1 + 1);
    assert_true(left.y1 - left.y0 + 1 >= tall - 1);
    assert_true(right.y1 - right.y0 + 1 <= tall / 3);
    llmb_canvas_free(v);
}

static void test_chart_text_any_angle_and_bad_args(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(120, 120, WHITE);
    llmb_canvas_text(c, 60, 60, NULL, 20, LLMB_ALIGN_LEFT, 0, BLACK);
    llmb_canvas_text(c, 60, 60, "abc", 0, LLMB_ALIGN_LEFT, 0, BLACK);
    llmb_canvas_text(c, 60, 60, "abc", -3, LLMB_ALIGN_LEFT, 0, BLACK);
    llmb_canvas_text(c, NAN, 60, "abc", 20, LLMB_ALIGN_LEFT, 0, BLACK);
    llmb_canvas_text(c, 60, 60, "abc", NAN, LLMB_ALIGN_LEFT, 0, BLACK);
    llmb_canvas_text(c, 60, 60, "abc", 20, LLMB_ALIGN_LEFT, INFINITY, BLACK);
    llmb_canvas_text_weighted(c, 60, 60, "abc", 20, 0.0, LLMB_ALIGN_LEFT, 0, BLACK);
    llmb_canvas_text(NULL, 60, 60, "abc", 20, LLMB_ALIGN_LEFT, 0, BLACK);
    llmb_canvas_text(c, 1e300, -1e300, "abc", 1e9, LLMB_ALIGN_LEFT, 0, BLACK);
    assert_false(ink_all(c).any);

    /* At 45 degrees the text runs up and to the right of the anchor. */
    llmb_canvas_text(c, 20, 100, "HHHHHH", 16, LLMB_ALIGN_LEFT, 45.0, BLACK);
    ink_box b = ink_all(c);
    assert_true(b.any);
    double w = llmb_text_width("HHHHHH", 16);
    assert_true(b.x1 > 20 + 0.6 * w && b.y0 < 100 - 0.6 * w);
    assert_true(b.x0 >= 20 - 0.75 * 16 && b.y1 <= 100 + 4);
    llmb_canvas_free(c);
}

/* ---- PNG -------------------------------------------------------------- */

typedef struct decoded {
    unsigned width, height;
    uint8_t *px;
} decoded;

static jmp_buf *png_test_jmp;

static void read_png_error(png_structp png, png_const_charp msg)
{
    (void)png;
    fprintf(stderr, "libpng: %s\n", msg);
    longjmp(*png_test_jmp, 1);
}

/* Decode with libpng's read API; fails the test unless it is 8-bit RGBA. */
static decoded read_png(const char *path)
{
    decoded d = {0, 0, NULL};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t sig[8];
    assert_int_equal(fread(sig, 1, 8, f), 8);
    assert_int_equal(png_sig_cmp(sig, 0, 8), 0);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, read_png_error, NULL);
    assert_non_null(png);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    jmp_buf jb;
    png_test_jmp = &jb;
    if (setjmp(jb)) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        fail_msg("libpng could not decode %s", path);
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    assert_int_equal(png_get_bit_depth(png, info), 8);
    assert_int_equal(png_get_color_type(png, info), PNG_COLOR_TYPE_RGB_ALPHA);
    assert_int_equal(png_get_interlace_type(png, info), PNG_INTERLACE_NONE);
    d.width = png_get_image_width(png, info);
    d.height = png_get_image_height(png, info);
    d.px = malloc((size_t)d.width * d.height * 4);
    assert_non_null(d.px);
    assert_int_equal(png_get_rowbytes(png, info), (size_t)d.width * 4);
    for (unsigned y = 0; y < d.height; y++)
        png_read_row(png, d.px + (size_t)y * d.width * 4, NULL);
    png_read_end(png, NULL); /* checks the remaining chunks' CRCs */
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return d;
}

/* Pixels of every kind: opaque, partly transparent, fully transparent. */
static llmb_canvas *test_pattern(unsigned w, unsigned h)
{
    llmb_canvas *c = llmb_canvas_new(w, h, 0x00000000u);
    uint32_t seed = 12345;
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t rgba = seed ^ (seed >> 13);
            if ((x + y) % 5 == 0)
                rgba |= 0xFF;
            if ((x * y) % 7 == 3)
                continue; /* stays transparent */
            llmbi_canvas_blend(c, x, y, rgba, 1.0);
        }
    return c;
}

static void test_chart_png_round_trip_exact(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *path = join(dir, "out.png");
    llmb_canvas *c = test_pattern(37, 23);
    llmb_error err = {0};
    assert_int_equal(llmb_canvas_write_png(c, path, &err), LLMB_OK);
    decoded d = read_png(path);
    assert_int_equal(d.width, 37);
    assert_int_equal(d.height, 23);
    assert_memory_equal(d.px, llmb_canvas_pixels(c), (size_t)37 * 23 * 4);
    free(d.px);
    /* Nothing but the image is left in the directory. */
    assert_int_equal(count_entries(dir), 1);
    /* Permissions follow the umask like any new file, not mkstemp's 0600. */
    struct stat st;
    mode_t mask = umask(022);
    umask(mask);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
    llmb_canvas_free(c);
    free(path);
    remove_dir(dir);
}

static void test_chart_png_replaces_existing_file(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *path = join(dir, "chart.png");
    write_text_file(path, "old contents");
    llmb_canvas *c = llmb_canvas_new(5, 4, 0x336699FFu);
    assert_int_equal(llmb_canvas_write_png(c, path, NULL), LLMB_OK);
    decoded d = read_png(path);
    assert_int_equal(d.width, 5);
    assert_int_equal(d.height, 4);
    assert_memory_equal(d.px, llmb_canvas_pixels(c), 5 * 4 * 4);
    free(d.px);
    assert_int_equal(count_entries(dir), 1);
    llmb_canvas_free(c);
    free(path);
    remove_dir(dir);
}

static void test_chart_png_invalid_arguments(void **state)
{
    (void)state;
    llmb_canvas *c = llmb_canvas_new(2, 2, WHITE);
    llmb_error err = {0};
    assert_int_equal(llmb_canvas_write_png(NULL, "/tmp/x.png", &err), LLMB_ERR_INVALID);
    assert_true(err.text[0] != '\0');
    assert_int_equal(llmb_canvas_write_png(c, NULL, &err), LLMB_ERR_INVALID);
    assert_int_equal(llmb_canvas_write_png(c, "", &err), LLMB_ERR_INVALID);
    llmb_canvas_free(c);
}

static void test_chart_png_missing_directory_is_io_error(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *path = join(dir, "no/such/dir/out.png");
    llmb_canvas *c = llmb_canvas_new(4, 4, WHITE);
    llmb_error err = {0};
    assert_int_equal(llmb_canvas_write_png(c, path, &err), LLMB_ERR_IO);
    assert_non_null(strstr(err.text, strerror(ENOENT)));
    assert_non_null(strstr(err.text, path));
    assert_int_equal(count_entries(dir), 0);
    llmb_canvas_free(c);
    free(path);
    remove_dir(dir);
}

static void test_chart_png_unwritable_directory_is_io_error(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip(); /* root writes anywhere; the missing-directory test covers the path */
    char *dir = make_temp_dir();
    char *path = join(dir, "out.png");
    assert_int_equal(chmod(dir, 0500), 0);
    llmb_canvas *c = llmb_canvas_new(4, 4, WHITE);
    llmb_error err = {0};
    llmb_status st = llmb_canvas_write_png(c, path, &err);
    chmod(dir, 0700);
    assert_int_equal(st, LLMB_ERR_IO);
    assert_non_null(strstr(err.text, strerror(EACCES)));
    assert_int_equal(count_entries(dir), 0);
    llmb_canvas_free(c);
    free(path);
    remove_dir(dir);
}

static void test_chart_png_failed_rename_leaves_nothing(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *sub = join(dir, "taken");
    assert_int_equal(mkdir(sub, 0700), 0);
    llmb_canvas *c = llmb_canvas_new(4, 4, WHITE);
    llmb_error err = {0};
    /* The target is a directory: everything works up to the rename. */
    assert_int_equal(llmb_canvas_write_png(c, sub, &err), LLMB_ERR_IO);
    assert_non_null(strstr(err.text, strerror(EISDIR)));
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(count_entries(sub), 0);
    rmdir(sub);
    llmb_canvas_free(c);
    free(sub);
    remove_dir(dir);
}

static void test_chart_png_write_failure_keeps_old_file(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *path = join(dir, "chart.png");
    write_text_file(path, "previous chart");
    llmb_canvas *c = test_pattern(300, 300); /* noise: about 360 kB compressed */

    /* A file size limit makes the write fail part-way, as a full disk would. */
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 16384;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    llmb_error err = {0};
    llmb_status st = llmb_canvas_write_png(c, path, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(st, LLMB_ERR_IO);
    assert_non_null(strstr(err.text, strerror(EFBIG)));
    assert_true(file_equals(path, "previous chart"));
    assert_int_equal(count_entries(dir), 1);
    llmb_canvas_free(c);
    free(path);
    remove_dir(dir);
}

/* ---- bar chart -------------------------------------------------------- */

static llmb_canvas *render(const llmb_bar_chart *spec, llmbi_bar_layout *lay)
{
    llmb_canvas *c = NULL;
    llmb_error err = {0};
    llmb_status st = llmb_bar_chart_render(spec, &c, &err);
    if (st != LLMB_OK)
        fail_msg("render failed: %s", err.text);
    assert_non_null(c);
    assert_int_equal(llmbi_bar_chart_layout(spec, lay, &err), LLMB_OK);
    assert_int_equal(llmb_canvas_width(c), spec->width);
    assert_int_equal(llmb_canvas_height(c), spec->height);
    return c;
}

static int count_colour(const llmb_canvas *c, unsigned x0, unsigned y0, unsigned x1, unsigned y1,
                        uint32_t rgba, int tol)
{
    int n = 0;
    for (unsigned y = y0; y < y1; y++)
        for (unsigned x = x0; x < x1; x++)
            n += close_to(rgba_at(c, x, y), rgba, tol);
    return n;
}

static void test_chart_bar_tops_at_their_values(void **state)
{
    (void)state;
    const double v[] = {40.1, 41.3, 12.25, 0.5, 44.2, 33.3, 27.0, 8.75};
    const size_t n = sizeof v / sizeof v[0];
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    spec.values = v;
    spec.n = n;
    spec.show_mean = 0;
    spec.title = "Tops";
    spec.x_label = "Request";
    spec.y_label = "Tokens/s";
    llmbi_bar_layout lay;
    llmb_canvas *c = render(&spec, &lay);
    assert_false(lay.dense);
    for (size_t i = 0; i < n; i++) {
        double x0, x1;
        llmbi_bar_x_range(&lay, i, &x0, &x1);
        assert_true(x0 >= lay.plot_left && x1 <= lay.plot_right && x1 - x0 >= 1);
        unsigned cx = (unsigned)((x0 + x1) / 2);
        double want = llmbi_bar_value_y(&lay, v[i]);
        unsigned top = 0;
        for (unsigned y = (unsigned)lay.plot_top; y < lay.plot_bottom; y++)
            if (rgba_at(c, cx, y) == spec.bar_color) {
                top = y;
                break;
            }
        if (fabs(top - want) > 1.0)
            fail_msg("bar %zu: top at %u, value %.2f maps to %.2f", i, top, v[i], want);
        /* Solid bar colour from there down to the baseline... */
        for (unsigned y = top; y < lay.plot_bottom; y++)
            assert_int_equal(rgba_at(c, cx, y), spec.bar_color);
        /* ...and across its whole width, with a gap on either side. */
        unsigned row = (unsigned)lay.plot_bottom - 1;
        for (unsigned x = (unsigned)x0; x < (unsigned)x1; x++)
            assert_int_equal(rgba_at(c, x, row), spec.bar_color);
        assert_int_not_equal(rgba_at(c, (unsigned)x0 - 1, row), spec.bar_color);
        assert_int_not_equal(rgba_at(c, (unsigned)x1, row), spec.bar_color);
    }
    llmb_canvas_free(c);
}

static void test_chart_bar_value_axis_is_round(void **state)
{
    (void)state;
    const double maxima[] = {0.0,  0.003, 0.3,     1.0,   7.5, 41.3,  50.0,
                             99.0, 100.0, 12345.0, 7.7e6, 1e9, 3.3e15};
    for (size_t i = 0; i < sizeof maxima / sizeof maxima[0]; i++) {
        double v[3] = {maxima[i] / 3.0, maxima[i], NAN};
        llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
        spec.values = v;
        spec.n = 3;
        llmbi_bar_layout lay;
        assert_int_equal(llmbi_bar_chart_layout(&spec, &lay, NULL), LLMB_OK);
        double k = lay.axis_max / lay.tick_step;
        assert_true(lay.axis_max > maxima[i]);
        assert_true(fabs(k - round(k)) < 1e-6);
        assert_int_equal(lay.ticks, (unsigned)round(k) + 1);
        assert_true(lay.ticks >= 3 && lay.ticks <= 11);
        double mant = lay.tick_step / pow(10.0, floor(log10(lay.tick_step) + 1e-9));
        assert_true(fabs(mant - 1) < 1e-6 || fabs(mant - 2) < 1e-6 || fabs(mant - 5) < 1e-6);
        /* Round means not wasteful: the top step is the first above the max. */
        assert_true(lay.axis_max - lay.tick_step <= maxima[i] * (1 + 1e-9) || maxima[i] == 0.0);
    }
    /* Values around 40: 0..45 in fives or 0..50 in tens, as the height allows. */
    double v[] = {40.1, 41.3, 39.8, 43.5};
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    spec.values = v;
    spec.n = 4;
    llmbi_bar_layout lay;
    assert_int_equal(llmbi_bar_chart_layout(&spec, &lay, NULL), LLMB_OK);
    assert_true((lay.axis_max == 50.0 && lay.tick_step == 10.0) ||
                (lay.axis_max == 45.0 && lay.tick_step == 5.0));
    assert_true(llmbi_bar_value_y(&lay, 0.0) == lay.plot_bottom);
    assert_true(llmbi_bar_value_y(&lay, lay.axis_max) == lay.plot_top);
}

static void test_chart_bar_gridlines_and_axis(void **state)
{
    (void)state;
    const double v[] = {12.0, 47.0, 33.0};
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    spec.values = v;
    spec.n = 3;
    spec.show_mean = 0;
    llmbi_bar_layout lay;
    llmb_canvas *c = render(&spec, &lay);
    /* Look between the first two bars, where nothing else is drawn. */
    double a0, a1, b0, b1;
    llmbi_bar_x_range(&lay, 0, &a0, &a1);
    llmbi_bar_x_range(&lay, 1, &b0, &b1);
    unsigned gx = (unsigned)((a1 + b0) / 2);
    for (unsigned t = 1; t < lay.ticks; t++) {
        unsigned row = (unsigned)floor(llmbi_bar_value_y(&lay, t * lay.tick_step));
        assert_int_equal(rgba_at(c, gx, row), LLMBI_CHART_GRID_RGBA);
        /* Hairlines: the rows around are background. */
        assert_int_equal(rgba_at(c, gx, row - 2), WHITE);
        assert_int_equal(rgba_at(c, gx, row + 2), WHITE);
    }
    assert_int_equal(rgba_at(c, gx, (unsigned)lay.plot_bottom), LLMBI_CHART_AXIS_RGBA);
    /* Tick labels are drawn left of the plot, category labels under it. */
    assert_true(count_colour(c, 0, (unsigned)lay.plot_top - 10, (unsigned)lay.plot_left,
                             (unsigned)lay.plot_bottom + 10, WHITE,
                             0) < (int)(lay.plot_left * (lay.plot_bottom - lay.plot_top + 20)));
    assert_false(count_colour(c, 0, 0, spec.width, spec.height, LLMBI_CHART_FAILED_RGBA, 40));
    llmb_canvas_free(c);
}

static void test_chart_bar_nan_draws_marker_not_bar(void **state)
{
    (void)state;
    const double v[] = {10.0, NAN, 20.0};
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    spec.values = v;
    spec.n = 3;
    llmbi_bar_layout lay;
    llmb_canvas *c = render(&spec, &lay);
    assert_true(lay.any_failed);
    double x0, x1;
    llmbi_bar_x_range(&lay, 1, &x0, &x1);
    unsigned top = (unsigned)lay.plot_top, base = (unsigned)lay.plot_bottom;
    /* No bar in its slot... */
    assert_int_equal(count_colour(c, (unsigned)x0, top, (unsigned)x1, base, spec.bar_color, 8), 0);
    /* ...but a red cross sitting on the baseline. */
    int red =
        count_colour(c, (unsigned)x0, base - 30, (unsigned)x1, base, LLMBI_CHART_FAILED_RGBA, 8);
    assert_true(red >= 10);
    assert_int_equal(
        count_colour(c, (unsigned)x0, top, (unsigned)x1, base - 30, LLMBI_CHART_FAILED_RGBA, 8), 0);
    /* And a legend entry above the plot. */
    assert_true(count_colour(c, 0, 0, spec.width, top, LLMBI_CHART_FAILED_RGBA, 8) >= 5);
    llmb_canvas_free(c);

    /* All values failed: still a chart, with markers only. */
    const double all[] = {NAN, NAN};
    spec.values = all;
    spec.n = 2;
    c = render(&spec, &lay);
    assert_int_equal(count_colour(c, 0, 0, spec.width, spec.height, spec.bar_color, 8), 0);
    assert_true(count_colour(c, 0, (unsigned)lay.plot_top, spec.width, spec.height,
                             LLMBI_CHART_FAILED_RGBA, 8) >= 20);
    llmb_canvas_free(c);
}

static void test_chart_bar_mean_line(void **state)
{
    (void)state;
    const double v[] = {10.0, 20.0, 36.0, NAN};
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    spec.values = v;
    spec.n = 4;
    llmbi_bar_layout lay;
    llmb_canvas *c = render(&spec, &lay);
    assert_true(fabs(lay.mean - 22.0) < 1e-12);
    unsigned y = (unsigned)floor(llmbi_bar_value_y(&lay, 22.0));
    int on_line = count_colour(c, (unsigned)lay.plot_left, y, (unsigned)lay.plot_right, y + 1,
                               LLMBI_CHART_MEAN_RGBA, 12);
    double plot_w = lay.plot_right - lay.plot_left;
    /* Dashed: much of the width, but not all of it. */
    assert_true(on_line > plot_w * 0.3 && on_line < plot_w * 0.9);
    llmb_canvas_free(c);

    spec.show_mean = 0;
    c = render(&spec, &lay);
    assert_int_equal(count_colour(c, 0, 0, spec.width, spec.height, LLMBI_CHART_MEAN_RGBA, 12), 0);
    llmb_canvas_free(c);
}

static void test_chart_bar_labels_thinned_never_overlap(void **state)
{
    (void)state;
    const size_t counts[] = {12, 60, 500, 10000};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        size_t n = counts[k];
        double *v = malloc(n * sizeof *v);
        assert_non_null(v);
        for (size_t i = 0; i < n; i++)
            v[i] = i % 37 == 3 ? NAN : 20.0 + (double)(i % 11);
        llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
        spec.values = v;
        spec.n = n;
        llmbi_bar_layout lay;
        llmb_canvas *c = render(&spec, &lay);
        char widest[32];
        snprintf(widest, sizeof widest, "%zu", n);
        assert_true(lay.label_every * lay.slot >= llmb_text_width(widest, lay.tick_size));
        assert_int_equal(lay.dense, lay.slot < 3.0);

        /* The labels drawn: a handful or more, apart from one another. */
        llmbi_label_iter it = LLMBI_LABEL_ITER_INIT;
        size_t idx, count = 0, prev_idx = 0;
        double cx, w, prev_right = -1e9;
        double lo[64], hi[64];
        while (llmbi_bar_next_label(&spec, &lay, &it, &idx, &cx, &w)) {
            assert_true(count < 64);
            assert_true(count == 0 || idx > prev_idx);
            assert_true(cx - w / 2.0 >= prev_right + 4.0);
            lo[count] = cx - w / 2.0;
            hi[count] = cx + w / 2.0;
            prev_right = hi[count];
            prev_idx = idx;
            count++;
        }
        assert_true(count >= 5 || count == n);
        /* On the canvas, the label row has ink inside those boxes only,
         * and in every one of them. */
        unsigned y0 = (unsigned)lay.plot_bottom + 2, y1 = y0 + (unsigned)(1.2 * lay.tick_size);
        for (unsigned x = (unsigned)lay.plot_left; x < spec.width; x++) {
            int ink = 0;
            for (unsigned y = y0; y < y1 && !ink; y++)
                ink = px_at(c, x, y)[0] < 250;
            int inside = 0;
            for (size_t j = 0; j < count && !inside; j++)
                inside = x + 1 >= lo[j] - 1.0 && x <= hi[j] + 1.0;
            if (ink && !inside)
                fail_msg("n=%zu: ink at column %u outside every label", n, x);
        }
        for (size_t j = 0; j < count; j++)
            assert_true(ink_region(c, (unsigned)lo[j], y0, (unsigned)hi[j] + 1, y1).any);
        llmb_canvas_free(c);
        free(v);
    }
}

static void test_chart_bar_value_labels_only_when_they_fit(void **state)
{
    (void)state;
    double v[200];
    for (size_t i = 0; i < 200; i++)
        v[i] = 1000.5 + (double)i;
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    spec.values = v;
    spec.n = 12;
    llmbi_bar_layout lay;
    assert_int_equal(llmbi_bar_chart_layout(&spec, &lay, NULL), LLMB_OK);
    assert_true(lay.show_values);
    spec.n = 200;
    assert_int_equal(llmbi_bar_chart_layout(&spec, &lay, NULL), LLMB_OK);
    assert_false(lay.show_values);
    spec.n = 12;
    spec.show_values = 0;
    assert_int_equal(llmbi_bar_chart_layout(&spec, &lay, NULL), LLMB_OK);
    assert_false(lay.show_values);
}

static void test_chart_bar_sizes_and_counts_stay_sane(void **state)
{
    (void)state;
    const unsigned sizes[][2] = {{160, 120}, {300, 200}, {1000, 600}, {4000, 3000}, {2000, 300}};
    const size_t counts[] = {1, 7, 10000};
    static const char *const names[] = {"first", "second with a long name", NULL, "4", "5", "6",
                                        "7"};
    double *v = malloc(10000 * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < 10000; i++)
        v[i] = i % 101 == 50 ? NAN : 1e3 * (1.0 + sin((double)i * 0.01));
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
            spec.width = sizes[s][0];
            spec.height = sizes[s][1];
            spec.values = v;
            spec.n = counts[k];
            spec.labels = counts[k] == 7 ? names : NULL;
            spec.title = "mock-model (Sequential) (mock) with a rather long title";
            spec.x_label = "Request";
            spec.y_label = "Time to first token (ms)";
            llmbi_bar_layout lay;
            llmb_canvas *c = render(&spec, &lay);
            assert_true(lay.plot_left > 0 && lay.plot_right < spec.width);
            assert_true(lay.plot_top > 0 && lay.plot_bottom < spec.height);
            assert_true(lay.plot_right - lay.plot_left >= 0.4 * spec.width);
            assert_true(lay.plot_bottom - lay.plot_top >= 0.3 * spec.height);
            assert_true(count_colour(c, 0, 0, spec.width, spec.height, spec.bar_color, 0) > 0);
            llmb_canvas_free(c);
        }
    free(v);
}

static void test_chart_bar_input_validation(void **state)
{
    (void)state;
    double good[] = {1.0, 2.0};
    llmb_canvas *c = (llmb_canvas *)&good; /* must be reset to NULL on failure */
    llmb_error err;
    struct {
        double v;
        unsigned w, h;
        size_t n;
        int null_values;
        const char *expect;
    } cases[] = {
        {1.0, 1000, 600, 0, 0, "n is 0"},        {1.0, 1000, 600, 2, 1, "NULL"},
        {1.0, 100, 600, 2, 0, "out of range"},   {1.0, 1000, 100, 2, 0, "out of range"},
        {1.0, 9000, 600, 2, 0, "out of range"},  {-0.5, 1000, 600, 2, 0, "negative"},
        {INFINITY, 1000, 600, 2, 0, "infinite"}, {-INFINITY, 1000, 600, 2, 0, "infinite"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v[2] = {3.0, cases[i].v};
        llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
        spec.values = cases[i].null_values ? NULL : v;
        spec.n = cases[i].n;
        spec.width = cases[i].w;
        spec.height = cases[i].h;
        memset(&err, 0, sizeof err);
        c = (llmb_canvas *)&good;
        assert_int_equal(llmb_bar_chart_render(&spec, &c, &err), LLMB_ERR_INVALID);
        assert_null(c);
        if (!strstr(err.text, cases[i].expect))
            fail_msg("case %zu: error '%s' lacks '%s'", i, err.text, cases[i].expect);
    }
    /* The failing value is named by its 1-based position. */
    double v[3] = {1.0, 2.0, -3.0};
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    spec.values = v;
    spec.n = 3;
    assert_int_equal(llmb_bar_chart_render(&spec, &c, &err), LLMB_ERR_INVALID);
    assert_non_null(strstr(err.text, "value 3"));
    assert_int_equal(llmb_bar_chart_render(NULL, &c, &err), LLMB_ERR_INVALID);
    assert_int_equal(llmb_bar_chart_render(&spec, NULL, &err), LLMB_ERR_INVALID);
    /* A NULL error pointer is allowed. */
    assert_int_equal(llmb_bar_chart_render(&spec, &c, NULL), LLMB_ERR_INVALID);
}

static void test_chart_bar_renders_to_png(void **state)
{
    (void)state;
    const double v[] = {40.1, 41.3, 42.0, 39.8, 43.5, NAN, 41.9, 42.7, 40.6, 44.2, 41.1, 42.4};
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    spec.values = v;
    spec.n = sizeof v / sizeof v[0];
    spec.title = "mock-model (Sequential) (mock)";
    spec.x_label = "Request";
    spec.y_label = "Tokens/s";
    llmb_canvas *c = NULL;
    assert_int_equal(llmb_bar_chart_render(&spec, &c, NULL), LLMB_OK);
    char *dir = make_temp_dir();
    char *path = join(dir, "chart.png");
    assert_int_equal(llmb_canvas_write_png(c, path, NULL), LLMB_OK);
    decoded d = read_png(path);
    assert_int_equal(d.width, 1000);
    assert_int_equal(d.height, 600);
    assert_memory_equal(d.px, llmb_canvas_pixels(c), (size_t)1000 * 600 * 4);
    free(d.px);
    llmb_canvas_free(c);
    free(path);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chart_canvas_new_fills_background),
        cmocka_unit_test(test_chart_canvas_size_limits),
        cmocka_unit_test(test_chart_fill_rect_whole_pixels_exact),
        cmocka_unit_test(test_chart_fill_rect_fractional_edges),
        cmocka_unit_test(test_chart_fill_rect_clips_and_ignores_bad_input),
        cmocka_unit_test(test_chart_blend_straight_alpha_over),
        cmocka_unit_test(test_chart_line_coverage),
        cmocka_unit_test(test_chart_line_area_matches_geometry),
        cmocka_unit_test(test_chart_text_every_glyph_inks_within_its_box),
        cmocka_unit_test(test_chart_text_glyphs_are_distinct),
        cmocka_unit_test(test_chart_text_vertical_metrics),
        cmocka_unit_test(test_chart_text_width_matches_ink),
        cmocka_unit_test(test_chart_text_rotated_90_reads_upwards),
        cmocka_unit_test(test_chart_text_any_angle_and_bad_args),
        cmocka_unit_test(test_chart_png_round_trip_exact),
        cmocka_unit_test(test_chart_png_replaces_existing_file),
        cmocka_unit_test(test_chart_png_invalid_arguments),
        cmocka_unit_test(test_chart_png_missing_directory_is_io_error),
        cmocka_unit_test(test_chart_png_unwritable_directory_is_io_error),
        cmocka_unit_test(test_chart_png_failed_rename_leaves_nothing),
        cmocka_unit_test(test_chart_png_write_failure_keeps_old_file),
        cmocka_unit_test(test_chart_bar_tops_at_their_values),
        cmocka_unit_test(test_chart_bar_value_axis_is_round),
        cmocka_unit_test(test_chart_bar_gridlines_and_axis),
        cmocka_unit_test(test_chart_bar_nan_draws_marker_not_bar),
        cmocka_unit_test(test_chart_bar_mean_line),
        cmocka_unit_test(test_chart_bar_labels_thinned_never_overlap),
        cmocka_unit_test(test_chart_bar_value_labels_only_when_they_fit),
        cmocka_unit_test(test_chart_bar_sizes_and_counts_stay_sane),
        cmocka_unit_test(test_chart_bar_input_validation),
        cmocka_unit_test(test_chart_bar_renders_to_png),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
