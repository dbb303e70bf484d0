/*
 * netecho: reflects every Ethernet frame it receives on a NIC interface
 * back to its sender (nic.h). It serves IF.rx, where the driver casts
 * received frames, and opens IF: each frame comes back with its source and
 * destination MACs swapped, cast to IF (blocking while the driver's queue
 * is full, which is the backpressure), and only then is the received cast
 * acked, so a frame in hand when netecho dies is handled again.
 * Args: "[if=NAME]" (default net0). Writes {"ev":"netecho_ready","if":..}.
 */
#include "nic.h"
#include "vesta.h"

int main(const char *args)
{
	static uint8_t buf[VE_MSG_MAX];
	char ifname[24] = "net0", rxname[32];
	const char *p = ve_skip_space(args);
	size_t n = ve_word_len(p);
	struct ve_heartbeat hb;
	struct ve_msg msg;
	int32_t h;
	int tx;

	if (n > 3 && n - 3 < sizeof(ifname) && memcmp(p, "if=", 3) == 0) {
		memcpy(ifname, p + 3, n - 3);
		ifname[n - 3] = 0;
	} else if (n) {
		ve_printf("netecho: bad args '%s' (want [if=NAME])\n", args);
		return 2;
	}
	fmt_snprintf(rxname, sizeof(rxname), "%s.rx", ifname);
	ve_heartbeat_init(&hb, 0);
	if ((h = ve_chan_serve_wait(rxname)) < 0 || (tx = ve_chan_open(ifname)) < 0) {
		ve_printf("netecho: serve %s / open %s failed\n", rxname, ifname);
		return 1;
	}
	ve_event_str("netecho_ready", "if", ifname);
	for (;;) {
		long len = ve_serve_next(h, &hb, buf, sizeof(buf), &msg);
		uint8_t mac[6];
		int r;

		if (len == -VE_AGAIN)
			continue;
		if (len < 0)
			return 1;
		if (len >= 1 + NIC_HDR && buf[0] == NIC_OP_RX) {
			memcpy(mac, buf + 1, 6);
			memcpy(buf + 1, buf + 7, 6);
			memcpy(buf + 7, mac, 6);
			buf[0] = NIC_OP_TX;
			if ((r = ve_chan_cast(tx, buf, (size_t)len, 0)) < 0) {
				ve_printf("netecho: cast: %s\n", ve_strerror(r));
				return 1;
			}
		}
		if (msg.kind == VE_MSG_CALL)
			r = ve_chan_reply(h, msg.id, NULL, 0);
		else
			r = ve_chan_ack(h, msg.id);
		if (r < 0)
			return 1;
	}
}
