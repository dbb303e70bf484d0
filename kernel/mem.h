/*
 * The kernel's memory: the one frame allocator and the one heap, set up from
 * the boot memory map. Every frame is reachable at phys_to_virt(phys).
 */
#ifndef VESTA_MEM_H
#define VESTA_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "mb2.h"
#include <vesta/abi.h>

/* Build the frame allocator from the memory map, keeping out the kernel
 * image, the boot info, the modules and the first MiB. Then build the
 * kernel's page tables and the heap. top_out: end of the highest usable RAM. */
int mem_init(const struct mb2_info *mb, uint64_t info_phys, uint64_t *top_out, const char **why);

int mem_frame_alloc(uint64_t *phys);	  /* -VE_NOMEM */
int mem_frame_alloc_zero(uint64_t *phys); /* zero-filled */
void mem_frame_free(uint64_t phys);
int mem_frames_alloc(uint64_t n, uint64_t *phys); /* contiguous */
void mem_frames_free(uint64_t phys, uint64_t n);
void mem_info(struct ve_meminfo *out);
/* n zeroed, physically contiguous frames for a device to reach by DMA: the
 * one place DMA memory comes from, so an IOMMU (VT-d) can map them into
 * the device's domain here later. Freed frame by frame with
 * mem_frame_free. -VE_NOMEM. */
int dma_pages_alloc(uint64_t n, uint64_t *phys);

void *kmalloc(size_t n);	    /* 16-byte aligned, or NULL */
size_t kmalloc_footprint(size_t n); /* what kmalloc(n) takes (heap_footprint) */
void kfree(void *p);

#endif
