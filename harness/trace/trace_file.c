/*
 * trace/trace_file.c — validating trace reader (see trace_file.h).
 */
#include "trace/trace_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mallet/mallet.h"

static int bad(char *err, size_t len, const char *fmt, unsigned long long a, unsigned long long b)
{
    snprintf(err, len, fmt, a, b);
    errno = EINVAL;
    return -1;
}

/* The id-state table. Big ones are mapped, not calloc'd: a few ids can
 * span up to 1 GiB of which only the used ids' pages are touched, while
 * ASan's calloc/free wrote the shadow of the whole range on every parse
 * (trace fuzzer 85 -> 16,000 exec/s, results/2026-11-25_fuzz_speed).
 * Small ones stay on the heap: a mapping per parse is a syscall pair. */
#define STATE_MAP_MIN ((size_t)64 << 10)

static uint8_t *state_alloc(size_t len)
{
    if (len < STATE_MAP_MIN)
        return calloc(len, 1);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void state_free(uint8_t *state, size_t len)
{
    if (len < STATE_MAP_MIN)
        free(state);
    else
        munmap(state, len);
}

int mallet_trace_parse(const void *buf, size_t len, mallet_trace_t *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (len < sizeof(mallet_trace_header_t))
        return bad(err, errlen, "too short for a trace header (%llu bytes)", len, 0);
    memcpy(&t->header, buf, sizeof t->header);
    if (memcmp(t->header.magic, MALLET_TRACE_MAGIC, 8) != 0)
        return bad(err, errlen, "not a mallet trace (bad magic)%.0llu%.0llu", 0, 0);
    if (t->header.version != MALLET_TRACE_VERSION)
        return bad(err, errlen, "trace version %llu, this mallet reads version %llu", t->header.version,
                   MALLET_TRACE_VERSION);
    if (t->header.record_size != sizeof(mallet_trace_record_t))
        return bad(err, errlen, "record size %llu, expected %llu", t->header.record_size,
                   sizeof(mallet_trace_record_t));
    size_t body = len - sizeof(mallet_trace_header_t);
    if (body % sizeof(mallet_trace_record_t) != 0)
        return bad(err, errlen, "truncated: %llu bytes after the last whole record (of %llu)",
                   body % sizeof(mallet_trace_record_t), body / sizeof(mallet_trace_record_t));
    t->n = body / sizeof(mallet_trace_record_t);
    t->rec = (const mallet_trace_record_t *)((const char *)buf + sizeof(mallet_trace_header_t));
    /* Pass 1: bounds. Pass 2: id liveness, with a bitmap sized by max id. */
    size_t limit = mallet_max_request();
    for (size_t i = 0; i < t->n; i++) {
        const mallet_trace_record_t *r = &t->rec[i];
        if (r->op < MALLET_TOP_MALLOC || r->op > MALLET_TOP_THREAD_EXIT)
            return bad(err, errlen, "record %llu: unknown operation %llu", i, r->op);
        if (r->size > limit && !(r->flags & MALLET_TRACE_FLAG_FAILED))
            return bad(err, errlen, "record %llu: size %llu succeeded but is impossible", i, r->size);
        if (r->id > t->max_id)
            t->max_id = r->id;
        if (r->old_id > t->max_id)
            t->max_id = r->old_id;
        if (r->thread > t->threads)
            t->threads = r->thread;
        if (r->op == MALLET_TOP_MEMALIGN && r->aux && (r->aux & (r->aux - 1)))
            return bad(err, errlen, "record %llu: alignment %llu is not a power of two", i, r->aux);
    }
    if (t->max_id > 1u << 30)
        return bad(err, errlen, "block id %llu is implausibly large%.0llu", t->max_id, 0);
    size_t state_len = (size_t)t->max_id + 1;
    uint8_t *state = state_alloc(state_len); /* 0 never seen, 1 live, 2 released */
    if (state == NULL)
        return bad(err, errlen, "out of memory for %llu ids%.0llu", t->max_id, 0);
    for (size_t i = 0; i < t->n; i++) {
        const mallet_trace_record_t *r = &t->rec[i];
        if (r->old_id) {
            if (state[r->old_id] != 1) {
                state_free(state, state_len);
                return bad(err, errlen, "record %llu releases block id %llu, which is not live", i, r->old_id);
            }
            if (!(r->op == MALLET_TOP_REALLOC && (r->flags & MALLET_TRACE_FLAG_FAILED)))
                state[r->old_id] = 2;
        }
        if (r->id) {
            if (state[r->id] != 0) {
                state_free(state, state_len);
                return bad(err, errlen, "record %llu reuses block id %llu", i, r->id);
            }
            state[r->id] = 1;
        }
        switch (r->op) {
        case MALLET_TOP_FREE:
        case MALLET_TOP_FREE_SIZED:
            t->frees++;
            break;
        case MALLET_TOP_REALLOC:
            t->reallocs++;
            t->bytes_requested += r->size;
            break;
        case MALLET_TOP_THREAD_EXIT:
            break;
        default:
            t->allocs++;
            t->bytes_requested += r->size;
        }
    }
    state_free(state, state_len);
    return 0;
}

int mallet_trace_open(const char *path, mallet_trace_t *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open trace '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "'%s' is not a regular file", path);
        close(fd);
        errno = EINVAL;
        return -1;
    }
    size_t len = (size_t)st.st_size;
    void *m = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "'%s': %s", path, len ? strerror(errno) : "empty file");
        return -1;
    }
    char why[256];
    if (mallet_trace_parse(m, len, t, why, sizeof why) != 0) {
        snprintf(err, errlen, "'%s': %s", path, why);
        munmap(m, len);
        return -1;
    }
    t->map_base = m;
    t->map_len = len;
    return 0;
}

void mallet_trace_close(mallet_trace_t *t)
{
    if (t->map_base && !t->owns_buffer)
        munmap(t->map_base, t->map_len);
    else if (t->owns_buffer)
        free(t->map_base);
    memset(t, 0, sizeof *t);
}
