/*
 * ptmalloc_tunables.c — options, glibc tunables and mallopt
 * (ALLOCATOR_REFERENCE.md §D.13).
 *
 * One table declares every tunable once. Each option answers to its mallet
 * name (ptmalloc.trim_threshold, env MALLET_PTMALLOC_TRIM_THRESHOLD), to
 * glibc's tunable name (glibc.malloc.trim_threshold, also read from
 * GLIBC_TUNABLES=glibc.malloc.x=v:glibc.malloc.y=w) and to glibc's old
 * environment alias (MALLOC_TRIM_THRESHOLD_). Precedence, lowest first:
 * default, MALLET_* and MALLOC_*_ environment, GLIBC_TUNABLES, the zone's
 * option string. As in glibc, an out-of-range value is ignored rather
 * than rejected, and setting trim_threshold, top_pad, mmap_threshold or
 * mmap_max switches the dynamic mmap threshold off.
 */
#include "ptmalloc/ptmalloc_arena.h"

#include <limits.h>
#include <stdio.h>

#include "mallet/options.h"

#define OFF(f) offsetof(pt_settings_t, f)
#define NOCHECK 1, 0 /* min > max: no range check here, apply() filters */

static const mallet_option_t pt_options[] = {
    {"ptmalloc.mxfast", "glibc.malloc.mxfast", MALLET_OPT_LONG, OFF(mxfast), "-1", NOCHECK,
     "Largest request served from fastbins, 0..160 (M_MXFAST); -1 keeps glibc's 128."},
    {"ptmalloc.trim_threshold", "glibc.malloc.trim_threshold;MALLOC_TRIM_THRESHOLD_", MALLET_OPT_LONG,
     OFF(trim_threshold), "-1", NOCHECK,
     "Top chunk size that triggers giving memory back (M_TRIM_THRESHOLD); -1 keeps 128 KiB and the dynamic rule."},
    {"ptmalloc.top_pad", "glibc.malloc.top_pad;MALLOC_TOP_PAD_", MALLET_OPT_LONG, OFF(top_pad), "-1", NOCHECK,
     "Extra bytes requested from the OS on every heap growth (M_TOP_PAD); -1 keeps 128 KiB."},
    {"ptmalloc.mmap_threshold", "glibc.malloc.mmap_threshold;MALLOC_MMAP_THRESHOLD_", MALLET_OPT_LONG,
     OFF(mmap_threshold), "-1", NOCHECK,
     "Requests at least this large get their own mapping (M_MMAP_THRESHOLD); -1 keeps 128 KiB, raised dynamically."},
    {"ptmalloc.mmap_max", "glibc.malloc.mmap_max;MALLOC_MMAP_MAX_", MALLET_OPT_LONG, OFF(mmap_max), "-1", NOCHECK,
     "Most mmapped chunks at once, 0 = never mmap (M_MMAP_MAX); -1 keeps 65536."},
    {"ptmalloc.perturb", "glibc.malloc.perturb;MALLOC_PERTURB_", MALLET_OPT_LONG, OFF(perturb), "0", NOCHECK,
     "Fill byte for freed memory; allocations get its complement (M_PERTURB), 0 = off."},
    {"ptmalloc.arena_test", "glibc.malloc.arena_test;MALLOC_ARENA_TEST", MALLET_OPT_LONG, OFF(arena_test), "-1",
     NOCHECK, "Arenas created before the arena limit is computed (M_ARENA_TEST); -1 keeps 8."},
    {"ptmalloc.arena_max", "glibc.malloc.arena_max;MALLOC_ARENA_MAX", MALLET_OPT_LONG, OFF(arena_max), "-1", NOCHECK,
     "Most arenas (M_ARENA_MAX); -1 means 8 per CPU."},
    {"ptmalloc.tcache_max", "glibc.malloc.tcache_max", MALLET_OPT_LONG, OFF(tcache_max), "-1", NOCHECK,
     "Largest request kept in the per-thread cache, at most 1032; -1 keeps 1032."},
    {"ptmalloc.tcache_count", "glibc.malloc.tcache_count", MALLET_OPT_LONG, OFF(tcache_count), "-1", NOCHECK,
     "Chunks per tcache bin, 0 disables the cache, at most 65535; -1 keeps 7."},
    {"ptmalloc.tcache_unsorted_limit", "glibc.malloc.tcache_unsorted_limit", MALLET_OPT_LONG,
     OFF(tcache_unsorted_limit), "-1", NOCHECK,
     "Unsorted chunks processed once the tcache holds a fit, 0 = no limit; -1 keeps 0."},
    {"ptmalloc.hugetlb", "glibc.malloc.hugetlb", MALLET_OPT_LONG, OFF(hugetlb), "0", NOCHECK,
     "Accepted for compatibility; huge pages are not used by this re-implementation."},
    {"ptmalloc.harden", NULL, MALLET_OPT_BOOL, OFF(harden), "0", NOCHECK,
     "Checks beyond glibc: fastbin double-free scan, frees inside top, recently unmapped chunks, free-list links followed only into the heap."},
    {"ptmalloc.brk_reserve", NULL, MALLET_OPT_SIZE, OFF(brk_reserve), "64G", 1048576, (long long)1 << 46,
     "Address space reserved for the main arena's emulated brk (the real sbrk belongs to the C library)."},
};
#define N_OPTIONS (sizeof pt_options / sizeof *pt_options)

void pt_print_options(int fd)
{
    mallet_options_print_help(fd, pt_options, N_OPTIONS);
}

/* Keep only the glibc.malloc.<known> entries of GLIBC_TUNABLES. */
static void filter_tunables(const char *env, char *out, size_t outlen)
{
    size_t k = 0;
    out[0] = '\0';
    for (const char *s = env; s && *s;) {
        size_t len = strcspn(s, ":");
        size_t klen = strcspn(s, "=:");
        for (size_t i = 0; i < N_OPTIONS; i++) {
            const char *nat = pt_options[i].native;
            size_t nl = nat ? strcspn(nat, ";") : 0;
            if (nat && nl == klen && strncmp(nat, s, klen) == 0 && s[klen] == '=') {
                if (k + len + 2 < outlen) {
                    if (k)
                        out[k++] = ':';
                    memcpy(out + k, s, len);
                    k += len;
                    out[k] = '\0';
                }
                break;
            }
        }
        s += len;
        if (*s)
            s++;
    }
}

int pt_load_settings(pt_inst_t *inst, const char *options, char *err, size_t errlen)
{
    char str[1536];
    filter_tunables(mallet_os_getenv("GLIBC_TUNABLES", true), str, 1024);
    if (options && *options) {
        size_t k = strlen(str);
        if (strlen(options) + k + 2 > sizeof str) {
            snprintf(err, errlen, "option string too long");
            return EINVAL;
        }
        if (k)
            str[k++] = ':';
        strcpy(str + k, options);
    }
    return mallet_options_load(pt_options, N_OPTIONS, &inst->set, true, str, err, errlen);
}

static void set_max_fast(pt_inst_t *inst, size_t s)
{
    size_t v = (s <= PT_ALIGN_MASK - PT_SIZE_SZ) ? PT_MINSIZE / 2 : ((s + PT_SIZE_SZ) & ~PT_ALIGN_MASK);
    __atomic_store_n(&inst->mp.max_fast, v, __ATOMIC_RELAXED); /* free() reads it unlocked */
}

static void set_tcache_max(pt_inst_t *inst, size_t v)
{
    if (v <= PT_MAX_TCACHE_SIZE) {
        inst->mp.tcache_max_bytes = v;
        inst->mp.tcache_bins = pt_csize2tidx(pt_request2size(v)) + 1;
    }
}

/* What the zone may promise about immediate double frees under the
 * current settings. glibc 2.36 catches a free() of the chunk the previous
 * call freed only where the first free left it in the tcache (the key) or
 * on top of a fastbin (fasttop). A larger chunk whose tcache bin is full
 * goes to the unsorted bin or merges with its neighbours; merged backwards
 * and then into top, its second free passes every check, and a freed
 * mmapped chunk or a shrunk heap is unmapped memory (the misuse fuzzer
 * found both, corpora/misuse). So the promise holds up to the largest
 * request that is a fastbin size and not mmapped, and there is none when
 * fastbins are off (M_MXFAST 0). */
void pt_update_promises(pt_inst_t *inst)
{
    size_t max_fast = inst->mp.max_fast;
    size_t req_max = max_fast >= PT_MINSIZE ? max_fast - PT_SIZE_SZ : 0;
    if (req_max > 0 && pt_request2size(req_max) >= inst->mp.mmap_threshold)
        req_max = 0;
    if (req_max > 0) {
        inst->zone.caps |= MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE;
        inst->zone.double_free_immediate_max = req_max;
    } else {
        inst->zone.caps &= ~(uint64_t)MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE;
        inst->zone.double_free_immediate_max = 0;
    }
}

void pt_apply_settings(pt_inst_t *inst)
{
    const pt_settings_t *s = &inst->set;
    pt_params_t *mp = &inst->mp;
    mp->top_pad = PT_DEFAULT_TOP_PAD;
    mp->n_mmaps_max = PT_DEFAULT_MMAP_MAX;
    mp->mmap_threshold = PT_DEFAULT_MMAP_THRESHOLD;
    mp->trim_threshold = PT_DEFAULT_TRIM_THRESHOLD;
    mp->arena_test = 8;
    mp->tcache_count = PT_TCACHE_FILL_COUNT;
    mp->tcache_unsorted_limit = 0;
    set_tcache_max(inst, PT_MAX_TCACHE_SIZE);
    set_max_fast(inst, PT_DEFAULT_MXFAST);

    if (s->mxfast >= 0 && (size_t)s->mxfast <= PT_MAX_FAST_SIZE)
        set_max_fast(inst, (size_t)s->mxfast);
    if (s->trim_threshold >= 0)
        mp->trim_threshold = (size_t)s->trim_threshold, mp->no_dyn_threshold = 1;
    if (s->top_pad >= 0)
        mp->top_pad = (size_t)s->top_pad, mp->no_dyn_threshold = 1;
    if (s->mmap_threshold >= 0)
        mp->mmap_threshold = (size_t)s->mmap_threshold, mp->no_dyn_threshold = 1;
    if (s->mmap_max >= 0 && s->mmap_max <= INT_MAX)
        mp->n_mmaps_max = (int)s->mmap_max, mp->no_dyn_threshold = 1;
    if (s->perturb >= 0 && s->perturb <= 255)
        mp->perturb_byte = (int)s->perturb;
    if (s->arena_test > 0)
        mp->arena_test = (size_t)s->arena_test;
    if (s->arena_max > 0)
        mp->arena_max = (size_t)s->arena_max;
    if (s->tcache_max >= 0)
        set_tcache_max(inst, (size_t)s->tcache_max);
    if (s->tcache_count >= 0 && s->tcache_count <= PT_TCACHE_MAX_COUNT)
        mp->tcache_count = (size_t)s->tcache_count;
    if (s->tcache_unsorted_limit >= 0)
        mp->tcache_unsorted_limit = (size_t)s->tcache_unsorted_limit;
}

/* mallopt parameter numbers, as in <malloc.h>. */
enum { PT_M_MXFAST = 1, PT_M_TRIM_THRESHOLD = -1, PT_M_TOP_PAD = -2, PT_M_MMAP_THRESHOLD = -3, PT_M_MMAP_MAX = -4,
       PT_M_CHECK_ACTION = -5, PT_M_PERTURB = -6, PT_M_ARENA_TEST = -7, PT_M_ARENA_MAX = -8 };

int pt_mallopt(pt_inst_t *inst, int param, int value)
{
    int res = 1;
    pt_arena_t *av = &inst->main_arena;
    pt_lock(&av->mutex);
    /* every mallopt consolidates the main arena first, as glibc */
    if (!inst->poisoned)
        pt_malloc_consolidate(inst, av);
    pt_params_t *mp = &inst->mp;
    switch (param) {
    case PT_M_MXFAST:
        if (value >= 0 && (size_t)value <= PT_MAX_FAST_SIZE)
            set_max_fast(inst, (size_t)value);
        else
            res = 0;
        break;
    case PT_M_TRIM_THRESHOLD:
        mp->trim_threshold = (size_t)(long)value;
        mp->no_dyn_threshold = 1;
        break;
    case PT_M_TOP_PAD:
        mp->top_pad = (size_t)(long)value;
        mp->no_dyn_threshold = 1;
        break;
    case PT_M_MMAP_THRESHOLD:
        mp->mmap_threshold = (size_t)(long)value;
        mp->no_dyn_threshold = 1;
        break;
    case PT_M_MMAP_MAX:
        mp->n_mmaps_max = value;
        mp->no_dyn_threshold = 1;
        break;
    case PT_M_CHECK_ACTION:
        break;
    case PT_M_PERTURB:
        mp->perturb_byte = value;
        break;
    case PT_M_ARENA_TEST:
        if (value > 0)
            mp->arena_test = (size_t)value;
        break;
    case PT_M_ARENA_MAX:
        if (value > 0)
            mp->arena_max = (size_t)value;
        break;
    default:
        break;
    }
    pt_update_promises(inst);
    pt_unlock(&av->mutex);
    return res;
}
