/*
 * common/backend_select.h — the --backends list every mallet command takes.
 *
 * "all", "own" (mallet's re-implementations), "peers" (adapters to other
 * allocators), single IDs, and "no-ID" to drop one, comma-separated and
 * applied left to right: "all,no-tc". The IDs come out in listing order
 * (nano scalable ptmalloc sys je mi tc, then any other registry backend),
 * whether or not the backend is built here: the caller decides how to report
 * a backend it cannot run, so nothing disappears from a result silently.
 */
#ifndef MALLET_HARNESS_BACKEND_SELECT_H
#define MALLET_HARNESS_BACKEND_SELECT_H

#include <stddef.h>

#define MALLET_MAX_BACKENDS 16

typedef struct mallet_backend_selection {
    size_t n;
    char id[MALLET_MAX_BACKENDS][16];
} mallet_backend_selection_t;

/* Expands `spec` into `out`. Returns 0, or -1 with a one-line reason in
 * `err` ("unknown backend 'x' (known: ...)", "--backends 'no-tc' selects no
 * backend"); the caller prints it with its usage. */
int mallet_backend_select(const char *spec, mallet_backend_selection_t *out, char *err, size_t errlen);

#endif
