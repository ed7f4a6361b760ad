/*
 * report/report.h — the result folder of a `mallet bench` run:
 *   runs.csv, runs.json   one row per run (every repeat, every status)
 *   meta.json             machine, build, commit, peer versions, options
 *   summary.md            per benchmark: median and spread per backend,
 *                         ratio to sys, winner; a geometric-mean row
 *   plots/                gnuplot charts as SVG and PNG (time ratio, peak RSS, p99 latency)
 * Missing backends and failed/crashed runs are written, never dropped.
 */
#ifndef MALLET_REPORT_H
#define MALLET_REPORT_H

#include <stdio.h>

#include "bench/runner.h"

typedef struct mallet_report_meta {
    const char *command_line;
    const char *backends;          /* comma list as run */
    const char *benchmarks;
    unsigned threads, repeats;
    unsigned long long seed;
    double scale;
    double overhead_ns;
    const char *commit;
    const char *started;           /* ISO 8601 UTC */
    double duration_s;
    mallet_isolation_t isolation;  /* how each run was isolated (runner.h) */
} mallet_report_meta_t;

int mallet_report_write_runs(const char *dir, const mallet_run_result_t *r, size_t n);
int mallet_report_write_meta(const char *dir, const mallet_report_meta_t *m);
/* Writes summary.md and also prints it to `echo` (may be NULL). */
int mallet_report_write_summary(const char *dir, const mallet_run_result_t *r, size_t n,
                                const char *const *backends, size_t nbackends,
                                const char *const *benches, size_t nbenches, FILE *echo);
/* Writes plots/ with gnuplot; returns 0, or -1 after saying why (gnuplot
 * missing or failing) on stderr and in plots/README. */
int mallet_report_plot(const char *dir, const mallet_run_result_t *r, size_t n,
                       const char *const *backends, size_t nbackends,
                       const char *const *benches, size_t nbenches);

/* Median of the ok runs' metric for (bench, backend); NAN if none.
 * metric: 0 wall_s, 1 peak_rss_kb, 2 p99_ns, 3 fragmentation, 4 ns per call. */
double mallet_report_median(const mallet_run_result_t *r, size_t n, const char *bench,
                            const char *backend, int metric, double *lo, double *hi, int *count);

#endif
