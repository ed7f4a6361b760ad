/*
 * stress/stress_faults.c — out-of-memory behaviour of one backend (inside
 * its child process).
 *
 * Three ways to run out:
 *   huge      requests no address space can hold (256 TiB; calloc whose
 *             product is that large; realloc of a live block to it);
 *   mapfail   mallet's own backends only: mallet_os_inject_map_failures(0)
 *             makes every further map of the platform layer fail;
 *   rlimit    RLIMIT_AS lowered to the current size + 160 MiB (every backend;
 *             skipped in sanitizer builds, whose shadow memory needs the
 *             address space, and said so).
 * In each: allocate across the tiers (largest first) until NULL; every NULL
 * must come with errno ENOMEM; nothing crashes; every block allocated before
 * and during the exhaustion keeps its contents (identity pattern verified);
 * a failed realloc leaves its block intact; check() passes where the zone
 * has MALLET_CAP_CHECK; no error report is raised; after freeing some
 * blocks, same-size allocations succeed again; once the limit is lifted
 * (injection off / rlimit restored), large allocations work again.
 *
 * The bookkeeping array is mapped before the limit and output never
 * allocates (mallet_os_printf), so the harness itself does not need memory
 * while the backend has none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mallet/mallet.h"
#include "os/os.h"
#include "stress/stress.h"
#include "stress/stress_internal.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STRESS_SANITIZER 1
#else
#define STRESS_SANITIZER 0
#endif

#define MAX_BLOCKS (1u << 20)
#define EXHAUST_CAP ((size_t)2 << 30)
#define HUGE_REQUEST ((size_t)1 << 48)

typedef struct fblk {
    uint8_t *p;
    size_t n;
} fblk_t;

typedef struct faults {
    stress_zone_t sz;
    const char *id;
    fblk_t *blk; /* mmap'd: needs no allocator */
    size_t n;
    int failures;
} faults_t;

#define FAULT(F, ...)                                    \
    do {                                                 \
        mallet_os_printf(2, "FAIL %s: ", (F)->id);       \
        mallet_os_printf(2, __VA_ARGS__);                \
        mallet_os_printf(2, "\n");                       \
        (F)->failures++;                                 \
    } while (0)

static bool add_block(faults_t *F, size_t n)
{
    if (F->n >= MAX_BLOCKS)
        return false;
    errno = 0;
    void *p = stress_zone_malloc(&F->sz, n);
    if (!p) {
        if (errno != ENOMEM)
            FAULT(F, "malloc(%zu) returned NULL with errno %d (%s), not ENOMEM", n, errno, strerror(errno));
        return false;
    }
    F->blk[F->n] = (fblk_t){p, n};
    stress_pattern_fill(p, n, F->n, 1);
    F->n++;
    return true;
}

static void verify_all(faults_t *F, const char *when)
{
    for (size_t i = 0; i < F->n; i++) {
        if (!F->blk[i].p)
            continue;
        size_t off = stress_pattern_verify(F->blk[i].p, F->blk[i].n, i, 1);
        if (off != SIZE_MAX) {
            stress_report_corruption(F->id, when, i, F->blk[i].p, F->blk[i].n, 1, off);
            F->failures++;
            return;
        }
    }
}

static void free_block(faults_t *F, size_t i)
{
    if (F->blk[i].p) {
        stress_zone_free(&F->sz, F->blk[i].p);
        F->blk[i].p = NULL;
    }
}

static void free_all(faults_t *F)
{
    verify_all(F, "before freeing everything");
    for (size_t i = 0; i < F->n; i++)
        free_block(F, i);
    F->n = 0;
}

static void check_zone(faults_t *F, const char *when)
{
    if ((F->sz.z->caps & MALLET_CAP_CHECK) && !stress_zone_check(&F->sz))
        FAULT(F, "check() failed %s", when);
}

/* Requests nothing can satisfy: NULL + ENOMEM, and a failed realloc keeps
 * its block. */
static void huge_requests(faults_t *F)
{
    if (!add_block(F, 1000))
        FAULT(F, "malloc(1000) failed before the test");
    errno = 0;
    void *p = stress_zone_malloc(&F->sz, HUGE_REQUEST);
    if (p || errno != ENOMEM)
        FAULT(F, "malloc(256 TiB) gave %p errno %d; expected NULL + ENOMEM", p, errno);
    errno = 0;
    p = stress_zone_calloc(&F->sz, (size_t)1 << 24, (size_t)1 << 24);
    if (p || errno != ENOMEM)
        FAULT(F, "calloc(2^24, 2^24) gave %p errno %d; expected NULL + ENOMEM", p, errno);
    errno = 0;
    p = stress_zone_memalign(&F->sz, 4096, HUGE_REQUEST);
    if (p || errno != ENOMEM)
        FAULT(F, "memalign(4096, 256 TiB) gave %p errno %d; expected NULL + ENOMEM", p, errno);
    if (F->n) {
        fblk_t *b = &F->blk[F->n - 1];
        errno = 0;
        p = stress_zone_realloc(&F->sz, b->p, HUGE_REQUEST);
        if (p || errno != ENOMEM)
            FAULT(F, "realloc(p, 256 TiB) gave %p errno %d; expected NULL + ENOMEM", p, errno);
    }
    verify_all(F, "after huge requests failed");
    check_zone(F, "after huge requests failed");
    free_all(F);
    mallet_os_printf(1, "faults %s: huge requests: %s\n", F->id, F->failures ? "FAILED" : "OK");
}

/* Allocates largest tiers first until NULL, then smaller ones. */
static void exhaust(faults_t *F, size_t *largest_failed)
{
    static const size_t sizes[] = {8u << 20, 1u << 20, 64u << 10, 4096, 256, 32};
    *largest_failed = 0;
    /* A backend may legitimately serve from memory it mapped before the
     * failures began; past EXHAUST_CAP bytes that is not what is being
     * tested, and filling more would only cost RAM and time. */
    size_t total = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t got = 0;
        while (total < EXHAUST_CAP && add_block(F, sizes[s])) {
            got++;
            total += sizes[s];
        }
        if (*largest_failed == 0 && F->n < MAX_BLOCKS)
            *largest_failed = sizes[s];
        (void)got;
        if (F->n >= MAX_BLOCKS)
            break;
    }
    /* A realloc that cannot be satisfied keeps the block. */
    for (size_t i = 0; i < F->n; i++) {
        if (F->blk[i].p && F->blk[i].n >= 4096) {
            errno = 0;
            void *q = stress_zone_realloc(&F->sz, F->blk[i].p, 64u << 20);
            if (q) {
                F->blk[i].p = q; /* it fit after all: keep it, pattern prefix intact */
                size_t off = stress_pattern_verify(q, F->blk[i].n, i, 1);
                if (off != SIZE_MAX) {
                    stress_report_corruption(F->id, "after a successful realloc under pressure", i, q,
                                             F->blk[i].n, 1, off);
                    F->failures++;
                }
            } else if (errno != ENOMEM) {
                FAULT(F, "realloc under pressure: NULL with errno %d, not ENOMEM", errno);
            }
            break;
        }
    }
}

/* After exhaustion: contents, check(), then free half and allocate again. */
static void recover_partly(faults_t *F, const char *mode, size_t largest_failed)
{
    verify_all(F, "after allocations failed");
    check_zone(F, "after allocations failed");
    size_t small_n = 0, big_i = SIZE_MAX;
    for (size_t i = 0; i < F->n; i++) {
        if (i % 2 == 0)
            continue;
        if (F->blk[i].n == 256)
            small_n++;
        if (F->blk[i].n >= (64u << 10) && big_i == SIZE_MAX)
            big_i = i;
    }
    size_t big_size = big_i != SIZE_MAX ? F->blk[big_i].n : 0;
    for (size_t i = 1; i < F->n; i += 2)
        free_block(F, i);
    if (small_n) {
        errno = 0;
        void *p = stress_zone_malloc(&F->sz, 256);
        if (!p)
            FAULT(F, "%s: malloc(256) still fails after freeing %zu blocks of 256 bytes", mode, small_n);
        else
            stress_zone_free(&F->sz, p);
    }
    if (big_size) {
        void *p = stress_zone_malloc(&F->sz, big_size);
        if (!p)
            FAULT(F, "%s: malloc(%zu) still fails after freeing blocks of that size", mode, big_size);
        else
            stress_zone_free(&F->sz, p);
    }
    verify_all(F, "after freeing half and allocating again");
    check_zone(F, "after freeing half and allocating again");
    (void)largest_failed;
}

static void recover_fully(faults_t *F, const char *mode)
{
    free_all(F);
    for (unsigned i = 0; i < 4; i++)
        if (!add_block(F, 32u << 20))
            FAULT(F, "%s: malloc(32 MiB) fails after memory became available again", mode);
    for (unsigned i = 0; i < 200; i++)
        if (!add_block(F, 16 + i * 97))
            FAULT(F, "%s: malloc(%u) fails after memory became available again", mode, 16 + i * 97);
    check_zone(F, "after recovery");
    free_all(F);
}

static void map_failures(faults_t *F)
{
    if (F->sz.b->is_peer) {
        mallet_os_printf(1, "faults %s: mapfail: not applicable (peers map memory themselves; "
                            "covered by rlimit)\n", F->id);
        return;
    }
    int before = F->failures;
    for (unsigned i = 0; i < 100; i++)
        add_block(F, 16 + i * 331);
    mallet_os_inject_map_failures(0);
    size_t largest_failed;
    exhaust(F, &largest_failed);
    size_t during = F->n;
    recover_partly(F, "mapfail", largest_failed);
    mallet_os_inject_map_failures(-1);
    recover_fully(F, "mapfail");
    mallet_os_printf(1, "faults %s: mapfail: %zu blocks live when maps failed (first NULL at %zu bytes): %s\n",
                     F->id, during, largest_failed, F->failures > before ? "FAILED" : "OK");
}

static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void rlimit_as(faults_t *F)
{
    if (STRESS_SANITIZER) {
        mallet_os_printf(1, "faults %s: rlimit: SKIPPED in this sanitizer build (shadow memory needs the "
                            "address space); runs in release\n", F->id);
        return;
    }
    int before = F->failures;
    for (unsigned i = 0; i < 100; i++)
        add_block(F, 16 + i * 331);
    struct rlimit old;
    getrlimit(RLIMIT_AS, &old);
    size_t vm = vm_size();
    struct rlimit lim = {vm + (160u << 20), old.rlim_max};
    if (vm == 0 || setrlimit(RLIMIT_AS, &lim) != 0) {
        FAULT(F, "rlimit: cannot set RLIMIT_AS (vm %zu): %s", vm, strerror(errno));
        return;
    }
    size_t largest_failed;
    exhaust(F, &largest_failed);
    size_t during = F->n;
    recover_partly(F, "rlimit", largest_failed);
    if (setrlimit(RLIMIT_AS, &old) != 0)
        FAULT(F, "rlimit: cannot restore RLIMIT_AS: %s", strerror(errno));
    recover_fully(F, "rlimit");
    mallet_os_printf(1, "faults %s: rlimit: %zu blocks live at the limit (first NULL at %zu bytes): %s\n",
                     F->id, during, largest_failed, F->failures > before ? "FAILED" : "OK");
}

int stress_faults(const mallet_backend_t *b, const stress_config_t *cfg)
{
    (void)cfg;
    faults_t F = {.id = b->id};
    char err[256] = "";
    if (stress_zone_open(&F.sz, b, err, sizeof err) != 0) {
        mallet_os_printf(2, "FAIL %s: cannot create a zone: %s\n", b->id, err);
        return STRESS_FAILED;
    }
    F.blk = mmap(NULL, MAX_BLOCKS * sizeof(fblk_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (F.blk == MAP_FAILED) {
        mallet_os_printf(2, "FAIL %s: mmap of the block table: %s\n", b->id, strerror(errno));
        return STRESS_FAILED;
    }
    fflush(stdout);
    huge_requests(&F);
    map_failures(&F);
    rlimit_as(&F);
    if (stress_reports()) {
        FAULT(&F, "%lu error reports during correct use under memory pressure", stress_reports());
    }
    stress_zone_close(&F.sz);
    munmap(F.blk, MAX_BLOCKS * sizeof(fblk_t));
    mallet_os_printf(1, "faults %s: %s\n", b->id, F.failures ? "FAILED" : "OK");
    return F.failures ? STRESS_FAILED : STRESS_OK;
}
