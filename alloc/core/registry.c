/*
 * core/registry.c — the backends mallet knows, and the registered zones.
 *
 * Backends: a fixed table in listing order (own backends first, then the
 * peers). A backend whose sources are not part of this build (its CMake
 * subdirectory did not define MALLET_HAVE_<ID>) keeps its row so that
 * listings can say "not built" instead of hiding it.
 *
 * Zones: a small array searched in order by mallet_zone_from_ptr(), as
 * libmalloc's malloc_zones[] (§A.3). Lookups are rare outside tests (the
 * drop-in library talks to one zone), so a mutex is enough; libmalloc's
 * lock-free reader counters are not needed here.
 */
#include <errno.h>
#include <string.h>

#include "mallet/backend.h"
#include "os/os.h"

/* One row per backend ID, in listing order. A
 * row points at mallet_backend_<id> when the build defines MALLET_HAVE_<ID>. */
#ifdef MALLET_HAVE_NANO
extern const mallet_backend_t mallet_backend_nano;
#define ROW_NANO {"nano", &mallet_backend_nano}
#else
#define ROW_NANO {"nano", NULL}
#endif
#ifdef MALLET_HAVE_SCALABLE
extern const mallet_backend_t mallet_backend_scalable;
#define ROW_SCALABLE {"scalable", &mallet_backend_scalable}
#else
#define ROW_SCALABLE {"scalable", NULL}
#endif
#ifdef MALLET_HAVE_PTMALLOC
extern const mallet_backend_t mallet_backend_ptmalloc;
#define ROW_PTMALLOC {"ptmalloc", &mallet_backend_ptmalloc}
#else
#define ROW_PTMALLOC {"ptmalloc", NULL}
#endif
extern const mallet_backend_t mallet_backend_sys;
#ifdef MALLET_HAVE_JE
extern const mallet_backend_t mallet_backend_je;
#define ROW_JE {"je", &mallet_backend_je}
#else
#define ROW_JE {"je", NULL}
#endif
#ifdef MALLET_HAVE_MI
extern const mallet_backend_t mallet_backend_mi;
#define ROW_MI {"mi", &mallet_backend_mi}
#else
#define ROW_MI {"mi", NULL}
#endif
#ifdef MALLET_HAVE_TC
extern const mallet_backend_t mallet_backend_tc;
#define ROW_TC {"tc", &mallet_backend_tc}
#else
#define ROW_TC {"tc", NULL}
#endif

typedef struct known_backend {
    const char *id;
    const mallet_backend_t *backend; /* NULL: not compiled into this build */
} known_backend_t;

static const known_backend_t known[] = {
    ROW_NANO, ROW_SCALABLE, ROW_PTMALLOC, {"sys", &mallet_backend_sys}, ROW_JE, ROW_MI, ROW_TC,
};
#define N_KNOWN (sizeof known / sizeof known[0])

size_t mallet_backend_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < N_KNOWN; i++)
        n += known[i].backend != NULL;
    return n;
}

const mallet_backend_t *mallet_backend_at(size_t i)
{
    for (size_t k = 0; k < N_KNOWN; k++) {
        if (known[k].backend == NULL)
            continue;
        if (i-- == 0)
            return known[k].backend;
    }
    return NULL;
}

bool mallet_backend_id_is_known(const char *id)
{
    for (size_t k = 0; k < N_KNOWN; k++)
        if (strcmp(known[k].id, id) == 0)
            return true;
    return false;
}

const mallet_backend_t *mallet_backend_find(const char *id)
{
    for (size_t k = 0; k < N_KNOWN; k++) {
        if (strcmp(known[k].id, id) != 0)
            continue;
        if (known[k].backend == NULL)
            errno = ENOSYS;
        return known[k].backend;
    }
    errno = ENOENT;
    return NULL;
}

static const char *const cap_names[MALLET_CAP_COUNT] = {
    "thread-safe",    "instances",       "destroy-releases", "ownership",
    "double-free",    "invalid-free",    "freelist-corruption", "header-corruption",
    "check",          "enumerate",       "statistics",       "batch",
    "pressure-relief", "definite-size",  "preload",          "invalid-realloc",
    "double-free-immediate",
};

const char *mallet_cap_name(unsigned bit)
{
    return bit < MALLET_CAP_COUNT ? cap_names[bit] : "?";
}

void mallet_caps_format(uint64_t caps, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return;
    buf[0] = '\0';
    for (unsigned b = 0; b < MALLET_CAP_COUNT; b++) {
        if (!(caps & (1ull << b)))
            continue;
        size_t need = strlen(cap_names[b]) + (used ? 1 : 0);
        if (used + need + 1 > len)
            break;
        if (used)
            buf[used++] = ',';
        strcpy(buf + used, cap_names[b]);
        used += strlen(cap_names[b]);
    }
}

/* ---- zone registration ---------------------------------------------------- */

#define MAX_ZONES 256
static mallet_lock_t zones_lock = MALLET_LOCK_INIT;
static mallet_zone_t *zones[MAX_ZONES];
static unsigned n_zones;

int mallet_zone_register(mallet_zone_t *zone)
{
    int rc = 0;
    mallet_lock(&zones_lock);
    for (unsigned i = 0; i < n_zones; i++)
        if (zones[i] == zone)
            rc = EEXIST;
    if (rc == 0 && n_zones == MAX_ZONES)
        rc = ENOSPC;
    if (rc == 0)
        zones[n_zones++] = zone;
    mallet_unlock(&zones_lock);
    return rc;
}

int mallet_zone_unregister(mallet_zone_t *zone)
{
    int rc = ENOENT;
    mallet_lock(&zones_lock);
    for (unsigned i = 0; i < n_zones; i++) {
        if (zones[i] == zone) {
            zones[i] = zones[--n_zones];
            rc = 0;
            break;
        }
    }
    mallet_unlock(&zones_lock);
    return rc;
}

mallet_zone_t *mallet_zone_from_ptr(const void *ptr)
{
    mallet_zone_t *found = NULL;
    if (ptr == NULL)
        return NULL;
    mallet_lock(&zones_lock);
    for (unsigned i = 0; i < n_zones && !found; i++) {
        mallet_zone_t *z = zones[i];
        if ((z->caps & MALLET_CAP_OWNERSHIP) && z->size(z, ptr) != 0)
            found = z;
    }
    mallet_unlock(&zones_lock);
    return found;
}
