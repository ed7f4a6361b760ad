/*
 * nano_zone.c — backend `nano`: libmalloc's default zone, a nano allocator
 * in front of a helper zone (ALLOCATOR_REFERENCE.md §A.4, §B).
 *
 * Requests whose rounded size is <= 256 B go to the nano core (v2 by
 * default, v1 with MallocNanoZone=V1); everything else — larger sizes,
 * valloc, alignments nano cannot promise, pointers outside the zone's
 * window, and any request nano cannot serve — goes to the helper, a
 * scalable zone ("MallocHelperZone") obtained through the registry. The
 * helper also reports invalid and double frees of nano pointers, exactly
 * as in libmalloc, where nano hands them over.
 *
 * Every zone owns a window of the signature range (bits 44..63 == 6)
 * reserved with MAP_FIXED_NOREPLACE at the lowest free aligned address
 * above 0x6000_0000_0000 (ThreadSanitizer builds: 0x5500_0000_0000, see
 * nano_layout.h), so independent zones never share addresses and
 * "is it mine?" is a subtraction and a compare. If no window can be had
 * (another mapping owns the range), nano stays off for that
 * zone, everything goes to the helper, and stderr says so once.
 *
 * After fork(), the child runs in libmalloc's "forked" mode: allocations
 * go to the helper and nano frees are leaked, because the child's view of
 * the lock-free structures may be half-updated by threads that no longer
 * exist.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "libmalloc/nano/nano_internal.h"

#define NZ(zone) ((nano_zone_t *)(zone))

/* ---- options --------------------------------------------------------------- */

static const mallet_option_t nano_options[] = {
    {"nano.zone", "MallocNanoZone", MALLET_OPT_STRING, offsetof(nano_settings_t, zone), "", 0, -1,
     "Nano allocator: 0 off, 1 on (v2), V1 or V2 to pick the version; empty means v2."},
    {"helper", NULL, MALLET_OPT_STRING, offsetof(nano_settings_t, helper), "scalable", 0, -1,
     "Helper zone for everything nano does not serve: scalable (libmalloc's MallocHelperZone) or sys."},
    {"nano.max_magazines", "MallocNanoMaxMagazines", MALLET_OPT_LONG, offsetof(nano_settings_t, max_magazines),
     "0", 0, 64, "v1: number of magazines; 0 means one per physical CPU (at most 8)."},
    {"nano.max_regions", "MallocNanoMaxRegion", MALLET_OPT_LONG, offsetof(nano_settings_t, max_regions), "4",
     1, 1024, "v2: size of the zone window in 512 MiB regions."},
    {"nano.scan_policy", "MallocNanoScanPolicy", MALLET_OPT_STRING, offsetof(nano_settings_t, scan_policy), "",
     0, -1, "v2 block scan: firstfit, or minXX+maxYY+limZZ (percent free range, blocks after a hit)."},
    {"nano.madvise_policy", "MallocNanoMadvisePolicy", MALLET_OPT_STRING,
     offsetof(nano_settings_t, madvise_policy), "immediate", 0, -1,
     "v2: immediate madvises an empty block at once; warning or critical wait for pressure_relief."},
    {"nano.guard_edges", "MallocGuardEdges", MALLET_OPT_BOOL, offsetof(nano_settings_t, guard_edges), "0", 0,
     -1, "v2: make the first and last block of each arena read-only guard blocks."},
    {"nano.single_arena", "MallocNanoSingleArena", MALLET_OPT_BOOL, offsetof(nano_settings_t, single_arena),
     "0", 0, -1, "v2: never grow beyond the first arena; then classes delegate to the helper."},
    {"nano.single_thread_fast", NULL, MALLET_OPT_BOOL, offsetof(nano_settings_t, single_thread_fast), "1", 0,
     -1, "mallet, not libmalloc: plain stores instead of the lock-free atomics while the process has one "
         "thread (glibc's __libc_single_threaded); 0 always uses the atomics, as libmalloc does."},
};
#define N_OPTIONS (sizeof nano_options / sizeof nano_options[0])

/* What a zone can promise, given a helper that promises `helper_caps`:
 * detection, ownership and exact statistics all depend on the helper for
 * the requests it serves (and it reports nano's bad frees). */
#define NANO_OWN_CAPS                                                                              \
    (MALLET_CAP_THREAD_SAFE | MALLET_CAP_INSTANCES | MALLET_CAP_DESTROY_RELEASES | MALLET_CAP_OWNERSHIP | \
     MALLET_CAP_DETECT_DOUBLE_FREE | MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE | MALLET_CAP_DETECT_INVALID_FREE | MALLET_CAP_CHECK | \
     MALLET_CAP_ENUMERATE | MALLET_CAP_STATISTICS | MALLET_CAP_PRESSURE_RELIEF |                       \
     MALLET_CAP_FREE_DEFINITE_SIZE | MALLET_CAP_PRELOAD | MALLET_CAP_DETECT_INVALID_REALLOC)

/* v2 cannot tell a never-allocated slot of an active block from a live
 * one without walking a free list that other CPUs are changing (libmalloc
 * has the same blind spot), so a free or realloc of such an address is
 * not reliably reported. v1 can: its bump pointer bounds what was handed
 * out. */
#define NANO_V2_CAPS (NANO_OWN_CAPS & ~(uint64_t)(MALLET_CAP_DETECT_INVALID_FREE | MALLET_CAP_DETECT_INVALID_REALLOC))

/* ---- shared helpers for the cores ------------------------------------------------ */

uint64_t nano_make_cookie(void)
{
    uint64_t c = mallet_os_random64() & 0x0000FFFFFFFF0000ull;
    if (c == 0)
        c = mallet_os_random64() & 0x0000FFFFFFFF0000ull;
    return c ? c : 0x0000DEADDEAD0000ull;
}

/* Lowest window address this process has ever reserved. Everything below it
 * was taken by someone else when we probed (under ASan, its own 4 TiB heap
 * sits at the start of the signature range, which made every zone creation
 * fail ~2,000 probes first). Starting there keeps "lowest free window" among
 * the addresses nano can have, without re-probing foreign mappings each time. */
static uintptr_t lowest_reserved;

int nano_reserve_window(nano_zone_t *nz, size_t size)
{
    uintptr_t start = __atomic_load_n(&lowest_reserved, __ATOMIC_RELAXED);
    if (start < NANO_RANGE_BASE)
        start = NANO_RANGE_BASE;
    start = NANO_RANGE_BASE + (start - NANO_RANGE_BASE) / size * size;
    /* Probe size-aligned candidates upwards. EEXIST means "taken, try the
     * next"; anything else means the range is not ours to have at all. */
    for (uintptr_t a = start; a + size <= NANO_RANGE_BASE + NANO_RANGE_SIZE && a + size > a; a += size) {
        void *p = mallet_os_map_fixed((void *)a, size, MALLET_PROT_NONE);
        if (p != NULL) {
            nz->base = a, nz->window = size;
            uintptr_t seen = __atomic_load_n(&lowest_reserved, __ATOMIC_RELAXED);
            while ((seen == 0 || a < seen) &&
                   !__atomic_compare_exchange_n(&lowest_reserved, &seen, a, true, __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED)) {
            }
            return 0;
        }
        if (errno != EEXIST)
            return errno ? errno : ENOMEM;
    }
    return ENOMEM;
}

/* ---- the helper ------------------------------------------------------------------- */

static void note_once(int *flag, const char *fmt, const char *a, const char *b)
{
    if (__atomic_exchange_n(flag, 1, __ATOMIC_RELAXED) == 0)
        mallet_os_printf(2, fmt, a, b);
}

static int make_helper(nano_zone_t *nz, char *err, size_t errlen)
{
    static int noted;
    const char *want = nz->cfg.helper;
    const mallet_backend_t *b = NULL;
    if (strcmp(want, "scalable") == 0) {
        b = mallet_backend_find("scalable");
        if (b == NULL)
            note_once(&noted, "mallet nano: helper zone '%s' is not built into this mallet; %s\n", want,
                      "using sys's default zone instead");
    } else if (strcmp(want, "sys") != 0) {
        snprintf(err, errlen, "nano: helper must be scalable or sys (got '%s')", want);
        return EINVAL;
    }
    if (b != NULL) {
        char herr[200] = "";
        nz->helper = b->create_zone(NULL, herr, sizeof herr);
        if (nz->helper == NULL) {
            snprintf(err, errlen, "nano: cannot create the helper zone: %s", herr);
            return errno ? errno : ENOMEM;
        }
        nz->helper->zone_name = "MallocHelperZone";
        nz->helper_is_instance = (b->caps & MALLET_CAP_INSTANCES) != 0;
    } else {
        nz->helper = mallet_backend_find("sys")->default_zone();
        nz->helper_is_instance = false;
    }
    if (nz->helper == NULL) {
        snprintf(err, errlen, "nano: no helper zone");
        return ENOMEM;
    }
    nz->helper_checks_frees = (nz->helper->caps & MALLET_CAP_OWNERSHIP) &&
                              (nz->helper->caps & MALLET_CAP_DETECT_INVALID_FREE);
    return 0;
}

#define HELPER(nz) ((nz)->helper)
#define HI(nz) ((nz)->helper->introspect)

/* ---- allocation entry points --------------------------------------------------------- */

static inline bool nano_serves(nano_zone_t *nz, size_t n)
{
    return n <= NANO_MAX_SIZE && nz->ops != NULL && !__atomic_load_n(&nz->forked, __ATOMIC_RELAXED);
}

static void *nz_malloc(mallet_zone_t *zone, size_t n)
{
    nano_zone_t *nz = NZ(zone);
    if (nano_serves(nz, n)) {
        int status;
        void *p = nz->ops->malloc(nz, n, false, &status);
        if (p || status == NANO_ABANDONED)
            return p;
    }
    return HELPER(nz)->malloc(HELPER(nz), n);
}

static void *nz_calloc(mallet_zone_t *zone, size_t count, size_t n)
{
    nano_zone_t *nz = NZ(zone);
    size_t total = count * n; /* the front end checked for overflow */
    if (nano_serves(nz, total)) {
        int status;
        void *p = nz->ops->malloc(nz, total, true, &status);
        if (p || status == NANO_ABANDONED)
            return p;
    }
    return HELPER(nz)->calloc(HELPER(nz), count, n);
}

static void *nz_valloc(mallet_zone_t *zone, size_t n)
{
    return HELPER(NZ(zone))->valloc(HELPER(NZ(zone)), n);
}

/* v2 serves alignments up to its 16-byte quantum; v1 never does. */
static void *nz_memalign(mallet_zone_t *zone, size_t align, size_t n)
{
    nano_zone_t *nz = NZ(zone);
    if (align <= NANO_QUANTUM && nz->ops == &nano_v2_ops && nano_serves(nz, n)) {
        int status;
        void *p = nz->ops->malloc(nz, n, false, &status);
        if (p || status == NANO_ABANDONED)
            return p;
    }
    return HELPER(nz)->memalign(HELPER(nz), align, n);
}

/* A pointer in our window that is not a live nano block. libmalloc lets
 * the helper complain; a helper that cannot tell (sys) must not see it. */
void nano_zone_bad_free(nano_zone_t *nz, void *p)
{
    if (nz->helper_checks_frees)
        HELPER(nz)->free(HELPER(nz), p);
    else if ((uintptr_t)p & (mallet_os_page_size() - 1)) /* the szone's texts */
        NANO_REPORT(nz, MALLET_ERR_INVALID_FREE, false, p, "non-page-aligned, non-allocated pointer %p being freed", p);
    else
        NANO_REPORT(nz, MALLET_ERR_INVALID_FREE, false, p, "pointer %p being freed was not allocated", p);
}

static void nz_free(mallet_zone_t *zone, void *p)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops && nano_in_window(nz, p)) {
        if (__atomic_load_n(&nz->forked, __ATOMIC_RELAXED))
            return; /* forked child: nano frees are leaked */
        if (nz->ops->free(nz, p, 0) == NANO_FALLTHROUGH)
            nano_zone_bad_free(nz, p);
        return;
    }
    HELPER(nz)->free(HELPER(nz), p);
}

static void nz_free_definite_size(mallet_zone_t *zone, void *p, size_t n)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops && nano_in_window(nz, p)) {
        if (__atomic_load_n(&nz->forked, __ATOMIC_RELAXED))
            return;
        if (nz->ops->free(nz, p, n ? n : 1) == NANO_FALLTHROUGH)
            nano_zone_bad_free(nz, p);
        return;
    }
    if (HELPER(nz)->free_definite_size)
        HELPER(nz)->free_definite_size(HELPER(nz), p, n);
    else
        HELPER(nz)->free(HELPER(nz), p);
}

static size_t nz_size(mallet_zone_t *zone, const void *p)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops && nano_in_window(nz, p))
        return nz->ops->size(nz, p);
    return HELPER(nz)->size(HELPER(nz), p);
}

static void *nz_realloc(mallet_zone_t *zone, void *p, size_t n)
{
    nano_zone_t *nz = NZ(zone);
    if (!nz->ops || !nano_in_window(nz, p))
        return HELPER(nz)->realloc(HELPER(nz), p, n);
    size_t old = nz->ops->size(nz, p);
    if (old == 0) {
        if (nz->helper_checks_frees)
            return HELPER(nz)->realloc(HELPER(nz), p, n); /* it reports, as in libmalloc */
        NANO_REPORT(nz, MALLET_ERR_INVALID_REALLOC, false, p, "pointer %p being reallocated was not allocated", p);
        errno = EINVAL;
        return NULL;
    }
    if (n == 0) { /* libmalloc: free, then a minimum-size block */
        nz_free(zone, p);
        return nz_malloc(zone, 0);
    }
    if (nano_serves(nz, n)) {
        size_t r = nano_round_size(n);
        if (r <= old && r > old / 2)
            return p; /* same class, or a small shrink: keep it */
    }
    void *q = nz_malloc(zone, n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    nz_free(zone, p);
    return q;
}

static bool nz_claimed_address(mallet_zone_t *zone, void *p)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops && nano_in_window(nz, p) && nz->ops->claimed(nz, p))
        return true;
    if (HELPER(nz)->claimed_address == NULL)
        return true; /* false positives are allowed, false negatives are not */
    return HELPER(nz)->claimed_address(HELPER(nz), p);
}

static size_t nz_pressure_relief(mallet_zone_t *zone, size_t goal)
{
    nano_zone_t *nz = NZ(zone);
    size_t done = 0;
    if (nz->ops && !__atomic_load_n(&nz->forked, __ATOMIC_RELAXED))
        done = nz->ops->pressure_relief(nz, goal);
    if ((goal == 0 || done < goal) && HELPER(nz)->pressure_relief)
        done += HELPER(nz)->pressure_relief(HELPER(nz), goal ? goal - done : 0);
    return done;
}

/* ---- introspection --------------------------------------------------------------- */

static size_t nz_good_size(mallet_zone_t *zone, size_t n)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops && n <= NANO_MAX_SIZE)
        return nano_round_size(n);
    if (HI(nz) && HI(nz)->good_size)
        return HI(nz)->good_size(HELPER(nz), n);
    return n;
}

static int nz_check(mallet_zone_t *zone)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops && !nz->ops->check(nz))
        return 0;
    if (HI(nz) && HI(nz)->check)
        return HI(nz)->check(HELPER(nz));
    return 1;
}

static int nz_enumerate(mallet_zone_t *zone, unsigned mask, void *ctx, mallet_range_recorder_t rec)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops)
        nz->ops->enumerate(nz, mask, ctx, rec);
    if (mask & MALLET_ENUM_ADMIN) {
        mallet_range_t r = {(uintptr_t)nz, sizeof *nz};
        rec(ctx, MALLET_ENUM_ADMIN, &r, 1);
    }
    if (HI(nz) && HI(nz)->enumerate)
        return HI(nz)->enumerate(HELPER(nz), mask, ctx, rec);
    return ENOTSUP;
}

static void nz_statistics(mallet_zone_t *zone, mallet_zone_stats_t *s)
{
    nano_zone_t *nz = NZ(zone);
    if (HI(nz) && HI(nz)->statistics) {
        HI(nz)->statistics(HELPER(nz), s);
        s->max_size_in_use = 0; /* a helper-only peak says nothing about the zone */
    }
    if (nz->ops)
        nz->ops->statistics(nz, s);
}

static void nz_print(mallet_zone_t *zone, int fd, bool verbose)
{
    nano_zone_t *nz = NZ(zone);
    mallet_os_printf(fd, "nano zone %s: nano %s%s, helper %s (%s)\n", nz->name, nz->ops ? nz->ops->name : "off",
                     nz->forked ? " (forked: helper only)" : "", HELPER(nz)->zone_name,
                     HELPER(nz)->backend ? HELPER(nz)->backend->id : "?");
    if (nz->ops)
        nz->ops->print(nz, fd, verbose);
    if (HI(nz) && HI(nz)->print)
        HI(nz)->print(HELPER(nz), fd, verbose);
}

static void nz_force_lock(mallet_zone_t *zone)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops)
        nz->ops->force_lock(nz);
    if (HI(nz) && HI(nz)->force_lock)
        HI(nz)->force_lock(HELPER(nz));
}

static void nz_force_unlock(mallet_zone_t *zone)
{
    nano_zone_t *nz = NZ(zone);
    if (HI(nz) && HI(nz)->force_unlock)
        HI(nz)->force_unlock(HELPER(nz));
    if (nz->ops)
        nz->ops->force_unlock(nz);
}

/* In the fork child: fresh locks, and from now on the helper serves all
 * allocations (libmalloc's "forked" entry points). */
static void nz_reinit_lock(mallet_zone_t *zone)
{
    nano_zone_t *nz = NZ(zone);
    if (HI(nz) && HI(nz)->reinit_lock)
        HI(nz)->reinit_lock(HELPER(nz));
    if (nz->ops)
        nz->ops->reinit_lock(nz);
    /* The child has one thread: the entry points can change under it. */
    nz->z.malloc = nz_malloc, nz->z.free = nz_free;
    __atomic_store_n(&nz->forked, 1, __ATOMIC_RELAXED);
}

/* Unmaps everything, whatever state the heap is in: nothing here reads
 * block memory. */
static void nz_destroy(mallet_zone_t *zone)
{
    nano_zone_t *nz = NZ(zone);
    if (nz->ops)
        nz->ops->fini(nz);
    if (nz->helper && nz->helper_is_instance)
        nz->helper->destroy(nz->helper);
    mallet_os_unmap(nz, (sizeof *nz + mallet_os_page_size() - 1) & ~(mallet_os_page_size() - 1));
}

static const mallet_zone_introspection_t nano_introspection = {
    .enumerate = nz_enumerate,
    .good_size = nz_good_size,
    .check = nz_check,
    .print = nz_print,
    .force_lock = nz_force_lock,
    .force_unlock = nz_force_unlock,
    .reinit_lock = nz_reinit_lock,
    .statistics = nz_statistics,
};

static const mallet_zone_t nano_template = {
    .size = nz_size,
    .malloc = nz_malloc,
    .calloc = nz_calloc,
    .valloc = nz_valloc,
    .free = nz_free,
    .realloc = nz_realloc,
    .destroy = nz_destroy,
    .introspect = &nano_introspection,
    .version = 10,
    .memalign = nz_memalign,
    .free_definite_size = nz_free_definite_size,
    .pressure_relief = nz_pressure_relief,
    .claimed_address = nz_claimed_address,
};

/* ---- creation ------------------------------------------------------------------------ */

static int pick_version(const char *v, const nano_ops_t **ops, char *err, size_t errlen)
{
    if (*v == '\0' || strcmp(v, "1") == 0 || strcasecmp(v, "V2") == 0)
        *ops = &nano_v2_ops;
    else if (strcasecmp(v, "V1") == 0)
        *ops = &nano_v1_ops;
    else if (strcmp(v, "0") == 0)
        *ops = NULL;
    else {
        snprintf(err, errlen, "MallocNanoZone: invalid value '%s' (0, 1, V1 or V2)", v);
        return EINVAL;
    }
    return 0;
}

static mallet_zone_t *nano_create(const char *options, bool is_default, char *err, size_t errlen)
{
    static int noted_off;
    nano_settings_t cfg;
    const nano_ops_t *ops;
    int rc = mallet_options_load(nano_options, N_OPTIONS, &cfg, true, options, err, errlen);
    if (rc == 0)
        rc = pick_version(cfg.zone, &ops, err, errlen);
    if (rc) {
        errno = rc;
        return NULL;
    }
    size_t zsize = (sizeof(nano_zone_t) + mallet_os_page_size() - 1) & ~(mallet_os_page_size() - 1);
    nano_zone_t *nz = mallet_os_map(NULL, zsize, MALLET_PROT_RW);
    if (nz == NULL) {
        snprintf(err, errlen, "nano: out of memory for the zone");
        return NULL;
    }
    nz->z = nano_template;
    nz->cfg = cfg;
    snprintf(nz->name, sizeof nz->name, is_default ? "DefaultMallocZone" : "NanoZone");
    nz->z.zone_name = nz->name;
    nz->z.backend = &mallet_backend_nano;
    if ((rc = make_helper(nz, err, errlen)) != 0) {
        mallet_os_unmap(nz, zsize);
        errno = rc;
        return NULL;
    }
    nz->cookie = nano_make_cookie();
    static const char never_solo = 0;
    const char *flag = mallet_os_single_threaded_flag();
    nz->solo_flag = cfg.single_thread_fast && flag ? flag : &never_solo;
    if (ops) {
        char why[200] = "";
        if ((rc = ops->init(nz, why, sizeof why)) == 0) {
            nz->ops = ops;
            nz->z.malloc = ops->zone_malloc, nz->z.free = ops->zone_free;
        } else {
            ops->fini(nz);
            if (rc == EINVAL) { /* a bad option is the caller's error, not the machine's */
                snprintf(err, errlen, "%s", why);
                if (nz->helper_is_instance)
                    nz->helper->destroy(nz->helper);
                mallet_os_unmap(nz, zsize);
                errno = EINVAL;
                return NULL;
            }
            note_once(&noted_off, "mallet nano: %s; nano is off, %s\n", why,
                      "all allocations go to the helper zone");
        }
    }
    uint64_t hc = nz->helper->caps | MALLET_CAP_PRELOAD;
    if (!nz->helper_is_instance)
        hc &= ~(uint64_t)(MALLET_CAP_INSTANCES | MALLET_CAP_DESTROY_RELEASES);
    else
        hc |= MALLET_CAP_INSTANCES;
    nz->z.caps = (nz->ops == &nano_v1_ops ? NANO_OWN_CAPS : nz->ops ? NANO_V2_CAPS : ~0ull) & hc;
    return &nz->z;
}

static mallet_zone_t *nano_create_zone(const char *options, char *err, size_t errlen)
{
    return nano_create(options, false, err, errlen);
}

static mallet_zone_t *nano_default_zone(void)
{
    static mallet_lock_t lock = MALLET_LOCK_INIT;
    static mallet_zone_t *zone;
    mallet_zone_t *z = __atomic_load_n(&zone, __ATOMIC_ACQUIRE);
    if (z)
        return z;
    mallet_lock(&lock);
    if (zone == NULL) {
        char err[256];
        z = nano_create(NULL, true, err, sizeof err);
        if (z == NULL)
            mallet_os_printf(2, "mallet nano: default zone: %s\n", err);
        __atomic_store_n(&zone, z, __ATOMIC_RELEASE);
    }
    mallet_unlock(&lock);
    return zone;
}

static int nano_available(char *why, size_t len)
{
    (void)why, (void)len;
    return 0; /* nano can always run: without its range, the helper serves all */
}

static const char *nano_version(void)
{
    return "libmalloc nano v1/v2 (mallet re-implementation)";
}

static void nano_print_options(int fd)
{
    mallet_options_print_help(fd, nano_options, N_OPTIONS);
}

const mallet_backend_t mallet_backend_nano = {
    .id = "nano",
    .description = "libmalloc default zone: nano (<= 256 B, v1 or v2) in front of a scalable helper zone",
    .is_peer = false,
    .caps = NANO_V2_CAPS, /* the default configuration: v2, scalable helper */
    .version = nano_version,
    .available = nano_available,
    .create_zone = nano_create_zone,
    .default_zone = nano_default_zone,
    .print_options = nano_print_options,
};
