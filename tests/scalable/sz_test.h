/*
 * sz_test.h — helpers shared by the scalable-zone tests: a recording error
 * handler, zone creation with options, and white-box access to which tier
 * owns a pointer (through the backend's internal header).
 */
#ifndef MALLET_SZ_TEST_H
#define MALLET_SZ_TEST_H

#include <stdio.h>
#include <string.h>

#include "libmalloc/scalable/scalable.h"
#include "libmalloc/scalable/scalable_internal.h"
#include "mallet/mallet.h"
#include "support/test.h"

static mallet_error_report_t sz_last;
static int sz_reports;

static void sz_record(const mallet_error_report_t *r, void *ctx)
{
    (void)ctx;
    sz_last = *r;
    sz_reports++;
}

static inline void sz_recording(bool on)
{
    mallet_error_set_handler(on ? sz_record : NULL, NULL);
    sz_reports = 0;
    memset(&sz_last, 0, sizeof sz_last);
}

static inline mallet_zone_t *sz_zone(const char *options)
{
    char err[256] = "";
    mallet_zone_t *z = mallet_zone_create("scalable", options, err, sizeof err);
    if (z == NULL) {
        fprintf(stderr, "cannot create scalable zone (%s): %s\n", options ? options : "", err);
        exit(1);
    }
    return z;
}

/* "tiny", "small", "medium" or "large"/"none" for a pointer of zone z. */
static inline const char *sz_tier_name(mallet_zone_t *zone, const void *p)
{
    sz_zone_t *z = (sz_zone_t *)zone;
    sz_region_t r;
    for (int t = 0; t < SZ_NTIERS; t++)
        if (sz_rack_owns(&z->racks[t], p, &r))
            return sz_tiers[t].name;
    return sz_large_size(z, p) ? "large" : "none";
}

/* Expect exactly one report since sz_recording(true) with this text. */
#define CHECK_REPORT(kind_, fmt_, ptr_)                                                  \
    do {                                                                                 \
        char _want[480];                                                                 \
        snprintf(_want, sizeof _want, fmt_, (void *)(ptr_));                             \
        CHECK_MSG(sz_reports == 1, "%d reports (last: %s)", sz_reports, sz_last.message); \
        CHECK_MSG(sz_last.kind == (kind_), "kind %s", mallet_error_kind_name(sz_last.kind)); \
        CHECK_MSG(strstr(sz_last.message, _want) != NULL, "message '%s', want '%s'",     \
                  sz_last.message, _want);                                               \
        CHECK(sz_last.style == MALLET_STYLE_LIBMALLOC);                                  \
        sz_reports = 0;                                                                  \
    } while (0)

#endif
