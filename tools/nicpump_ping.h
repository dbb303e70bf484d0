/* nicpump's --ping mode (nicpump_ping.c). */
#ifndef VESTA_TOOLS_NICPUMP_PING_H
#define VESTA_TOOLS_NICPUMP_PING_H

#include <sys/un.h>

/* ARP for 10.0.2.15 and ping it count times over the frame socket fd
 * (QEMU's end is peer). Returns the exit code: 0 all replied intact. */
int ping_run(int fd, const struct sockaddr_un *peer, unsigned count);

#endif
