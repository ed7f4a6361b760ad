/*
 * scalable_small_list.h — the small tier's free-list operations, inline
 * (ALLOCATOR_REFERENCE §C.4). The design (in-place {ptr, 8-bit ck} entries,
 * out-of-band entries in the region's pad) is described in
 * scalable_small_list.c, which holds the out-of-line reports. Included at
 * the end of scalable_internal.h, so the engine's fast paths inline these
 * as they do tiny's.
 */
#ifndef MALLET_SCALABLE_SMALL_LIST_H
#define MALLET_SCALABLE_SMALL_LIST_H

/* The reports (scalable_small_list.c), out of line and cold. */
void sz_small_report_checksum(sz_rack_t *rack, void *entry, int which) __attribute__((cold));
void sz_small_report_outside(sz_rack_t *rack, void *block, const char *which, void *p) __attribute__((cold));
void sz_small_report_head(sz_rack_t *rack, void *block, void *head, void *head_prev) __attribute__((cold));
void sz_small_report_not_head(sz_rack_t *rack, void *block, void *head) __attribute__((cold));
/* neighbour nb of block does not link back (which: 1 = its next, 0 = its prev) */
void sz_small_report_backlink(sz_rack_t *rack, void *block, void *nb, int which) __attribute__((cold));

typedef struct __attribute__((packed)) sz_small_link {
    uintptr_t ptr;
    uint8_t ck;
} sz_small_link_t;

typedef struct __attribute__((packed)) sz_small_inplace {
    sz_small_link_t link[2]; /* prev, next */
} sz_small_inplace_t;

_Static_assert(sizeof(sz_small_inplace_t) == 18 && sizeof(sz_small_oob_t) == 18, "18-byte entries");

#define SL_INLINE static inline __attribute__((always_inline))

SL_INLINE uint8_t link_ck(const sz_rack_t *rack, uintptr_t p)
{
    /* rack->list_cookie is already ~entropy ^ rack address for small */
    return sz_ck(p ^ rack->list_cookie);
}

/* Quiet read of link `which` (0 prev, 1 next) of an entry. */
SL_INLINE bool link_read(const sz_rack_t *rack, void *entry, bool oob, int which, void **out)
{
    if (oob) {
        sz_small_oob_t *o = entry;
        *out = (void *)(which ? o->next : o->prev);
        return true;
    }
    sz_small_inplace_t *e = entry;
    uintptr_t p = e->link[which].ptr;
    *out = (void *)p;
    return e->link[which].ck == link_ck(rack, p);
}

/* Store value (whose checksum is ck) in link `which` of an entry. */
SL_INLINE void link_write(void *entry, bool oob, int which, void *value, uint8_t ck)
{
    if (oob) {
        sz_small_oob_t *o = entry;
        if (which)
            o->next = (uintptr_t)value;
        else
            o->prev = (uintptr_t)value;
        return;
    }
    sz_small_inplace_t *e = entry;
    e->link[which].ptr = (uintptr_t)value;
    e->link[which].ck = ck;
}

/* Does link `which` of entry point at target (whose checksum is ck)? */
SL_INLINE bool link_is(void *entry, bool oob, int which, void *target, uint8_t ck)
{
    if (oob) {
        sz_small_oob_t *o = entry;
        return (which ? o->next : o->prev) == (uintptr_t)target;
    }
    sz_small_inplace_t *e = entry;
    return e->link[which].ptr == (uintptr_t)target && e->link[which].ck == ck;
}

SL_INLINE void oob_release(sz_small_oob_t *o)
{
    sz_small_meta_t *r = (sz_small_meta_t *)((uintptr_t)o & ~(SZ_SMALL_REGION_SIZE - 1));
    r->oob_used &= ~(1u << (o - r->oob));
    o->prev = ~(uintptr_t)0;
    o->next = ~(uintptr_t)0;
    o->ptr = 0;
}

static inline sz_small_oob_t *sz_small_oob_find(const sz_rack_t *rack, void *block, uint32_t msize)
{
    if (!sz_small_needs_oob(block, msize, rack->page_size))
        return NULL;
    sz_region_t r = sz_region_of(SZ_SMALL, block);
    uint16_t want = (uint16_t)(sz_index_of(SZ_SMALL, r, block) | SZ_SMALL_IS_OOB);
    sz_small_meta_t *sm = (sz_small_meta_t *)r;
    for (uint32_t bits = sm->oob_used; bits; bits &= bits - 1) {
        unsigned i = (unsigned)__builtin_ctz(bits);
        if (sm->oob[i].ptr == want)
            return &sm->oob[i];
    }
    return NULL;
}

/* The entry for a block about to be listed: an unused oob slot of its
 * region if it qualifies and one is left, else the block itself. */
SL_INLINE void *entry_for_push(const sz_rack_t *rack, sz_region_t r, uint32_t idx, uint32_t msize)
{
    void *block = sz_ptr_of(SZ_SMALL, r, idx);
    if (!sz_small_needs_oob(block, msize, rack->page_size))
        return block;
    sz_small_meta_t *sm = (sz_small_meta_t *)r;
    uint32_t unused = ~sm->oob_used & (uint32_t)((1ull << SZ_SMALL_OOB_COUNT) - 1);
    if (unused == 0)
        return block;
    unsigned i = (unsigned)__builtin_ctz(unused);
    sm->oob_used |= 1u << i;
    sm->oob[i].ptr = (uint16_t)(idx | SZ_SMALL_IS_OOB);
    return &sm->oob[i];
}

/* A link read from a list must point into one of this rack's regions
 * before it is followed (a damaged in-place link passes the 8-bit
 * checksum 1 time in 256). A neighbour in the block's own region (the
 * usual case) needs no hash probe. */
SL_INLINE bool in_zone(sz_rack_t *rack, void *block, const char *which, void *p)
{
    uintptr_t mask = ~(SZ_SMALL_REGION_SIZE - 1);
    if (p == NULL || ((uintptr_t)p & mask) == ((uintptr_t)block & mask) ||
        sz_region_set_contains(&rack->regions, (uintptr_t)p & mask))
        return true;
    sz_small_report_outside(rack, block, which, p);
    return false;
}

SL_INLINE void sz_small_list_push(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx, uint32_t msize)
{
    unsigned slot = sz_slot_for(SZ_SMALL, msize);
    void *head = m->heads[slot];
    bool head_oob = head && sz_small_is_oob(head);
    if (head) {
        void *hp;
        if (!link_read(rack, head, head_oob, 0, &hp)) {
            sz_small_report_checksum(rack, head, 0);
            return; /* the block stays off the lists (leaked) */
        }
        if (hp != NULL) {
            sz_small_report_head(rack, sz_ptr_of(SZ_SMALL, r, idx), head, hp);
            return;
        }
    }
    void *e = entry_for_push(rack, r, idx, msize);
    bool e_oob = e != sz_ptr_of(SZ_SMALL, r, idx);
    /* heads_enc[slot] holds the head's checksum (small's use of it) */
    uint8_t ck_head = head ? (uint8_t)m->heads_enc[slot] : rack->small_ck_null;
    uint8_t ck_e = link_ck(rack, (uintptr_t)e);
    link_write(e, e_oob, 0, NULL, rack->small_ck_null);
    link_write(e, e_oob, 1, head, ck_head);
    if (head)
        link_write(head, head_oob, 0, e, ck_e);
    else
        sz_bit_set(m, slot);
    m->heads[slot] = e;
    m->heads_enc[slot] = ck_e;
}

/* Unlinking verifies the entry's two links, and that its neighbours link
 * back to it, with one checksum per distinct pointer: the entry's own
 * (for the back links) and, when the entry is in place, its neighbours'
 * (verified stored values, copied when relinking). */
SL_INLINE bool sz_small_list_remove(sz_rack_t *rack, sz_magazine_t *m, void *block, uint32_t msize)
{
    unsigned slot = sz_slot_for(SZ_SMALL, msize);
    sz_small_oob_t *o = sz_small_oob_find(rack, block, msize);
    void *e = o ? (void *)o : block;
    bool e_oob = o != NULL;
    void *prev, *next;
    if (!link_read(rack, e, e_oob, 0, &prev)) {
        sz_small_report_checksum(rack, e, 0);
        return false;
    }
    if (!link_read(rack, e, e_oob, 1, &next)) {
        sz_small_report_checksum(rack, e, 1);
        return false;
    }
    if (!in_zone(rack, block, "prev", prev) || !in_zone(rack, block, "next", next))
        return false;
    /* the head's checksum is kept with the head */
    uint8_t ck_e = prev == NULL && m->heads[slot] == e ? (uint8_t)m->heads_enc[slot]
                                                       : link_ck(rack, (uintptr_t)e);
    bool prev_oob = prev && sz_small_is_oob(prev), next_oob = next && sz_small_is_oob(next);
    if (prev) {
        if (!link_is(prev, prev_oob, 1, e, ck_e)) {
            sz_small_report_backlink(rack, block, prev, 1);
            return false;
        }
    } else if (m->heads[slot] != e) {
        sz_small_report_not_head(rack, block, m->heads[slot]);
        return false;
    }
    if (next && !link_is(next, next_oob, 0, e, ck_e)) {
        sz_small_report_backlink(rack, block, next, 0);
        return false;
    }
    /* The checksums of prev and next: stored (and verified) in an
     * in-place entry; computed only for an oob entry's raw links. */
    uint8_t ck_prev = e_oob ? link_ck(rack, (uintptr_t)prev) : ((sz_small_inplace_t *)e)->link[0].ck;
    uint8_t ck_next = e_oob ? link_ck(rack, (uintptr_t)next) : ((sz_small_inplace_t *)e)->link[1].ck;
    if (next)
        link_write(next, next_oob, 0, prev, ck_prev);
    if (prev)
        link_write(prev, prev_oob, 1, next, ck_next);
    else {
        m->heads[slot] = next;
        m->heads_enc[slot] = ck_next;
        if (next == NULL)
            sz_bit_clear(m, slot);
    }
    if (o)
        oob_release(o);
    return true;
}

#endif /* MALLET_SCALABLE_SMALL_LIST_H */
