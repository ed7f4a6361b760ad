/*
 * fuzz/fuzz_ops.h — decoding fuzzer input bytes into allocator operations.
 *
 * Shared by the `ops`, `misuse` and `diff` targets. An input is a byte
 * stream read by a tiny cursor (fz_reader_t); when it runs dry every read
 * returns 0, so any input is a valid (possibly empty) program. Each op is
 * one opcode byte (taken modulo FZ_OP_COUNT, so every byte means something)
 * followed by operand bytes. Sizes are decoded from a tier byte (low 4
 * bits) so that the fuzzer reaches every size class with few bytes, with
 * big blocks rarer (filling them costs time):
 *   0-3 tiny 0..64 (u8)       4-6 small 0..1024 (u16)   7-8 medium 0..32 KiB (u16)
 *   9-10 boundary (u8): 2^k-1, 2^k, 2^k+1 (k <= 23) or 1008
 *   11 large 0..1 MiB (u32)   12 huge 0..8 MiB (u32)
 *   13 impossible (u8): above mallet_max_request(), must give NULL + ENOMEM
 *   14 literal (u32, reduced modulo 8 MiB + 1)    15 zero-operand: 16 bytes
 * Live bytes are capped by the caller (FZ_MAX_LIVE_BYTES), slot count by
 * FZ_MAX_SLOTS; ops naming a slot take a slot byte modulo FZ_MAX_SLOTS.
 */
#ifndef MALLET_FUZZ_OPS_H
#define MALLET_FUZZ_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FZ_MAX_SLOTS 64
#define FZ_MAX_REQUEST ((size_t)8 << 20)        /* 8 MiB per block */
#define FZ_MAX_LIVE_BYTES ((size_t)32 << 20)    /* 32 MiB live at once */
#define FZ_MAX_OPS 4096                        /* ops per input */
#define FZ_MAX_BATCH 16

typedef enum fz_op {
    FZ_OP_MALLOC = 0,
    FZ_OP_CALLOC,
    FZ_OP_REALLOC,
    FZ_OP_MEMALIGN,
    FZ_OP_FREE,
    FZ_OP_FREE_DEFINITE_SIZE,
    FZ_OP_BATCH_MALLOC,
    FZ_OP_BATCH_FREE,
    FZ_OP_PRESSURE_RELIEF,
    FZ_OP_THREAD_HANDOFF,   /* free a slot (or a batch) on another thread */
    FZ_OP_WRITE,            /* rewrite a live block's pattern (new seed) */
    FZ_OP_CHECK,            /* explicit check() */
    /* misuse-only injections; other targets treat them as FREE/MALLOC */
    FZ_OP_DOUBLE_FREE,      /* free a slot again, now or after N ops */
    FZ_OP_INVALID_FREE,     /* interior or foreign pointer */
    FZ_OP_UAF_WRITE,        /* write bytes at an offset of a freed block */
    FZ_OP_OVERFLOW,         /* write past a live block into its neighbour */
    FZ_OP_COUNT
} fz_op_t;

static inline const char *fz_op_name(unsigned op)
{
    static const char *const names[FZ_OP_COUNT] = {
        "malloc", "calloc", "realloc", "memalign", "free",
        "free_definite_size", "batch_malloc", "batch_free",
        "pressure_relief", "thread_handoff", "write", "check",
        "double_free", "invalid_free", "uaf_write", "overflow",
    };
    return op < FZ_OP_COUNT ? names[op] : "?";
}

typedef struct fz_reader {
    const uint8_t *p;
    size_t n;
    size_t pos;
} fz_reader_t;

static inline void fz_reader_init(fz_reader_t *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->n = n;
    r->pos = 0;
}

static inline int fz_more(const fz_reader_t *r) { return r->pos < r->n; }

static inline uint8_t fz_u8(fz_reader_t *r)
{
    return r->pos < r->n ? r->p[r->pos++] : 0;
}

static inline uint16_t fz_u16(fz_reader_t *r)
{
    uint16_t lo = fz_u8(r);
    return (uint16_t)(lo | (uint16_t)fz_u8(r) << 8);
}

static inline uint32_t fz_u32(fz_reader_t *r)
{
    uint32_t lo = fz_u16(r);
    return lo | (uint32_t)fz_u16(r) << 16;
}

/* Sizes the API must refuse (NULL + ENOMEM): above mallet_max_request()
 * (SIZE_MAX - 2 pages). Sizes between 8 MiB and that limit are not
 * generated: what a backend does with them is not defined by the API. */
static inline size_t fz_impossible_size(uint8_t b)
{
    static const size_t v[] = {
        SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 4095,
        SIZE_MAX - 4096, SIZE_MAX - 8190, SIZE_MAX - 7, SIZE_MAX - 255,
    };
    return v[b % (sizeof v / sizeof v[0])];
}

/* Size tiers (see the top of this file). */
enum {
    FZ_TIER_TINY = 0, FZ_TIER_SMALL = 4, FZ_TIER_MEDIUM = 7, FZ_TIER_BOUNDARY = 9,
    FZ_TIER_LARGE = 11, FZ_TIER_HUGE = 12, FZ_TIER_IMPOSSIBLE = 13, FZ_TIER_LITERAL = 14,
    FZ_TIER_SIXTEEN = 15,
};

/* Decodes a size. *impossible is set when the size is meant to fail. */
static inline size_t fz_size(fz_reader_t *r, int *impossible)
{
    unsigned t = fz_u8(r) & 15;
    *impossible = 0;
    if (t < FZ_TIER_SMALL)
        return fz_u8(r) % 65;
    if (t < FZ_TIER_MEDIUM)
        return fz_u16(r) % 1025;
    if (t < FZ_TIER_BOUNDARY)
        return fz_u16(r) % (32768 + 1);
    if (t < FZ_TIER_LARGE) { /* 2^k - 1, 2^k, 2^k + 1 for k = 0..23, and 1008 */
        uint8_t b = fz_u8(r);
        unsigned k = (b >> 2) % 24, d = b & 3;
        size_t base = (size_t)1 << k;
        if (d == 3)
            return 1008;
        return d == 0 ? base - 1 : d == 1 ? base : base + 1;
    }
    switch (t) {
    case FZ_TIER_LARGE: return fz_u32(r) % ((1u << 20) + 1);
    case FZ_TIER_HUGE: return fz_u32(r) % ((8u << 20) + 1);
    case FZ_TIER_IMPOSSIBLE:
        *impossible = 1;
        return fz_impossible_size(fz_u8(r));
    case FZ_TIER_LITERAL: {
        size_t n = fz_u32(r);
        return n > FZ_MAX_REQUEST ? n % (FZ_MAX_REQUEST + 1) : n;
    }
    default:
        return 16;
    }
}

/* Alignment for memalign: 2^(3..16), or (rarely) an invalid one. */
static inline size_t fz_alignment(fz_reader_t *r, int *invalid)
{
    uint8_t b = fz_u8(r);
    *invalid = 0;
    if (b >= 0xF8) { /* 8 of 256: non powers of two / too small */
        static const size_t bad[] = {0, 1, 2, 4, 3, 24, 48, 4097};
        *invalid = 1;
        return bad[b & 7];
    }
    return (size_t)1 << (3 + b % 14);
}

/* Fill pattern for a block: byte i of slot's block = f(seed, i). Cheap to
 * write and verify; differs between blocks so overlaps show as mismatches. */
static inline uint8_t fz_pattern_byte(uint32_t seed, size_t i)
{
    uint32_t x = seed ^ (uint32_t)(i * 0x9E3779B1u);
    return (uint8_t)(x ^ (x >> 13) ^ (x >> 24));
}

/* One decoded instruction. Decoding never looks at allocator state, so
 * the diff target can execute the same instruction on two zones. */
typedef struct fz_inst {
    uint8_t op;          /* fz_op_t */
    uint8_t slot;        /* < FZ_MAX_SLOTS */
    uint8_t count;       /* calloc count, batch count, handoff count */
    uint8_t mode;        /* op-specific variant bits */
    int impossible;      /* size (or calloc product) must be refused */
    int bad_align;       /* alignment must be refused (EINVAL) */
    size_t size;
    size_t align;
    uint32_t seed;       /* fill pattern seed */
    uint16_t offset;     /* misuse: byte offset */
    uint8_t nbytes;      /* misuse: bytes to write (1..8) */
    uint8_t bytes[8];
} fz_inst_t;

/* Decodes the next instruction; returns 0 when the input is exhausted. */
static inline int fz_decode(fz_reader_t *r, fz_inst_t *in, unsigned index)
{
    if (!fz_more(r))
        return 0;
    memset(in, 0, sizeof *in);
    in->op = fz_u8(r) % FZ_OP_COUNT;
    in->slot = fz_u8(r) % FZ_MAX_SLOTS;
    in->seed = (uint32_t)index * 0x01000193u ^ (uint32_t)in->slot * 0x9E3779B9u;
    switch (in->op) {
    case FZ_OP_MALLOC:
    case FZ_OP_REALLOC:
        in->size = fz_size(r, &in->impossible);
        break;
    case FZ_OP_CALLOC: {
        uint8_t c = fz_u8(r);
        in->size = fz_size(r, &in->impossible);
        if (in->impossible) { /* overflowing product or oversized element */
            in->count = (uint8_t)(2 + c % 14);
            if (c & 0x80)
                in->size = SIZE_MAX / in->count + 1;
        } else {
            in->count = (uint8_t)(1 + c % 16);
            in->size /= in->count;
        }
        break;
    }
    case FZ_OP_MEMALIGN:
        in->align = fz_alignment(r, &in->bad_align);
        in->size = fz_size(r, &in->impossible);
        break;
    case FZ_OP_BATCH_MALLOC:
        in->count = (uint8_t)(1 + fz_u8(r) % FZ_MAX_BATCH);
        in->size = fz_size(r, &in->impossible) % (65536 + 1);
        in->impossible = 0;
        break;
    case FZ_OP_BATCH_FREE:
    case FZ_OP_THREAD_HANDOFF:
        in->count = (uint8_t)(1 + fz_u8(r) % FZ_MAX_BATCH);
        break;
    case FZ_OP_PRESSURE_RELIEF:
        in->size = (size_t)fz_u8(r) * 4096; /* goal; 0 = everything */
        break;
    case FZ_OP_WRITE:
        in->seed = fz_u32(r);
        break;
    case FZ_OP_DOUBLE_FREE:
    case FZ_OP_INVALID_FREE:
        in->mode = fz_u8(r);
        in->offset = fz_u16(r);
        break;
    case FZ_OP_UAF_WRITE:
    case FZ_OP_OVERFLOW:
        in->mode = fz_u8(r);
        in->offset = fz_u16(r);
        in->nbytes = (uint8_t)(1 + fz_u8(r) % 8);
        for (unsigned i = 0; i < in->nbytes; i++)
            in->bytes[i] = fz_u8(r);
        break;
    default:
        break;
    }
    return 1;
}

#endif /* MALLET_FUZZ_OPS_H */
