/*
 * trace/trace_replay.h — a recorded trace as a benchmark: `mallet replay`
 * runs it through the same process-isolated runner and reports as
 * `mallet bench`. Calls are replayed on one thread in recorded order (the
 * global order the recorder wrote); the recorded thread numbers are kept
 * in the file but not re-created, so replay measures the allocator's
 * single-thread cost and its memory behaviour for the program's exact
 * sequence of requests.
 */
#ifndef MALLET_TRACE_REPLAY_H
#define MALLET_TRACE_REPLAY_H

#include "bench/bench.h"
#include "trace/trace_file.h"

/* The trace the replay benchmark runs (set before forking the runs). */
void mallet_replay_set_trace(const mallet_trace_t *t, const char *name);
extern const mallet_bench_t mallet_bench_replay;

#endif
