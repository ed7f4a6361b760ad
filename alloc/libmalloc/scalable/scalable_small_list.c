/*
 * scalable_small_list.c — the small tier's free lists, with in-place and
 * out-of-band entries (ALLOCATOR_REFERENCE §C.4).
 *
 * Design. A small free block is at least 512 B, and a free block that
 * starts on a page boundary and spans at least a page could give every one
 * of its pages back to the kernel — except that an in-place list entry
 * would sit in its first page. libmalloc therefore keeps such a block's
 * entry "out of band", in an array of entries in the region's pad (between
 * the meta words and the heap), whenever a slot there is unused; otherwise
 * (no slot free, or the block is not page-aligned / shorter than a page)
 * the entry is in place in the block's first bytes. The magazine's list
 * heads and every link hold *entry* addresses, so a list may mix both
 * kinds; an entry is out of band exactly when its address lies inside its
 * region's oob array, and an oob entry names its block by quantum index.
 *
 *   in place:    {prev ptr, 8-bit ck}{next ptr, 8-bit ck}   (18 bytes)
 *                ck = ck(ptr ^ rack cookie ^ rack address), the folding
 *                checksum of §C.3 kept to 8 bits; mismatch => "Incorrect
 *                checksum for freed object".
 *   out of band: {prev, next, index | 0x8000}               (18 bytes)
 *                raw links: the pad is never the program's memory.
 *
 * Finding a block's entry (to unlink it while coalescing or allocating)
 * scans the region's oob slots only when the block qualifies for one; the
 * array is small (SZ_SMALL_OOB_COUNT), as libmalloc's linear search.
 * Coalescing keeps an oob block's start out of band: unlinking frees its
 * slot just before the merged block is pushed. That is what lets the depot
 * madvise such a block's first page with the depot unlocked
 * (scalable_rack.c): nothing ever writes an in-place entry there meanwhile.
 *
 * Reports are libmalloc's "Incorrect checksum..." and mallet's existing
 * "small_free_list_*: Internal invariant broken (...)" texts, made before
 * anything is changed; on a report the block is left off the lists.
 */
#include "scalable_internal.h"

void sz_small_report_checksum(sz_rack_t *rack, void *entry, int which)
{
    SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, entry,
              "Incorrect checksum for freed object %p: probably modified after being "
              "freed.\nCorrupt value: %p",
              entry, (void *)((sz_small_inplace_t *)entry)->link[which].ptr);
}

void sz_small_report_outside(sz_rack_t *rack, void *block, const char *which, void *p)
{
    SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
              "small_free_list_remove_ptr: Internal invariant broken (%s ptr outside the zone): "
              "ptr=%p, %s=%p",
              which, block, which, p);
}

void sz_small_report_head(sz_rack_t *rack, void *block, void *head, void *head_prev)
{
    SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, head,
              "small_free_list_add_ptr: Internal invariant broken (free_head->previous): "
              "ptr=%p, free_head=%p, free_head->previous=%p",
              block, head, head_prev);
}

void sz_small_report_not_head(sz_rack_t *rack, void *block, void *head)
{
    SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
              "small_free_list_remove_ptr: Internal invariant broken (head of list): "
              "ptr=%p, head=%p",
              block, sz_small_entry_block(head));
}

void sz_small_report_backlink(sz_rack_t *rack, void *block, void *nb, int which)
{
    void *back;
    if (!sz_small_link_get(rack, nb, which, &back, false))
        return; /* the checksum report was made */
    if (which)
        SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
                  "small_free_list_remove_ptr: Internal invariant broken (next ptr of prev): "
                  "ptr=%p, prev_next=%p",
                  block, back);
    else
        SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, block,
                  "small_free_list_remove_ptr: Internal invariant broken (prev ptr of next): "
                  "ptr=%p, next_prev=%p",
                  block, back);
}

bool sz_small_link_get(sz_rack_t *rack, void *entry, int which, void **out, bool quiet)
{
    if (link_read(rack, entry, sz_small_is_oob(entry), which, out))
        return true;
    if (!quiet)
        sz_small_report_checksum(rack, entry, which);
    *out = NULL;
    return false;
}
