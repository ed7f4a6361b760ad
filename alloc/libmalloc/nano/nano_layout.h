/*
 * nano_layout.h — address layout of libmalloc's nano allocator, v1 and v2.
 *
 * Design: nano memory lives in a fixed virtual range whose top bits (44..63)
 * equal the "signature" 0x6, i.e. 0x6000_0000_0000..0x6FFF_FFFF_FFFF. Every
 * piece of metadata nano needs for a pointer (size class, magazine, block)
 * is therefore computable from the pointer bits alone; ownership is a shift
 * and a compare. mallet runs several independent nano zones in one process,
 * so each zone owns one "zone window" inside the signature range; the
 * decoders below work on the offset from the zone's base, which keeps the
 * bit positions identical to libmalloc's (the zone base is aligned to the
 * size of the whole v1/v2 address space a zone can use).
 */
#ifndef MALLET_NANO_LAYOUT_H
#define MALLET_NANO_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* ---- common ------------------------------------------------------------ */

/* Is this a ThreadSanitizer build? Then nano moves to another fixed range:
 * TSan keeps its shadow and metadata right around 0x6000_0000_0000 (on
 * x86-64 Linux it maps its own structures at 0x6000_0000_0000 itself) and
 * rewrites a fixed-address mmap outside its "application" ranges into
 * "anywhere". Its application ranges on x86-64 Linux (gcc 12 / clang 14
 * runtimes, measured with MAP_FIXED_NOREPLACE probes) are
 *   0x0000_0000_1000..0x0080_0000_0000  low (non-PIE binaries)
 *   0x5500_0000_0000..0x5680_0000_0000  PIE binaries, brk heap
 *   0x7b00_0000_0000..0x7c00_0000_0000  TSan's own heap (taken)
 *   0x7e80_0000_0000..0x8000_0000_0000  libraries, mmap, stacks
 * The bottom of the PIE range, below the kernel's ELF_ET_DYN_BASE
 * (0x5555_5555_4000 + ASLR, only ever upwards), is never used by the
 * loader, the brk heap or top-down mmap; nano takes 256 GiB there. */
#if defined(__SANITIZE_THREAD__)
#define MALLET_NANO_TSAN_LAYOUT 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MALLET_NANO_TSAN_LAYOUT 1
#endif
#endif

/* The signature is a compile-time constant of each build: the real one,
 * bits 44..63 == 0x6 (0x6000_0000_0000..0x6FFF_FFFF_FFFF, 16 TiB), in
 * every build except TSan's, where bits 38..63 == 0x154
 * (0x5500_0000_0000..0x553F_FFFF_FFFF, 256 GiB). All decoders below work
 * on offsets from a zone base inside that range, so only the range size
 * and v1's band count (below) differ; every bit position inside a
 * magazine, band, arena or block is the same in both builds. */
#ifdef MALLET_NANO_TSAN_LAYOUT
#define NANO_SIGNATURE_SHIFT 38
#define NANO_SIGNATURE 0x154ull
#else
#define NANO_SIGNATURE_SHIFT 44
#define NANO_SIGNATURE 0x6ull
#endif
#define NANO_RANGE_BASE (NANO_SIGNATURE << NANO_SIGNATURE_SHIFT) /* 0x6000_0000_0000 (TSan: 0x5500_...) */
#define NANO_RANGE_SIZE (1ull << NANO_SIGNATURE_SHIFT)          /* 16 TiB (TSan: 256 GiB) */
#define NANO_MAX_SIZE 256u
#define NANO_QUANTUM_SHIFT 4
#define NANO_QUANTUM (1u << NANO_QUANTUM_SHIFT) /* 16 */
#define NANO_CLASSES 16u

/* The signature test of libmalloc: (p >> 44) == 6 (TSan build: see above). */
static inline int nano_has_signature(uintptr_t p)
{
    return (p >> NANO_SIGNATURE_SHIFT) == NANO_SIGNATURE;
}

/* 0 and 1..16 -> 16, 17..32 -> 32, ... 256 -> 256. */
static inline size_t nano_round_size(size_t n)
{
    if (n == 0)
        return NANO_QUANTUM;
#ifdef MALLET_SEEDED_BUG_NANO_ROUNDING /* seeded bug: 16k+1 bytes get the 16k class */
    if (n > NANO_QUANTUM)
        return (n + NANO_QUANTUM - 2) & ~(size_t)(NANO_QUANTUM - 1);
#endif
    return (n + NANO_QUANTUM - 1) & ~(size_t)(NANO_QUANTUM - 1);
}

/* Class index 0..15 of a (<= 256) request; bytes of class c = (c+1)*16. */
static inline unsigned nano_size_class(size_t n)
{
    return (unsigned)((nano_round_size(n) >> NANO_QUANTUM_SHIFT) - 1);
}

static inline size_t nano_class_bytes(unsigned cls)
{
    return ((size_t)cls + 1) << NANO_QUANTUM_SHIFT;
}

/* off / nano_class_bytes(cls), rounded down, without a divide: free() and
 * every free-list pop vet an offset against its slot size, and a divide is
 * 10-40 cycles. Multiplies (off / 16) by ceil(2^32 / (cls + 1)); exact for
 * off < 2^18, which covers v1's 128 KiB slot areas and v2's 16 KiB blocks
 * (nano-unit checks every such offset). Callers multiply back to test that
 * off is a whole slot. */
static inline unsigned nano_slot_index(uint64_t off, unsigned cls)
{
#define R_(d) ((((uint64_t)1 << 32) + (d) - 1) / (d))
    static const uint64_t recip[NANO_CLASSES] = {R_(1),  R_(2),  R_(3),  R_(4),  R_(5),  R_(6),
                                                 R_(7),  R_(8),  R_(9),  R_(10), R_(11), R_(12),
                                                 R_(13), R_(14), R_(15), R_(16)};
#undef R_
    return (unsigned)(((off >> NANO_QUANTUM_SHIFT) * recip[cls]) >> 32);
}

/* ---- v1 (libmalloc x86_64 layout) --------------------------------------
 * bits  0-16  offset inside a 128 KiB slot area
 * bits 17-20  slot (size class)
 * bits 21-37  band (2 MiB = 16 slot areas)       TSan build: 21-31
 * bits 38-43  magazine index (<= 64)              TSan build: 32-37
 * bits 44-63  signature                           TSan build: 38-63
 */
#define NANOV1_OFFSET_BITS 17
#define NANOV1_SLOT_BITS 4
#ifdef MALLET_NANO_TSAN_LAYOUT
/* 64 magazines of 2^17 bands need all 16 TiB; TSan's 256 GiB give each
 * magazine 2^11 bands (4 GiB, 256 MiB per size class). */
#define NANOV1_BAND_BITS 11
#else
#define NANOV1_BAND_BITS 17
#endif
#define NANOV1_MAG_BITS 6

#define NANOV1_SLOT_SHIFT NANOV1_OFFSET_BITS                       /* 17 */
#define NANOV1_BAND_SHIFT (NANOV1_SLOT_SHIFT + NANOV1_SLOT_BITS)   /* 21 */
#define NANOV1_MAG_SHIFT (NANOV1_BAND_SHIFT + NANOV1_BAND_BITS)    /* 38 */

#define NANOV1_SLOT_AREA_SIZE (1ull << NANOV1_OFFSET_BITS) /* 128 KiB */
#define NANOV1_BAND_SIZE (1ull << NANOV1_BAND_SHIFT)       /* 2 MiB */
#define NANOV1_MAG_SPAN (1ull << NANOV1_MAG_SHIFT)         /* 256 GiB per magazine (TSan: 4) */
#define NANOV1_MAX_MAGS (1u << NANOV1_MAG_BITS)            /* 64 */
#define NANOV1_MAX_BANDS (1ull << NANOV1_BAND_BITS)
/* A whole v1 zone: 64 magazines x 256 GiB = 16 TiB (the full signature
 * range). mallet zones use fewer magazines, so a zone window only needs
 * max_mags * NANOV1_MAG_SPAN. */

/* Decoders take the offset from the zone base. */
static inline unsigned nanov1_mag_of(uint64_t off)
{
    return (unsigned)((off >> NANOV1_MAG_SHIFT) & (NANOV1_MAX_MAGS - 1));
}
static inline unsigned nanov1_slot_of(uint64_t off)
{
    return (unsigned)((off >> NANOV1_SLOT_SHIFT) & ((1u << NANOV1_SLOT_BITS) - 1));
}
static inline uint64_t nanov1_band_of(uint64_t off)
{
    return (off >> NANOV1_BAND_SHIFT) & (NANOV1_MAX_BANDS - 1);
}
static inline uint64_t nanov1_offset_in_area(uint64_t off)
{
    return off & (NANOV1_SLOT_AREA_SIZE - 1);
}
/* Offset (from zone base) of the slot area for (mag, band, slot). */
static inline uint64_t nanov1_area_off(unsigned mag, uint64_t band, unsigned slot)
{
    return ((uint64_t)mag << NANOV1_MAG_SHIFT) | (band << NANOV1_BAND_SHIFT) |
           ((uint64_t)slot << NANOV1_SLOT_SHIFT);
}

/* ---- v2 (libmalloc macOS layout) ---------------------------------------
 * bits  0-13  offset inside a 16 KiB block
 * bits 14-25  block inside a 64 MiB arena (4096 blocks)
 * bits 26-28  arena inside a 512 MiB region (8 arenas)
 * bits 29-43  region                          TSan build: 29-37
 * bits 44-63  signature                       TSan build: 38-63
 */
#define NANOV2_OFFSET_BITS 14
#define NANOV2_BLOCK_BITS 12
#define NANOV2_ARENA_BITS 3
#define NANOV2_REGION_BITS (NANO_SIGNATURE_SHIFT - 29) /* 15; TSan build: 9 */

#define NANOV2_BLOCK_SHIFT NANOV2_OFFSET_BITS                      /* 14 */
#define NANOV2_ARENA_SHIFT (NANOV2_BLOCK_SHIFT + NANOV2_BLOCK_BITS) /* 26 */
#define NANOV2_REGION_SHIFT (NANOV2_ARENA_SHIFT + NANOV2_ARENA_BITS) /* 29 */

#define NANOV2_BLOCK_SIZE (1ull << NANOV2_BLOCK_SHIFT)   /* 16 KiB */
#define NANOV2_ARENA_SIZE (1ull << NANOV2_ARENA_SHIFT)   /* 64 MiB */
#define NANOV2_REGION_SIZE (1ull << NANOV2_REGION_SHIFT) /* 512 MiB */
#define NANOV2_BLOCKS_PER_ARENA (1u << NANOV2_BLOCK_BITS) /* 4096 */
#define NANOV2_ARENAS_PER_REGION (1u << NANOV2_ARENA_BITS) /* 8 */
#define NANOV2_MAX_REGIONS (1u << NANOV2_REGION_BITS)

/* Block-index bits mask (12 bits) used by the ASLR cookie and rotation. */
#define NANOV2_BLOCK_MASK (NANOV2_BLOCKS_PER_ARENA - 1u)

static inline unsigned nanov2_block_of(uintptr_t p)
{
    return (unsigned)((p >> NANOV2_BLOCK_SHIFT) & NANOV2_BLOCK_MASK);
}
static inline uintptr_t nanov2_block_base(uintptr_t p)
{
    return p & ~(uintptr_t)(NANOV2_BLOCK_SIZE - 1);
}
static inline uintptr_t nanov2_arena_base(uintptr_t p)
{
    return p & ~(uintptr_t)(NANOV2_ARENA_SIZE - 1);
}
static inline uintptr_t nanov2_region_base(uintptr_t p)
{
    return p & ~(uintptr_t)(NANOV2_REGION_SIZE - 1);
}
static inline unsigned nanov2_offset_in_block(uintptr_t p)
{
    return (unsigned)(p & (NANOV2_BLOCK_SIZE - 1));
}
/* Physical block index -> metadata entry index: a 12-bit rotate by 6, so
 * the entries of neighbouring blocks land >= 64 bytes apart (different
 * cache lines) and CPUs working on adjacent blocks do not false-share. */
static inline unsigned nanov2_meta_index(unsigned phys_block)
{
    return ((phys_block >> 6) | (phys_block << 6)) & NANOV2_BLOCK_MASK;
}
/* Size-class table granularity: classes own ranges of 64 logical blocks. */
#define NANOV2_CLASS_UNIT_SHIFT 6
#define NANOV2_CLASS_UNITS (NANOV2_BLOCKS_PER_ARENA >> NANOV2_CLASS_UNIT_SHIFT) /* 64 */

#endif /* MALLET_NANO_LAYOUT_H */
