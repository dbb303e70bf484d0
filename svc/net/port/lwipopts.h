/*
 * lwIP's options for svc/net: NO_SYS (one thread, the raw API, timers run
 * from net's main loop), IPv4 with ARP, ICMP, TCP and UDP, no DHCP, no
 * statistics and no debug output. Pools hold at least 128 TCP
 * connections (a redis-benchmark -c 50 and a checking client with many
 * connections at once); each has a 32 KiB window and a 32 KiB send buffer.
 * What net holds per connection is bounded by those two: received bytes
 * stay in lwIP's pbufs until the client's RECV consumes them (then
 * tcp_recved opens the window), and SEND copies in only what tcp_sndbuf
 * has room for.
 */
#ifndef VESTA_NET_LWIPOPTS_H
#define VESTA_NET_LWIPOPTS_H

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_TIMERS 1
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_SINGLE_NETIF 1

#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define IP_REASSEMBLY 0
#define IP_FRAG 0

/* Memory: the heap holds received and queued segments (PBUF_RAM). */
#define MEM_ALIGNMENT 8
#define MEM_SIZE (8 * 1024 * 1024) /* both buffers of 128 connections */
#define MEMP_NUM_TCP_PCB 160
#define MEMP_NUM_TCP_PCB_LISTEN 32
#define MEMP_NUM_TCP_SEG 4096
#define MEMP_NUM_UDP_PCB 4
#define MEMP_NUM_PBUF 64
#define MEMP_NUM_ARP_QUEUE 64
#define PBUF_POOL_SIZE 64
#define ARP_TABLE_SIZE 16
#define ARP_QUEUEING 1

/* TCP: windows well inside 64 KiB (no window scaling; a pbuf chain's
 * tot_len is 16 bits). */
#define TCP_MSS 1460
#define TCP_WND (32 * 1024)
#define TCP_SND_BUF (32 * 1024)
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_QUEUE_OOSEQ 1
/* A listener's backlog counts connections until the client ACCEPTs them
 * (tcp_backlog_delayed), and SYNs past it are dropped, so the peer
 * retries rather than being reset. */
#define TCP_LISTEN_BACKLOG 1
#define LWIP_TCP_KEEPALIVE 1
#define LWIP_NETIF_TX_SINGLE_PBUF 1

/* Packets to net's own address loop back (net.c polls them), so a
 * service may CONNECT to another on the same machine. */
#define LWIP_NETIF_LOOPBACK 1

#define LWIP_STATS 0
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0

#define LWIP_HOOK_FILENAME "net_hooks.h"

#endif
