/*
 * qflood: messages a client queues are its memory. A client with no grants
 * floods channels whose bounds are the largest a boot table allows (4096
 * messages each) and whose server never receives; the kernel must stop it
 * at its share (a quarter of the machine, counted with its own pages), with
 * -VE_NOMEM, so the machine keeps the rest.
 *
 * One program, three roles (the argument):
 *   sink   serves q1, q2, q3 and never receives.
 *   flood  (no grants) opens q1, q2, q3 and qself, which it serves itself.
 *          Casts 2 KiB messages round-robin without blocking until refused:
 *          the refusal must be -VE_NOMEM; then a blocking cast, a call and
 *          a vm_alloc must be refused with -VE_NOMEM too (one share for
 *          messages and memory). Then it receives and acks a few messages
 *          on qself (its own, or its dead predecessor's, which are its
 *          name's), after which one cast must go through again (acked
 *          messages are refunded). Exits with how many more messages are
 *          queued than before it ran, or -(100 + step) for a failed step.
 *   check  (spawn grant) runs flood, and when it has died runs it again
 *          (a restart: same name); then checks with meminfo: the frames the
 *          two floods took are at most a quarter of the machine (a dead
 *          flooder's messages are charged to its name, so the restart has
 *          only what is left of the share) and at least that minus the
 *          flooder's own pages, their messages are all still queued (a dead
 *          client's casts are delivered), and it can itself still map an
 *          eighth of the machine. Exits 0 if so.
 * Events: qflood (sent, err), qflood_check (taken, share, first, again,
 * queued, alloc).
 */
#include "vesta.h"

#define MSG 2048  /* the largest message: one page of kernel heap each */
#define DRAIN 4	  /* own messages received and acked before sending again */
#define SLACK 256 /* pages of its share the flooder's own image, stack and tables may take */
#define CALL_NS 100000000ull /* 100 ms: a call that is queued instead would time out */

static const char *const chans[] = { "q1", "q2", "q3", "qself" };
#define NCHANS 4

static uint8_t buf[MSG];

static int sink(void)
{
	for (int i = 0; i < NCHANS - 1; i++)
		if (ve_chan_serve(chans[i]) < 0)
			return 1;
	for (;;)
		ve_sleep_ms(1000);
}

/* Cast round-robin until refused. Returns the refusal; *sent counts. */
static long flood_all(const int *h, uint64_t *sent)
{
	bool full[NCHANS] = { false };
	unsigned nfull = 0;

	for (unsigned i = 0;; i = (i + 1) % NCHANS) {
		if (full[i])
			continue;
		long r = ve_chan_cast(h[i], buf, MSG, VE_NONBLOCK);
		if (r == -VE_AGAIN) {
			full[i] = true;
			if (++nfull == NCHANS)
				return r;
			continue;
		}
		if (r < 0)
			return r;
		(*sent)++;
	}
}

/* Receive and ack n messages on server handle s. */
static int drain(int s, int n)
{
	struct ve_msg m;

	for (int i = 0; i < n; i++)
		if (ve_chan_recv(s, &m, buf, sizeof(buf)) < 0 || ve_chan_ack(s, m.id) < 0)
			return -1;
	return 0;
}

static int64_t flood(void)
{
	int h[NCHANS], s;
	uint64_t sent = 0;
	uint8_t rep[16];

	for (int i = 0; i < NCHANS; i++)
		if ((h[i] = ve_chan_open(chans[i])) < 0)
			return -100;
	if ((s = ve_chan_serve("qself")) < 0)
		return -100;
	long err = flood_all(h, &sent);
	struct ve_kv kv[] = { VE_KV_NUM("sent", sent), VE_KV_NUM("err", err) };
	ve_event("qflood", kv, 2);
	ve_printf("qflood: %llu messages of %d bytes queued, then %s\n", (unsigned long long)sent,
		  MSG, ve_strerror((int)err));
	if (err != -VE_NOMEM)
		return -101;
	if (ve_chan_cast(h[0], buf, MSG, 0) != -VE_NOMEM)
		return -102;
	if (ve_chan_call(h[1], buf, MSG, rep, sizeof(rep), CALL_NS) != -VE_NOMEM)
		return -103;
	if (ve_vm_alloc(0, 16 * VE_PAGE_SIZE, VE_PROT_READ | VE_PROT_WRITE) != -VE_NOMEM)
		return -104;
	if (drain(s, DRAIN) < 0)
		return -105;
	if (ve_chan_cast(h[0], buf, MSG, VE_NONBLOCK) != 0)
		return -106;
	return (int64_t)(sent - DRAIN + 1);
}

/* Messages queued on the flood's four channels. */
static uint64_t queued(void)
{
	struct ve_chaninfo ci;
	uint64_t n = 0;

	for (uint32_t i = 0; ve_chan_info(i, &ci) == 0; i++)
		for (int k = 0; k < NCHANS; k++)
			if (strcmp(ci.name, chans[k]) == 0)
				n += ci.queued;
	return n;
}

/* Run the flood to its end: its exit code, or -1000 if it did not exit. */
static int64_t run_flood(void)
{
	struct ve_exit ex;
	int pid = ve_spawn("qflood", NULL);

	if (pid < 0 || ve_wait(pid, &ex) < 0 || ex.reason != VE_R_EXIT)
		return -1000;
	return ex.code;
}

static int check(void)
{
	struct ve_meminfo m0, m1;

	if (ve_meminfo(&m0) < 0)
		return 3;
	int64_t first = run_flood(), again = run_flood();
	if (ve_meminfo(&m1) < 0)
		return 3;
	int64_t taken = (int64_t)m0.free_frames - (int64_t)m1.free_frames;
	int64_t share = (int64_t)(m0.total_frames / 4), held = first + again;
	uint64_t q = queued();
	long a = ve_vm_alloc(0, m0.total_frames / 8 * VE_PAGE_SIZE, VE_PROT_READ | VE_PROT_WRITE);
	if (a > 0)
		ve_vm_free((uint64_t)a, m0.total_frames / 8 * VE_PAGE_SIZE);
	struct ve_kv kv[] = { VE_KV_NUM("taken", taken), VE_KV_NUM("share", share),
			      VE_KV_NUM("first", first), VE_KV_NUM("again", again),
			      VE_KV_NUM("queued", q),	 VE_KV_NUM("alloc", a < 0 ? a : 0) };
	ve_event("qflood_check", kv, 6);
	ve_printf("qflood: two floods took %lld frames (share %lld), %lld + %lld messages held, "
		  "%llu queued; an eighth of the machine: %s\n",
		  (long long)taken, (long long)share, (long long)first, (long long)again,
		  (unsigned long long)q, a < 0 ? ve_strerror((int)a) : "mapped");
	if (first <= 0 || again < 0)
		return 1;
	bool ok = taken <= share && taken >= share - SLACK && q == (uint64_t)held && a > 0;
	return ok ? 0 : 2;
}

int main(const char *args)
{
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	if (strcmp(args, "sink") == 0)
		return sink();
	if (strcmp(args, "flood") == 0)
		return (int)flood();
	if (strcmp(args, "check") == 0)
		return check();
	return 3;
}
