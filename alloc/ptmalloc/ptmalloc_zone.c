/*
 * ptmalloc_zone.c — backend `ptmalloc`: glibc 2.36's malloc re-implemented
 * as a mallet zone.
 *
 * create_zone() builds an independent instance: its own main arena over
 * its own emulated brk range, its own arena list, parameters, tcache key
 * and registries of mappings. destroy() unmaps everything those
 * registries list (brk range, heaps, mmapped chunks, segments) and then
 * the instance itself, without reading the heap. default_zone() is the
 * instance libmallet.so uses, configured from the environment
 * (MALLOC_*_, GLIBC_TUNABLES, MALLET_PTMALLOC_*).
 *
 * Fidelity: in compat mode (the default) a sequence of calls gives the
 * same usable sizes and the same block offsets from the heap start as the
 * system glibc 2.36, op by op (ctest ptmalloc-glibc-diff, non-main arenas;
 * the main arena's emulated brk starts at a random page, as the real one).
 * ptmalloc.harden=1 adds checks glibc lacks (ptmalloc_arena.h, bottom).
 *
 * Errors are reported with glibc's malloc_printerr text in the GLIBC style
 * ("<message>" then abort). When a recording handler returns, the instance
 * is poisoned: further allocations fail with ENOMEM and frees are ignored.
 */
#include "ptmalloc/ptmalloc_arena.h"

#include <malloc.h>
#include <stdio.h>

extern const mallet_backend_t mallet_backend_ptmalloc;

void pt_error(pt_inst_t *inst, mallet_error_kind_t kind, const void *ptr, const char *msg)
{
    inst->poisoned = 1;
    bool corruption = !(kind == MALLET_ERR_INVALID_FREE || kind == MALLET_ERR_INVALID_REALLOC ||
                        kind == MALLET_ERR_DOUBLE_FREE || kind == MALLET_ERR_MISALIGNED_POINTER);
    mallet_report(&inst->zone, "ptmalloc", kind, MALLET_STYLE_GLIBC, corruption, ptr, "%s", msg);
}

/* ---- zone functions ------------------------------------------------------------------ */

static size_t z_size(mallet_zone_t *z, const void *p) { return pt_usable_size(PT_INST(z), p); }
static void *z_malloc(mallet_zone_t *z, size_t n) { return pt_malloc(PT_INST(z), n); }
static void *z_calloc(mallet_zone_t *z, size_t c, size_t n) { return pt_calloc(PT_INST(z), c, n); }
static void *z_valloc(mallet_zone_t *z, size_t n) { return pt_memalign(PT_INST(z), mallet_os_page_size(), n); }
static void z_free(mallet_zone_t *z, void *p) { pt_free(PT_INST(z), p); }
static void *z_realloc(mallet_zone_t *z, void *p, size_t n) { return pt_realloc(PT_INST(z), p, n); }
static void *z_memalign(mallet_zone_t *z, size_t a, size_t n) { return pt_memalign(PT_INST(z), a, n); }

static size_t z_pressure_relief(mallet_zone_t *z, size_t goal)
{
    (void)goal;
    pt_inst_t *inst = PT_INST(z);
    size_t before = __atomic_load_n(&inst->released, __ATOMIC_RELAXED);
    pt_malloc_trim(inst, 0);
    return __atomic_load_n(&inst->released, __ATOMIC_RELAXED) - before;
}

static bool z_claimed_address(mallet_zone_t *z, void *p)
{
    pt_inst_t *inst = PT_INST(z);
    uintptr_t a = (uintptr_t)p;
    if (a >= (uintptr_t)inst->brk_base && a < (uintptr_t)inst->brk_cur)
        return true;
    if (a >= (uintptr_t)inst->brk_base && a < (uintptr_t)inst->brk_end)
        return false;
    return pt_arena_of_addr(inst, a) != NULL || pt_mm_contains(inst, a);
}

static void pt_destroy(mallet_zone_t *z)
{
    pt_inst_t *inst = PT_INST(z);
    if (inst->is_default)
        return; /* the process's malloc lives forever */
    pt_inst_unregister(inst);
    pt_release_all_mappings(inst);
    mallet_os_unmap(inst, PT_ALIGN_UP(sizeof *inst, mallet_os_page_size()));
}

static size_t z_good_size(mallet_zone_t *z, size_t n)
{
    pt_inst_t *inst = PT_INST(z);
    size_t nb = pt_checked_request2size(n);
    if (nb == 0)
        return n;
    if (nb >= inst->mp.mmap_threshold && inst->mp.n_mmaps < inst->mp.n_mmaps_max)
        return PT_ALIGN_UP(nb + PT_SIZE_SZ, mallet_os_page_size()) - PT_HDR;
    return nb - PT_SIZE_SZ;
}

static int z_check(mallet_zone_t *z) { return pt_check(PT_INST(z)); }
static void z_print(mallet_zone_t *z, int fd, bool verbose) { pt_print(PT_INST(z), fd, verbose); }
static void z_statistics(mallet_zone_t *z, mallet_zone_stats_t *s) { pt_statistics(PT_INST(z), s); }
static int z_enumerate(mallet_zone_t *z, unsigned mask, void *ctx, mallet_range_recorder_t rec)
{
    return pt_enumerate(PT_INST(z), mask, ctx, rec);
}
static void z_force_lock(mallet_zone_t *z) { pt_fork_lock(PT_INST(z)); }
static void z_force_unlock(mallet_zone_t *z) { pt_fork_unlock(PT_INST(z)); }
static void z_reinit_lock(mallet_zone_t *z) { pt_fork_reinit(PT_INST(z)); }
static bool z_locked(mallet_zone_t *z)
{
    pt_inst_t *inst = PT_INST(z);
    for (pt_arena_t *a = &inst->main_arena; a; a = pt_arena_next(a)) {
        if (!pt_trylock(&a->mutex))
            return true;
        pt_unlock(&a->mutex);
    }
    return false;
}

static const mallet_zone_introspection_t pt_introspection = {
    .enumerate = z_enumerate,
    .good_size = z_good_size,
    .check = z_check,
    .print = z_print,
    .force_lock = z_force_lock,
    .force_unlock = z_force_unlock,
    .reinit_lock = z_reinit_lock,
    .statistics = z_statistics,
    .zone_locked = z_locked,
};

static const mallet_zone_t pt_template = {
    .size = z_size,
    .malloc = z_malloc,
    .calloc = z_calloc,
    .valloc = z_valloc,
    .free = z_free,
    .realloc = z_realloc,
    .destroy = pt_destroy,
    .introspect = &pt_introspection,
    .version = 10,
    .memalign = z_memalign,
    .pressure_relief = z_pressure_relief,
    .claimed_address = z_claimed_address,
};

#define PT_CAPS                                                                                                \
    (MALLET_CAP_THREAD_SAFE | MALLET_CAP_INSTANCES | MALLET_CAP_DESTROY_RELEASES | MALLET_CAP_OWNERSHIP |     \
     MALLET_CAP_CHECK | MALLET_CAP_ENUMERATE | MALLET_CAP_STATISTICS | MALLET_CAP_PRESSURE_RELIEF |           \
     MALLET_CAP_PRELOAD | MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE)

/* Everything a new instance writes lies in its first page (ptmalloc_arena.h). */
_Static_assert(offsetof(pt_inst_t, heaps) <= 4096, "pt_inst_t: creation-time fields must fit the first page");

/* "ptmalloc" or "ptmalloc-<slot>", formatted by hand: snprintf here would
 * fault libc's printf code into every process that makes a zone (one or two
 * 64 KiB fault-around windows of resident code, results/2026-12-02_ptmalloc_perf2)
 * for a name; the error paths may still use it. */
static void set_name(pt_inst_t *inst, bool is_default)
{
    static const char base[] = "ptmalloc";
    memcpy(inst->name, base, sizeof base);
    if (is_default)
        return;
    char digits[12];
    unsigned n = inst->slot, k = 0;
    do
        digits[k++] = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    char *o = inst->name + sizeof base - 1;
    *o++ = '-';
    while (k > 0)
        *o++ = digits[--k];
    *o = '\0';
}

static pt_inst_t *pt_new_instance(const char *options, bool is_default, char *err, size_t errlen)
{
    size_t bytes = PT_ALIGN_UP(sizeof(pt_inst_t), mallet_os_page_size());
    pt_inst_t *inst = mallet_os_map(NULL, bytes, MALLET_PROT_RW);
    if (inst == NULL) {
        snprintf(err, errlen, "out of memory for the ptmalloc instance");
        errno = ENOMEM;
        return NULL;
    }
    mallet_os_name_mapping(inst, bytes, "mallet-ptmalloc-state");
    int rc = pt_load_settings(inst, options, err, errlen);
    if (rc != 0) {
        mallet_os_unmap(inst, bytes);
        errno = rc;
        return NULL;
    }
    pt_apply_settings(inst);
    mallet_lock_init(&inst->list_lock);
    mallet_lock_init(&inst->free_list_lock);
    mallet_lock_init(&inst->map_lock);
    mallet_lock_init(&inst->ts_lock);
    pt_arena_init_state(inst, &inst->main_arena, true);
    inst->main_arena.attached_threads = 1;
    inst->narenas = 1;
    do
        inst->tcache_key = (uintptr_t)mallet_os_random64();
    while (inst->tcache_key == 0);
    inst->is_default = is_default;
    if ((rc = pt_brk_init(inst, inst->set.brk_reserve)) != 0) {
        snprintf(err, errlen, "cannot reserve %zu bytes for the emulated brk", inst->set.brk_reserve);
        mallet_os_unmap(inst, bytes);
        errno = rc;
        return NULL;
    }
    if (pt_inst_register(inst) != 0) {
        snprintf(err, errlen, "too many live ptmalloc instances (at most %d)", PT_MAX_INSTANCES);
        pt_release_all_mappings(inst);
        mallet_os_unmap(inst, bytes);
        errno = ENOMEM;
        return NULL;
    }
    set_name(inst, is_default);
    inst->zone = pt_template;
    inst->zone.zone_name = inst->name;
    inst->zone.backend = &mallet_backend_ptmalloc;
    inst->zone.caps = PT_CAPS;
    pt_update_promises(inst);
    /* The creating thread uses the main arena, as glibc's first thread. */
    pt_tstate_t *ts = pt_tstate(inst);
    if (ts)
        ts->arena = &inst->main_arena;
    return inst;
}

static mallet_zone_t *pt_create_zone(const char *options, char *err, size_t errlen)
{
    pt_inst_t *inst = pt_new_instance(options, false, err, errlen);
    return inst ? &inst->zone : NULL;
}

static pt_inst_t *default_inst;
static mallet_lock_t default_lock = MALLET_LOCK_INIT;

static mallet_zone_t *pt_default_zone(void)
{
    pt_inst_t *d = __atomic_load_n(&default_inst, __ATOMIC_ACQUIRE);
    if (d == NULL) {
        mallet_lock(&default_lock);
        d = default_inst;
        if (d == NULL) {
            char err[256];
            d = pt_new_instance(NULL, true, err, sizeof err);
            if (d == NULL) {
                mallet_os_printf(2, "mallet(ptmalloc): %s\n", err);
                mallet_unlock(&default_lock);
                return NULL;
            }
            __atomic_store_n(&default_inst, d, __ATOMIC_RELEASE);
        }
        mallet_unlock(&default_lock);
    }
    return &d->zone;
}

/* ---- drop-in extras: glibc's own entry points, on the default zone ------------------ */

static pt_inst_t *dflt(void) { return pt_default_zone() ? default_inst : NULL; }
static int x_mallopt(int param, int value) { pt_inst_t *i = dflt(); return i ? pt_mallopt(i, param, value) : 0; }
static int x_malloc_trim(size_t pad) { pt_inst_t *i = dflt(); return i ? pt_malloc_trim(i, pad) : 0; }
static struct mallinfo2 x_mallinfo2(void)
{
    struct mallinfo2 m;
    memset(&m, 0, sizeof m);
    pt_inst_t *i = dflt();
    if (i)
        pt_mallinfo2(i, &m);
    return m;
}
static void x_malloc_stats(void) { pt_inst_t *i = dflt(); if (i) pt_malloc_stats(i, 2); }
static int x_malloc_info(int options, FILE *fp) { pt_inst_t *i = dflt(); return i ? pt_malloc_info(i, options, fp) : -1; }

static const mallet_dropin_extras_t pt_extras = {
    .mallopt = x_mallopt,
    .malloc_trim = x_malloc_trim,
    .mallinfo2 = x_mallinfo2,
    .malloc_stats = x_malloc_stats,
    .malloc_info = x_malloc_info,
};

static const char *pt_version(void) { return "ptmalloc2 as in glibc 2.36 (mallet re-implementation)"; }
static int pt_available(char *why, size_t len) { (void)why; (void)len; return 0; }

const mallet_backend_t mallet_backend_ptmalloc = {
    .id = "ptmalloc",
    .description = "glibc 2.36 malloc re-implemented: arenas, tcache, fastbins, bins, emulated brk",
    .is_peer = false,
    .caps = PT_CAPS,
    .version = pt_version,
    .available = pt_available,
    .create_zone = pt_create_zone,
    .default_zone = pt_default_zone,
    .print_options = pt_print_options,
    .extras = &pt_extras,
};
