/*
 * kv: a small key-value service on the channel "kv" that keeps its whole
 * table in its stash, so a crash or a kill loses nothing it has acknowledged,
 * and that says so whenever it does lose its table.
 *
 * Protocol (svc/kv/README.md has the same with examples). Every request is
 * a call; the reply's first byte says how it went: '+' ok, '-' an error
 * followed by its name.
 *
 *   'G' klen key            get    -> '+' value        | "-nokey"
 *   'P' klen key value      put    -> '+'              | "-full"
 *   'D' klen key            delete -> '+'              | "-nokey"
 *   'N'                     count  -> '+' decimal count of entries
 *   'E'                     gen    -> '+' 16 hex digits: the table's generation
 *   '@' GEN TAG request     the request, only if GEN is the table's generation
 *                                  -> '=' TAG reply | '=' TAG "-epoch" GEN'
 *
 * klen is one byte, 1..KV_KEY_MAX; the key is klen bytes (any bytes); a
 * value is the rest of the message, 0..KV_VAL_MAX bytes. A request of the
 * wrong size, an unknown op or a bad klen gets "-badreq"; a cast is acked
 * and otherwise ignored (there is nobody to answer).
 *
 * Generations: every table kv makes (the first, and every reset) gets a
 * random nonzero 64-bit generation. A client that wraps its requests in '@'
 * (GEN and TAG are 16 lowercase hex digits each, the request one of the
 * above but '@') learns from "-epoch" that the table it wrote to is gone:
 * the request was not applied, and GEN' is the generation to use. TAG is
 * the client's, echoed so it can tell which of its calls an answer is for.
 * A wrapper that is too short, has bad hex or wraps another '@' gets a bare
 * "-badreq"; a well-formed wrapper around a malformed request gets
 * '=' TAG "-badreq".
 *
 * Durability: the stash has recovery windows (VE_STASH_WINDOWS): a new
 * incarnation gets it as it was at the last commit, and the reply is a
 * commit, so a change is made in place and is all or nothing
 * (svc/kv/table.h, which also holds the stash layout and its checks;
 * svc/kv/README.md says where else kv commits and why that is safe).
 *
 * On start the stash is checked: magic, version, the generation, every
 * slot's fields against their ranges, every slot against its stored
 * FNV-1a hash, the checksum (the sum of those hashes, updated
 * incrementally per change) and the count. If any of it is wrong, or the
 * stash is new, kv makes an empty table with a new generation and
 * {"ev":"kv_reset","reason":"new"|"magic"|"corrupt"|"checksum"|"count",
 * "gen":G} says so. No number from the stash is used unchecked and no loop
 * is bounded by one, so a stash with any bits flipped is reset, never hangs
 * or crashes kv (the supervisor's discard after K crashes is the backstop).
 * Then {"ev":"kv_ready","entries":N,"gen":G} (G: 16 hex digits). A new
 * table is committed before its kv_reset is posted, and the mark that it
 * was posted right after, so a table nobody heard of is never kept and
 * one made by an incarnation that died before posting it is posted by the
 * next; it may thus be posted twice, always with the same gen.
 *
 * Bits may also flip while kv runs. Before a get answers with a value, the
 * slot's hash is checked; before a slot is overwritten, too; before any
 * "-nokey" or "-full", the whole table (every slot hash, the sum, the
 * count); before any request, the generation (kept with its complement).
 * A mismatch means the table cannot be trusted: kv makes a new empty table
 * with a new generation, posts {"ev":"kv_reset","reason":"runtime","gen":G}
 * and answers the request against the new table (a wrapped one thus gets
 * "-epoch"). Should that happen three times for one request, it answers
 * "-reset".
 *
 * Args (words, any order):
 *   heartbeat  open "sup" and cast it "H" every HEARTBEAT_MS
 * (test images boot a build that also takes crash=N: svc/kv/hook.h).
 * Before every reply it checks its own code and constants
 * (ve_image_check): if bits flipped there it exits 70 (VE_EXIT_IMAGE_CORRUPT)
 * without answering, and the kernel replays the request to the next
 * incarnation.
 * Exit codes: 1 a channel or stash call failed, 2 bad args, 70 its image
 * changed.
 */
#include "vesta.h"

#include "hook.h"
#include "num.h"
#include "rnet.h"
#include "rtable.h"
#include "table.h"

#define HEARTBEAT_MS 100	   /* well inside any sensible policy heartbeat */
#define HEX_LEN 16		   /* hex digits of a generation or a tag */
#define WRAP_LEN (1 + 2 * HEX_LEN) /* '@' GEN TAG */
#define RESETS_PER_REQUEST 3	   /* runtime resets before "-reset" */
#define HELD_MAX 64		   /* the kv channel's max_messages: all in flight */
#define HELD_REPLY_MAX 256	   /* the longest table reply, wrapped */

_Static_assert(VE_MSG_MAX >= 1 + HEX_LEN + 1 + KV_VAL_MAX, "a wrapped reply must fit a message");

/* The Redis face's part of the stash, after the table: its durable log
 * (rlog.h). Its snapshot areas (a quarter each) bound the keyspace. */
#define RKV_REGION (12u << 20)

struct kv {
	struct kv_stash *st; /* at VE_STASH_BASE */
	struct ve_rng rng;   /* picks generations */
	struct ve_heartbeat hb;
	uint16_t port; /* the Redis face's TCP port; 0: none */
	char disk[24]; /* the disk's channel ("disk=blk0"); "" for none */
	struct rnet net;
	int32_t h; /* the kv channel */
	/* Table replies waiting for the disk to have what they answer. */
	struct held {
		uint64_t id;
		uint32_t n;
		char out[HELD_REPLY_MAX];
	} held[HELD_MAX];
	unsigned nheld;
};

/* What a handler returns when the table failed a check: see lost(). */
#define KV_LOST ((size_t)-1)

/* Keep the compiler from moving stash stores across this point. */
static inline void ordered(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/*
 * Commit the stash now (abi.h: a cast commits at its start, whatever it
 * returns; one on a handle nobody has sends nothing). For what must be
 * kept before kv tells anyone about it, when no reply or call comes first.
 */
static void commit(void)
{
	ordered();
	(void)ve_chan_cast(VE_HANDLES_MAX + 1, "", 0, 0);
	ordered();
}

/* A new generation: random and never 0, so a client's 0 never matches. */
static uint64_t new_gen(struct kv *kv)
{
	uint64_t g = ve_rng_next(&kv->rng) ^ ve_clock_ns();

	return g ? g : 1;
}

/*
 * Post the event ev with the fields "reason":why (unless why is NULL),
 * more[0..nmore) (nmore <= 2) and "gen":<16 hex digits>.
 */
static void post_gen(const char *ev, const char *why, uint64_t gen, const struct ve_kv *more,
		     size_t nmore)
{
	struct ve_kv f[4];
	char hex[HEX_LEN + 1];
	size_t n = 0;

	ve_hex16_put(hex, gen);
	hex[HEX_LEN] = '\0';
	if (why)
		f[n++] = VE_KV_STR("reason", why);
	for (size_t i = 0; i < nmore && i < 2; i++)
		f[n++] = more[i];
	f[n++] = VE_KV_STR("gen", hex);
	ve_event(ev, f, n);
}

/*
 * Post the table's kv_reset if it has not been posted yet, then mark it
 * posted. The table is committed first and the mark right after: events
 * are not commits, so a death before the first commit would undo a table
 * whose event was out (and the next incarnation would post another
 * generation), and one before the second would post it again. The mark
 * lives in the stash, so a death between making a table and posting its
 * event cannot make a table nobody hears of; a death between the event
 * and the second commit posts it again, with the same gen.
 */
static void announce(struct kv *kv)
{
	enum kv_why why = kv_unposted(kv->st);

	if (why == KV_WHY_NONE || why >= KV_WHY_N)
		return;
	commit();
	post_gen("kv_reset", kv_why_names[why], kv->st->gen, NULL, 0);
	ve_printf("kv: table reset (%s)\n", kv_why_names[why]);
	kv_posted(kv->st);
	commit();
}

/*
 * The table failed a check while kv runs: make a new one and say so (see
 * the file comment).
 */
static void lost(struct kv *kv)
{
	kv_stash_init(kv->st, new_gen(kv), KV_WHY_RUNTIME);
	if (kv->net.disk.state == RDISK_OK || kv->net.disk.state == RDISK_FAILED) {
		/* The disk has every change answered: the next incarnation
		 * finds the new table unannounced and reads the disk's (exit
		 * commits it). */
		ve_printf("kv: table failed a check; restarting to read it from the disk\n");
		ve_exit(1);
	}
	announce(kv);
}

/* Map the stash, with recovery windows, and check it. Returns 0 or
 * ve_stash_open's error. */
static int stash_open(struct kv *kv)
{
	long base;
	enum kv_why why;

	base = ve_stash_open_wait(KV_STASH_SIZE + (kv->port ? RKV_REGION : 0), VE_STASH_WINDOWS);
	if (base < 0)
		return (int)base;
	kv->st = (struct kv_stash *)(uintptr_t)base;
	why = kv_stash_check(kv->st);
	if (why != KV_WHY_NONE)
		kv_stash_init(kv->st, new_gen(kv), why);
	if (!kv->disk[0] || !kv->port)
		announce(kv); /* with a disk: once the disk had no table for it */
	struct ve_kv f[] = { VE_KV_NUM("entries", kv->st->count) };
	post_gen("kv_ready", NULL, kv->st->gen, f, 1);
	return 0;
}

/* A parsed request. */
struct kv_req {
	char op;
	const char *key, *val;
	size_t klen, vlen;
};

/* Check a plain request's shape. Returns 0 or -VE_INVAL. */
static int parse(const char *buf, size_t len, struct kv_req *q)
{
	if (len < 1)
		return -VE_INVAL;
	q->op = buf[0];
	if (q->op == 'N' || q->op == 'E')
		return len == 1 ? 0 : -VE_INVAL;
	if (q->op != 'G' && q->op != 'P' && q->op != 'D')
		return -VE_INVAL;
	if (len < 2)
		return -VE_INVAL;
	q->klen = (uint8_t)buf[1];
	if (q->klen < 1 || q->klen > KV_KEY_MAX || len < 2 + q->klen)
		return -VE_INVAL;
	q->key = buf + 2;
	q->val = q->key + q->klen;
	q->vlen = len - 2 - q->klen;
	if (q->op == 'P')
		return q->vlen <= KV_VAL_MAX ? 0 : -VE_INVAL;
	return q->vlen == 0 ? 0 : -VE_INVAL;
}

/* The reply text s into out (at most cap bytes). Returns its length. */
static size_t say(char *out, size_t cap, const char *s)
{
	return (size_t)fmt_snprintf(out, cap, "%s", s);
}

/* "-nokey" or "-full" (s) into out, if the whole table checks; KV_LOST
 * if it does not (the answer might come from damage). */
static size_t say_checked(struct kv *kv, char *out, size_t cap, const char *s)
{
	if (kv_table_problem(kv->st) != KV_WHY_NONE)
		return KV_LOST;
	return say(out, cap, s);
}

/*
 * The do_* handlers write the reply for request q into out (cap bytes) and
 * return its length, or KV_LOST (nothing changed, nothing written) if the
 * table failed a check on the way.
 */
static size_t do_get(struct kv *kv, const struct kv_req *q, char *out, size_t cap)
{
	int i = kv_find(kv->st, q->key, q->klen);
	size_t vlen;

	if (i < 0)
		return say_checked(kv, out, cap, "-nokey");
	if (!kv_slot_ok(kv->st, (uint32_t)i))
		return KV_LOST;
	vlen = kv->st->table[i].vlen;
	if (vlen > KV_VAL_MAX || 1 + vlen > cap)
		return KV_LOST; /* flipped since the check */
	out[0] = '+';
	memcpy(out + 1, kv->st->table[i].val, vlen);
	return 1 + vlen;
}

/* A change to the table goes to the disk's pending bytes (rdisk.h). */
static void note(struct kv *kv, const struct kv_req *q)
{
	uint8_t c[RTABLE_CHANGE_MAX];
	size_t n = rtable_change(c, kv->st->gen, q->op, q->key, q->klen, q->val, q->vlen);

	rdisk_note_table(&kv->net.disk, c, n);
}

static size_t do_put(struct kv *kv, const struct kv_req *q, uint64_t id, char *out, size_t cap)
{
	struct kv_entry e;
	int i;

	if (kv_replayed(kv->st, id))
		return say(out, cap, "+"); /* a replay, applied */
	i = kv_find(kv->st, q->key, q->klen);
	if (i < 0)
		i = kv_find_free(kv->st);
	if (i < 0)
		return say_checked(kv, out, cap, "-full");
	memset(&e, 0, sizeof(e));
	e.used = 1;
	e.klen = (uint8_t)q->klen;
	e.vlen = (uint8_t)q->vlen;
	memcpy(e.key, q->key, q->klen);
	memcpy(e.val, q->val, q->vlen);
	if (!kv_change(kv->st, (uint32_t)i, &e, id))
		return KV_LOST;
	note(kv, q);
	return say(out, cap, "+");
}

static size_t do_delete(struct kv *kv, const struct kv_req *q, uint64_t id, char *out, size_t cap)
{
	static const struct kv_entry empty;
	int i;

	if (kv_replayed(kv->st, id))
		return say(out, cap, "+"); /* a replay, applied */
	i = kv_find(kv->st, q->key, q->klen);
	if (i < 0)
		return say_checked(kv, out, cap, "-nokey");
	if (!kv_change(kv->st, (uint32_t)i, &empty, id))
		return KV_LOST;
	note(kv, q);
	return say(out, cap, "+");
}

/*
 * Answer parsed request q once: "-epoch" if it is wrapped (gen is the
 * client's generation) and gen is not the table's, else the op's answer.
 * Returns the reply length or KV_LOST.
 */
static size_t attempt(struct kv *kv, const struct kv_req *q, bool wrapped, uint64_t gen,
		      uint64_t id, char *out, size_t cap)
{
	bool stale = wrapped && gen != kv->st->gen;

	if (!kv_gen_ok(kv->st))
		return KV_LOST;
	if (stale || q->op == 'E') {
		size_t n = say(out, cap, stale ? "-epoch" : "+");

		ve_hex16_put(out + n, kv->st->gen); /* cap is far above 7 + HEX_LEN */
		return n + HEX_LEN;
	}
	switch (q->op) {
	case 'G':
		return do_get(kv, q, out, cap);
	case 'P':
		return do_put(kv, q, id, out, cap);
	case 'D':
		return do_delete(kv, q, id, out, cap);
	default:
		/* the count is only as good as the table it counts */
		if (kv_table_problem(kv->st) != KV_WHY_NONE)
			return KV_LOST;
		return (size_t)fmt_snprintf(out, cap, "+%u", (unsigned)kv->st->count);
	}
}

/*
 * The reply to the plain request req[0..len) into out (cap bytes), wrapped
 * or not; a table that fails a check on the way is replaced (lost()) and
 * the request answered against the new one. Returns the reply's length.
 */
static size_t serve(struct kv *kv, const char *req, size_t len, bool wrapped, uint64_t gen,
		    uint64_t id, char *out, size_t cap)
{
	struct kv_req q = { 0 };
	size_t n;

	if (parse(req, len, &q) < 0)
		return say(out, cap, "-badreq");
	for (int i = 0; i < RESETS_PER_REQUEST; i++) {
		n = attempt(kv, &q, wrapped, gen, id, out, cap);
		if (n != KV_LOST)
			return n;
		lost(kv);
	}
	return say(out, cap, "-reset");
}

/* The reply to message buf[0..len) into out (VE_MSG_MAX bytes). Returns
 * its length. */
static size_t answer(struct kv *kv, const char *buf, size_t len, uint64_t id, char *out)
{
	uint64_t gen, tag;

	if (len < 1 || buf[0] != '@')
		return serve(kv, buf, len, false, 0, id, out, VE_MSG_MAX);
	if (len <= WRAP_LEN || ve_hex16_parse(buf + 1, &gen) < 0 ||
	    ve_hex16_parse(buf + 1 + HEX_LEN, &tag) < 0 || buf[WRAP_LEN] == '@')
		return say(out, VE_MSG_MAX, "-badreq");
	out[0] = '=';
	ve_hex16_put(out + 1, tag);
	return 1 + HEX_LEN +
	       serve(kv, buf + WRAP_LEN, len - WRAP_LEN, true, gen, id, out + 1 + HEX_LEN,
		     VE_MSG_MAX - 1 - HEX_LEN);
}

/* Handle one received message. Returns 0 or the reply/ack error. */
static int handle(struct kv *kv, int h, const struct ve_msg *m, const char *buf, size_t len)
{
	static char out[VE_MSG_MAX];
	size_t n;

	kv_hook_request(m, buf, len, kv->st);
	if (m->kind != VE_MSG_CALL)
		return ve_chan_ack(h, m->id);
	n = answer(kv, buf, len, m->id, out);
	kv_hook_reply();
	/* No answer from code that changed under us (bits flipped in it): the
	 * check exits instead, the kernel replays the request to the next
	 * incarnation, and the client gets that one's answer. A fault
	 * campaign found kv answering "-badreq" for the ~100 ms between such a
	 * flip and its next heartbeat's check. It costs a hash of ~22 KB. */
	ve_image_check(&kv->hb);
	if (rdisk_holding(&kv->net.disk) && kv->nheld < HELD_MAX && n <= HELD_REPLY_MAX) {
		struct held *d = &kv->held[kv->nheld++];

		d->id = m->id;
		d->n = (uint32_t)n;
		memcpy(d->out, out, n);
		return 0; /* answered once the disk has it: release() */
	}
	if (rdisk_holding(&kv->net.disk))
		rdisk_commit(&kv->net.disk); /* no room to hold it: make it durable now */
	return ve_chan_reply(h, m->id, out, n);
}

/* rnet's group commit made the table's changes durable: answer. */
static void release(void *ctx)
{
	struct kv *kv = ctx;

	for (unsigned i = 0; i < kv->nheld; i++)
		ve_chan_reply(kv->h, kv->held[i].id, kv->held[i].out, kv->held[i].n);
	kv->nheld = 0;
}

/* The disk was read back: the table is the disk's, or, if the disk had
 * none for it (or cannot be used), the one made at start is announced. */
static void loaded(void *ctx)
{
	struct kv *kv = ctx;
	const struct rdisk *d = &kv->net.disk;

	if (d->table_from_disk && d->table_found && d->state != RDISK_UNUSABLE) {
		kv_posted(kv->st);
		post_gen("kv_table_disk", NULL, kv->st->gen,
			 (struct ve_kv[]){ VE_KV_NUM("entries", kv->st->count) }, 1);
		return;
	}
	announce(kv);
}

/* Parse the args: *beat for "heartbeat", kv->port for "port=N", the
 * hook's, and any other "name=value" for the engine's settings (checked
 * by rnet_start). Returns 0 or -VE_INVAL. */
static int parse_args(struct kv *kv, const char *args, bool *beat)
{
	const char *p = ve_skip_space(args);
	uint64_t port;
	int r;

	*beat = false;
	while (*p) {
		size_t n = ve_word_len(p);

		if (ve_word_is(p, n, "heartbeat"))
			*beat = true;
		else if (n > 5 && !memcmp(p, "port=", 5) &&
			 num_parse(p + 5, n - 5, false, 65535, &port) && port)
			kv->port = (uint16_t)port;
		else if (n > 5 && n - 5 < sizeof(kv->disk) && !memcmp(p, "disk=", 5))
			memcpy(kv->disk, p + 5, n - 5);
		else if ((r = kv_hook_arg(p, n)) < 0)
			return -VE_INVAL;
		else if (r == 0 && memchr(p, '=', n) && kv->net.nconf < RNET_CONF_MAX)
			kv->net.conf[kv->net.nconf++] = (struct rs_arg){ (const uint8_t *)p, n };
		else if (r == 0)
			return -VE_INVAL;
		p = ve_skip_space(p + n);
	}
	return 0;
}

/* Wait for the next message (beating on time) and answer it: handle
 * answers once the effect is done. Returns 0, or an error. */
static int serve_one(struct kv *kv, int32_t *h)
{
	static char buf[VE_MSG_MAX];
	struct ve_msg msg;
	long len = ve_serve_next(*h, &kv->hb, buf, sizeof(buf), &msg);
	int r;

	if (len == -VE_AGAIN)
		return 0;
	if (len < 0) {
		ve_printf("kv: next: %s\n", ve_strerror(len));
		return (int)len;
	}
	r = handle(kv, *h, &msg, buf, (size_t)len);
	if (r < 0)
		ve_printf("kv: answer %llu: %s\n", (unsigned long long)msg.id, ve_strerror(r));
	return r < 0 ? r : 0;
}

/*
 * The loop of a kv with a Redis face: the table's channel and the TCP/IP
 * service's events in one wait, bounded by the heartbeat and the Redis
 * face's own work. Returns kv's exit code.
 */
static int serve_both(struct kv *kv, int32_t h)
{
	static char buf[VE_MSG_MAX];
	void *region = (uint8_t *)kv->st + KV_STASH_SIZE;
	int r;

	kv->net.hb = &kv->hb;
	kv->net.disk_chan = kv->disk[0] ? kv->disk : NULL;
	kv->net.disk.table = kv->disk[0] ? kv->st : NULL;
	kv->net.hook_ctx = kv;
	kv->net.on_release = release;
	kv->net.on_load = loaded;
	kv->h = h;
	r = rnet_start(&kv->net, kv->port, region, RKV_REGION);

	if (r < 0) {
		ve_printf("kv: redis on port %u: %s\n", kv->port, ve_strerror(r));
		return 1;
	}
	int32_t hs[2] = { h, kv->net.notify };
	for (;;) {
		uint64_t beat = ve_heartbeat_due(&kv->hb), work = rnet_work(&kv->net);
		/* The table is served once the disk has been read back. */
		bool wait = kv->net.disk.state == RDISK_WAIT;
		struct ve_next nx = { .handles = hs + wait, .n = 2 - wait, .cap = sizeof(buf) };

		nx.timeout_ns = work == 0 ? 1 : beat && beat < work ? beat : work;
		long len = ve_chan_next(h, 0, buf, 0, &nx);
		if (len == -VE_TIMEOUT)
			continue;
		if (len < 0) {
			ve_printf("kv: next: %s\n", ve_strerror(len));
			return 1;
		}
		if (nx.result.handle == h) {
			if ((r = handle(kv, h, &nx.msg, buf, (size_t)len)) < 0)
				return 1;
			continue;
		}
		if (nx.result.handle == kv->net.notify) {
			rnet_event(&kv->net, buf, (size_t)len);
			if (nx.msg.kind == VE_MSG_CALL)
				ve_chan_reply(kv->net.notify, nx.msg.id, "", 0);
			else
				ve_chan_ack(kv->net.notify, nx.msg.id);
		}
	}
}

int main(const char *args)
{
	struct kv kv = { 0 };
	int32_t h;
	bool beat;
	int r;

	if (parse_args(&kv, args, &beat) < 0) {
		ve_printf("kv: bad args '%s' (want [heartbeat] [port=N] [disk=CHANNEL] "
			  "[NAME=VALUE]...)\n",
			  args);
		return 2;
	}
	ve_rng_seed(&kv.rng, (uint64_t)ve_getpid() * 0x100000001b3ull + ve_clock_ns());
	if ((r = ve_heartbeat_init(&kv.hb, beat ? HEARTBEAT_MS * 1000000ull : 0)) < 0) {
		ve_printf("kv: open sup: %s\n", ve_strerror(r));
		return 1;
	}
	ve_heartbeat_due(&kv.hb);
	if ((r = stash_open(&kv)) < 0) {
		ve_printf("kv: stash: %s\n", ve_strerror(r));
		return 1;
	}
	if ((h = ve_chan_serve_wait("kv")) < 0) {
		ve_printf("kv: serve kv: %s\n", ve_strerror(h));
		return 1;
	}
	if (kv.port)
		return serve_both(&kv, h);
	for (;;)
		if (serve_one(&kv, &h) < 0)
			return 1;
}
