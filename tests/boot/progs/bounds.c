/*
 * bounds: the documented bounds bound, and their errors are the documented
 * ones.
 *
 *  1. A channel's message bound holds queued and in-flight messages
 *     together: it serves and opens "bd" (max_messages 8) itself, casts without
 *     blocking until -VE_AGAIN, then receives one without acking it, and
 *     again, until nothing is queued. queued + inflight must never pass
 *     max_msgs and must reach it; every cast is 0 or -VE_AGAIN.
 *  2. Into the full channel, a non-blocking cast of any size the channel
 *     can hold gets -VE_AGAIN; one larger than its byte bound (max_bytes 1024)
 *     gets -VE_RANGE, since it could never be queued.
 *  3. vm_alloc and vm_free with an address or a length beyond the user
 *     range get -VE_INVAL (svc/lib/vesta.h: "bad alignment, range or
 *     prot").
 *  4. spawn with an image name or argument string too long gets -VE_INVAL.
 *  5. vm_free frees only what vm_alloc gave: a page of its stack, of its
 *     image (code, data) or of its stash gets -VE_PERM, a range that runs
 *     from vm_alloc memory into its image or into an unmapped page gets
 *     -VE_PERM or -VE_INVAL, and each time nothing is unmapped (the pages
 *     are still there to read and write); then the vm_alloc pages free.
 *  6. ve_chan_next's errors: a bad struct, too many or foreign handles, an
 *     answer to no message (nothing waited for then), a timeout, and a
 *     message longer than cap (it stays queued, msg.len says how long);
 *     then it receives that message, and its next call acks it.
 *  7. The same for ve_chan_reply_recv, the fast path, whose header comes
 *     back in registers: a foreign or client handle, no such message, a
 *     reply too long, a timeout, a message longer than cap and a bad
 *     buffer (it stays queued either way), the header of a received cast,
 *     and `answered` after an answer followed by a failed receive.
 *  8. ve_chan_castv's and ve_chan_recvv's errors: a foreign, wrong-kind or
 *     bad handle, a zero or too large count, bad flags, bad pointers, a
 *     length past VE_MSG_MAX or the byte bound (each queues nothing); a
 *     batch into a channel with room for part of it queues that part and
 *     says how many, into a full one gets -VE_AGAIN; recvv's acks stop at
 *     the first bad id (acked says how many went), a head longer than cap
 *     stays queued, a batch is received in order with payloads back to
 *     back, and the counters agree.
 *
 * Writes {"ev":"bounds","max_held":N,"bad":N}; each failure prints a line.
 * Exit 0 iff bad is 0.
 */
#include "vesta.h"

#define BOUND 8	    /* max_messages in bounds.manifest */
#define QBYTES 1024 /* max_bytes in bounds.manifest */
#define ROUNDS 100  /* far more than the bound needs */
#define SMALL 16    /* bytes of each cast in part 1 */

static unsigned bad;
static char image_page[4096] __attribute__((aligned(4096))); /* in the bss */
static volatile unsigned image_data = 1;		     /* in .data */
extern const char __image_ro_start[];			     /* user.ld: code */
static uint32_t max_held;
static char big[VE_MSG_MAX];

static void expect(const char *what, long got, long want)
{
	if (got == want)
		return;
	bad++;
	ve_printf("bounds: %s returned %ld (%s), expected %ld (%s)\n", what, got, ve_strerror(got),
		  want, ve_strerror(want));
}

static struct ve_chaninfo bd_info(void)
{
	struct ve_chaninfo ci = { 0 };
	if (ve_chan_info_named("bd", &ci) == 0)
		return ci;
	bad++;
	return (struct ve_chaninfo){ 0 };
}

/* queued + inflight of "bd", checked against its bound. */
static void check_held(void)
{
	struct ve_chaninfo ci = bd_info();
	uint32_t held = ci.queued + ci.inflight;
	if (held > max_held)
		max_held = held;
	if (held > ci.max_msgs || ci.max_msgs != BOUND) {
		bad++;
		ve_printf("bounds: %u queued + %u in flight, bound %u\n", ci.queued, ci.inflight,
			  ci.max_msgs);
	}
}

/* Part 1; leaves the channel full. Returns the ids in flight. */
static unsigned fill(int s, int c, uint64_t *ids, unsigned cap)
{
	struct ve_msg m;
	unsigned n = 0;
	for (int round = 0; round < ROUNDS; round++) {
		long r;
		while ((r = ve_chan_cast(c, big, SMALL, VE_NONBLOCK)) == 0)
			check_held();
		expect("non-blocking cast into a full channel", r, -VE_AGAIN);
		if (r != -VE_AGAIN || ve_chan_recv(s, &m, big, sizeof(big)) < 0)
			break;
		if (n < cap)
			ids[n++] = m.id;
		check_held();
	}
	return n;
}

/* Part 2: the channel is full. */
static void full_casts(int c)
{
	expect("cast of 1 byte", ve_chan_cast(c, big, 1, VE_NONBLOCK), -VE_AGAIN);
	expect("cast of qbytes", ve_chan_cast(c, big, QBYTES, VE_NONBLOCK), -VE_AGAIN);
	expect("cast of qbytes + 1", ve_chan_cast(c, big, QBYTES + 1, VE_NONBLOCK), -VE_RANGE);
	check_held();
}

/* Part 3. */
static void vm_bounds(void)
{
	const unsigned rw = VE_PROT_READ | VE_PROT_WRITE;
	expect("vm_alloc at the user top", ve_vm_alloc(VE_USER_HI, 4096, rw), -VE_INVAL);
	expect("vm_alloc in the upper half", ve_vm_alloc(0xffff800000000000ull, 4096, rw),
	       -VE_INVAL);
	expect("vm_alloc across the user top", ve_vm_alloc(VE_USER_HI - 4096, 8192, rw), -VE_INVAL);
	expect("vm_alloc of 2^62 bytes", ve_vm_alloc(0, 1ull << 62, rw), -VE_INVAL);
	expect("vm_free of 2^62 bytes", ve_vm_free(0x0000010000000000ull, 1ull << 62), -VE_INVAL);
	expect("vm_free at the user top", ve_vm_free(VE_USER_HI, 4096), -VE_INVAL);
}

/* Part 4. */
static void spawn_bounds(void)
{
	static char args[2 * VE_ARGS_MAX], image[2 * VE_NAME_MAX];
	memset(args, 'a', sizeof(args) - 1);
	memset(image, 'b', sizeof(image) - 1);
	expect("spawn with over-long args", ve_spawn("bounds", args), -VE_INVAL);
	expect("spawn with an over-long image name", ve_spawn(image, ""), -VE_INVAL);
}

/* Page-aligned address of a. */
static uint64_t page_of(const void *a)
{
	return (uint64_t)(uintptr_t)a & ~(VE_PAGE_SIZE - 1);
}

/* Part 5: what vm_free refuses, and that a refusal unmapped nothing. */
static void vm_free_only_alloc(void)
{
	const unsigned rw = VE_PROT_READ | VE_PROT_WRITE;
	volatile char here = 1;
	/* Eight pages below this frame: inside the 64 KiB stack, not in use. */
	volatile char *stack =
	    (volatile char *)(uintptr_t)(page_of((const void *)&here) - 8 * VE_PAGE_SIZE);
	expect("vm_free of a stack page", ve_vm_free((uint64_t)(uintptr_t)stack, 4096), -VE_PERM);
	stack[0] = 5; /* still mapped: a fault here kills the test */
	expect("vm_free of an image bss page", ve_vm_free(page_of(image_page), 4096), -VE_PERM);
	image_page[0] = 5;
	expect("vm_free of an image data page",
	       ve_vm_free(page_of((const void *)&image_data), 4096), -VE_PERM);
	image_data = 5;
	long st = ve_stash(4096);
	if (st > 0) {
		expect("vm_free of the stash", ve_vm_free((uint64_t)st, 4096), -VE_PERM);
		*(volatile char *)(uintptr_t)st = 5;
	} else {
		expect("stash(4096)", st, (long)VE_STASH_BASE);
	}
	/* vm_alloc memory next to an unmapped page: the range is refused whole. */
	long a = ve_vm_alloc(0, 2 * 4096, rw);
	if (a < 0) {
		expect("vm_alloc of two pages", a, 0);
		return;
	}
	expect("vm_free of one page of it", ve_vm_free((uint64_t)a + 4096, 4096), 0);
	expect("vm_free into an unmapped page", ve_vm_free((uint64_t)a, 2 * 4096), -VE_INVAL);
	*(volatile char *)(uintptr_t)a = 5;
	expect("vm_free of the rest", ve_vm_free((uint64_t)a, 4096), 0);
	/* vm_alloc memory right below the image's first code page: a range
	 * over both is refused whole (last: were the code page unmapped, the
	 * test would die here). */
	uint64_t below = page_of(__image_ro_start) - 4096;
	a = ve_vm_alloc(below, 4096, rw);
	expect("vm_alloc right below the image", a, (long)below);
	if (a != (long)below)
		return;
	expect("vm_free into the image's code", ve_vm_free(below, 2 * 4096), -VE_PERM);
	*(volatile char *)(uintptr_t)below = 5;
	expect("vm_free of the page below the image", ve_vm_free(below, 4096), 0);
}

/* Part 6; "bd" is empty. */
static void next_bounds(int s, int c)
{
	int32_t hs[VE_HANDLES_MAX + 1] = { s };
	struct ve_next nx = { .handles = hs, .n = 1, .cap = sizeof(big), .timeout_ns = 1000000 };
	expect("next with a bad struct", ve_chan_next(s, 0, big, 0, (struct ve_next *)8),
	       -VE_FAULT);
	nx.n = VE_HANDLES_MAX + 1;
	expect("next on too many handles", ve_chan_next(s, 0, big, 0, &nx), -VE_RANGE);
	nx.n = 1;
	hs[0] = 12345;
	expect("next on a foreign handle", ve_chan_next(s, 0, big, 0, &nx), -VE_BADHANDLE);
	hs[0] = s;
	expect("next answering no message", ve_chan_next(s, 999999, big, 0, &nx), -VE_NOENT);
	expect("... answered", nx.answered, VE_NEXT_NONE);
	expect("... result.handle", nx.result.handle, -1);
	expect("next on an empty channel", ve_chan_next(s, 0, big, 0, &nx), -VE_TIMEOUT);
	expect("... result.handle", nx.result.handle, -1);
	hs[0] = c;
	expect("next on a client handle", ve_chan_next(s, 0, big, 0, &nx), -VE_TIMEOUT);
	hs[0] = s;
	expect("cast of 100 bytes", ve_chan_cast(c, big, 100, VE_NONBLOCK), 0);
	nx.cap = 10;
	expect("next with cap 10", ve_chan_next(s, 0, big, 0, &nx), -VE_RANGE);
	expect("... msg.len", nx.msg.len, 100);
	expect("... result.handle", nx.result.handle, s);
	nx.cap = sizeof(big);
	expect("next with room", ve_chan_next(s, 0, big, 0, &nx), 100);
	expect("... its kind", nx.msg.kind, VE_MSG_CAST);
	/* An answer made, then a receive that fails: answered says so. */
	expect("another cast of 100 bytes", ve_chan_cast(c, big, 100, VE_NONBLOCK), 0);
	nx.cap = 10;
	expect("next acking it, cap 10", ve_chan_next(s, nx.msg.id, big, 0, &nx), -VE_RANGE);
	expect("... answered", nx.answered, VE_NEXT_ANSWERED);
	nx.cap = sizeof(big);
	expect("next with room again", ve_chan_next(s, 0, big, 0, &nx), 100);
	expect("next acking it", ve_chan_next(s, nx.msg.id, big, 0, &nx), -VE_TIMEOUT);
	expect("... answered", nx.answered, VE_NEXT_ANSWERED);
	struct ve_chaninfo ci = bd_info();
	expect("in flight after the acks", ci.inflight, 0);
}

/* Part 7; "bd" is empty, and c holds a client handle. */
static void reply_recv_bounds(int s, int c)
{
	struct ve_msg m = { .id = 77 };
	uint32_t answered = 9;
	expect("reply_recv on a foreign handle",
	       ve_chan_reply_recv(12345, 0, big, 0, sizeof(big), 1000000, &m, &answered, NULL),
	       -VE_BADHANDLE);
	expect("... msg.id", (long)m.id, 0);
	expect("... answered", answered, VE_NEXT_NONE);
	expect("reply_recv on a client handle",
	       ve_chan_reply_recv(c, 0, big, 0, sizeof(big), 1000000, &m, NULL, NULL), -VE_PERM);
	expect("reply_recv answering no message",
	       ve_chan_reply_recv(s, 999999, big, 0, sizeof(big), 1000000, &m, &answered, NULL),
	       -VE_NOENT);
	expect("reply_recv with a reply too long",
	       ve_chan_reply_recv(s, 999999, big, VE_MSG_MAX + 1, sizeof(big), 1000000, &m, NULL,
				  NULL),
	       -VE_RANGE);
	expect("reply_recv on an empty channel",
	       ve_chan_reply_recv(s, 0, big, 0, sizeof(big), 1000000, &m, NULL, NULL), -VE_TIMEOUT);
	expect("cast of 100 bytes", ve_chan_cast(c, big, 100, VE_NONBLOCK), 0);
	expect("reply_recv with cap 10", ve_chan_reply_recv(s, 0, big, 0, 10, 0, &m, NULL, NULL),
	       -VE_RANGE);
	expect("... msg.len", m.len, 100);
	expect("reply_recv into a bad buffer",
	       ve_chan_reply_recv(s, 0, (void *)8, 0, sizeof(big), 0, &m, NULL, NULL), -VE_FAULT);
	expect("... in flight", bd_info().inflight, 0);
	expect("reply_recv with room",
	       ve_chan_reply_recv(s, 0, big, 0, sizeof(big), 0, &m, NULL, NULL), 100);
	expect("... its kind", m.kind, VE_MSG_CAST);
	expect("... its sender", m.sender, ve_getpid());
	expect("... not redelivered", m.redelivered, 0);
	/* An answer made, then a receive that fails: answered says so. */
	expect("another cast of 100 bytes", ve_chan_cast(c, big, 100, VE_NONBLOCK), 0);
	uint64_t first = m.id;
	expect("reply_recv acking it, cap 10",
	       ve_chan_reply_recv(s, first, big, 0, 10, 0, &m, &answered, NULL), -VE_RANGE);
	expect("... answered", answered, VE_NEXT_ANSWERED);
	expect("reply_recv with room again",
	       ve_chan_reply_recv(s, 0, big, 0, sizeof(big), 0, &m, NULL, NULL), 100);
	expect("... a new id", m.id > first, 1);
	expect("reply_recv acking it",
	       ve_chan_reply_recv(s, m.id, big, 0, sizeof(big), 1000000, &m, &answered, NULL),
	       -VE_TIMEOUT);
	expect("... answered", answered, VE_NEXT_ANSWERED);
	expect("in flight after the acks", bd_info().inflight, 0);
}

/* Part 8, castv; "bd" is empty. Leaves it empty. */
static void castv_bounds(int s, int c)
{
	uint32_t lens[VE_BATCH_MAX + 1];
	for (unsigned i = 0; i <= VE_BATCH_MAX; i++)
		lens[i] = SMALL;
	uint64_t sent = bd_info().sent;
	expect("castv on a foreign handle", ve_chan_castv(12345, big, lens, 1, 0), -VE_BADHANDLE);
	expect("castv on a server handle", ve_chan_castv(s, big, lens, 1, 0), -VE_BADHANDLE);
	expect("castv with bad flags", ve_chan_castv(c, big, lens, 1, 0x80), -VE_INVAL);
	expect("castv of none", ve_chan_castv(c, big, lens, 0, 0), -VE_INVAL);
	expect("castv of too many", ve_chan_castv(c, big, lens, VE_BATCH_MAX + 1, 0), -VE_RANGE);
	expect("castv with bad lens", ve_chan_castv(c, big, (uint32_t *)8, 1, 0), -VE_FAULT);
	expect("castv from a bad buffer", ve_chan_castv(c, (void *)8, lens, 2, 0), -VE_FAULT);
	lens[1] = QBYTES + 1;
	expect("castv with one past the byte bound", ve_chan_castv(c, big, lens, 2, 0), -VE_RANGE);
	lens[1] = VE_MSG_MAX + 1;
	expect("castv with one past VE_MSG_MAX", ve_chan_castv(c, big, lens, 2, 0), -VE_RANGE);
	lens[1] = SMALL;
	expect("... nothing sent", (long)(bd_info().sent - sent), 0);
	expect("castv of 10 into room for 8", ve_chan_castv(c, big, lens, 10, VE_NONBLOCK), BOUND);
	expect("castv into a full channel", ve_chan_castv(c, big, lens, 3, VE_NONBLOCK), -VE_AGAIN);
	expect("... sent", (long)(bd_info().sent - sent), BOUND);
	check_held();
}

/* Receive what "bd" holds with recvv and check it; returns how many. */
static long recvv_all(int s, uint64_t *acks, uint32_t nacks, uint32_t *acked)
{
	static struct ve_msg msgs[VE_BATCH_MAX];
	struct ve_batch b = { .acks = acks,
			      .nacks = nacks,
			      .max = VE_BATCH_MAX,
			      .msgs = msgs,
			      .buf = big,
			      .cap = sizeof(big),
			      .timeout_ns = 1000000 };
	long r = ve_chan_recvv(s, &b);
	*acked = b.acked;
	for (long i = 0; i < r; i++) {
		acks[i] = msgs[i].id;
		if (i && msgs[i].id <= msgs[i - 1].id)
			expect("recvv in order", 0, 1);
	}
	return r;
}

/* Part 8, recvv; "bd" holds BOUND casts of SMALL bytes. Leaves it empty. */
static void recvv_bounds(int s, int c)
{
	static struct ve_msg msgs[VE_BATCH_MAX];
	uint64_t acks[VE_BATCH_MAX + 1] = { 999999 };
	uint32_t acked;
	struct ve_batch b = { .acks = acks,
			      .max = 1,
			      .msgs = msgs,
			      .buf = big,
			      .cap = sizeof(big),
			      .timeout_ns = 1000000 };
	expect("recvv with a bad batch", ve_chan_recvv(s, (struct ve_batch *)8), -VE_FAULT);
	expect("recvv on a foreign handle", ve_chan_recvv(12345, &b), -VE_BADHANDLE);
	expect("recvv on a client handle", ve_chan_recvv(c, &b), -VE_PERM);
	b.max = 0;
	b.acked = 77;
	expect("recvv of none", ve_chan_recvv(s, &b), -VE_INVAL);
	expect("a refused batch is not written", b.acked, 77);
	b.max = 1;
	b.pad = 1;
	expect("recvv with pad set", ve_chan_recvv(s, &b), -VE_INVAL);
	b.pad = 0;
	b.max = VE_BATCH_MAX + 1;
	expect("recvv of too many", ve_chan_recvv(s, &b), -VE_RANGE);
	b.max = 1;
	b.nacks = VE_BATCH_MAX + 1;
	expect("recvv with too many acks", ve_chan_recvv(s, &b), -VE_RANGE);
	b.nacks = 1;
	b.acks = (uint64_t *)8;
	expect("recvv with bad acks", ve_chan_recvv(s, &b), -VE_FAULT);
	b.acks = acks;
	b.msgs = (struct ve_msg *)8;
	expect("recvv with bad msgs", ve_chan_recvv(s, &b), -VE_FAULT);
	b.msgs = msgs;
	b.buf = (void *)8;
	expect("recvv into a bad buffer", ve_chan_recvv(s, &b), -VE_FAULT);
	b.buf = big;
	expect("recvv acking no message", ve_chan_recvv(s, &b), -VE_NOENT);
	expect("... acked", b.acked, 0);
	expect("... in flight", bd_info().inflight, 0);
	b.nacks = 0;
	b.cap = SMALL - 1;
	expect("recvv with cap below the head", ve_chan_recvv(s, &b), -VE_RANGE);
	expect("... msgs[0].len", msgs[0].len, SMALL);
	expect("... still queued", bd_info().queued, BOUND);
	b.cap = 3 * SMALL + 1;
	b.max = VE_BATCH_MAX;
	expect("recvv with room for 3", ve_chan_recvv(s, &b), 3);
	expect("... waited", b.waited, 0);
	expect("... in flight", bd_info().inflight, 3);
	for (unsigned i = 0; i < 3; i++)
		acks[i] = msgs[i].id;
	acks[3] = 999999;
	expect("recvv acking 3 and no message", recvv_all(s, acks, 4, &acked), -VE_NOENT);
	expect("... acked", acked, 3);
	expect("recvv of the rest", recvv_all(s, acks, 0, &acked), BOUND - 3);
	expect("recvv acking them, then empty", recvv_all(s, acks, BOUND - 3, &acked), -VE_TIMEOUT);
	expect("... acked", acked, BOUND - 3);
	struct ve_chaninfo ci = bd_info();
	expect("held after the acks", ci.queued + ci.inflight, 0);
	expect("sent = acked", (long)(ci.sent - ci.acked), 0);
}

/* Part 8: castv's payloads arrive back to back, each its own message. */
static void batch_payloads(int s, int c)
{
	static struct ve_msg msgs[4];
	static char got[64];
	uint32_t lens[4] = { 3, 0, 5, 1 };
	uint64_t acks[4];
	struct ve_batch b = {
		.max = 4, .msgs = msgs, .buf = got, .cap = sizeof(got), .timeout_ns = 1000000
	};
	expect("castv of 4 lengths", ve_chan_castv(c, "abcdefghi", lens, 4, VE_NONBLOCK), 4);
	expect("recvv of them", ve_chan_recvv(s, &b), 4);
	for (unsigned i = 0; i < 4; i++) {
		expect("... a length", msgs[i].len, lens[i]);
		expect("... a cast", msgs[i].kind, VE_MSG_CAST);
		acks[i] = msgs[i].id;
	}
	expect("... the bytes", memcmp(got, "abcdefghi", 9), 0);
	b.acks = acks;
	b.nacks = 4;
	expect("recvv acking them", ve_chan_recvv(s, &b), -VE_TIMEOUT);
	expect("... acked", b.acked, 4);
}

int main(const char *args)
{
	uint64_t ids[4 * BOUND];
	(void)args;
	int s = ve_chan_serve("bd"), c = ve_chan_open("bd");
	if (s < 0 || c < 0) {
		ve_printf("bounds: serve/open bd: %d %d\n", s, c);
		return 4;
	}
	unsigned n = fill(s, c, ids, 4 * BOUND);
	if (max_held != BOUND) {
		bad++;
		ve_printf("bounds: at most %u held, bound %u\n", max_held, BOUND);
	}
	full_casts(c);
	for (unsigned i = 0; i < n; i++)
		ve_chan_ack(s, ids[i]);
	vm_bounds();
	spawn_bounds();
	vm_free_only_alloc();
	next_bounds(s, c);
	reply_recv_bounds(s, c);
	castv_bounds(s, c);
	recvv_bounds(s, c);
	batch_payloads(s, c);

	struct ve_kv kv[] = { VE_KV_NUM("max_held", max_held), VE_KV_NUM("bad", bad) };
	ve_event("bounds", kv, 2);
	return bad ? 1 : 0;
}
