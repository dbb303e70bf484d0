/*
 * lwIP hooks of svc/net (LWIP_HOOK_FILENAME): the TCP initial sequence
 * number comes from RFC 6528's keyed hash (isn.c), not lwIP's counter, so
 * a restarted stack never repeats the numbers of the one before.
 */
#ifndef VESTA_NET_HOOKS_H
#define VESTA_NET_HOOKS_H

#include "lwip/ip_addr.h"

u32_t net_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
		  u16_t remote_port);

#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) net_tcp_isn((lip), (lport), (rip), (rport))

#endif
