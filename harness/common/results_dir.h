/*
 * common/results_dir.h — where a run writes its results.
 *
 * Every command that writes results names its folder the same way,
 * <root>/<UTC date-time>_<host>_<tag>, so runs sort by time and say where
 * they were made; --out overrides the whole path.
 */
#ifndef MALLET_HARNESS_RESULTS_DIR_H
#define MALLET_HARNESS_RESULTS_DIR_H

#include <stddef.h>
#include <time.h>

/* mkdir -p: 0, or -1 with errno set (the caller names the path). */
int mallet_make_dirs(const char *path);

/* Writes "<root>/<YYYY-MM-DD-HHMMSS>_<host>_<tag>" for time `when`. */
void mallet_results_dir_name(char *buf, size_t len, const char *root, time_t when, const char *tag);

#endif
