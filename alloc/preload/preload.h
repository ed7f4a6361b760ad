/*
 * preload/preload.h — shared between the drop-in's entry points and its
 * extras: the zone every routed call goes to.
 */
#ifndef MALLET_PRELOAD_H
#define MALLET_PRELOAD_H

#include "mallet/mallet.h"

/* The process's zone, started on first use; NULL while it is being
 * started by this very thread (callers then use the bootstrap arena). */
mallet_zone_t *mallet_preload_zone(void);

#define MALLET_EXPORT __attribute__((visibility("default")))

#endif
