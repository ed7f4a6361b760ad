/*
 * stress/stress_mt.c — the multithreaded random-operations stress of one
 * backend, run inside that backend's child process.
 *
 * N worker threads each own a table of slots. Each step picks a slot: an
 * empty slot gets a new block (malloc, calloc, realloc(NULL), memalign,
 * posix_memalign or aligned_alloc) of a size from one of six tiers
 * (<=16 B, <=256 B, <=1 KiB, <=32 KiB, <=1 MiB, 1..9 MiB); a full slot is
 * freed, reallocated to another size, or handed to another thread's mailbox
 * so that it is freed (or kept) by a thread that did not allocate it.
 * Every block is filled with the identity pattern of (block id, generation)
 * and verified in full before every free and realloc (realloc: the kept
 * prefix). calloc memory must read as zero. Any error report, check()
 * failure (zones with MALLET_CAP_CHECK, checked periodically), misaligned
 * result or unexpected NULL fails the run.
 *
 * Zones without MALLET_CAP_THREAD_SAFE are still driven by N threads, but
 * every zone call is serialised by one external lock: they promise nothing
 * more, and cross-thread frees remain meaningful for them.
 *
 * Soak mode (cfg->soak): the main thread samples RSS and live bytes every
 * interval into a CSV and flags RSS growth that live data does not explain.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mallet/mallet.h"
#include "os/os.h"
#include "stress/stress.h"
#include "stress/stress_internal.h"
#include "workload/rng.h"

#define MB_CAP 256

typedef struct blk {
    uint8_t *p;
    size_t n;
    uint64_t id;
    uint32_t gen;
} blk_t;

typedef struct mailbox {
    pthread_mutex_t m;
    blk_t ring[MB_CAP];
    unsigned head, count;
} mailbox_t;

typedef struct worker worker_t;

typedef struct shared {
    stress_zone_t sz;
    const stress_config_t *cfg;
    unsigned nthreads, nslots;
    uint64_t ops_per_thread; /* 0 = until deadline */
    uint64_t deadline_ns;    /* 0 = none */
    atomic_bool stop;
    atomic_int failed;
    atomic_uint known_defects;
    mailbox_t *mb;
    worker_t *w;
    pthread_barrier_t done;
} shared_t;

struct worker {
    shared_t *sh;
    unsigned index;
    mallet_rng_t rng;
    blk_t *slot;
    uint64_t next_id;
    bool corrupted; /* selftest_corrupt fired */
    atomic_ullong ops, live_bytes;
    char pad[64];
};

/* ---- sizes ------------------------------------------------------------------ */

size_t stress_random_size(mallet_rng_t *r, bool allow_huge)
{
    uint64_t t = mallet_rng_below(r, 1000);
    if (t < 300)
        return mallet_rng_below(r, 17); /* 0..16 */
    if (t < 600)
        return 17 + mallet_rng_below(r, 240);
    if (t < 780)
        return 257 + mallet_rng_below(r, 768);
    if (t < 930)
        return 1025 + mallet_rng_below(r, 31 * 1024);
    if (t < 998 || !allow_huge)
        return 32 * 1024 + mallet_rng_below(r, 992 * 1024);
    return (1u << 20) + mallet_rng_below(r, 8u << 20); /* 1 .. 9 MiB: past 8 MiB too */
}

/* ---- helpers ---------------------------------------------------------------- */

static void fail(shared_t *sh)
{
    atomic_store(&sh->failed, 1);
    atomic_store(&sh->stop, true);
}

static bool verify_blk(worker_t *w, const blk_t *b, const char *before)
{
    size_t off = stress_pattern_verify(b->p, b->n, b->id, b->gen);
    if (off == SIZE_MAX)
        return true;
    char what[64];
    snprintf(what, sizeof what, "before %s on thread %u", before, w->index);
    stress_report_corruption(w->sh->sz.b->id, what, b->id, b->p, b->n, b->gen, off);
    fail(w->sh);
    return false;
}

static void do_free(worker_t *w, blk_t *b)
{
    if (!verify_blk(w, b, "free"))
        return;
    stress_zone_free(&w->sh->sz, b->p);
    atomic_fetch_sub_explicit(&w->live_bytes, b->n, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->ops, 1, memory_order_relaxed);
    b->p = NULL;
}

/* Not instrumented by TSan, like the pattern loops (stress_common.c). */
#if defined(__SANITIZE_THREAD__)
__attribute__((no_sanitize_thread))
#endif
static size_t first_nonzero(const void *p, size_t n)
{
    const uint8_t *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != 0)
            return i;
    return SIZE_MAX;
}

static bool do_alloc(worker_t *w, blk_t *b)
{
    shared_t *sh = w->sh;
    size_t n = stress_random_size(&w->rng, true);
    size_t align = 0;
    bool zeroed = false;
    void *p = NULL;
    switch (mallet_rng_below(&w->rng, 12)) {
    case 0: case 1: case 2: case 3: case 4:
        p = stress_zone_malloc(&sh->sz, n);
        break;
    case 5: case 6:
        if (n >= 8 && mallet_rng_below(&w->rng, 2)) {
            p = stress_zone_calloc(&sh->sz, n / 8, 8);
            n = n / 8 * 8;
        } else {
            p = stress_zone_calloc(&sh->sz, 1, n);
        }
        zeroed = true;
        break;
    case 7:
        p = stress_zone_realloc(&sh->sz, NULL, n);
        break;
    case 8: case 9:
        align = (size_t)16 << mallet_rng_below(&w->rng, 9); /* 16 .. 4096 */
        p = stress_zone_memalign(&sh->sz, align, n);
        break;
    case 10:
        align = (size_t)8 << mallet_rng_below(&w->rng, 7);
        if (stress_zone_posix_memalign(&sh->sz, &p, align, n) != 0)
            p = NULL;
        break;
    default:
        align = (size_t)16 << mallet_rng_below(&w->rng, 5);
        n = (n + align - 1) / align * align;
        p = stress_zone_aligned_alloc(&sh->sz, align, n);
        break;
    }
    atomic_fetch_add_explicit(&w->ops, 1, memory_order_relaxed);
    if (p == NULL) {
        mallet_os_printf(2, "FAIL %s: allocation of %zu bytes (align %zu) returned NULL: %s\n", sh->sz.b->id,
                         n, align, strerror(errno));
        fail(sh);
        return false;
    }
    if (align && ((uintptr_t)p & (align - 1)) != 0 && stress_known_mimalloc_700(sh->sz.b, align, n)) {
        if (atomic_fetch_add(&sh->known_defects, 1) == 0)
            mallet_os_printf(1, "KNOWN PEER DEFECT %s: memalign(%zu, %zu) = %p is misaligned "
                                "(microsoft/mimalloc#700, fixed after 2.0.9); counted, not failed\n",
                             sh->sz.b->version(), align, n, p);
    } else if (((uintptr_t)p & 7) != 0 || (align && ((uintptr_t)p & (align - 1)) != 0)) {
        mallet_os_printf(2, "FAIL %s: %p for %zu bytes is not aligned to %zu\n", sh->sz.b->id, p, n,
                         align ? align : 8);
        fail(sh);
        return false;
    }
    size_t nz;
    if (zeroed && (nz = first_nonzero(p, n)) != SIZE_MAX) {
        mallet_os_printf(2, "CORRUPTION %s: calloc(%zu) block %p has byte 0x%02x at offset %zu\n", sh->sz.b->id, n,
                         p, ((const uint8_t *)p)[nz], nz);
        fail(sh);
        return false;
    }
    b->p = p;
    b->n = n;
    b->id = w->next_id++;
    b->gen = 0;
    stress_pattern_fill(p, n, b->id, b->gen);
    atomic_fetch_add_explicit(&w->live_bytes, n, memory_order_relaxed);
    return true;
}

static void do_realloc(worker_t *w, blk_t *b)
{
    shared_t *sh = w->sh;
    if (!verify_blk(w, b, "realloc"))
        return;
    size_t n = stress_random_size(&w->rng, true);
    if (n == 0)
        n = 1; /* realloc(p, 0) is backend-defined (frees or not) */
    void *p = stress_zone_realloc(&sh->sz, b->p, n);
    atomic_fetch_add_explicit(&w->ops, 1, memory_order_relaxed);
    if (p == NULL) {
        mallet_os_printf(2, "FAIL %s: realloc(%p, %zu) returned NULL: %s\n", sh->sz.b->id, (void *)b->p, n,
                         strerror(errno));
        fail(sh);
        return;
    }
    blk_t kept = *b;
    kept.p = p;
    kept.n = n < b->n ? n : b->n;
    if (!verify_blk(w, &kept, "use after realloc (kept prefix)"))
        return;
    atomic_fetch_add_explicit(&w->live_bytes, n - b->n, memory_order_relaxed);
    b->p = p;
    b->n = n;
    b->gen++;
    stress_pattern_fill(p, n, b->id, b->gen);
}

static bool mb_push(mailbox_t *m, const blk_t *b)
{
    bool ok = false;
    pthread_mutex_lock(&m->m);
    if (m->count < MB_CAP) {
        m->ring[(m->head + m->count++) % MB_CAP] = *b;
        ok = true;
    }
    pthread_mutex_unlock(&m->m);
    return ok;
}

static bool mb_pop(mailbox_t *m, blk_t *b)
{
    bool ok = false;
    pthread_mutex_lock(&m->m);
    if (m->count) {
        *b = m->ring[m->head];
        m->head = (m->head + 1) % MB_CAP;
        m->count--;
        ok = true;
    }
    pthread_mutex_unlock(&m->m);
    return ok;
}

/* Takes handed-over blocks: verify, then free most, adopt some. Live bytes
 * move between workers' counters with the block. */
static void drain_mailbox(worker_t *w, bool free_all)
{
    shared_t *sh = w->sh;
    blk_t b;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed) || free_all) {
        if (!mb_pop(&sh->mb[w->index], &b))
            break;
        atomic_fetch_add_explicit(&w->live_bytes, b.n, memory_order_relaxed);
        if (!free_all && mallet_rng_below(&w->rng, 4) == 0) {
            blk_t *s = &w->slot[mallet_rng_below(&w->rng, sh->nslots)];
            if (s->p == NULL && verify_blk(w, &b, "adopting a handed-over block")) {
                *s = b;
                continue;
            }
        }
        do_free(w, &b);
    }
}

static void run_check(shared_t *sh, const char *when)
{
    if (!(sh->sz.z->caps & MALLET_CAP_CHECK))
        return;
    unsigned long before = stress_reports();
    if (!stress_zone_check(&sh->sz)) {
        mallet_os_printf(2, "FAIL %s: check() found the zone inconsistent %s\n", sh->sz.b->id, when);
        fail(sh);
    } else if (stress_reports() != before) {
        fail(sh);
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    shared_t *sh = w->sh;
    uint64_t steps = 0;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        steps++;
        if (sh->ops_per_thread && atomic_load_explicit(&w->ops, memory_order_relaxed) >= sh->ops_per_thread)
            break;
        if ((steps & 255) == 0) {
            if (sh->deadline_ns && mallet_os_now_ns() >= sh->deadline_ns)
                break;
            if (stress_reports() != 0)
                fail(sh);
        }
        if ((steps & 31) == 0)
            drain_mailbox(w, false);
        if (w->index == 0 && (steps & 8191) == 0)
            run_check(sh, "during the run");
        blk_t *b = &w->slot[mallet_rng_below(&w->rng, sh->nslots)];
        if (b->p == NULL) {
            do_alloc(w, b);
            continue;
        }
        if (sh->cfg->selftest_corrupt && w->index == 0 && !w->corrupted && steps >= 1000 && b->n > 0) {
            /* Proves the detector works end to end (tests/stress). */
            b->p[b->n / 2] ^= 0x5a;
            mallet_os_printf(2, "selftest: flipped byte %zu of block #%llu\n", b->n / 2,
                             (unsigned long long)b->id);
            w->corrupted = true;
        }
        uint64_t what = mallet_rng_below(&w->rng, 8);
        if (what < 3) {
            do_free(w, b);
        } else if (what < 5) {
            do_realloc(w, b);
        } else if (sh->nthreads > 1) {
            unsigned to = (unsigned)mallet_rng_below(&w->rng, sh->nthreads - 1);
            to += to >= w->index;
            if (verify_blk(w, b, "handing over") && mb_push(&sh->mb[to], b)) {
                atomic_fetch_sub_explicit(&w->live_bytes, b->n, memory_order_relaxed);
                b->p = NULL;
            } else if (b->p) {
                do_free(w, b);
            }
        } else {
            do_free(w, b);
        }
    }
    /* Nobody hands over after this barrier; then everyone cleans up. */
    pthread_barrier_wait(&sh->done);
    drain_mailbox(w, true);
    for (unsigned i = 0; i < sh->nslots; i++)
        if (w->slot[i].p)
            do_free(w, &w->slot[i]);
    return NULL;
}

/* ---- soak sampling ----------------------------------------------------------- */

typedef struct sample {
    double t;
    size_t rss, live;
    uint64_t ops;
} sample_t;

/* Growth verdict: after a warm-up quarter, the mean RSS of the last quarter
 * against the peak RSS of the second quarter, less what live data grew.
 * Flagged above both 16 MiB and 10%. Short runs get no verdict: warm-up
 * (arenas, caches, large-block reuse) dominates them. */
static int soak_report(shared_t *sh, const sample_t *s, size_t n)
{
    const char *id = sh->sz.b->id;
    if (n < 20 || s[n - 1].t < 20.0) {
        mallet_os_printf(1, "soak %s: %zu samples over %.1f s: too short for a growth verdict "
                            "(needs 20 samples and 20 s)\n", id, n, n ? s[n - 1].t : 0.0);
        return STRESS_OK;
    }
    size_t q = n / 4;
    double peak2 = 0, r4 = 0, l2 = 0, l4 = 0;
    for (size_t i = q; i < 2 * q; i++) {
        peak2 = (double)s[i].rss > peak2 ? (double)s[i].rss : peak2;
        l2 += (double)s[i].live;
    }
    for (size_t i = n - q; i < n; i++) {
        r4 += (double)s[i].rss;
        l4 += (double)s[i].live;
    }
    r4 /= (double)q; l2 /= (double)q; l4 /= (double)q;
    double growth = r4 - peak2 - (l4 > l2 ? l4 - l2 : 0);
    double pct = peak2 > 0 ? 100.0 * growth / peak2 : 0;
    bool flagged = growth > 16.0 * 1024 * 1024 && pct > 10.0;
    mallet_os_printf(1, "soak %s: RSS peak %.1f MiB (2nd quarter) -> mean %.1f MiB (last quarter), live %.1f -> "
                        "%.1f MiB: %s\n", id, peak2 / 1048576, r4 / 1048576, l2 / 1048576, l4 / 1048576,
                     flagged ? "GROWTH FLAGGED (RSS grows beyond live data)" : "no unexplained growth");
    return flagged ? STRESS_FAILED : STRESS_OK;
}

static int soak_loop(shared_t *sh, FILE *csv)
{
    size_t cap = 1 << 16, n = 0;
    sample_t *s = calloc(cap, sizeof *s);
    uint64_t t0 = mallet_os_now_ns();
    unsigned ms = (unsigned)(sh->cfg->soak_interval * 1000);
    if (ms == 0)
        ms = 1;
    while (!atomic_load(&sh->stop)) {
        uint64_t now = mallet_os_now_ns();
        if (sh->deadline_ns && now >= sh->deadline_ns)
            break;
        size_t live = 0;
        uint64_t ops = 0;
        for (unsigned i = 0; i < sh->nthreads; i++) {
            live += atomic_load_explicit(&sh->w[i].live_bytes, memory_order_relaxed);
            ops += atomic_load_explicit(&sh->w[i].ops, memory_order_relaxed);
        }
        if (s && n < cap)
            s[n++] = (sample_t){(double)(now - t0) / 1e9, mallet_os_rss(), live, ops};
        if (csv && n) {
            fprintf(csv, "%s,%.3f,%zu,%zu,%llu\n", sh->sz.b->id, s[n - 1].t, s[n - 1].rss / 1024,
                    s[n - 1].live / 1024, (unsigned long long)ops);
            fflush(csv);
        }
        if (sh->ops_per_thread) {
            bool all_done = true;
            for (unsigned i = 0; i < sh->nthreads; i++)
                all_done &= atomic_load(&sh->w[i].ops) >= sh->ops_per_thread;
            if (all_done)
                break;
        }
        mallet_os_sleep_ms(ms);
    }
    int rc = s ? soak_report(sh, s, n) : STRESS_OK;
    free(s);
    return rc;
}

/* ---- entry ------------------------------------------------------------------- */

int stress_mt(const mallet_backend_t *b, const stress_config_t *cfg)
{
    shared_t *sh = calloc(1, sizeof *sh);
    char err[256] = "";
    if (stress_zone_open(&sh->sz, b, err, sizeof err) != 0) {
        mallet_os_printf(2, "FAIL %s: cannot create a zone: %s\n", b->id, err);
        return STRESS_FAILED;
    }
    sh->cfg = cfg;
    sh->nthreads = cfg->threads ? cfg->threads : 1;
    sh->nslots = cfg->smoke ? 64 : 256;
    sh->ops_per_thread = cfg->ops;
    if (cfg->seconds > 0)
        sh->deadline_ns = mallet_os_now_ns() + (uint64_t)(cfg->seconds * 1e9);
    sh->mb = calloc(sh->nthreads, sizeof *sh->mb);
    sh->w = calloc(sh->nthreads, sizeof *sh->w);
    pthread_barrier_init(&sh->done, NULL, sh->nthreads);
    printf("stress %s (%s): %u threads, %s%s, seed %llu, caps check=%s thread-safe=%s\n", b->id,
           b->version ? b->version() : "?", sh->nthreads, cfg->ops ? "ops bound" : "time bound",
           cfg->soak ? ", soak" : "", (unsigned long long)cfg->seed,
           (sh->sz.z->caps & MALLET_CAP_CHECK) ? "yes" : "no", sh->sz.serialised ? "no (serialised)" : "yes");
    fflush(stdout);

    FILE *csv = NULL;
    if (cfg->soak && cfg->out_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/soak_%s.csv", cfg->out_dir, b->id);
        csv = fopen(path, "w");
        if (!csv)
            mallet_os_printf(2, "stress %s: cannot write %s: %s\n", b->id, path, strerror(errno));
        else
            fprintf(csv, "backend,t_s,rss_kb,live_kb,ops\n");
    }
    pthread_t *th = calloc(sh->nthreads, sizeof *th);
    uint64_t t0 = mallet_os_now_ns();
    for (unsigned i = 0; i < sh->nthreads; i++) {
        pthread_mutex_init(&sh->mb[i].m, NULL);
        worker_t *w = &sh->w[i];
        w->sh = sh;
        w->index = i;
        w->next_id = ((uint64_t)i << 40) + 1;
        w->slot = calloc(sh->nslots, sizeof *w->slot);
        mallet_rng_seed(&w->rng, cfg->seed, i + 1);
    }
    for (unsigned i = 0; i < sh->nthreads; i++)
        if (pthread_create(&th[i], NULL, worker_main, &sh->w[i]) != 0) {
            mallet_os_printf(2, "FAIL %s: pthread_create: %s\n", b->id, strerror(errno));
            abort(); /* the barrier cannot complete: crash loudly */
        }
    int soak_rc = cfg->soak ? soak_loop(sh, csv) : STRESS_OK;
    for (unsigned i = 0; i < sh->nthreads; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(mallet_os_now_ns() - t0) / 1e9;
    if (csv)
        fclose(csv);
    run_check(sh, "after the run");
    uint64_t ops = 0;
    for (unsigned i = 0; i < sh->nthreads; i++)
        ops += atomic_load(&sh->w[i].ops);
    unsigned long reports = stress_reports();
    if (atomic_load(&sh->known_defects))
        printf("stress %s: %u results matched a known peer defect (see KNOWN PEER DEFECT above)\n", b->id,
               atomic_load(&sh->known_defects));
    int rc = (atomic_load(&sh->failed) || reports) ? STRESS_FAILED : soak_rc;
    printf("stress %s: %llu ops in %.2f s (%.0f ops/s), %lu error reports, %s\n", b->id,
           (unsigned long long)ops, secs, secs > 0 ? (double)ops / secs : 0.0, reports,
           rc == STRESS_OK ? "OK" : "FAILED");
    for (unsigned i = 0; i < sh->nthreads; i++) {
        free(sh->w[i].slot);
        pthread_mutex_destroy(&sh->mb[i].m);
    }
    pthread_barrier_destroy(&sh->done);
    stress_zone_close(&sh->sz);
    free(th);
    free(sh->w);
    free(sh->mb);
    free(sh);
    return rc;
}
