/*
 * tcpcli: the client side of the sockets protocol (svc/lib/sock.h), in
 * nettcp.scn. It CONNECTs to tcpecho on net's own address (10.0.2.15:7,
 * through lwIP's loopback), finds the connection with LIST, streams
 * 100,000 bytes (past the TCP window both ways) with offset-addressed
 * SENDs while it reads the echo with parked RECVs (a timeout, so net
 * answers when the bytes arrive), checks every byte, and CLOSEs. Then a
 * CONNECT to a port nobody listens on must get -SOCK_ECONNREFUSED. Last,
 * backpressure: on a new connection it SENDs without reading the echo
 * until net takes no more (stall()), which must be within what the TCP
 * windows and send buffers hold, never the megabyte it offers.
 * Writes {"ev":"tcpcli","ok":0|1,"bytes":N,"listed":1,"refused":1,
 * "stalled":S} (S: bytes net took before it stopped taking; 0: failed).
 * Exit 1 if tcp cannot be opened.
 */
#include "sock.h"
#include "vesta.h"

#define TOTAL 100000
#define CHUNK 2000
#define WAIT_NS 2000000000ull
#define STALL_MAX (1u << 20) /* far past what the windows hold */
#define OWN_IP 0x0f02000au   /* 10.0.2.15, as on the wire */

static int tcp;
static uint8_t rep[VE_MSG_MAX], req[VE_MSG_MAX];

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 8));
}

static int32_t call(const void *q, size_t len, long *n)
{
	int32_t err = 1000;

	*n = ve_chan_call(tcp, q, len, rep, sizeof(rep), 0);
	if (*n >= 4)
		memcpy(&err, rep, 4);
	return err;
}

/* CONNECT to port on our own address; the cid, or 0 with *err. */
static uint64_t dial(uint16_t port, int32_t *err)
{
	struct sock_connect q = { .op = SOCK_OP_CONNECT,
				  .ip = OWN_IP,
				  .port = port,
				  .timeout_ns = WAIT_NS,
				  .owner = "tcpcli",
				  .notify = "tcpcli.ev" };
	uint64_t cid = 0;
	long n;

	*err = call(&q, sizeof(q), &n);
	if (*err == 0 && n >= 12)
		memcpy(&cid, rep + 4, 8);
	return cid;
}

/* SEND from offset *sent (below total) as much as net takes. */
static bool send_more(uint64_t cid, uint64_t *sent, uint64_t total)
{
	struct sock_send *q = (struct sock_send *)req;
	size_t k = total - *sent < CHUNK ? total - *sent : CHUNK;
	long n;

	*q = (struct sock_send){ .op = SOCK_OP_SEND, .cid = cid, .offset = *sent };
	for (size_t i = 0; i < k; i++)
		req[sizeof(*q) + i] = pattern(*sent + i);
	if (call(q, sizeof(*q) + k, &n) != 0 || n < 12)
		return false;
	memcpy(sent, rep + 4, 8);
	return true;
}

/* RECV from *got (parked until bytes come), check them. */
static bool recv_more(uint64_t cid, uint64_t *got)
{
	struct sock_recv q = {
		.op = SOCK_OP_RECV, .cid = cid, .offset = *got, .max = CHUNK, .timeout_ns = WAIT_NS
	};
	long n;
	int32_t err = call(&q, sizeof(q), &n);

	if (err == -SOCK_EAGAIN)
		return true;
	if (err != 0 || n < (long)sizeof(struct sock_recv_rep))
		return false;
	for (long i = sizeof(struct sock_recv_rep); i < n; i++, (*got)++)
		if (rep[i] != pattern(*got))
			return false;
	return true;
}

static bool listed(uint64_t cid)
{
	struct sock_list q = { .op = SOCK_OP_LIST, .owner = "tcpcli" };
	struct sock_conninfo ci;
	uint32_t count;
	long n;

	if (call(&q, sizeof(q), &n) != 0 || n < 8 + (long)sizeof(ci))
		return false;
	memcpy(&count, rep + 4, 4);
	memcpy(&ci, rep + 8, sizeof(ci));
	return count == 1 && ci.cid == cid && ci.peer_port == 7;
}

/*
 * A reader that does not read: SEND to tcpecho without RECVing the echo
 * until net takes no more. Returns how much it took by then, which the
 * windows and send buffers bound (both connections' 32 KiB each way:
 * 128 KiB); then reads it all back and closes. 0 on failure.
 */
static uint64_t stall(void)
{
	uint64_t sent = 0, got = 0, stalled;
	int32_t err;
	uint64_t cid = dial(7, &err);
	struct sock_close c = { .op = SOCK_OP_CLOSE, .cid = cid };
	long n;

	for (int still = 0; cid && still < 10 && sent < STALL_MAX; ve_sleep_ms(20)) {
		uint64_t before = sent;

		if (!send_more(cid, &sent, STALL_MAX))
			return 0;
		still = sent == before ? still + 1 : 0;
	}
	stalled = sent;
	for (int idle = 0; cid && got < sent && idle < 10;) {
		uint64_t before = got;

		if (!recv_more(cid, &got))
			return 0;
		idle = got == before ? idle + 1 : 0;
	}
	return got == sent && call(&c, sizeof(c), &n) == 0 ? stalled : 0;
}

int main(const char *args)
{
	uint64_t cid = 0, sent = 0, got = 0;
	int32_t err = 0;
	bool ok = true, list;
	struct ve_kv kv[5];

	(void)args;
	if ((tcp = ve_chan_open(SOCK_CHANNEL)) < 0 || ve_chan_serve("tcpcli.ev") < 0)
		return 1;
	for (int i = 0; i < 50 && !cid; i++, ve_sleep_ms(100))
		cid = dial(7, &err); /* refused until tcpecho listens */
	list = cid && listed(cid);
	for (int idle = 0; cid && ok && got < TOTAL && idle < 10;) {
		uint64_t before = got + sent;

		ok = (sent == TOTAL || send_more(cid, &sent, TOTAL)) && recv_more(cid, &got);
		idle = got + sent == before ? idle + 1 : 0;
	}
	struct sock_close c = { .op = SOCK_OP_CLOSE, .cid = cid };
	long n;
	ok = ok && cid && got == TOTAL && call(&c, sizeof(c), &n) == 0;
	dial(1, &err);
	kv[0] = VE_KV_NUM("ok", ok);
	kv[1] = VE_KV_NUM("bytes", got);
	kv[2] = VE_KV_NUM("listed", list);
	kv[3] = VE_KV_NUM("refused", err == -SOCK_ECONNREFUSED);
	kv[4] = VE_KV_NUM("stalled", stall());
	ve_event("tcpcli", kv, 5);
	return 0;
}
