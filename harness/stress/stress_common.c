/*
 * stress/stress_common.c — pieces shared by `mallet stress` and
 * `mallet security`: backend selection (same grammar as `mallet bench`),
 * usability look-up that never hides a missing backend, the identity
 * pattern blocks are filled with, the recording error handler, and the
 * fork-one-child-per-run helper.
 *
 * Nothing here that runs in a child after a fault allocates with malloc:
 * output goes through mallet_os_printf (a stack buffer and write(2)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mallet/mallet.h"
#include "os/os.h"
#include "stress/stress.h"

int stress_backend_usable(const char *id, const mallet_backend_t **b, char *why, size_t len)
{
    *b = mallet_backend_find(id);
    if (*b == NULL) {
        snprintf(why, len, "%s", mallet_backend_id_is_known(id) ? "not built into this mallet"
                                                                 : "unknown backend");
        return 77;
    }
    why[0] = '\0';
    if ((*b)->available(why, len) != 0) {
        if (!why[0])
            snprintf(why, len, "not available");
        return 77;
    }
    return 0;
}

/* ---- identity pattern ---------------------------------------------------- */

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* Word k of the pattern of (id, gen); bytes are its little-endian bytes. */
static inline uint64_t pattern_word(uint64_t h, size_t k)
{
    return h ^ ((uint64_t)k * 0x9E3779B97F4A7C15ull);
}

static inline uint64_t pattern_seed(uint64_t id, uint32_t gen)
{
    return mix(id * 0x100000001b3ull ^ ((uint64_t)gen << 40) ^ 0x5bd1e995u);
}

uint8_t stress_pattern_byte(uint64_t id, uint32_t gen, size_t off)
{
    return (uint8_t)(pattern_word(pattern_seed(id, gen), off / 8) >> (8 * (off % 8)));
}

/* Pattern loops are not instrumented by TSan: they touch every byte of
 * every block (tens of MB per run) and blocks only change hands through
 * mutexes, so instrumenting them finds nothing but costs 10x. Overlapping
 * blocks still show up as pattern mismatches. */
#if defined(__SANITIZE_THREAD__)
#define NO_TSAN __attribute__((no_sanitize_thread))
#else
#define NO_TSAN
#endif

NO_TSAN void stress_pattern_fill(void *p, size_t n, uint64_t id, uint32_t gen)
{
    uint64_t h = pattern_seed(id, gen);
    uint8_t *b = p;
    size_t words = n / 8;
    for (size_t k = 0; k < words; k++) {
        uint64_t w = pattern_word(h, k);
        memcpy(b + 8 * k, &w, 8);
    }
    for (size_t i = words * 8; i < n; i++)
        b[i] = (uint8_t)(pattern_word(h, i / 8) >> (8 * (i % 8)));
}

NO_TSAN size_t stress_pattern_verify(const void *p, size_t n, uint64_t id, uint32_t gen)
{
    uint64_t h = pattern_seed(id, gen);
    const uint8_t *b = p;
    size_t words = n / 8;
    for (size_t k = 0; k < words; k++) {
        uint64_t w;
        memcpy(&w, b + 8 * k, 8);
        if (w != pattern_word(h, k)) {
            for (size_t i = 8 * k;; i++)
                if (b[i] != stress_pattern_byte(id, gen, i))
                    return i;
        }
    }
    for (size_t i = words * 8; i < n; i++)
        if (b[i] != stress_pattern_byte(id, gen, i))
            return i;
    return SIZE_MAX;
}

void stress_report_corruption(const char *backend, const char *what, uint64_t id, const void *p,
                              size_t n, uint32_t gen, size_t off)
{
    char exp[64] = "", got[64] = "";
    const uint8_t *b = p;
    size_t end = off + 8 < n ? off + 8 : n;
    for (size_t i = off, k = 0; i < end; i++, k += 3) {
        snprintf(exp + k, sizeof exp - k, "%02x ", stress_pattern_byte(id, gen, i));
        snprintf(got + k, sizeof got - k, "%02x ", b[i]);
    }
    mallet_os_printf(2,
                     "CORRUPTION %s: %s: block #%llu (allocated by thread %llu) (%p, %zu bytes, gen %u) "
                     "at offset %zu: expected [%s] found [%s]\n",
                     backend, what, (unsigned long long)(id & ((1ull << 40) - 1)),
                     (unsigned long long)(id >> 40), p, n, gen, off, exp, got);
}

/* ---- recording handler --------------------------------------------------- */

static atomic_ulong n_reports;
static const char *recorder_backend = "?";

static void recorder(const mallet_error_report_t *r, void *ctx)
{
    (void)ctx;
    unsigned long k = atomic_fetch_add(&n_reports, 1);
    if (k < 20)
        mallet_os_printf(2, "REPORT %s: %s (%s) ptr %p: %s\n", recorder_backend,
                         mallet_error_kind_name(r->kind), r->backend_id ? r->backend_id : "?", r->ptr,
                         r->message);
}

void stress_install_recorder(const char *backend)
{
    recorder_backend = backend;
    mallet_error_set_handler(recorder, NULL);
}

unsigned long stress_reports(void)
{
    return atomic_load(&n_reports);
}

/* ---- one child per run --------------------------------------------------- */

int stress_in_child(const char *what, const mallet_backend_t *b, const stress_config_t *cfg,
                    int (*fn)(const mallet_backend_t *, const stress_config_t *))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "FAIL %s %s: fork: %s\n", b->id, what, strerror(errno));
        return STRESS_FAILED;
    }
    if (pid == 0) {
        alarm(cfg->timeout_s);
        int rc = fn(b, cfg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        if (sig == SIGALRM)
            fprintf(stderr, "FAIL %s %s: no result after %u s (hung or deadlocked)\n", b->id, what,
                    cfg->timeout_s);
        else
            fprintf(stderr, "FAIL %s %s: crashed with signal %d (%s)\n", b->id, what, sig, strsignal(sig));
        return STRESS_FAILED;
    }
    int rc = WEXITSTATUS(st);
    if (rc != STRESS_OK && rc != STRESS_SKIPPED) {
        fprintf(stderr, "FAIL %s %s: exit status %d\n", b->id, what, rc);
        return STRESS_FAILED;
    }
    return rc;
}

/* mimalloc 2.0.9 (Debian 12): mi_malloc_aligned(n, a) with a >= 256 and n a
 * multiple of a up to 1 KiB ignores the alignment (microsoft/mimalloc#700,
 * fixed after 2.0.9). Same rule as tests/conformance/conformance.c. */
bool stress_known_mimalloc_700(const mallet_backend_t *b, size_t align, size_t n)
{
    return strcmp(b->id, "mi") == 0 && b->version && strcmp(b->version(), "mimalloc 2.0.9") == 0 &&
           align >= 256 && n % align == 0 && n <= 1024;
}
