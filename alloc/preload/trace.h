/*
 * preload/trace.h — MALLET_TRACE=<path>: record every call libmallet.so
 * routes, in harness/trace/trace_format.h's format, for `mallet replay`.
 */
#ifndef MALLET_PRELOAD_TRACE_H
#define MALLET_PRELOAD_TRACE_H

#include <stddef.h>
#include <stdint.h>

extern int mallet_trace_on; /* nonzero while recording (checked inline) */

void mallet_trace_start(const char *path);
/* Records one call. result: block returned (NULL if none); released: the
 * block given back (free, realloc), NULL if none. */
void mallet_trace_record(uint8_t op, size_t size, size_t aux, const void *result,
                         const void *released, int failed);
void mallet_trace_flush(void);
/* fork handling: hold the trace lock over fork; the child stops recording
 * (only the parent process is traced). */
void mallet_trace_prefork(void);
void mallet_trace_postfork_parent(void);
void mallet_trace_postfork_child(void);

#endif
