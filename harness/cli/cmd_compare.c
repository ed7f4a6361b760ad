/*
 * cli/cmd_compare.c — `mallet compare A B`: two result folders (before and
 * after) → per benchmark and backend, the ratio B/A of median wall time and
 * of median peak RSS, with changes beyond the threshold marked as
 * regressions or improvements. Only ok runs count; a pair present on one
 * side only is listed as such.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

typedef struct row {
    char bench[32], backend[16];
    int ok;
    double wall, rss;
} row_t;

typedef struct table {
    row_t *rows;
    size_t n, cap;
} table_t;

static int load(const char *dir, table_t *t, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int c_bench = -1, c_backend = -1, c_status = -1, c_wall = -1, c_rss = -1;
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        snprintf(err, errlen, "%s is empty", path);
        return -1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    int col = 0;
    for (char *save = NULL, *tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save), col++) {
        if (!strcmp(tok, "benchmark")) c_bench = col;
        else if (!strcmp(tok, "backend")) c_backend = col;
        else if (!strcmp(tok, "status")) c_status = col;
        else if (!strcmp(tok, "wall_s")) c_wall = col;
        else if (!strcmp(tok, "peak_rss_kb")) c_rss = col;
    }
    if (c_bench < 0 || c_backend < 0 || c_status < 0 || c_wall < 0 || c_rss < 0) {
        fclose(f);
        snprintf(err, errlen, "%s is not a mallet runs.csv (missing columns)", path);
        return -1;
    }
    size_t lineno = 1;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        row_t r = {0};
        int got = 0;
        col = 0;
        /* empty fields matter (strtok would merge ",,"): split by hand */
        for (char *p = line, *next; p; p = next, col++) {
            next = strchr(p, ',');
            if (next)
                *next++ = '\0';
            if (col == c_bench) { snprintf(r.bench, sizeof r.bench, "%s", p); got++; }
            else if (col == c_backend) { snprintf(r.backend, sizeof r.backend, "%s", p); got++; }
            else if (col == c_status) { r.ok = strcmp(p, "ok") == 0; got++; }
            else if (col == c_wall) { r.wall = strtod(p, NULL); got++; }
            else if (col == c_rss) { r.rss = strtod(p, NULL); got++; }
        }
        if (got != 5) {
            fclose(f);
            snprintf(err, errlen, "%s line %zu: expected at least %d columns", path, lineno, c_rss + 1);
            return -1;
        }
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 64;
            t->rows = realloc(t->rows, t->cap * sizeof *t->rows);
        }
        t->rows[t->n++] = r;
    }
    fclose(f);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const table_t *t, const char *bench, const char *backend, int rss)
{
    double v[256];
    size_t k = 0;
    for (size_t i = 0; i < t->n && k < 256; i++)
        if (t->rows[i].ok && !strcmp(t->rows[i].bench, bench) && !strcmp(t->rows[i].backend, backend))
            v[k++] = rss ? t->rows[i].rss : t->rows[i].wall;
    if (!k)
        return NAN;
    qsort(v, k, sizeof *v, cmp_d);
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

int mallet_cmd_compare(int argc, char **argv)
{
    const char *a = NULL, *b = NULL;
    double threshold = 5;
    bool fail_on_regression = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: mallet compare BEFORE_DIR AFTER_DIR [--threshold PCT] [--fail-on-regression]\n"
                   "  Ratios AFTER/BEFORE of median time and peak RSS per benchmark and backend.\n"
                   "  --threshold PCT        change that counts (default 5)\n"
                   "  --fail-on-regression   exit 1 if anything got slower or bigger beyond it\n");
            return 0;
        } else if (!strcmp(argv[i], "--threshold") && i + 1 < argc) {
            char *end;
            threshold = strtod(argv[++i], &end);
            if (*end || !(threshold >= 0) || threshold > 1000)
                return mallet_usage_error("compare", "--threshold must be a percentage, got '%s'", argv[i]);
        } else if (!strcmp(argv[i], "--fail-on-regression")) {
            fail_on_regression = true;
        } else if (argv[i][0] == '-') {
            return mallet_usage_error("compare", "unknown option '%s'", argv[i]);
        } else if (!a) {
            a = argv[i];
        } else if (!b) {
            b = argv[i];
        } else {
            return mallet_usage_error("compare", "exactly two result folders, got a third: '%s'", argv[i]);
        }
    }
    if (!a || !b)
        return mallet_usage_error("compare", "need two result folders (before and after)");
    table_t ta = {0}, tb = {0};
    char err[512];
    if (load(a, &ta, err, sizeof err) || load(b, &tb, err, sizeof err)) {
        fprintf(stderr, "mallet compare: %s\n", err);
        free(ta.rows);
        free(tb.rows);
        return 2;
    }
    printf("# mallet compare\n\nbefore: `%s`\nafter:  `%s`\nthreshold: %.1f%%\n\n", a, b, threshold);
    printf("| benchmark | backend | time after/before | peak RSS after/before | verdict |\n|---|---|---|---|---|\n");
    size_t regressions = 0, improvements = 0;
    table_t *sides[2] = {&ta, &tb};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sides[s]->n; i++) {
            const row_t *r = &sides[s]->rows[i];
            bool first = true; /* print each pair once */
            for (size_t j = 0; j < i && first; j++)
                first = strcmp(sides[s]->rows[j].bench, r->bench) || strcmp(sides[s]->rows[j].backend, r->backend);
            if (s == 1)
                for (size_t j = 0; j < ta.n && first; j++)
                    first = strcmp(ta.rows[j].bench, r->bench) || strcmp(ta.rows[j].backend, r->backend);
            if (!first)
                continue;
            double wa = median(&ta, r->bench, r->backend, 0), wb = median(&tb, r->bench, r->backend, 0);
            double ra = median(&ta, r->bench, r->backend, 1), rb = median(&tb, r->bench, r->backend, 1);
            if (isnan(wa) || isnan(wb)) {
                printf("| %s | %s | - | - | %s |\n", r->bench, r->backend,
                       isnan(wa) && isnan(wb) ? "no ok run on either side"
                       : isnan(wa)            ? "no ok run before"
                                              : "**no ok run after**");
                if (!isnan(wa) && isnan(wb))
                    regressions++;
                continue;
            }
            double tr = wb / wa, mr = ra > 0 ? rb / ra : NAN;
            const char *verdict = "same";
            double lim = threshold / 100;
            if (tr > 1 + lim || (!isnan(mr) && mr > 1 + lim)) {
                verdict = "**regression**";
                regressions++;
            } else if (tr < 1 - lim || (!isnan(mr) && mr < 1 - lim)) {
                verdict = "improvement";
                improvements++;
            }
            printf("| %s | %s | %.3f× | %.3f× | %s |\n", r->bench, r->backend, tr, mr, verdict);
        }
    printf("\n%zu regressions, %zu improvements beyond %.1f%%\n", regressions, improvements, threshold);
    free(ta.rows);
    free(tb.rows);
    return fail_on_regression && regressions ? 1 : 0;
}
