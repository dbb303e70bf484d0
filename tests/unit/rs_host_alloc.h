/*
 * Test hooks of the host allocator shim (rs_host_alloc.c).
 */
#ifndef VESTA_TESTS_RS_HOST_ALLOC_H
#define VESTA_TESTS_RS_HOST_ALLOC_H

/* -1: never fail; n >= 0: the allocation after the next n fails, and all
 * after it, until reset to -1. */
extern long rs_host_fail_after;

#endif
