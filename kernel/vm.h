/*
 * A process's user address space (vm.c): made and freed with the process,
 * mapped by the loader and by vm_alloc(), and the only way the kernel reads
 * or writes user memory: its own caller's, through the MMU, and a bad user
 * pointer is an error code, never a kernel fault. Frames and page tables
 * are charged to the process's share (share.c).
 */
#ifndef VESTA_VM_H
#define VESTA_VM_H

#include <stdbool.h>
#include <stdint.h>

/* Where vm_alloc() looks when it chooses the address. */
#define VM_ALLOC_BASE 0x0000010000000000ull
/* Where device registers (dev_map) and DMA memory go: apart from vm_alloc's
 * range, so they never take an address a process expects to stay free. */
#define VM_DEVICE_BASE 0x0000200000000000ull

struct proc;

/* An empty address space for p. -VE_NOMEM. */
int vm_create(struct proc *p);
/* Free it all back to p's share; a space never made is ignored. */
void vm_destroy(struct proc *p);
/* Zeroed frames at [va, va+len), all or nothing. -VE_NOMEM. */
int vm_map_new(struct proc *p, uint64_t va, uint64_t len, uint32_t prot);
/* Map frame, which p's space does not own (a stash frame, the injection
 * trampolines: PTE_STASH), at va with prot; the tables that takes are p's,
 * charged to its share. -VE_NOMEM. */
int vm_map_borrowed(struct proc *p, uint64_t va, uint64_t frame, uint32_t prot);
/* Map the device memory [phys, phys+len) (page-aligned; not RAM the
 * kernel manages) uncached, no-execute, at an address the kernel chooses;
 * never freed with the space. -VE_NOMEM (no room, or past the share for
 * the tables). */
int vm_map_device(struct proc *p, uint64_t phys, uint64_t len, uint64_t *out);
/* dma_alloc(): len (rounded up to pages) of zeroed, physically contiguous
 * memory from dma_pages_alloc, mapped read-write at *va, its bus address in
 * *phys; pinned until p dies (vm_free refuses it: -VE_PERM), charged to
 * p's share. -VE_NOMEM past the share or with no such run free. */
int vm_map_dma(struct proc *p, uint64_t len, uint64_t *va, uint64_t *phys);
/* vm_alloc()/vm_free(): contracts at their definitions in vm.c. */
int vm_alloc(struct proc *p, uint64_t addr, uint64_t len, uint32_t prot, uint64_t *out);
int vm_free(struct proc *p, uint64_t addr, uint64_t len);
/* User memory of p, which must be the current process (any other is a
 * kernel bug: panic): -VE_FAULT unless every byte allows the access (some
 * bytes may have been copied then); vm_copy_str_in also -VE_RANGE when no
 * NUL within max. vm_check touches one byte of each page (a write check
 * rewrites it unchanged). */
int vm_check(struct proc *p, uint64_t uaddr, uint64_t len, bool write);
int vm_copy_in(struct proc *p, void *dst, uint64_t uaddr, uint64_t len);
int vm_copy_out(struct proc *p, uint64_t uaddr, const void *src, uint64_t len);
int vm_copy_str_in(struct proc *p, char *dst, uint64_t uaddr, uint64_t max);
/* Best effort: how many bytes from uaddr (up to max) were readable. */
uint64_t vm_peek_user(struct proc *p, uint64_t uaddr, void *dst, uint64_t max);
/* The loader's write into mapped user pages, whatever their W bit. */
int vm_load(struct proc *p, uint64_t va, const void *src, uint64_t len);

#endif
