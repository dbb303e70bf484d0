/*
 * wglobsrv: the server of tests/boot/scenarios/wglob.scn, linked with
 * svc/lib/user-stash.ld: its data segment is its stash, with recovery
 * windows, so its plain C globals are its state and survive its deaths as
 * they were at its last reply or ack. It serves "wglob" (messages in
 * wglob.h): ADD changes a .bss count and sum and four initialised .data
 * slots, one by one with some work between; READ answers them; QUIT exits
 * 0, which wkeeper takes as "drop my stash", so the next start shows the
 * initial values again. No args. Exit 1 if the channel fails.
 */
#include "vesta.h"
#include "wglob.h"

/* The state: nothing but globals. */
static uint64_t adds, sum; /* .bss: zero when the stash is new */
static uint64_t starts;	   /* .bss: counted at each start */
static uint64_t scratch;   /* .bss: what the work between writes made */
static uint64_t slot[WGLOB_SLOTS] = {
	/* .data: loaded when the stash is new */
	WGLOB_INIT(0),
	WGLOB_INIT(1),
	WGLOB_INIT(2),
	WGLOB_INIT(3),
};

static uint64_t work(uint64_t x)
{
	for (unsigned i = 0; i < 5; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

static void add(uint64_t value)
{
	uint64_t x = value;

	adds++;
	__asm__ volatile("" ::: "memory"); /* each write its own, in order */
	for (unsigned k = 0; k < WGLOB_SLOTS; k++) {
		x = work(x);
		slot[k] += value * (k + 1);
		__asm__ volatile("" ::: "memory");
	}
	scratch = x;
	sum += value;
}

static void answer(struct wglob_rep *rep, uint64_t pid)
{
	rep->pid = pid;
	rep->starts = starts;
	rep->adds = adds;
	rep->sum = sum;
	for (unsigned k = 0; k < WGLOB_SLOTS; k++)
		rep->slot[k] = slot[k];
}

int main(const char *args)
{
	static union {
		struct wglob_req req;
		struct wglob_rep rep;
		char raw[VE_MSG_MAX];
	} buf; /* in the stash like every global: rolled back with them */
	uint64_t pid = (uint64_t)ve_getpid(), id = 0;
	struct ve_msg m;
	long len = 0;

	(void)args;
	starts++;
	int32_t h = ve_chan_serve_wait("wglob");
	if (h < 0) {
		ve_printf("wglobsrv: serve wglob: %s\n", ve_strerror(h));
		return 1;
	}
	for (;;) {
		len = ve_chan_reply_recv(h, id, buf.raw, (size_t)len, sizeof(buf.raw),
					 VE_TIMEOUT_NONE, &m, NULL, NULL);
		if (len < 0) {
			ve_printf("wglobsrv: %s\n", ve_strerror(len));
			return 1;
		}
		id = m.id;
		struct wglob_req req = buf.req;
		if (len != sizeof(req)) {
			len = 0;
			continue;
		}
		if (req.op == WGLOB_QUIT) {
			ve_chan_reply(h, id, buf.raw, 0);
			return 0;
		}
		if (req.op == WGLOB_ADD)
			add(req.value);
		answer(&buf.rep, pid);
		len = m.kind == VE_MSG_CALL ? (long)sizeof(buf.rep) : 0;
	}
}
