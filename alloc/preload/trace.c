/*
 * preload/trace.c — the trace recorder behind MALLET_TRACE.
 *
 * Runs inside malloc, so it never calls malloc: records go to an mmap'd
 * buffer written out with write(2) when full and at exit; pointers are
 * mapped to ids by an open-addressing table (linear probing, backward-
 * shift deletion) in mmap'd memory that doubles when half full. One lock
 * serialises recording: tracing is for capturing a workload, not for
 * speed, and a global order of records is what replay needs.
 */
#define _GNU_SOURCE
#include "preload/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"
#include "trace/trace_format.h"

int mallet_trace_on;

static mallet_lock_t trace_lock = MALLET_LOCK_INIT;
static int trace_fd = -1;
static uint64_t start_ns;
static mallet_trace_record_t *buf;
static size_t buf_used;
#define BUF_RECORDS 26214 /* ~1 MiB */

typedef struct slot { uintptr_t ptr; uint32_t id; } slot_t;
static slot_t *table;
static size_t table_cap, table_used;
static uint32_t next_id = 1;
static uint16_t next_thread = 1;
static __thread uint16_t my_thread __attribute__((tls_model("initial-exec")));

static size_t hash_ptr(uintptr_t p, size_t cap)
{
    return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

static bool table_grow(void)
{
    size_t cap = table_cap ? table_cap * 2 : (1u << 16);
    slot_t *t = mallet_os_map(NULL, cap * sizeof *t, MALLET_PROT_RW);
    if (!t)
        return false;
    for (size_t i = 0; i < table_cap; i++) {
        if (!table[i].ptr)
            continue;
        size_t h = hash_ptr(table[i].ptr, cap);
        while (t[h].ptr)
            h = (h + 1) & (cap - 1);
        t[h] = table[i];
    }
    if (table)
        mallet_os_unmap(table, table_cap * sizeof *table);
    table = t;
    table_cap = cap;
    return true;
}

static uint32_t table_insert(uintptr_t p)
{
    if ((table_used + 1) * 2 > table_cap && !table_grow())
        return 0;
    size_t h = hash_ptr(p, table_cap);
    while (table[h].ptr && table[h].ptr != p)
        h = (h + 1) & (table_cap - 1);
    if (!table[h].ptr)
        table_used++;
    table[h].ptr = p;
    table[h].id = next_id++;
    return table[h].id;
}

static uint32_t table_remove(uintptr_t p)
{
    if (!table_cap)
        return 0;
    size_t h = hash_ptr(p, table_cap);
    while (table[h].ptr && table[h].ptr != p)
        h = (h + 1) & (table_cap - 1);
    if (!table[h].ptr)
        return 0;
    uint32_t id = table[h].id;
    /* Backward-shift deletion keeps probe chains intact without tombstones. */
    size_t hole = h, j = h;
    for (;;) {
        j = (j + 1) & (table_cap - 1);
        if (!table[j].ptr)
            break;
        size_t home = hash_ptr(table[j].ptr, table_cap);
        bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole].ptr = 0;
    table_used--;
    return id;
}

static void write_all(const void *p, size_t n)
{
    mallet_os_write(trace_fd, p, n);
}

static void flush_locked(void)
{
    if (trace_fd >= 0 && buf_used) {
        write_all(buf, buf_used * sizeof *buf);
        buf_used = 0;
    }
}

void mallet_trace_start(const char *path)
{
    /* Programs start programs, and each inherits MALLET_TRACE: the first
     * process takes the name, every later one writes <path>.<pid> rather
     * than truncating a trace being written. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        char alt[4096];
        size_t n = strlen(path);
        if (n + 12 < sizeof alt) {
            memcpy(alt, path, n);
            unsigned pid = (unsigned)getpid(), k = 0;
            char digits[12];
            do
                digits[k++] = (char)('0' + pid % 10);
            while ((pid /= 10) != 0);
            alt[n++] = '.';
            while (k)
                alt[n++] = digits[--k];
            alt[n] = '\0';
            fd = open(alt, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        }
    }
    if (fd < 0) {
        mallet_os_printf(2, "libmallet.so: cannot create MALLET_TRACE file '%s'; not recording\n", path);
        return;
    }
    buf = mallet_os_map(NULL, BUF_RECORDS * sizeof *buf, MALLET_PROT_RW);
    if (!buf || !table_grow()) {
        close(fd);
        mallet_os_printf(2, "libmallet.so: out of memory for the trace buffer; not recording\n");
        return;
    }
    trace_fd = fd;
    start_ns = mallet_os_now_ns();
    mallet_trace_header_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MALLET_TRACE_MAGIC, 8);
    h.version = MALLET_TRACE_VERSION;
    h.record_size = sizeof(mallet_trace_record_t);
    h.start_ns = start_ns;
    h.pid = (uint32_t)getpid();
    strncpy(h.program, mallet_os_program_name(), sizeof h.program - 1);
    write_all(&h, sizeof h);
    mallet_trace_on = 1;
}

void mallet_trace_record(uint8_t op, size_t size, size_t aux, const void *result,
                         const void *released, int failed)
{
    mallet_lock(&trace_lock);
    if (!mallet_trace_on) {
        mallet_unlock(&trace_lock);
        return;
    }
    mallet_trace_record_t r;
    memset(&r, 0, sizeof r);
    if (released) {
        r.old_id = table_remove((uintptr_t)released);
        if (r.old_id == 0 && !result && op == MALLET_TOP_FREE) {
            mallet_unlock(&trace_lock); /* a block from before recording started */
            return;
        }
    }
    if (result)
        r.id = table_insert((uintptr_t)result);
    if (!my_thread)
        my_thread = next_thread++;
    r.ts_ns = mallet_os_now_ns() - start_ns;
    r.size = size;
    r.aux = aux;
    r.thread = my_thread;
    r.op = op;
    r.flags = failed ? MALLET_TRACE_FLAG_FAILED : 0;
    buf[buf_used++] = r;
    if (buf_used == BUF_RECORDS)
        flush_locked();
    mallet_unlock(&trace_lock);
}

void mallet_trace_flush(void)
{
    mallet_lock(&trace_lock);
    flush_locked();
    mallet_unlock(&trace_lock);
}

void mallet_trace_prefork(void)
{
    mallet_lock(&trace_lock);
    flush_locked();
}

void mallet_trace_postfork_parent(void)
{
    mallet_unlock(&trace_lock);
}

void mallet_trace_postfork_child(void)
{
    mallet_trace_on = 0;
    buf_used = 0;
    mallet_lock_reinit(&trace_lock);
}
