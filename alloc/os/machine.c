/*
 * os/machine.c — facts about the machine: page size, RAM, CPUs, and which
 * CPU this thread runs on.
 *
 * The current CPU comes from the rseq area glibc (>= 2.35) registers for
 * every thread: one load from the thread pointer, as cheap as Apple's
 * commpage read. Without rseq we fall back to sched_getcpu() (vDSO).
 * Reading files uses open/read into stack buffers: no stdio, no malloc.
 */
#define _GNU_SOURCE
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* __rseq_offset and __rseq_size: exported by glibc 2.35+, declared weak in
 * os.h so we still link against older ones. */

/* Caches filled on first use from any thread: several threads may compute
 * the same value at once, so they are relaxed atomics (a plain variable
 * here is a data race; `mallet stress` under TSan found it). */
static _Atomic size_t cached_page;
static _Atomic uint64_t cached_ram;
static _Atomic unsigned cached_cpus, cached_cores;
#define LOAD(v) atomic_load_explicit(&(v), memory_order_relaxed)
#define STORE(v, x) atomic_store_explicit(&(v), (x), memory_order_relaxed)

size_t mallet_os_page_size(void)
{
    size_t page = LOAD(cached_page);
    if (page == 0) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (size_t)p : 4096;
        STORE(cached_page, page);
    }
    return page;
}

uint64_t mallet_os_physical_memory(void)
{
    uint64_t ram = LOAD(cached_ram);
    if (ram == 0) {
        long pages = sysconf(_SC_PHYS_PAGES);
        ram = pages > 0 ? (uint64_t)pages * mallet_os_page_size() : (1ull << 30);
        STORE(cached_ram, ram);
    }
    return ram;
}

unsigned mallet_os_cpu_count(void)
{
    unsigned cpus = LOAD(cached_cpus);
    if (cpus == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cpus = n > 0 ? (unsigned)n : 1;
        STORE(cached_cpus, cpus);
    }
    return cpus;
}

/* Reads a small file into buf; returns bytes read or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* Counts entries in a cpulist like "0-1,4,6-7". */
static unsigned count_cpulist(const char *s)
{
    unsigned count = 0;
    while (*s && *s != '\n') {
        char *end;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (end == s)
            break;
        if (*end == '-')
            b = strtoul(end + 1, &end, 10);
        count += (unsigned)(b - a + 1);
        s = (*end == ',') ? end + 1 : end;
    }
    return count;
}

/* Physical cores = logical CPUs / threads per core (cpu0's siblings);
 * libmalloc derives hyper_shift the same way. */
unsigned mallet_os_physical_cpu_count(void)
{
    unsigned cores = LOAD(cached_cores);
    if (cores == 0) {
        char buf[256];
        unsigned logical = mallet_os_cpu_count(), per_core = 1;
        if (read_small_file("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", buf,
                            sizeof buf) > 0) {
            unsigned n = count_cpulist(buf);
            if (n >= 1 && n <= logical)
                per_core = n;
        }
        cores = logical / per_core ? logical / per_core : 1;
        STORE(cached_cores, cores);
    }
    return cores;
}

unsigned mallet_os_current_cpu(void)
{
    if (&__rseq_size != NULL && __rseq_size >= 8) {
        /* struct rseq { u32 cpu_id_start; u32 cpu_id; ... } at tp + offset. */
        const volatile uint32_t *rs =
            (const volatile uint32_t *)((char *)__builtin_thread_pointer() + __rseq_offset);
        int32_t cpu = (int32_t)rs[1];
        if (cpu >= 0)
            return (unsigned)cpu;
    }
    int c = sched_getcpu();
    return c >= 0 ? (unsigned)c : 0;
}

size_t mallet_os_rss(void)
{
    char buf[128];
    if (read_small_file("/proc/self/statm", buf, sizeof buf) <= 0)
        return 0;
    char *p = buf;
    strtoull(p, &p, 10); /* total program size */
    unsigned long long resident = strtoull(p, NULL, 10);
    return (size_t)resident * mallet_os_page_size();
}

size_t mallet_os_peak_rss(void)
{
    char buf[2048];
    if (read_small_file("/proc/self/status", buf, sizeof buf) <= 0)
        return 0;
    const char *p = strstr(buf, "\nVmHWM:");
    if (p == NULL)
        return 0;
    return (size_t)strtoull(p + 8, NULL, 10) * 1024; /* "VmHWM:   1234 kB" */
}

void mallet_os_restore_exec_name(void)
{
    char comm[32];
    const char *want = program_invocation_short_name;
    if (read_small_file("/proc/self/comm", comm, sizeof comm) == 4 && strcmp(comm, "exe\n") == 0 && want &&
        *want && strcmp(want, "exe") != 0)
        prctl(PR_SET_NAME, want, 0, 0, 0); /* the kernel keeps the first 15 bytes */
}
