/*
 * bench/vm_counter.h — VM system calls made by a benchmark child (see
 * vm_counter.c for how and when they can be counted).
 */
#ifndef MALLET_BENCH_VM_COUNTER_H
#define MALLET_BENCH_VM_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mallet_vm_counts {
    uint64_t maps, unmaps, madvises, remaps;
} mallet_vm_counts_t;

bool mallet_vm_counter_active(void);
void mallet_vm_counter_read(mallet_vm_counts_t *out);

#endif
