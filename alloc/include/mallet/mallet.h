/*
 * mallet/mallet.h — the front end: what harness, tests, fuzzers and the
 * drop-in library call. It validates arguments once for every backend, as
 * libmalloc's malloc.c does in front of its zones (§A.3):
 *
 *   - n > MALLET_MAX_REQUEST (SIZE_MAX - 2 pages)  => NULL, errno ENOMEM
 *   - calloc count * n overflows                   => NULL, errno ENOMEM
 *   - alignment not a power of two or < 8          => EINVAL (NULL for memalign)
 *   - aligned_alloc with n % alignment != 0        => NULL, errno EINVAL
 *   - free(NULL)                                   => no-op
 *   - realloc(NULL, n)                             => malloc(n)
 *   - a backend returning NULL for an allocation   => errno ENOMEM
 *
 * realloc(p, 0) is left to the backend: glibc frees and returns NULL,
 * libmalloc returns a minimum-size block. Both are what users of those
 * allocators expect.
 */
#ifndef MALLET_MALLET_H
#define MALLET_MALLET_H

#include "mallet/backend.h"
#include "mallet/error.h"
#include "mallet/zone.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SIZE_MAX - 2 * page size (libmalloc's MALLOC_ABSOLUTE_MAX_SIZE). */
size_t mallet_max_request(void);

void *mallet_malloc(mallet_zone_t *z, size_t n);
void *mallet_calloc(mallet_zone_t *z, size_t count, size_t n);
void *mallet_valloc(mallet_zone_t *z, size_t n);
void *mallet_realloc(mallet_zone_t *z, void *p, size_t n);
void mallet_free(mallet_zone_t *z, void *p);
/* memalign: alignment rounded as the backend does; invalid => NULL, EINVAL. */
void *mallet_memalign(mallet_zone_t *z, size_t alignment, size_t n);
/* posix_memalign: returns 0, EINVAL or ENOMEM; errno untouched. */
int mallet_posix_memalign(mallet_zone_t *z, void **out, size_t alignment, size_t n);
void *mallet_aligned_alloc(mallet_zone_t *z, size_t alignment, size_t n);
void mallet_free_definite_size(mallet_zone_t *z, void *p, size_t n);
unsigned mallet_batch_malloc(mallet_zone_t *z, size_t n, void **out, unsigned count);
void mallet_batch_free(mallet_zone_t *z, void **ptrs, unsigned count);
size_t mallet_size(mallet_zone_t *z, const void *p);
size_t mallet_good_size(mallet_zone_t *z, size_t n);
size_t mallet_pressure_relief(mallet_zone_t *z, size_t goal);
bool mallet_claimed_address(mallet_zone_t *z, void *p);
/* Nonzero if consistent (1 also when the backend has no check). */
int mallet_check(mallet_zone_t *z);
void mallet_statistics(mallet_zone_t *z, mallet_zone_stats_t *s);
int mallet_enumerate(mallet_zone_t *z, unsigned mask, void *ctx,
                     mallet_range_recorder_t recorder);
void mallet_print(mallet_zone_t *z, int fd, bool verbose);

/* Create a zone of backend `id` with options; NULL + message on failure. */
mallet_zone_t *mallet_zone_create(const char *id, const char *options,
                                  char *err, size_t errlen);
void mallet_zone_destroy(mallet_zone_t *z);

#ifdef __cplusplus
}
#endif
#endif /* MALLET_MALLET_H */
