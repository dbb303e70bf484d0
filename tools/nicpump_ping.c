/*
 * nicpump's --ping mode: the host end of netping.scn. Over the same raw
 * frame socket, it plays 10.0.2.2 (MAC 02:00:00:00:00:01): it ARPs for the
 * guest's address until the guest's network service answers, then sends N
 * ICMP echo requests one at a time (payloads of varied length and
 * content, up to the 1500-byte MTU), each retried up to 5 times a second
 * apart, and checks that every reply carries the request's id, sequence
 * number and payload exactly. It answers the guest's ARP requests for
 * 10.0.2.2 meanwhile. Prints one summary line; exit 0 if all N came back.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "nicpump_ping.h"

#define ARP_WAIT_S 60
#define TRIES 5
#define PING_ID 0x5645
#define PAYLOAD_MAX 1472 /* 1500 less the IP and ICMP headers */

static const uint8_t me_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t me_ip[4] = { 10, 0, 2, 2 };

struct pinger {
	int fd;
	const struct sockaddr_un *peer;
	uint8_t guest_ip[4];
	uint8_t guest_mac[6];
	bool have_mac;
	unsigned stray, bad;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, me_mac, 6);
	put16(f + 12, type);
}

static void send_frame(struct pinger *p, const uint8_t *f, size_t n)
{
	sendto(p->fd, f, n, MSG_DONTWAIT, (const struct sockaddr *)p->peer, sizeof(*p->peer));
}

/* An ARP request (op 1) for the guest, or a reply (op 2) to it. */
static void arp(struct pinger *p, uint16_t op)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[60] = { 0 };

	eth(f, op == 1 ? bcast : p->guest_mac, 0x0806);
	memcpy(f + 14, (const uint8_t[]){ 0, 1, 8, 0, 6, 4, 0, (uint8_t)op }, 8);
	memcpy(f + 22, me_mac, 6);
	memcpy(f + 28, me_ip, 4);
	if (op == 2)
		memcpy(f + 32, p->guest_mac, 6);
	memcpy(f + 38, p->guest_ip, 4);
	send_frame(p, f, sizeof(f));
}

static size_t payload_len(unsigned seq)
{
	return (size_t)(seq * 211u) % (PAYLOAD_MAX + 1);
}

static void echo_request(struct pinger *p, unsigned seq)
{
	uint8_t f[14 + 20 + 8 + PAYLOAD_MAX] = { 0 };
	size_t n = payload_len(seq);
	uint8_t *ip = f + 14, *icmp = ip + 20;

	eth(f, p->guest_mac, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + n));
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, me_ip, 4);
	memcpy(ip + 16, p->guest_ip, 4);
	put16(ip + 10, csum(ip, 20));
	icmp[0] = 8;
	put16(icmp + 4, PING_ID);
	put16(icmp + 6, (uint16_t)seq);
	for (size_t i = 0; i < n; i++)
		icmp[8 + i] = (uint8_t)(seq * 7 + i);
	put16(icmp + 2, csum(icmp, 8 + n));
	send_frame(p, f, 14 + 20 + 8 + n);
}

/* Is f an intact echo reply to request seq? */
static bool is_reply(const uint8_t *f, size_t len, unsigned seq, bool *ours)
{
	const uint8_t *ip = f + 14, *icmp = ip + 20;
	size_t n = payload_len(seq);

	*ours = len >= 14 + 28 && f[12] == 8 && f[13] == 0 && ip[9] == 1 && icmp[0] == 0 &&
		icmp[4] == (PING_ID >> 8) && icmp[5] == (PING_ID & 0xff);
	if (!*ours || (icmp[6] << 8 | icmp[7]) != (int)(seq & 0xffff))
		return false;
	if (len < 14 + 28 + n || memcmp(f, me_mac, 6) || csum(icmp, 8 + n) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (icmp[8 + i] != (uint8_t)(seq * 7 + i))
			return false;
	return true;
}

/* Handle one frame: learn the guest's MAC, answer its ARP for us, match
 * the reply to seq. Returns whether it was that reply. */
static bool take(struct pinger *p, const uint8_t *f, size_t n, unsigned seq)
{
	bool ours;

	if (n >= 42 && f[12] == 8 && f[13] == 6 && !memcmp(f + 28, p->guest_ip, 4)) {
		memcpy(p->guest_mac, f + 22, 6);
		p->have_mac = true;
		if (f[21] == 1 && !memcmp(f + 38, me_ip, 4))
			arp(p, 2);
		return false;
	}
	if (is_reply(f, n, seq, &ours))
		return true;
	if (ours)
		p->bad += (f[20] << 8 | f[21]) == (int)(seq & 0xffff);
	else
		p->stray++;
	return false;
}

/* Wait up to s seconds for the reply to seq (or, seq < 0, for the MAC). */
static bool await(struct pinger *p, int seq, double s)
{
	uint8_t f[2048];

	for (double end = now() + s; now() < end;) {
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		ssize_t n;

		poll(&pf, 1, 20);
		while ((n = recv(p->fd, f, sizeof(f), MSG_DONTWAIT)) > 0)
			if (take(p, f, (size_t)n, seq < 0 ? 0 : (unsigned)seq) && seq >= 0)
				return true;
		if (seq < 0 && p->have_mac)
			return true;
	}
	return false;
}

int ping_run(int fd, const struct sockaddr_un *peer, unsigned count)
{
	struct pinger p = { .fd = fd, .peer = peer, .guest_ip = { 10, 0, 2, 15 } };
	unsigned ok = 0, retries = 0;
	double start = now();

	while (!p.have_mac && now() - start < ARP_WAIT_S) {
		arp(&p, 1);
		await(&p, -1, 0.5);
	}
	for (unsigned seq = 1; p.have_mac && seq <= count; seq++) {
		int t;

		for (t = 0; t < TRIES; t++) {
			echo_request(&p, seq);
			if (await(&p, (int)seq, 1.0))
				break;
		}
		ok += t < TRIES;
		retries += (unsigned)t;
	}
	printf("nicpump: %s ping arp=%d sent=%u replied=%u retries=%u bad=%u stray=%u "
	       "seconds=%.1f\n",
	       p.have_mac && ok == count && !p.bad ? "PASS" : "FAIL", p.have_mac, count, ok,
	       retries, p.bad, p.stray, now() - start);
	return p.have_mac && ok == count && !p.bad ? 0 : 1;
}
