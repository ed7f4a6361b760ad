/*
 * common/backend_select.c — expands a --backends list (see backend_select.h).
 *
 * The fixed ID list keeps the listing order users script against even when a
 * backend is not built into this binary; registry backends beyond it (a new
 * backend) are appended, with "own" decided by the registry's is_peer flag.
 */
#include "common/backend_select.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mallet/mallet.h"

static const char *const known_ids[] = {"nano", "scalable", "ptmalloc", "sys", "je", "mi", "tc"};
enum { N_KNOWN = sizeof known_ids / sizeof *known_ids, N_OWN_KNOWN = 3 };

static void all_ids(mallet_backend_selection_t *all, bool own[MALLET_MAX_BACKENDS])
{
    all->n = 0;
    for (size_t i = 0; i < N_KNOWN; i++) {
        own[all->n] = i < N_OWN_KNOWN;
        snprintf(all->id[all->n++], sizeof all->id[0], "%s", known_ids[i]);
    }
    for (size_t i = 0; i < mallet_backend_count() && all->n < MALLET_MAX_BACKENDS; i++) {
        const mallet_backend_t *b = mallet_backend_at(i);
        bool seen = false;
        for (size_t k = 0; k < all->n; k++)
            seen |= strcmp(all->id[k], b->id) == 0;
        if (!seen) {
            own[all->n] = !b->is_peer;
            snprintf(all->id[all->n++], sizeof all->id[0], "%s", b->id);
        }
    }
}

int mallet_backend_select(const char *spec, mallet_backend_selection_t *out, char *err, size_t errlen)
{
    mallet_backend_selection_t all;
    bool own[MALLET_MAX_BACKENDS] = {false}, want[MALLET_MAX_BACKENDS] = {false};
    all_ids(&all, own);
    char copy[512];
    if (snprintf(copy, sizeof copy, "%s", spec) >= (int)sizeof copy) {
        snprintf(err, errlen, "--backends list too long");
        return -1;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool neg = strncmp(tok, "no-", 3) == 0;
        const char *id = neg ? tok + 3 : tok;
        bool matched = false;
        for (size_t i = 0; i < all.n; i++) {
            if (strcmp(id, "all") == 0 || strcmp(id, all.id[i]) == 0 || (strcmp(id, "own") == 0 && own[i]) ||
                (strcmp(id, "peers") == 0 && !own[i])) {
                want[i] = !neg;
                matched = true;
            }
        }
        if (!matched) {
            char known[256] = "all own peers";
            for (size_t i = 0; i < all.n; i++) {
                size_t used = strlen(known);
                snprintf(known + used, sizeof known - used, " %s", all.id[i]);
            }
            snprintf(err, errlen, "unknown backend '%s' (known: %s, or no-ID)", id, known);
            return -1;
        }
    }
    out->n = 0;
    for (size_t i = 0; i < all.n; i++)
        if (want[i])
            memcpy(out->id[out->n++], all.id[i], sizeof all.id[i]);
    if (out->n == 0) {
        snprintf(err, errlen, "--backends '%s' selects no backend", spec);
        return -1;
    }
    return 0;
}
