/*
 * sockbad: sends svc/net bad requests of the sockets protocol
 * (svc/lib/sock.h) and checks each error: short and empty messages,
 * unknown ops, bad lengths and fields get -SOCK_EINVAL; cids and lids net
 * never gave get -SOCK_EBADF; a port another owner holds gets
 * -SOCK_EADDRINUSE; a parked ACCEPT gets -SOCK_EAGAIN at its deadline; a
 * cast is acked and ignored. Then net must still answer. Writes
 * {"ev":"sockbad","ok":1,"checks":N,"bad":B} (B checks that got another
 * answer; each is printed on the console). Exit 1 if tcp cannot be opened.
 */
#include "sock.h"
#include "vesta.h"

#define NO_REPLY 1000 /* err_of's answer for a reply too short to hold err */

static int tcp;
static unsigned checks, bad;

/* The err of the reply to the len-byte request q. */
static int32_t err_of(const void *q, size_t len, uint64_t *val)
{
	static uint8_t rep[VE_MSG_MAX];
	long n = ve_chan_call(tcp, q, len, rep, sizeof(rep), 0);
	int32_t err;

	if (n < 4)
		return NO_REPLY;
	memcpy(&err, rep, 4);
	if (val && n >= 12)
		memcpy(val, rep + 4, 8);
	return err;
}

static void check(const char *what, int32_t got, int32_t want, int32_t or_want)
{
	checks++;
	if (got == want || got == or_want)
		return;
	bad++;
	ve_printf("sockbad: %s: got %d, want %d\n", what, got, want);
}

static struct sock_listen listen_req(uint16_t port, const char *owner)
{
	struct sock_listen q = { .op = SOCK_OP_LISTEN, .port = port, .backlog = 4 };

	strlcpy(q.owner, owner, sizeof(q.owner));
	return q;
}

static void bad_shapes(void)
{
	uint8_t b[64] = { 0 };

	check("empty", err_of(b, 0, NULL), -SOCK_EINVAL, 0);
	b[0] = 'Z';
	check("unknown op", err_of(b, 1, NULL), -SOCK_EINVAL, -SOCK_EINVAL);
	b[0] = SOCK_OP_LISTEN;
	check("short LISTEN", err_of(b, 5, NULL), -SOCK_EINVAL, -SOCK_EINVAL);
	b[0] = SOCK_OP_SEND;
	check("short SEND", err_of(b, 5, NULL), -SOCK_EINVAL, -SOCK_EINVAL);
	b[0] = SOCK_OP_CLOSE;
	check("long CLOSE", err_of(b, 40, NULL), -SOCK_EINVAL, -SOCK_EINVAL);
	b[0] = SOCK_OP_EVENT;
	check("EVENT to net", err_of(b, sizeof(struct sock_event), NULL), -SOCK_EINVAL,
	      -SOCK_EINVAL);
	checks++;
	bad += ve_chan_cast(tcp, "Zjunk", 5, 0) != 0;
}

static void bad_ids(void)
{
	uint64_t cids[3] = { 0, (1ull << 32) | 0xabcd12, (0xffffffffull << 32) | 3 };

	for (int i = 0; i < 3; i++) {
		struct sock_recv r = {
			.op = SOCK_OP_RECV, .cid = cids[i], .max = 100, .timeout_ns = 1000000
		};
		struct {
			struct sock_send s;
			char data[8];
		} __attribute__((packed)) s = { { .op = SOCK_OP_SEND, .cid = cids[i] }, "abcdefg" };
		struct sock_close c = { .op = SOCK_OP_CLOSE, .cid = cids[i] };

		check("RECV bad cid", err_of(&r, sizeof(r), NULL), -SOCK_EBADF, -SOCK_ECONNRESET);
		check("SEND bad cid", err_of(&s, sizeof(s), NULL), -SOCK_EBADF, -SOCK_ECONNRESET);
		check("CLOSE bad cid", err_of(&c, sizeof(c), NULL), -SOCK_EBADF, -SOCK_ECONNRESET);
	}
	struct sock_accept a = { .op = SOCK_OP_ACCEPT, .lid = 999999 };
	check("ACCEPT bad lid", err_of(&a, sizeof(a), NULL), -SOCK_EBADF, -SOCK_EBADF);
}

static void bad_fields(void)
{
	struct sock_listen l = listen_req(0, "sockbad");
	struct sock_connect c = { .op = SOCK_OP_CONNECT, .port = 7, .owner = "sockbad" };

	check("LISTEN port 0", err_of(&l, sizeof(l), NULL), -SOCK_EINVAL, -SOCK_EINVAL);
	l = listen_req(9, "sockbad");
	l.backlog = 0;
	check("LISTEN backlog 0", err_of(&l, sizeof(l), NULL), -SOCK_EINVAL, -SOCK_EINVAL);
	l = listen_req(9, "");
	check("LISTEN no owner", err_of(&l, sizeof(l), NULL), -SOCK_EINVAL, -SOCK_EINVAL);
	l = listen_req(9, "sockbad");
	memset(l.owner, 'a', sizeof(l.owner));
	check("LISTEN owner unterminated", err_of(&l, sizeof(l), NULL), -SOCK_EINVAL, -SOCK_EINVAL);
	check("CONNECT ip 0", err_of(&c, sizeof(c), NULL), -SOCK_EINVAL, -SOCK_EINVAL);
}

/* A listener of its own: the owner rule and a parked ACCEPT's deadline. */
static void own_listener(void)
{
	struct sock_listen l = listen_req(9, "sockbad");
	struct sock_accept a = { .op = SOCK_OP_ACCEPT, .timeout_ns = 100000000 };
	struct sock_list q = { .op = SOCK_OP_LIST, .owner = "sockbad" };
	uint64_t lid = 0, again = 0;

	check("LISTEN 9", err_of(&l, sizeof(l), &lid), 0, 0);
	check("LISTEN 9 again", err_of(&l, sizeof(l), &again), 0, 0);
	check("same lid", again == lid && lid, 1, 1);
	l = listen_req(9, "other");
	check("LISTEN 9 other owner", err_of(&l, sizeof(l), NULL), -SOCK_EADDRINUSE,
	      -SOCK_EADDRINUSE);
	a.lid = lid;
	uint64_t t0 = ve_clock_ns();
	check("ACCEPT parked", err_of(&a, sizeof(a), NULL), -SOCK_EAGAIN, -SOCK_EAGAIN);
	check("ACCEPT waited", ve_clock_ns() - t0 >= 100000000, 1, 1);
	check("LIST", err_of(&q, sizeof(q), NULL), 0, 0);
}

int main(const char *args)
{
	struct ve_kv kv[3];

	(void)args;
	if ((tcp = ve_chan_open(SOCK_CHANNEL)) < 0)
		return 1;
	bad_shapes();
	bad_ids();
	bad_fields();
	own_listener();
	kv[0] = VE_KV_NUM("ok", 1);
	kv[1] = VE_KV_NUM("checks", checks);
	kv[2] = VE_KV_NUM("bad", bad);
	ve_event("sockbad", kv, 3);
	return 0;
}
