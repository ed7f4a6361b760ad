/*
 * workload/size_dist.h — request-size distributions, deterministic from a
 * seed. A distribution is described by a short spec string so benchmarks,
 * the command line and result files all name it the same way:
 *
 *   const:N                 always N bytes
 *   uniform:LO-HI           uniform in [LO, HI]
 *   pow2:LO-HI              a power of two in [LO, HI], each equally likely
 *   geometric:MEAN[,MAX]    geometric (many small, few large), capped
 *   lognormal:MEDIAN,SIGMA[,MAX]
 *   pareto:MIN,ALPHA[,MAX]  power law (alloc-test's shape)
 *   mix:W1*SPEC1+W2*SPEC2+...   weighted mixture, e.g. mix:9*uniform:16-64+1*const:4096
 *   hist:FILE               empirical: lines "size count" (from a trace or measurement)
 *   trace:FILE              empirical: the request sizes of a mallet trace
 *   profile:NAME            a named profile (app-objects, tier-walk, server, large, small)
 *
 * Sizes are also written back as canonical specs (mallet_size_dist_describe).
 */
#ifndef MALLET_WORKLOAD_SIZE_DIST_H
#define MALLET_WORKLOAD_SIZE_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "workload/rng.h"

typedef struct mallet_size_dist mallet_size_dist_t;

/* Parses a spec. NULL on error, with a message in err. */
mallet_size_dist_t *mallet_size_dist_parse(const char *spec, char *err, size_t errlen);
void mallet_size_dist_free(mallet_size_dist_t *d);
size_t mallet_size_dist_sample(const mallet_size_dist_t *d, mallet_rng_t *r);
/* Expected value, estimated by sampling (for reports). */
double mallet_size_dist_mean(const mallet_size_dist_t *d);
const char *mallet_size_dist_spec(const mallet_size_dist_t *d);
/* The named profiles, NULL-terminated, with their specs and a description. */
typedef struct mallet_size_profile {
    const char *name, *spec, *description;
} mallet_size_profile_t;
extern const mallet_size_profile_t mallet_size_profiles[];

#endif
