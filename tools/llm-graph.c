/*
 * llm-graph: a bar chart of tokens/s per request from a results CSV.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llmbench/llmbench.h"

#include "options.h"

static const char *const tool = "llm-graph";

static void usage(void)
{
    printf("Usage: %s [CSV] [-o PNG] [--title TEXT]\n", tool);
    printf("Draw a bar chart of tokens per second for each request of a results CSV (as\n"
           "written by llm-seq and llm-conc). Failed requests are marked with a red cross.\n\n"
           "  CSV                  the results to read (default results.csv; - for standard\n"
           "                       input)\n"
           "  -o, --output PNG     where to write the chart (default images/TITLE.png)\n"
           "  --title TEXT         the chart's title (default \"MODEL (MODE) (ENGINE)\" from\n"
           "                       the CSV; MODE is Sequential, Concurrent, R req per s or\n"
           "                       Concurrency N)\n"
           "  --width N            image width in pixels (default 1000)\n"
           "  --height N           image height in pixels (default 600)\n"
           "  --no-mean            do not draw the mean line\n"
           "  --no-values          do not print values above the bars\n"
           "  --level X            the level to draw from a sweep's CSV (its level column)\n"
           "  -h, --help           show this help\n"
           "  --version            show the version\n\n"
           "Exit status: 0 when the chart was written, 1 when the CSV could not be read or\n"
           "the chart not written, 2 if the command line is wrong.\n\n"
           "Examples:\n"
           "  %s                                  # results.csv -> images/<title>.png\n"
           "  %s run1.csv -o run1.png --title \"Llama 3 8B on vLLM\"\n",
           tool, tool);
}

/* A bar: the request number it belongs to and where its row was. */
typedef struct bar {
    double request;
    double attempt; /* 1, or the attempt of a retried request */
    double value;
    size_t row;
} bar;

static int by_request(const void *a, const void *b)
{
    const bar *x = a, *y = b;
    if (x->request != y->request)
        return (x->request > y->request) - (x->request < y->request);
    return (x->attempt > y->attempt) - (x->attempt < y->attempt);
}

/* Engine names as their projects write them, for titles. */
static const char *engine_display(const char *provider)
{
    static const char *const names[][2] = {
        {"vllm", "vLLM"},     {"sglang", "SGLang"}, {"llamacpp", "llama.cpp"},
        {"ollama", "Ollama"}, {"openai", "OpenAI"}, {"groq", "Groq"},
        {"tgi", "TGI"},       {"mock", "mock"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i][0], provider) == 0)
            return names[i][1];
    return provider;
}

/* The value of a text column if every row agrees on it, else NULL. */
static const char *common_value(const llmb_table *t, const char *column)
{
    long col = llmb_table_find(t, column);
    const char *v;
    if (col < 0 || llmb_table_rows(t) == 0)
        return NULL;
    v = llmb_table_cell(t, 0, (size_t)col);
    for (size_t r = 1; r < llmb_table_rows(t); r++)
        if (strcmp(v, llmb_table_cell(t, r, (size_t)col)) != 0)
            return NULL;
    return *v ? v : NULL;
}

static void default_title(const llmb_table *t, double level, char *buf, size_t size)
{
    const char *model = common_value(t, "model");
    const char *schedule = common_value(t, "schedule");
    const char *provider = common_value(t, "provider");
    const char *mode = NULL;
    char mode_buf[64];

    if (schedule && strcmp(schedule, "sequential") == 0) {
        mode = "Sequential";
    } else if (schedule && strcmp(schedule, "concurrent") == 0) {
        mode = "Concurrent";
    } else if (schedule && strcmp(schedule, "rate") == 0 && !isnan(level)) {
        snprintf(mode_buf, sizeof mode_buf, "%g req per s", level);
        mode = mode_buf;
    } else if (schedule && strcmp(schedule, "concurrency") == 0 && !isnan(level)) {
        snprintf(mode_buf, sizeof mode_buf, "Concurrency %g", level);
        mode = mode_buf;
    }
    if (model && *model == '\'')
        model++; /* the CSV's guard against formulas is not part of the name */
    if (!model) {
        snprintf(buf, size, "Tokens per second per request");
        return;
    }
    if (provider)
        snprintf(buf, size, "%s%s%s%s (%s)", model, mode ? " (" : "", mode ? mode : "",
                 mode ? ")" : "", engine_display(provider));
    else
        snprintf(buf, size, "%s%s%s%s", model, mode ? " (" : "", mode ? mode : "", mode ? ")" : "");
}

/* A file name from a title: path separators and characters that shells and
 * other systems trip over become '_'. */
static void file_name_from(const char *title, char *buf, size_t size)
{
    size_t o = 0;
    for (const char *p = title; *p && o + 1 < size; p++) {
        unsigned char c = (unsigned char)*p;
        buf[o++] = (c < 0x20 || c == 0x7f || strchr("/\\:*?\"<>|", c)) ? '_' : (char)c;
    }
    buf[o] = '\0';
    if (o == 0 || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
        snprintf(buf, size, "chart");
}

int main(int argc, char **argv)
{
    enum {
        OPT_TITLE = 256,
        OPT_WIDTH,
        OPT_HEIGHT,
        OPT_NO_MEAN,
        OPT_NO_VALUES,
        OPT_LEVEL,
        OPT_HELP,
        OPT_VERSION
    };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"title", required_argument, NULL, OPT_TITLE},
        {"width", required_argument, NULL, OPT_WIDTH},
        {"height", required_argument, NULL, OPT_HEIGHT},
        {"no-mean", no_argument, NULL, OPT_NO_MEAN},
        {"no-values", no_argument, NULL, OPT_NO_VALUES},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *csv = "results.csv";
    const char *output = NULL;
    const char *title = NULL;
    uint64_t width = 1000, height = 600;
    int show_mean = 1, show_values = 1;
    llmb_table *t = NULL;
    llmb_canvas *canvas = NULL;
    llmb_bar_chart spec = LLMB_BAR_CHART_INIT;
    double *values = NULL;
    char **labels = NULL;
    bar *bars = NULL;
    size_t rows = 0, failed = 0, warmups = 0, n = 0;
    double level = NAN, first_level = NAN;
    int level_given = 0, levels_differ = 0;
    double seen[12];
    size_t n_seen = 0;
    char title_buf[512], path_buf[1100], name_buf[512];
    long col_tps, col_req, col_class, col_level, col_warmup, col_attempt;
    llmb_error e;
    int rc = TOOL_EXIT_FAILED;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!*optarg) {
                tool_usage_error(tool, "--output: the file name is empty");
                return TOOL_EXIT_USAGE;
            }
            output = optarg;
            break;
        case OPT_TITLE:
            title = optarg;
            break;
        case OPT_WIDTH:
            if (tool_parse_u64(tool, "--width", optarg, LLMB_BAR_CHART_MIN_WIDTH,
                               LLMB_BAR_CHART_MAX_SIDE, &width))
                return TOOL_EXIT_USAGE;
            break;
        case OPT_HEIGHT:
            if (tool_parse_u64(tool, "--height", optarg, LLMB_BAR_CHART_MIN_HEIGHT,
                               LLMB_BAR_CHART_MAX_SIDE, &height))
                return TOOL_EXIT_USAGE;
            break;
        case OPT_NO_MEAN:
            show_mean = 0;
            break;
        case OPT_NO_VALUES:
            show_values = 0;
            break;
        case OPT_LEVEL:
            if (tool_parse_double(tool, "--level", optarg, 0, 1e9, &level))
                return TOOL_EXIT_USAGE;
            level_given = 1;
            break;
        case 'h':
        case OPT_HELP:
            usage();
            return TOOL_EXIT_OK;
        case OPT_VERSION:
            printf("%s (libllmbench) %s\n", tool, llmb_version());
            return TOOL_EXIT_OK;
        case ':':
            tool_usage_error(tool, "%s needs a value", argv[optind - 1]);
            return TOOL_EXIT_USAGE;
        default:
            tool_usage_error(tool, "unknown option '%s'", argv[optind - 1]);
            return TOOL_EXIT_USAGE;
        }
    }
    if (optind < argc)
        csv = argv[optind++];
    if (optind < argc) {
        tool_usage_error(tool, "unexpected argument '%s' (one CSV at a time)", argv[optind]);
        return TOOL_EXIT_USAGE;
    }

    if ((strcmp(csv, "-") == 0 ? llmb_table_read_stream(stdin, "standard input", &t, &e)
                               : llmb_table_read_file(csv, &t, &e)) != LLMB_OK) {
        /* Parse errors already say "line L, column C: ..."; I/O errors name the file. */
        if (e.line)
            tool_error(tool, "%s: %s", csv, e.text);
        else
            tool_error(tool, "%s", e.text);
        goto out;
    }
    if (llmb_results_check(t, NULL, &e) != LLMB_OK) {
        tool_error(tool, "%s: %s", csv, e.text);
        goto out;
    }
    rows = llmb_table_rows(t);
    if (rows == 0) {
        tool_error(tool, "%s: no requests in the file, nothing to draw", csv);
        goto out;
    }
    col_req = llmb_table_find(t, "request");
    col_tps = llmb_table_find(t, "tokens_per_s");
    col_class = llmb_table_find(t, "error_class");
    values = calloc(rows, sizeof *values);
    labels = calloc(rows, sizeof *labels);
    bars = calloc(rows, sizeof *bars);
    if (!values || !labels || !bars) {
        tool_error(tool, "out of memory");
        goto out;
    }
    col_level = llmb_table_find(t, "level");
    col_warmup = llmb_table_find(t, "warmup");
    col_attempt = llmb_table_find(t, "attempt");
    /* A sweep's CSV holds several levels, each with its own requests 1..N:
     * one chart is one level. */
    for (size_t r = 0; col_level >= 0 && r < rows; r++) {
        double v;
        size_t k = 0;
        if (llmb_table_number(t, r, (size_t)col_level, &v, &e) != LLMB_OK) {
            tool_error(tool, "%s: %s", csv, e.text);
            goto out;
        }
        if (r == 0)
            first_level = v;
        else if (!(v == first_level || (isnan(v) && isnan(first_level))))
            levels_differ = 1;
        /* The first few distinct levels, to name them if one must be chosen. */
        while (k < n_seen && !(seen[k] == v || (isnan(v) && isnan(seen[k]))))
            k++;
        if (k == n_seen && n_seen < sizeof seen / sizeof seen[0])
            seen[n_seen++] = v;
    }
    if (levels_differ && !level_given) {
        char list[256];
        size_t at = 0;
        for (size_t k = 0; k < n_seen && at < sizeof list; k++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%g", k ? ", " : "", seen[k]);
        tool_error(tool, "%s holds several levels of a sweep (%s%s); choose one with --level", csv,
                   list, n_seen == sizeof seen / sizeof seen[0] ? ", ..." : "");
        goto out;
    }
    if (!level_given)
        level = first_level;
    for (size_t r = 0; r < rows; r++) {
        const char *cls = col_class >= 0 ? llmb_table_cell(t, r, (size_t)col_class) : "";
        bar *b = &bars[n];
        double lv = NAN;
        if (col_level >= 0 && level_given) {
            llmb_table_number(t, r, (size_t)col_level, &lv, &e);
            if (!(lv == level))
                continue;
        }
        if (col_warmup >= 0 && strcmp(llmb_table_cell(t, r, (size_t)col_warmup), "1") == 0) {
            warmups++; /* not measured, not drawn */
            continue;
        }
        b->row = r;
        b->attempt = 1;
        if ((col_attempt >= 0 &&
             llmb_table_number(t, r, (size_t)col_attempt, &b->attempt, &e) != LLMB_OK) ||
            llmb_table_number(t, r, (size_t)col_req, &b->request, &e) != LLMB_OK ||
            llmb_table_number(t, r, (size_t)col_tps, &b->value, &e) != LLMB_OK) {
            tool_error(tool, "%s: %s", csv, e.text);
            goto out;
        }
        if (isnan(b->request) || b->request < 1 || b->request != floor(b->request)) {
            tool_error(tool, "%s: line %lu: request is not a request number", csv,
                       llmb_table_line(t, r));
            goto out;
        }
        if (b->value < 0) {
            tool_error(tool, "%s: line %lu: tokens_per_s is negative", csv, llmb_table_line(t, r));
            goto out;
        }
        /* A failed request has no throughput to draw: it gets the failure mark. */
        if (*cls || isnan(b->value)) {
            b->value = NAN;
            failed++;
        }
        n++;
    }
    if (n == 0) {
        if (level_given)
            tool_error(tool, "%s: no measured request at level %g", csv, level);
        else
            tool_error(tool, "%s: no measured request (only warmup), nothing to draw", csv);
        goto out;
    }
    /* Rows are in the order requests finished; bars go in request order. */
    qsort(bars, n, sizeof *bars, by_request);
    {
        /* A retried request has a row per attempt: its bar is the last one. */
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (i + 1 < n && bars[i + 1].request == bars[i].request) {
                if (bars[i + 1].attempt == bars[i].attempt) {
                    tool_error(tool, "%s: request %.0f appears twice (lines %lu and %lu)", csv,
                               bars[i].request, llmb_table_line(t, bars[i].row),
                               llmb_table_line(t, bars[i + 1].row));
                    goto out;
                }
                if (isnan(bars[i].value))
                    failed--; /* an earlier attempt's failure is not the request's */
                continue;
            }
            values[kept] = bars[i].value;
            labels[kept] = (char *)llmb_table_cell(t, bars[i].row, (size_t)col_req);
            kept++;
        }
        n = kept;
    }

    if (!title) {
        default_title(t, level, title_buf, sizeof title_buf);
        title = title_buf;
    }
    if (!output) {
        file_name_from(title, name_buf, sizeof name_buf);
        if (mkdir("images", 0777) != 0 && errno != EEXIST) {
            tool_error(tool, "cannot create the images directory: %s", strerror(errno));
            goto out;
        }
        snprintf(path_buf, sizeof path_buf, "images/%s.png", name_buf);
        output = path_buf;
    }

    spec.width = (unsigned)width;
    spec.height = (unsigned)height;
    spec.title = title;
    spec.x_label = "Request";
    spec.y_label = "Tokens/s";
    spec.values = values;
    spec.labels = (const char *const *)labels;
    spec.n = n;
    spec.show_mean = show_mean;
    spec.show_values = show_values;
    if (llmb_bar_chart_render(&spec, &canvas, &e) != LLMB_OK) {
        tool_error(tool, "cannot draw the chart: %s", e.text);
        goto out;
    }
    if (llmb_canvas_write_png(canvas, output, &e) != LLMB_OK) {
        tool_error(tool, "%s", e.text);
        goto out;
    }
    printf("%s: wrote %s (%ux%u, %zu request%s, %zu failed", tool, output, (unsigned)width,
           (unsigned)height, n, n == 1 ? "" : "s", failed);
    if (warmups)
        printf(", %zu warmup not drawn", warmups);
    printf(")\n");
    rc = TOOL_EXIT_OK;
out:
    llmb_canvas_free(canvas);
    free(values);
    free(labels);
    free(bars);
    llmb_table_free(t);
    return rc;
}
