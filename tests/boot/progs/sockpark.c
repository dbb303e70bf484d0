/*
 * sockpark: parked calls across net's deaths (netkill.scn). It LISTENs on
 * port 9, where nobody connects, and calls ACCEPT with a 6 s timeout
 * three times in a row while nickeeper kills net: net parks each call,
 * and a call parked when net dies is replayed to the next incarnation
 * (redelivered > 0), which must park it again and answer -SOCK_EAGAIN at
 * its deadline (never a crash, a lost call or a dead letter). Then a
 * RECV on a cid of net's first epoch must get -SOCK_ECONNRESET.
 * Writes {"ev":"sockpark","eagain":N,"reset":R,"ok":0|1}.
 * Exit 1 if tcp cannot be opened or LISTEN fails.
 */
#include "sock.h"
#include "vesta.h"

#define WAIT_NS 6000000000ull
#define CALL_NS 30000000000ull /* the kernel-side bound of each call */

static int tcp;

static int32_t call_err(const void *q, size_t len, uint64_t *val)
{
	uint8_t rep[64];
	long n = ve_chan_call(tcp, q, len, rep, sizeof(rep), CALL_NS);
	int32_t err;

	if (n < 4) {
		ve_printf("sockpark: call: %s\n", n < 0 ? ve_strerror(n) : "short reply");
		return 1000;
	}
	memcpy(&err, rep, 4);
	if (val && n >= 12)
		memcpy(val, rep + 4, 8);
	return err;
}

int main(const char *args)
{
	struct sock_listen l = {
		.op = SOCK_OP_LISTEN, .port = 9, .backlog = 1, .owner = "sockpark"
	};
	struct sock_recv r = { .op = SOCK_OP_RECV, .cid = (1ull << 32) | 0x105, .max = 10 };
	uint64_t lid = 0;
	unsigned eagain = 0, reset;
	struct ve_kv kv[3];

	(void)args;
	if ((tcp = ve_chan_open(SOCK_CHANNEL)) < 0 || call_err(&l, sizeof(l), &lid) != 0)
		return 1;
	for (int i = 0; i < 3; i++) {
		struct sock_accept a = { .op = SOCK_OP_ACCEPT, .lid = lid, .timeout_ns = WAIT_NS };

		eagain += call_err(&a, sizeof(a), NULL) == -SOCK_EAGAIN;
	}
	reset = call_err(&r, sizeof(r), NULL) == -SOCK_ECONNRESET;
	kv[0] = VE_KV_NUM("eagain", eagain);
	kv[1] = VE_KV_NUM("reset", reset);
	kv[2] = VE_KV_NUM("ok", eagain == 3 && reset);
	ve_event("sockpark", kv, 3);
	return 0;
}
