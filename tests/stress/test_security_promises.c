/*
 * test_security_promises.c — the promise check of `mallet security` itself,
 * with two test-only backends. The real backends' claims are held to it by
 * the security-promises test, but they all keep their promises, so only a
 * backend that lies can show the check bites:
 *
 *   honest  keeps a table of live blocks over glibc malloc; a free or
 *           realloc of anything else is reported through mallet's error
 *           path (MALLET_ERR_DOUBLE_FREE / INVALID_FREE / INVALID_REALLOC)
 *           and abandoned. Claims exactly those detections: every
 *           double-free, invalid-free and realloc case must be "kept".
 *   liar    the same zone without the table, claiming the same flags:
 *           glibc then aborts, or stays silent, and the check must call
 *           the double-free / invalid-free / realloc promises BROKEN.
 * Front-end cases (calloc overflow, bad alignments) are kept by both.
 * Both run once more claiming only MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE
 * (ptmalloc's promise): then exactly the immediate double-free cases are
 * held to it, kept by honest and BROKEN by liar; and once with that
 * promise stopping at 120 B (ptmalloc's fastbin limit), when only the
 * cases of at most 120 B are held to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "mallet/mallet.h"
#include "security/security.h"
#include "support/test.h"

#define LIVE_MAX 8192
static void *live[LIVE_MAX];
static bool honest_mode;

static int find_live(const void *p)
{
    for (int i = 0; i < LIVE_MAX; i++)
        if (live[i] == p)
            return i;
    return -1;
}

static void *track(void *p)
{
    if (p && honest_mode) {
        int i = find_live(NULL);
        if (i >= 0)
            live[i] = p;
    }
    return p;
}

static size_t z_size(mallet_zone_t *z, const void *p) { (void)z; return malloc_usable_size((void *)p); }
static void *z_malloc(mallet_zone_t *z, size_t n) { (void)z; return track(malloc(n)); }
static void *z_calloc(mallet_zone_t *z, size_t c, size_t n) { (void)z; return track(calloc(c, n)); }
static void *z_valloc(mallet_zone_t *z, size_t n) { (void)z; return track(valloc(n)); }
static void *z_memalign(mallet_zone_t *z, size_t a, size_t n) { (void)z; return track(memalign(a, n)); }
static void z_destroy(mallet_zone_t *z) { (void)z; }

static void z_free(mallet_zone_t *z, void *p)
{
    if (honest_mode) {
        int i = find_live(p);
        if (i < 0) {
            mallet_report(z, "honest", MALLET_ERR_INVALID_FREE, MALLET_STYLE_PLAIN, false, p,
                          "pointer %p being freed was not allocated (or is already free)", p);
            return;
        }
        live[i] = NULL;
    }
    free(p);
}

static void *z_realloc(mallet_zone_t *z, void *p, size_t n)
{
    if (honest_mode && p) {
        int i = find_live(p);
        if (i < 0) {
            mallet_report(z, "honest", MALLET_ERR_INVALID_REALLOC, MALLET_STYLE_PLAIN, false, p,
                          "pointer %p being realloc'd was not allocated", p);
            errno = ENOMEM;
            return NULL;
        }
        live[i] = NULL;
    }
    return track(realloc(p, n));
}

#define CLAIMS (MALLET_CAP_DETECT_DOUBLE_FREE | MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE | \
                MALLET_CAP_DETECT_INVALID_FREE | MALLET_CAP_DETECT_INVALID_REALLOC)

static mallet_zone_t the_zone = {
    .size = z_size, .malloc = z_malloc, .calloc = z_calloc, .valloc = z_valloc, .free = z_free,
    .realloc = z_realloc, .destroy = z_destroy, .zone_name = "fake", .version = 5, .memalign = z_memalign,
    .caps = CLAIMS,
};

static const char *fake_version(void) { return "test"; }
static int fake_available(char *why, size_t len) { (void)why; (void)len; return 0; }
static mallet_zone_t *fake_default_zone(void) { return &the_zone; }

static const mallet_backend_t fake = {
    .id = "fake", .description = "test-only", .is_peer = false, .caps = CLAIMS,
    .version = fake_version, .available = fake_available, .default_zone = fake_default_zone,
};

static void run_all(bool honest, uint64_t claims, unsigned *broken_detect, unsigned *broken_frontend,
                    unsigned *kept_detect)
{
    honest_mode = honest;
    the_zone.backend = &fake;
    the_zone.caps = claims;
    *broken_detect = *broken_frontend = *kept_detect = 0;
    for (size_t k = 0; k < sec_ncases; k++) {
        const sec_case_t *c = &sec_cases[k];
        sec_result_t r;
        uint64_t caps = 0;
        sec_run_case(&fake, c, 10, &r, &caps);
        CHECK_EQ(caps, claims);
        sec_judge(&r, caps, false);
        bool detect_case = c->cat == SEC_DOUBLE_FREE || c->cat == SEC_DOUBLE_FREE_IMMEDIATE ||
                           c->cat == SEC_INVALID_FREE || c->cat == SEC_REALLOC;
        if (c->cat == SEC_FRONTEND)
            *broken_frontend += r.broken;
        else if (detect_case) {
            if (r.broken)
                (*broken_detect)++;
            else if (strncmp(r.promise, "kept", 4) == 0) /* not "none (does not claim ...)" */
                (*kept_detect)++;
        }
        printf("  %s %-32s %-20s %s | %s\n", honest ? "honest" : "liar  ", c->name, sec_outcome_name(r.out),
               r.detail, r.promise);
    }
}

int main(void)
{
    unsigned broken, broken_fe, kept, n_immediate = 0;
    for (size_t k = 0; k < sec_ncases; k++)
        n_immediate += sec_cases[k].cat == SEC_DOUBLE_FREE_IMMEDIATE;
    TEST_CASE("an honest backend keeps every detection promise it makes")
    {
        run_all(true, CLAIMS, &broken, &broken_fe, &kept);
        CHECK_EQ(broken, 0u);
        CHECK_EQ(broken_fe, 0u);
        CHECK(kept >= 9);
    }
    TEST_CASE("a backend claiming detections it does not make is caught")
    {
        run_all(false, CLAIMS, &broken, &broken_fe, &kept);
        CHECK(broken >= 5); /* glibc aborts (not the error path) or stays silent */
        CHECK_EQ(broken_fe, 0u);
    }
    TEST_CASE("claiming only immediate double-free detection holds just those cases")
    {
        CHECK(n_immediate >= 2);
        run_all(true, MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE, &broken, &broken_fe, &kept);
        CHECK_EQ(broken, 0u);
        CHECK_EQ(kept, n_immediate);
        run_all(false, MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE, &broken, &broken_fe, &kept);
        CHECK_EQ(broken, n_immediate); /* glibc aborts: not mallet's error path */
        CHECK_EQ(kept, 0u);
    }
    TEST_CASE("an immediate promise that stops at a size holds only the cases up to it")
    {
        unsigned n_small = 0;
        for (size_t k = 0; k < sec_ncases; k++)
            n_small += sec_cases[k].cat == SEC_DOUBLE_FREE_IMMEDIATE && sec_cases[k].bytes <= 120;
        CHECK(n_small >= 1 && n_small < n_immediate);
        the_zone.double_free_immediate_max = 120; /* ptmalloc's default fastbin limit */
        run_all(true, MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE, &broken, &broken_fe, &kept);
        CHECK_EQ(broken, 0u);
        CHECK_EQ(kept, n_small);
        run_all(false, MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE, &broken, &broken_fe, &kept);
        CHECK_EQ(broken, n_small);
        CHECK_EQ(kept, 0u);
        the_zone.double_free_immediate_max = 0;
    }
    return test_summary();
}
