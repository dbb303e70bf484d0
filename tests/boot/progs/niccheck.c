/*
 * niccheck: the NIC protocol (svc/lib/nic.h) as a client sees it, against
 * whichever driver serves the interface. Args "[if=NAME]" (default net0).
 * It asks 'I' (the reply must be a whole struct nic_info with the op, a
 * MAC that is not all zero, ring sizes), sends a frame too short and one
 * too long (each acked, not sent: tx_bad counts them), calls an unknown op
 * (the reply is NIC_BADREQ), casts an unknown op (acked and ignored), and
 * asks 'I' again: tx_bad must have grown by 2 (tried again if a driver
 * death came between, which zeroes the counters). Then it writes
 * {"ev":"niccheck","ok":1,"mac":"..","link":..,"rx_ring":..,"tx_ring":..}
 * (ok 0 and "why" on the first check that failed).
 */
#include "nic.h"
#include "vesta.h"

#define CALL_NS 5000000000ull /* a driver restarting answers well within */

/* 'I' on h into *info. Returns 0 or why not. */
static const char *ask_info(int h, struct nic_info *info)
{
	uint8_t op = NIC_OP_INFO;
	long n = ve_chan_call(h, &op, 1, info, sizeof(*info), CALL_NS);

	if (n != (long)sizeof(*info) || info->op != NIC_OP_INFO)
		return "info reply";
	return NULL;
}

/* The checks; NULL if all held, else the first that failed. */
static const char *check(int h, struct nic_info *info)
{
	static uint8_t big[2 + NIC_FRAME_MAX];
	uint8_t shortf[1 + NIC_FRAME_MIN - 1] = { NIC_OP_TX }, rep[8], bad[2] = { 'Z', 0 };
	struct nic_info after;
	const char *why;
	static const uint8_t zero[6];

	if ((why = ask_info(h, info)))
		return why;
	if (!memcmp(info->mac, zero, 6) || !info->rx_ring || !info->tx_ring)
		return "info fields";
	big[0] = NIC_OP_TX;
	if (ve_chan_cast(h, shortf, sizeof(shortf), 0) < 0 ||
	    ve_chan_cast(h, big, sizeof(big), 0) < 0)
		return "bad frames not taken";
	if (ve_chan_call(h, bad, 2, rep, sizeof(rep), CALL_NS) != 1 || rep[0] != NIC_BADREQ)
		return "unknown call";
	if (ve_chan_cast(h, bad, 2, 0) < 0)
		return "unknown cast";
	if ((why = ask_info(h, &after)))
		return why;
	if (after.tx_bad != info->tx_bad + 2)
		return "tx_bad";
	return NULL;
}

int main(const char *args)
{
	char ifname[24] = "net0", mac[18];
	const char *p = ve_skip_space(args), *why;
	size_t n = ve_word_len(p);
	struct nic_info info = { 0 };
	struct ve_kv kv[6];
	int h;

	if (n > 3 && n - 3 < sizeof(ifname) && memcmp(p, "if=", 3) == 0) {
		memcpy(ifname, p + 3, n - 3);
		ifname[n - 3] = 0;
	}
	h = ve_chan_open(ifname);
	why = h < 0 ? "open" : check(h, &info);
	/* A driver death between the two 'I's zeroes the counters: again. */
	for (int i = 0; i < 5 && why && !strcmp(why, "tx_bad"); i++)
		why = check(h, &info);
	fmt_snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", info.mac[0], info.mac[1],
		     info.mac[2], info.mac[3], info.mac[4], info.mac[5]);
	kv[0] = VE_KV_NUM("ok", why == NULL);
	kv[1] = VE_KV_STR("why", why ? why : "");
	kv[2] = VE_KV_STR("mac", mac);
	kv[3] = VE_KV_NUM("link", info.link);
	kv[4] = VE_KV_NUM("rx_ring", info.rx_ring);
	kv[5] = VE_KV_NUM("tx_ring", info.tx_ring);
	ve_event("niccheck", kv, 6);
	return why ? 1 : 0;
}
