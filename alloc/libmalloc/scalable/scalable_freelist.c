/*
 * scalable_freelist.c — per-magazine free lists with checksummed links
 * (ALLOCATOR_REFERENCE §C.3, §C.4).
 *
 * Each magazine has one doubly linked list per msize (slot msize-1) plus an
 * overflow slot for larger blocks, and a bitmap of non-empty slots so a
 * miss finds the next larger list with one count-trailing-zeros. The first
 * 16 bytes of a free block hold {prev, next}. Links are stored checksummed,
 * libmalloc style:
 *
 *     stored = (p >> 4) | (ck(p ^ cookie) & 0xF) << 60
 *
 * so a use-after-free write into a freed block's first 16 bytes is caught
 * with high probability the next time the list is walked ("Incorrect
 * checksum for freed object"). Small lists are different (in-place
 * {ptr, 8-bit checksum} entries plus out-of-band entries, as libmalloc's):
 * scalable_small_list.c, which sz_list_push_t/sz_list_remove_t hand the
 * small tier to. Medium uses the 4-bit rotated form here where libmalloc
 * uses small's entry format; arm64e's PAC is not modelled.
 *
 * Speed: the push/remove fast paths are inline (scalable_internal.h). A
 * stored link decodes to p exactly when it equals encode(p), so "does the
 * neighbour point back at this block" is one compare against encode(block)
 * and relinking copies the stored words. Anything unexpected goes to the
 * _slow functions below, which are the original checked code and make the
 * same reports in the same order.
 */
#include "scalable_internal.h"

#include <string.h>

bool sz_link_decode(sz_rack_t *rack, void *block, uintptr_t stored, void **out)
{
    uintptr_t v = (stored << 4) | (stored >> 60);
    uintptr_t p = v & ~(uintptr_t)0xF;
#ifdef MALLET_SEEDED_BUG_SZ_CHECKSUM /* seeded bug: tiny links are not checksummed */
    if (rack->tier == SZ_TINY) {
        *out = (void *)p;
        return true;
    }
#endif
    if ((sz_ck(p ^ rack->list_cookie) & 0xF) != (v & 0xF)) {
        SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
                  "Incorrect checksum for freed object %p: probably modified after being "
                  "freed.\nCorrupt value: %p",
                  block, (void *)stored);
        *out = NULL;
        return false;
    }
    *out = (void *)p;
    return true;
}

void *sz_list_next_raw(sz_rack_t *rack, void *block, bool *ok)
{
    void *p;
    if (rack->tier == SZ_SMALL) { /* block is an entry there */
        *ok = sz_small_link_get(rack, block, 1, &p, false);
        return p;
    }
    *ok = sz_link_decode(rack, block, ((sz_free_entry_t *)block)->next, &p);
    return p;
}

void *sz_list_prev_raw(sz_rack_t *rack, void *block, bool *ok)
{
    void *p;
    if (rack->tier == SZ_SMALL) {
        *ok = sz_small_link_get(rack, block, 0, &p, false);
        return p;
    }
    *ok = sz_link_decode(rack, block, ((sz_free_entry_t *)block)->prev, &p);
    return p;
}

/* The checked paths: every corruption report of the free lists is made
 * here. The inline fast paths in scalable_internal.h fall back to these
 * (before changing anything) whenever a link is not what it should be. */
void sz_list_push_slow(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx, uint32_t msize)
{
    sz_tier_t t = rack->tier;
    unsigned slot = sz_slot_for(t, msize);
    sz_free_entry_t *e = sz_ptr_of(t, r, idx);
    sz_free_entry_t *head = m->heads[slot];
    if (head) {
        void *hp;
        if (!sz_link_decode(rack, head, head->prev, &hp))
            return; /* reported; leave the block off the lists (leaked) */
        if (hp != NULL) {
            SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, head,
                      "%s_free_list_add_ptr: Internal invariant broken (free_head->previous): "
                      "ptr=%p, free_head=%p, free_head->previous=%p",
                      sz_tiers[t].name, (void *)e, (void *)head, hp);
            return;
        }
        head->prev = sz_link_encode(rack, e);
    } else {
        sz_bit_set(m, slot);
    }
    e->prev = sz_link_encode(rack, NULL);
    e->next = sz_link_encode(rack, head);
    m->heads[slot] = e;
    m->heads_enc[slot] = sz_link_encode(rack, e);
}

bool sz_list_remove_slow(sz_rack_t *rack, sz_magazine_t *m, void *block, uint32_t msize)
{
    sz_tier_t t = rack->tier;
    unsigned slot = sz_slot_for(t, msize);
    sz_free_entry_t *e = block;
    void *prev, *next;
    if (!sz_link_decode(rack, block, e->prev, &prev) || !sz_link_decode(rack, block, e->next, &next))
        return false;
    /* A damaged link can pass the 4-bit checksum (1 in 16): a neighbour
     * outside every region of this rack is reported, never followed. */
    void *nb[2] = {prev, next};
    for (int k = 0; k < 2; k++)
        if (nb[k] && !sz_region_set_contains(&rack->regions,
                                             (uintptr_t)nb[k] & ~(sz_region_size(t) - 1))) {
            SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
                      "%s_free_list_remove_ptr: Internal invariant broken (%s ptr outside the zone): "
                      "ptr=%p, %s=%p",
                      sz_tiers[t].name, k ? "next" : "prev", block, k ? "next" : "prev", nb[k]);
            return false;
        }
    if (prev) {
        sz_free_entry_t *pe = prev;
        void *pn;
        if (!sz_link_decode(rack, prev, pe->next, &pn))
            return false;
        if (pn != block) {
            SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
                      "%s_free_list_remove_ptr: Internal invariant broken (next ptr of prev): "
                      "ptr=%p, prev_next=%p",
                      sz_tiers[t].name, block, pn);
            return false;
        }
    } else if (m->heads[slot] != block) {
        SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
                  "%s_free_list_remove_ptr: Internal invariant broken (head of list): "
                  "ptr=%p, head=%p",
                  sz_tiers[t].name, block, m->heads[slot]);
        return false;
    }
    if (next) {
        sz_free_entry_t *ne = next;
        void *np;
        if (!sz_link_decode(rack, next, ne->prev, &np))
            return false;
        if (np != block) {
            SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
                      "%s_free_list_remove_ptr: Internal invariant broken (prev ptr of next): "
                      "ptr=%p, next_prev=%p",
                      sz_tiers[t].name, block, np);
            return false;
        }
        ne->prev = sz_link_encode(rack, prev);
    }
    if (prev)
        ((sz_free_entry_t *)prev)->next = sz_link_encode(rack, next);
    else {
        m->heads[slot] = next;
        m->heads_enc[slot] = sz_link_encode(rack, next);
        if (next == NULL)
            sz_bit_clear(m, slot);
    }
    return true;
}

void sz_list_push(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx, uint32_t msize)
{
    switch (rack->tier) {
    case SZ_TINY: sz_list_push_t(rack, SZ_TINY, m, r, idx, msize); break;
    case SZ_SMALL: sz_list_push_t(rack, SZ_SMALL, m, r, idx, msize); break;
    default: sz_list_push_t(rack, SZ_MEDIUM, m, r, idx, msize); break;
    }
}

bool sz_list_remove(sz_rack_t *rack, sz_magazine_t *m, void *block, uint32_t msize)
{
    switch (rack->tier) {
    case SZ_TINY: return sz_list_remove_t(rack, SZ_TINY, m, block, msize);
    case SZ_SMALL: return sz_list_remove_t(rack, SZ_SMALL, m, block, msize);
    default: return sz_list_remove_t(rack, SZ_MEDIUM, m, block, msize);
    }
}
