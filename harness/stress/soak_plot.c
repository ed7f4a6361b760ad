/*
 * stress/soak_plot.c — the soak's RSS curves as a picture.
 *
 * `mallet stress --soak` writes one soak_<id>.csv per backend (t_s, rss_kb,
 * live_kb, ops). This draws them with gnuplot into soak_rss.svg/.png: one
 * panel per backend, RSS and the live bytes the workload holds, so growth
 * that is not live data (a leak, fragmentation, a cache that never gives
 * memory back) shows as a widening gap. Every soak_<id>.csv in the folder
 * is drawn, so re-running one backend into a folder keeps one picture of
 * all. No gnuplot: said loudly, the CSV
 * files stay the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/backend_select.h"
#include "stress/stress.h"

int stress_soak_plot(const char *dir)
{
    /* Every backend with a CSV in the folder, in listing order: a folder
     * filled by several runs (one backend re-run) gets one picture. */
    mallet_backend_selection_t all;
    char err[256], path[4200];
    if (mallet_backend_select("all", &all, err, sizeof err) != 0)
        return -1;
    const char (*ids)[16] = all.id;
    size_t n = all.n;
    const char *have[MALLET_MAX_BACKENDS];
    size_t k = 0;
    for (size_t i = 0; i < n && k < MALLET_MAX_BACKENDS; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/soak_%s.csv", dir, ids[i]);
        if (stat(path, &st) == 0 && st.st_size > 0)
            have[k++] = ids[i];
    }
    if (k == 0)
        return 0;
    snprintf(path, sizeof path, "%s/soak.gp", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "mallet stress: cannot write %s\n", path);
        return -1;
    }
    unsigned cols = k > 1 ? 2 : 1, rows = (unsigned)((k + cols - 1) / cols);
    fprintf(f, "# gnuplot soak.gp (written by mallet stress --soak)\n"
               "set datafile separator ','\nset key top left\nset grid\n"
               "set xlabel 'seconds'\nset ylabel 'MiB'\nset yrange [0:*]\n");
    const char *terms[2][2] = {{"svg size %u,%u dynamic", "soak_rss.svg"}, {"pngcairo size %u,%u", "soak_rss.png"}};
    for (int t = 0; t < 2; t++) {
        fprintf(f, "set terminal ");
        fprintf(f, terms[t][0], 560 * cols, 300 * rows);
        fprintf(f, "\nset output '%s'\n", terms[t][1]);
        fprintf(f, "set multiplot layout %u,%u title 'Soak: RSS and live data over time'\n", rows, cols);
        for (size_t i = 0; i < k; i++)
            fprintf(f,
                    "set title '%s'\nplot 'soak_%s.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', "
                    "'' every ::1 using 2:($4/1024) with lines title 'live'\n",
                    have[i], have[i]);
        fprintf(f, "unset multiplot\nunset output\n");
    }
    fclose(f);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot soak.gp 2> soak_gnuplot.log", dir);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "mallet stress: NO SOAK PLOT: %s; the curves are in %s/soak_*.csv\n",
                rc == 127 * 256 ? "gnuplot is not installed (apt-get install gnuplot-nox)"
                                : "gnuplot failed (see soak_gnuplot.log)",
                dir);
        return -1;
    }
    printf("soak plot: %s/soak_rss.svg (and .png)\n", dir);
    return 0;
}
