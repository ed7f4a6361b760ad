/* nano_v1.c — placeholder while v1 is being written. */
#include <errno.h>
#include <stdio.h>
#include "libmalloc/nano/nano_internal.h"
static int v1_init(nano_zone_t *nz, char *err, size_t errlen) { (void)nz; snprintf(err, errlen, "v1 not yet"); return ENOSYS; }
static void v1_fini(nano_zone_t *nz) { (void)nz; }
const nano_ops_t nano_v1_ops = {.name = "v1", .init = v1_init, .fini = v1_fini};
