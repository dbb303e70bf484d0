/*
 * The one piece of stdlib.h lwIP's core uses (netif_find's atoi), so that
 * lwIP compiles against no libc header at all: this directory comes
 * before the system's in the include path. atoi is in svc/net/netif.c.
 */
#ifndef VESTA_NET_STDLIB_H
#define VESTA_NET_STDLIB_H

int atoi(const char *s);

#endif
