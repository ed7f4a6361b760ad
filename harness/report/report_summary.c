/*
 * report/report_summary.c — summary.md: the table a user reads first.
 *
 * Per benchmark and backend: the median wall time over the ok repeats with
 * its spread (min-max as +-% of the median), the ratio to sys in the same
 * run (ratios, not absolute times, are what survive a noisy machine), peak
 * RSS, and the winner. A geometric-mean row summarises the ratios over the
 * benchmarks every backend completed. Runs that did not complete are
 * listed with their status and reason.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

static double metric_of(const mallet_run_result_t *x, int metric)
{
    switch (metric) {
    case 0: return x->wall_s;
    case 1: return (double)x->peak_rss_kb;
    case 2: return (double)x->p99_ns;
    case 4: return x->ops ? x->wall_s * 1e9 / (double)x->ops : 0;
    default: return x->fragmentation;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mallet_report_median(const mallet_run_result_t *r, size_t n, const char *bench,
                            const char *backend, int metric, double *lo, double *hi, int *count)
{
    double v[256];
    int k = 0;
    for (size_t i = 0; i < n && k < 256; i++)
        if (r[i].status == RUN_OK && strcmp(r[i].benchmark, bench) == 0 &&
            strcmp(r[i].backend, backend) == 0)
            v[k++] = metric_of(&r[i], metric);
    if (count)
        *count = k;
    if (k == 0)
        return NAN;
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    if (lo)
        *lo = v[0];
    if (hi)
        *hi = v[k - 1];
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static void table(FILE *f, const mallet_run_result_t *r, size_t n, const char *const *be, size_t nbe,
                  const char *const *bench, size_t nbench, int metric, const char *title, const char *unit,
                  double div, bool lower_is_better)
{
    fprintf(f, "\n## %s\n\n| benchmark |", title);
    for (size_t j = 0; j < nbe; j++)
        fprintf(f, " %s |", be[j]);
    fprintf(f, " best |\n|---|");
    for (size_t j = 0; j <= nbe; j++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    double logsum[32] = {0};
    int logn[32] = {0};
    bool have_sys = false;
    for (size_t j = 0; j < nbe; j++)
        have_sys |= strcmp(be[j], "sys") == 0;
    for (size_t i = 0; i < nbench; i++) {
        fprintf(f, "| %s |", bench[i]);
        double best = NAN, sys = mallet_report_median(r, n, bench[i], "sys", metric, NULL, NULL, NULL);
        const char *winner = "-";
        for (size_t j = 0; j < nbe; j++) {
            double lo, hi;
            int cnt;
            double m = mallet_report_median(r, n, bench[i], be[j], metric, &lo, &hi, &cnt);
            if (isnan(m)) {
                /* say why: the first non-ok run's status */
                const char *st = "no run";
                for (size_t k = 0; k < n; k++)
                    if (strcmp(r[k].benchmark, bench[i]) == 0 && strcmp(r[k].backend, be[j]) == 0) {
                        st = mallet_run_status_name(r[k].status);
                        break;
                    }
                fprintf(f, " **%s** |", st);
                continue;
            }
            double spread = m > 0 ? 100.0 * (hi - lo) / 2 / m : 0;
            fprintf(f, " %.3g %s", m / div, unit);
            if (cnt > 1)
                fprintf(f, " ±%.0f%%", spread);
            if (have_sys && !isnan(sys) && sys > 0) {
                fprintf(f, " (%.2f×)", m / sys);
                if (j < 32 && m > 0) {
                    logsum[j] += log(m / sys);
                    logn[j]++;
                }
            }
            fprintf(f, " |");
            if (isnan(best) || (lower_is_better ? m < best : m > best)) {
                best = m;
                winner = be[j];
            }
        }
        fprintf(f, " %s |\n", winner);
    }
    if (have_sys) {
        fprintf(f, "| **geometric mean vs sys** |");
        for (size_t j = 0; j < nbe; j++) {
            if (j < 32 && logn[j] > 0)
                fprintf(f, " %.2f× (%d) |", exp(logsum[j] / logn[j]), logn[j]);
            else
                fprintf(f, " - |");
        }
        fprintf(f, " |\n");
    }
}

int mallet_report_write_summary(const char *dir, const mallet_run_result_t *r, size_t n,
                                const char *const *be, size_t nbe, const char *const *bench,
                                size_t nbench, FILE *echo)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.md", dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    fprintf(f, "# mallet benchmark summary\n\n"
               "Median over the successful repeats; ±%% is half the min-max spread relative to the "
               "median; (N×) is the ratio to `sys` measured in the same run (lower is better for "
               "time, memory and latency). See runs.csv for every run and meta.json for the machine.\n");
    table(f, r, n, be, nbe, bench, nbench, 0, "Wall time", "s", 1, true);
    table(f, r, n, be, nbe, bench, nbench, 4, "Wall time per allocator call (all threads' calls; includes the benchmark's own work)", "ns", 1, true);
    table(f, r, n, be, nbe, bench, nbench, 1, "Peak RSS", "MiB", 1024, true);
    table(f, r, n, be, nbe, bench, nbench, 2, "p99 latency of one call (sampled)", "ns", 1, true);
    /* Runs that did not complete, with the reason: nothing is dropped. */
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].status != RUN_OK) {
            if (!bad++)
                fprintf(f, "\n## Runs that did not complete\n\n| benchmark | backend | repeat | status | reason |\n"
                           "|---|---|---|---|---|\n");
            fprintf(f, "| %s | %s | %u | **%s** | %s |\n", r[i].benchmark, r[i].backend, r[i].repeat,
                    mallet_run_status_name(r[i].status), r[i].note);
        }
    if (!bad)
        fprintf(f, "\nEvery run completed.\n");
    fclose(f);
    FILE *out = fopen(path, "w");
    int rc = 0;
    if (!out || fwrite(buf, 1, len, out) != len)
        rc = -1;
    if (out && fclose(out) != 0)
        rc = -1;
    if (echo)
        fwrite(buf, 1, len, echo);
    free(buf);
    return rc;
}
