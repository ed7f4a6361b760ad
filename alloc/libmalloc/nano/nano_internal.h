/*
 * nano_internal.h — what nano_zone.c shares with the two allocator cores.
 *
 * A nano zone is libmalloc's default zone: a nano allocator (v1 or v2,
 * chosen at creation) for rounded sizes <= 256 B in front of a helper zone
 * that takes everything else. nano_zone.c owns the zone struct, the option
 * table, the helper and the fall-through rules; nano_v1.c and nano_v2.c
 * implement one `nano_ops_t` each and only ever see pointers inside their
 * own zone window (a MAP_FIXED_NOREPLACE reservation in the signature
 * range), so they never have to think about foreign memory.
 */
#ifndef MALLET_NANO_INTERNAL_H
#define MALLET_NANO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libmalloc/nano/nano_layout.h"
#include "mallet/error.h"
#include "mallet/mallet.h"
#include "mallet/options.h"
#include "os/os.h"

typedef struct nano_settings {
    char zone[MALLET_OPT_STRING_MAX];       /* MallocNanoZone: "", 0, 1, V1, V2 */
    char helper[MALLET_OPT_STRING_MAX];     /* scalable | sys */
    long max_magazines;                     /* v1; 0 = physical CPUs */
    long max_regions;                       /* v2 window, in 512 MiB regions */
    char scan_policy[MALLET_OPT_STRING_MAX];    /* v2 MallocNanoScanPolicy */
    char madvise_policy[MALLET_OPT_STRING_MAX]; /* v2 MallocNanoMadvisePolicy */
    bool guard_edges;                       /* v2 MallocGuardEdges */
    bool single_arena;                      /* v2 MallocNanoSingleArena */
    bool single_thread_fast;                /* mallet: plain stores while single-threaded */
} nano_settings_t;

typedef struct nano_zone nano_zone_t;

/* Result of a core's malloc/free when it did not simply succeed. */
enum {
    NANO_OK = 0,
    NANO_FALLTHROUGH = 1, /* not served / not a live nano block: use the helper */
    NANO_ABANDONED = 2,   /* an error was reported and the handler returned */
};

typedef struct nano_ops {
    const char *name; /* "v1" / "v2" */
    /* Reserve the window and set up state. 0, or errno (nano stays off). */
    int (*init)(nano_zone_t *nz, char *err, size_t errlen);
    /* Unmap everything (window and state); must survive corruption. */
    void (*fini)(nano_zone_t *nz);
    /* n <= 256. Returns the block, or NULL with *status FALLTHROUGH or ABANDONED. */
    void *(*malloc)(nano_zone_t *nz, size_t n, bool zero, int *status);
    /* The zone's own malloc and free entry points (mallet_zone_t.malloc /
     * .free), installed at creation so that malloc -> zone -> core is one
     * indirect call, as libmalloc's zone table points at nanov2_malloc
     * itself. They serve the common case inline and hand the rest to the
     * helper or to nano_zone_bad_free. They do not look at
     * `forked`: the fork child swaps in the generic entry points instead
     * (libmalloc's "forked" zone functions). */
    void *(*zone_malloc)(mallet_zone_t *zone, size_t n);
    void (*zone_free)(mallet_zone_t *zone, void *p);
    /* p is inside the window. Usable size of a live block, else 0. */
    size_t (*size)(nano_zone_t *nz, const void *p);
    /* p is inside the window. declared: 0 or the size free_definite_size got. */
    int (*free)(nano_zone_t *nz, void *p, size_t declared);
    bool (*claimed)(nano_zone_t *nz, const void *p);
    size_t (*pressure_relief)(nano_zone_t *nz, size_t goal);
    int (*check)(nano_zone_t *nz);
    void (*enumerate)(nano_zone_t *nz, unsigned mask, void *ctx, mallet_range_recorder_t rec);
    void (*statistics)(nano_zone_t *nz, mallet_zone_stats_t *s);
    void (*print)(nano_zone_t *nz, int fd, bool verbose);
    void (*force_lock)(nano_zone_t *nz);
    void (*force_unlock)(nano_zone_t *nz);
    void (*reinit_lock)(nano_zone_t *nz);
} nano_ops_t;

struct nano_zone {
    mallet_zone_t z;           /* first: mallet_zone_t * <-> nano_zone_t * */
    mallet_zone_t *helper;     /* MallocHelperZone */
    bool helper_is_instance;   /* we created it, destroy() destroys it */
    bool helper_checks_frees;  /* helper reports invalid frees itself */
    const nano_ops_t *ops;     /* NULL: nano is off, all to the helper */
    int forked;                /* set in the fork child: nano allocations off */
    uintptr_t base, window;    /* the zone window inside the signature range */
    uint64_t cookie;           /* free-slot guard cookie */
    const char *solo_flag;     /* nano_solo(): glibc's flag, or a constant 0 */
    void *state;               /* the core's own state (mapped) */
    size_t state_size;
    nano_settings_t cfg;
    char name[32];
};

extern const nano_ops_t nano_v1_ops;
extern const nano_ops_t nano_v2_ops;
extern const mallet_backend_t mallet_backend_nano;

static inline bool nano_in_window(const nano_zone_t *nz, const void *p)
{
    return (uintptr_t)p - nz->base < nz->window;
}

/* A pointer in the window that is not a live nano block (nano_zone.c):
 * the helper reports it, as in libmalloc, or nano does. */
void nano_zone_bad_free(nano_zone_t *nz, void *p);

/* Defines a core's zone entry points (nano_ops_t.zone_malloc/zone_free)
 * around its always-inline malloc and free, which take nano_solo() as a
 * parameter: each entry point tests it once and inlines one copy per
 * value, so the multithreaded copy pays one load and a branch for the
 * single-threaded one. nano serves what it can, the helper takes larger
 * sizes, pointers outside the window and what nano falls through on; a
 * window pointer nano rejects is a bad free. */
#define NANO_ZONE_ENTRY_POINTS(zone_malloc_fn, zone_free_fn, core_malloc, core_free) \
    static void *zone_malloc_fn(mallet_zone_t *zone, size_t n)                         \
    {                                                                                  \
        nano_zone_t *nz = (nano_zone_t *)zone;                                         \
        if (n <= NANO_MAX_SIZE) {                                                      \
            int status;                                                                \
            void *p = nano_solo(nz) ? core_malloc(nz, n, false, true, &status)          \
                                    : core_malloc(nz, n, false, false, &status);       \
            if (p || status == NANO_ABANDONED)                                         \
                return p;                                                              \
        }                                                                              \
        return nz->helper->malloc(nz->helper, n);                                      \
    }                                                                                  \
    static void zone_free_fn(mallet_zone_t *zone, void *p)                             \
    {                                                                                  \
        nano_zone_t *nz = (nano_zone_t *)zone;                                         \
        if (!nano_in_window(nz, p))                                                    \
            nz->helper->free(nz->helper, p);                                           \
        else if ((nano_solo(nz) ? core_free(nz, p, 0, true) : core_free(nz, p, 0, false)) == \
                 NANO_FALLTHROUGH)                                                     \
            nano_zone_bad_free(nz, p);                                                 \
    }

/* The single-threaded fast path, a deliberate departure from libmalloc
 * (macOS gives libmalloc no way to know a process has one thread, so it
 * always pays its atomics; glibc on Linux says so in
 * __libc_single_threaded, and glibc's own malloc skips its locks on it).
 * While it holds, the lock-free updates of one malloc or free (v1's LIFO
 * head and bump pointer, v2's block word) are a load and a plain store
 * instead of a locked compare-and-swap: nothing else can change the word
 * in between. The flag turns false only inside pthread_create, before
 * the second thread exists, and nano never creates threads, so an
 * operation that started single-threaded completes before any other
 * thread runs, and pthread_create orders its stores before everything
 * the new thread does; from then on every operation takes the atomics.
 * The stores are relaxed atomics (plain movs on x86), so ThreadSanitizer
 * sees no race at the transition. What is given up: nano's atomics also
 * made a malloc interrupted by a signal handler that mallocs come out
 * right (glibc's malloc makes no such promise either; neither is
 * async-signal-safe), and, as for glibc, threads made without
 * pthread_create (raw clone) are not seen. Zone option
 * nano.single_thread_fast=0 (MALLET_NANO_SINGLE_THREAD_FAST=0) keeps the
 * atomics always, as libmalloc. Read once per operation; the zone keeps
 * the flag's address, or that of a constant 0 when the option is off or
 * the C library has no flag, so the test is one pointer and one byte load
 * (it is also paid by every multithreaded process). */
static inline bool nano_solo(const nano_zone_t *nz)
{
    return __atomic_load_n(nz->solo_flag, __ATOMIC_RELAXED) != 0;
}

/* Reserve `size` bytes (a power of two) PROT_NONE at the lowest free
 * size-aligned address in the signature range. 0 or errno. */
int nano_reserve_window(nano_zone_t *nz, size_t size);

/* Errors go out in libmalloc's style, under the nano backend's name. */
#define NANO_REPORT(nz, kind, corrupt, p, ...)                                             \
    mallet_report(&(nz)->z, "nano", (kind), MALLET_STYLE_LIBMALLOC, (corrupt), (p), __VA_ARGS__)

/* The guard cookie: entropy & 0x0000FFFFFFFF0000 (never 0). */
uint64_t nano_make_cookie(void);

/* Is `declared` (free_definite_size) a size this block may carry? Not just
 * its own class: realloc shrinks in place while the new size keeps more
 * than half the block, so any size rounding into (class/2, class] is one
 * a correct caller can state. */
static inline bool nano_size_fits_class(size_t declared, unsigned cls)
{
    size_t r = nano_round_size(declared), c = nano_class_bytes(cls);
    return r <= c && (r > c / 2 || r == c);
}

/* Relaxed word access to block memory that other threads may write: the
 * lock-free paths read stale slots on purpose (see the file comments). */
static inline uint64_t nano_load(const void *p)
{
    return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}
static inline void nano_store(void *p, uint64_t v)
{
    __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
}

/* The speculative read of a free block's guard and link before the CAS
 * that takes it (v1's pop, v2's allocation from a block). By design it may
 * read a block another thread has just taken and is writing with plain
 * stores; the CAS then fails and the value is dropped. ThreadSanitizer
 * cannot know that and reports atomic-read vs. plain-write, so in its build
 * this one read is not instrumented (the CAS that publishes or refuses the
 * block still is). Same machine code as nano_load everywhere else. */
#ifdef MALLET_NANO_TSAN_LAYOUT
__attribute__((no_sanitize("thread"), noinline, unused)) static uint64_t nano_load_speculative(const void *p)
{
    return *(const volatile uint64_t *)p;
}
#else
static inline uint64_t nano_load_speculative(const void *p)
{
    return nano_load(p);
}
#endif

#endif /* MALLET_NANO_INTERNAL_H */
