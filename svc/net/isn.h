/*
 * TCP initial sequence numbers after RFC 6528: ISN = M + F(4-tuple, key),
 * with M a clock ticking every 4 microseconds and F SipHash-2-4 keyed by a
 * 128-bit secret that net keeps in its stash, so that a restarted stack
 * (whose M has moved on with the kernel clock) never hands out the numbers
 * of a connection its predecessor had with the same peer, and nobody off
 * the path can guess them. Pure functions: host-tested (tests/unit/test_isn.c).
 */
#ifndef VESTA_NET_ISN_H
#define VESTA_NET_ISN_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of msg[0..len) under key (k0 = key[0], k1 = key[1], each the
 * little-endian reading of 8 key bytes). */
uint64_t siphash24(const uint64_t key[2], const void *msg, size_t len);

/* The ISN of the connection local_ip:local_port <-> remote_ip:remote_port
 * (addresses and ports as numbers, any byte order as long as it is the
 * same each time) at clock now_ns. */
uint32_t isn_make(const uint64_t key[2], uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		  uint16_t remote_port, uint64_t now_ns);

#define ISN_TICK_NS 4000 /* M advances by one every 4 us (RFC 6528, 793) */

#endif
