/*
 * report/report_plot.c — charts with gnuplot: for each metric a clustered
 * bar chart (benchmarks on x, one bar per backend): time ratio to sys,
 * peak RSS ratio to sys, and p99 latency (log scale). Written as SVG and
 * PNG with the .dat and .gp files beside them, so a user can restyle.
 * No gnuplot: said on stderr and in plots/README, the run still counts.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdbool.h>

#include "report/report.h"

static int write_dat(const char *path, const mallet_run_result_t *r, size_t n, const char *const *be,
                     size_t nbe, const char *const *bench, size_t nbench, int metric, bool ratio)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "benchmark");
    for (size_t j = 0; j < nbe; j++)
        fprintf(f, " %s", be[j]);
    fprintf(f, "\n");
    for (size_t i = 0; i < nbench; i++) {
        fprintf(f, "%s", bench[i]);
        double sys = mallet_report_median(r, n, bench[i], "sys", metric, NULL, NULL, NULL);
        for (size_t j = 0; j < nbe; j++) {
            double m = mallet_report_median(r, n, bench[i], be[j], metric, NULL, NULL, NULL);
            if (ratio)
                m = (isnan(sys) || sys <= 0) ? NAN : m / sys;
            if (isnan(m))
                fprintf(f, " NaN");
            else
                fprintf(f, " %.6g", m);
        }
        fprintf(f, "\n");
    }
    return fclose(f);
}

static void plot_script(FILE *f, const char *name, const char *title, const char *ylabel, size_t nbe,
                        bool logscale, bool ratio_line)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        if (fmt == 0)
            fprintf(f, "set terminal svg size 1200,520 dynamic font 'sans,11'\nset output '%s.svg'\n", name);
        else
            fprintf(f, "set terminal pngcairo size 1200,520 font 'sans,10'\nset output '%s.png'\n", name);
        fprintf(f, "set title '%s'\nset ylabel '%s'\nset style data histograms\n"
                   "set style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
                   "set boxwidth 0.9\nset xtics rotate by -35 scale 0\nset key top left horizontal\n"
                   "set grid ytics\nset datafile missing 'NaN'\n",
                title, ylabel);
        fprintf(f, logscale ? "set logscale y\n" : "unset logscale y\nset yrange [0:*]\n");
        if (ratio_line)
            fprintf(f, "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'\n");
        fprintf(f, "plot for [i=2:%zu] '%s.dat' using i:xtic(1) title columnheader(i)\n", nbe + 1, name);
        fprintf(f, "unset arrow 1\n");
    }
}

/* Upper edge of latency bucket i (inverse of mallet_latency_bucket). */
static uint64_t bucket_top(unsigned i)
{
    if (i < 16)
        return i;
    unsigned msb = i / 16 + 3, sub = i % 16;
    return ((16ull + sub + 1) << (msb - 4)) - 1;
}

/* latency_cdf.dat: one gnuplot data block per benchmark (separated by two
 * blank lines, selected with `index`), columns: ns, then the cumulative
 * fraction per backend (all ok repeats merged). */
static int write_cdf(const char *path, const mallet_run_result_t *r, size_t n, const char *const *be,
                     size_t nbe, const char *const *bench, size_t nbench)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static mallet_latency_t merged[16];
    for (size_t i = 0; i < nbench; i++) {
        memset(merged, 0, sizeof merged);
        for (size_t k = 0; k < n; k++)
            for (size_t j = 0; j < nbe && j < 16; j++)
                if (r[k].status == RUN_OK && !strcmp(r[k].benchmark, bench[i]) && !strcmp(r[k].backend, be[j]))
                    mallet_latency_merge(&merged[j], &r[k].latency);
        fprintf(f, "# %s\nns", bench[i]);
        for (size_t j = 0; j < nbe; j++)
            fprintf(f, " %s", be[j]);
        fprintf(f, "\n");
        uint64_t seen[16] = {0};
        for (unsigned b = 0; b < MALLET_LATENCY_BUCKETS; b++) {
            bool any = false;
            for (size_t j = 0; j < nbe && j < 16; j++)
                any |= merged[j].bucket[b] != 0;
            if (!any)
                continue;
            fprintf(f, "%llu", (unsigned long long)bucket_top(b));
            for (size_t j = 0; j < nbe && j < 16; j++) {
                seen[j] += merged[j].bucket[b];
                if (merged[j].count)
                    fprintf(f, " %.6f", (double)seen[j] / (double)merged[j].count);
                else
                    fprintf(f, " NaN");
            }
            fprintf(f, "\n");
        }
        fprintf(f, "\n\n");
    }
    return fclose(f);
}

int mallet_report_plot(const char *dir, const mallet_run_result_t *r, size_t n, const char *const *be,
                       size_t nbe, const char *const *bench, size_t nbench)
{
    char pdir[4096], path[4200];
    snprintf(pdir, sizeof pdir, "%s/plots", dir);
    if (mkdir(pdir, 0755) != 0 && errno != EEXIST)
        return -1;
    bool have_sys = false;
    for (size_t j = 0; j < nbe; j++)
        have_sys |= strcmp(be[j], "sys") == 0;
    snprintf(path, sizeof path, "%s/time_ratio.dat", pdir);
    write_dat(path, r, n, be, nbe, bench, nbench, 0, have_sys);
    snprintf(path, sizeof path, "%s/rss_ratio.dat", pdir);
    write_dat(path, r, n, be, nbe, bench, nbench, 1, have_sys);
    snprintf(path, sizeof path, "%s/latency_p99.dat", pdir);
    write_dat(path, r, n, be, nbe, bench, nbench, 2, false);
    snprintf(path, sizeof path, "%s/latency_cdf.dat", pdir);
    write_cdf(path, r, n, be, nbe, bench, nbench);
    snprintf(path, sizeof path, "%s/plots.gp", pdir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    if (have_sys) {
        plot_script(f, "time_ratio", "Wall time relative to sys (lower is better)", "time / sys time", nbe,
                    false, true);
        plot_script(f, "rss_ratio", "Peak RSS relative to sys (lower is better)", "peak RSS / sys peak RSS",
                    nbe, false, true);
    } else {
        plot_script(f, "time_ratio", "Wall time (s) (lower is better)", "seconds", nbe, false, false);
        plot_script(f, "rss_ratio", "Peak RSS (KiB) (lower is better)", "KiB", nbe, false, false);
    }
    plot_script(f, "latency_p99", "p99 latency of one allocator call (sampled; lower is better)", "ns", nbe,
                true, false);
    /* Latency CDFs: one panel per benchmark on one page. */
    unsigned cols = 4, rows = (unsigned)((nbench + cols - 1) / cols);
    for (int fmt = 0; fmt < 2; fmt++) {
        if (fmt == 0)
            fprintf(f, "set terminal svg size 1600,%u dynamic font 'sans,9'\nset output 'latency_cdf.svg'\n",
                    300 * rows + 40);
        else
            fprintf(f, "set terminal pngcairo size 1600,%u font 'sans,8'\nset output 'latency_cdf.png'\n",
                    300 * rows + 40);
        fprintf(f, "reset\nset datafile missing 'NaN'\nset logscale x\nset yrange [0:1]\nset grid\n"
                   "set key bottom right\nset xlabel 'ns (log)'\nset ylabel 'fraction of calls'\n"
                   "set multiplot layout %u,%u title 'Latency CDF of one allocator call (sampled)'\n", rows, cols);
        for (size_t i = 0; i < nbench; i++)
            fprintf(f, "set title '%s'\nplot for [c=2:%zu] 'latency_cdf.dat' index %zu using 1:c with steps "
                       "title columnheader(c)\n", bench[i], nbe + 1, i);
        fprintf(f, "unset multiplot\n");
    }
    fclose(f);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot plots.gp 2> gnuplot.log", pdir);
    int rc = system(cmd);
    if (rc != 0) {
        const char *why = rc == 127 * 256 ? "gnuplot is not installed (apt-get install gnuplot-nox)"
                                          : "gnuplot failed (see plots/gnuplot.log)";
        fprintf(stderr, "mallet bench: NO PLOTS: %s\n", why);
        snprintf(path, sizeof path, "%s/README", pdir);
        FILE *rf = fopen(path, "w");
        if (rf) {
            fprintf(rf, "No plots: %s. The data is in *.dat; run 'gnuplot plots.gp' here.\n", why);
            fclose(rf);
        }
        return -1;
    }
    return 0;
}
