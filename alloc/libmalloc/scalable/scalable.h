/*
 * scalable.h — the scalable zone as a helper for other mallet backends.
 *
 * libmalloc's nano zone hands every request it cannot serve to a helper
 * scalable zone (§A.4). mallet's `nano` backend does the same through
 * these two calls; the returned zone is an ordinary mallet zone (call its
 * function pointers), owned by the caller.
 */
#ifndef MALLET_SCALABLE_H
#define MALLET_SCALABLE_H

#include <stddef.h>

#include "mallet/zone.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new scalable zone configured by `options` ("key=value:...", NULL for
 * defaults) plus the environment. NULL + errno and a message on failure. */
mallet_zone_t *mallet_scalable_create(const char *options, char *err, size_t errlen);
/* Unmaps everything the zone ever mapped, including the zone itself. */
void mallet_scalable_destroy(mallet_zone_t *zone);

#ifdef __cplusplus
}
#endif
#endif /* MALLET_SCALABLE_H */
