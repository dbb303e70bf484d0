/*
 * lwIP's architecture header for Vesta user space (svc/net): a freestanding
 * x86-64 program with no libc, so the types, format strings and limits lwIP
 * would take from inttypes.h, unistd.h and ctype.h are given here, and a
 * failed assertion is an event and an exit (the supervisor restarts net).
 */
#ifndef VESTA_NET_ARCH_CC_H
#define VESTA_NET_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

#define BYTE_ORDER LITTLE_ENDIAN

/* No inttypes.h: lwIP's debug formats, for fmt.h's printf. */
#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

/* No unistd.h nor ctype.h; ssize_t is typed here (the host's limits.h
 * may define SSIZE_MAX, which tells lwIP not to type it). */
#include <limits.h>
#define LWIP_NO_UNISTD_H 1
#ifndef SSIZE_MAX
#define SSIZE_MAX LONG_MAX
#endif
typedef long ssize_t;
#define LWIP_NO_CTYPE_H 1

/* net.c: an assertion posts {"ev":"net_assert",...} and exits 3. */
_Noreturn void net_assert(const char *msg, const char *file, int line);
/* isn.c's generator, seeded from the stash: lwIP's few random choices
 * (the first local port). */
uint32_t net_rand(void);

#define LWIP_PLATFORM_DIAG(x)                                                                      \
	do {                                                                                       \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) net_assert((x), __FILE__, __LINE__)
#define LWIP_RAND() net_rand()

#endif
