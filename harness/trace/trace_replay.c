/*
 * trace/trace_replay.c — replaying a validated trace against a zone.
 */
#include "trace/trace_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mallet_trace_t *trace;
static char bench_name[32] = "replay";

void mallet_replay_set_trace(const mallet_trace_t *t, const char *name)
{
    trace = t;
    snprintf(bench_name, sizeof bench_name, "%s", name);
}

static int run(mallet_bench_ctx_t *c)
{
    if (!trace)
        return 1;
    mallet_bench_thread_t *t = &c->t[c->threads];
    size_t n_ids = (size_t)trace->max_id + 1;
    void **ptr = calloc(n_ids, sizeof *ptr);
    size_t *len = calloc(n_ids, sizeof *len);
    if (!ptr || !len) {
        free(ptr);
        free(len);
        return 1;
    }
    size_t page = 4096;
    for (size_t i = 0; i < trace->n; i++) {
        const mallet_trace_record_t *r = &trace->rec[i];
        void *p = NULL;
        switch (r->op) {
        case MALLET_TOP_MALLOC:
            p = bt_malloc(t, r->size);
            break;
        case MALLET_TOP_CALLOC:
            p = r->aux ? bt_calloc(t, r->aux, r->size / r->aux) : bt_calloc(t, 1, r->size);
            break;
        case MALLET_TOP_MEMALIGN:
            p = bt_memalign(t, r->aux < sizeof(void *) ? sizeof(void *) : r->aux, r->size);
            break;
        case MALLET_TOP_VALLOC:
            p = bt_memalign(t, page, r->size);
            break;
        case MALLET_TOP_PVALLOC:
            p = bt_memalign(t, page, (r->size + page - 1) & ~(page - 1));
            break;
        case MALLET_TOP_REALLOC: {
            void *old = r->old_id ? ptr[r->old_id] : NULL;
            size_t old_len = r->old_id ? len[r->old_id] : 0;
            p = bt_realloc(t, old, old_len, r->size);
            if (r->old_id && (p || r->size == 0)) {
                ptr[r->old_id] = NULL;
                len[r->old_id] = 0;
            }
            break;
        }
        case MALLET_TOP_FREE:
        case MALLET_TOP_FREE_SIZED:
            if (r->old_id) {
                bt_free(t, ptr[r->old_id], len[r->old_id]);
                ptr[r->old_id] = NULL;
                len[r->old_id] = 0;
            }
            continue;
        default:
            continue;
        }
        if (r->id) {
            ptr[r->id] = p;
            len[r->id] = r->size;
            if (p && r->size)
                ((volatile unsigned char *)p)[0] = (unsigned char)i; /* the program wrote it */
        }
        /* A call that failed when recorded (an impossible size, say) is
         * expected to fail again: not the replayed allocator's failure. */
        if (!p && (r->flags & MALLET_TRACE_FLAG_FAILED) && t->failed > 0)
            t->failed--;
    }
    /* What the program never freed is freed now, so leaks do not count as
     * the allocator's fragmentation in a later phase. */
    for (size_t id = 0; id < n_ids; id++)
        bt_free(t, ptr[id], len[id]);
    free(ptr);
    free(len);
    return 0;
}

const mallet_bench_t mallet_bench_replay = {bench_name, "replay of a recorded trace", false, run};
