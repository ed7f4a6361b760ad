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
