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

	struct ve_kv kv[] = { VE_KV_NUM("max_held", max_held), VE_KV_NUM("bad", bad) };
	ve_event("bounds", kv, 2);
	return bad ? 1 : 0;
}
