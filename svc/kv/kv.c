/*
 * kv: a small key-value service on the channel "kv" that keeps its whole
 * table in its stash, so a crash or a kill loses nothing it has acknowledged.
 *
 * Protocol (svc/kv/README.md has the same with examples). Every request is
 * a call; the reply's first byte says how it went: '+' ok, '-' an error
 * followed by its name.
 *
 *   'G' klen key            get    -> '+' value        | "-nokey"
 *   'P' klen key value      put    -> '+'              | "-full"
 *   'D' klen key            delete -> '+'              | "-nokey"
 *   'N'                     count  -> '+' decimal count of entries
 *
 * klen is one byte, 1..KV_KEY_MAX; the key is klen bytes (any bytes); a
 * value is the rest of the message, 0..KV_VAL_MAX bytes. A request of the
 * wrong size, an unknown op or a bad klen gets "-badreq"; a cast is acked
 * and otherwise ignored (there is nobody to answer).
 *
 * Durability: the reply is sent only after the change is in the stash.
 * Every change goes through a one-entry redo record: the new entry, count,
 * checksum and message id are written into the record, the record is armed
 * with one store, the table is updated in place, and the record is disarmed.
 * A death at any instruction leaves either an unarmed record (nothing
 * happened: the kernel replays the request) or an armed one, which the next
 * incarnation applies again before it serves (applying it twice is
 * harmless). The id of the last applied change is kept with the table, so a
 * replayed put or delete (same message id) is answered without being applied
 * twice.
 *
 * On start the stash is checked: magic, version, every slot's and the redo
 * record's fields against their ranges, the redo record against the table
 * (applied only if it checks), the checksum (a sum of per-slot FNV-1a
 * hashes, updated incrementally per change) and the count. If any of it is
 * wrong, or the stash is new, the table starts empty and the event
 * {"ev":"kv_reset","reason":"new"|"magic"|"corrupt"|"checksum"|"count"}
 * says so. No number from the stash is used unchecked and no loop is
 * bounded by one, so a stash with any bits flipped is reset, never hangs or
 * crashes kv (the supervisor's discard after K crashes is the backstop).
 * Then {"ev":"kv_ready","entries":N,"redone":0|1} (redone: an armed redo
 * record was applied).
 *
 * Args (words, any order):
 *   heartbeat  open "sup" and cast it "H" every HEARTBEAT_MS
 *   crash=N    test hook: a request seen for the first time crashes the
 *              server with probability 1/N, at a random stage of its
 *              handling (also in the middle of a change); 0 = never
 *   selftest=N test hook: instead of serving, corrupt N copies of a scratch
 *              table (1..8 random bit flips each, some with an armed redo
 *              record) and check that the start-up check either resets
 *              each or keeps exactly the right table; posts
 *              {"ev":"kv_selftest","trials":N,"reset":R,"kept":K,"bad":B}
 * Exit codes: 1 a channel or stash call failed, 2 bad args, 3 a selftest
 * trial went wrong.
 */
#include "vesta.h"

/* -VE_BUSY retries of stash(), 1 ms apart: the previous incarnation may
 * still be on its way out. */
#define STASH_TRIES 100

#define KV_KEY_MAX 32
#define KV_VAL_MAX 128
#define KV_ENTRIES 512
#define KV_STASH_SIZE (128u * 1024)    /* the table and its header, rounded up */
#define KV_MAGIC 0x31766b6174736576ull /* "vestakv1" */
#define KV_VERSION 1u
#define HEARTBEAT_MS 100 /* well inside any sensible policy heartbeat */
/* -VE_BUSY retries, 1 ms apart: the last incarnation may still be dying. */

/* One slot. An unused slot is all zero, so its hash is fixed. */
struct kv_entry {
	uint8_t used; /* 0 or 1 */
	uint8_t klen; /* 1..KV_KEY_MAX when used */
	uint8_t vlen; /* 0..KV_VAL_MAX */
	uint8_t pad;
	char key[KV_KEY_MAX];
	char val[KV_VAL_MAX];
};

/* One change, complete before `armed` is set; see the file comment. */
struct kv_redo {
	uint64_t armed; /* 1: apply this again at start */
	uint64_t id;	/* the message id of the change */
	uint64_t sum;	/* the table checksum after the change */
	uint32_t slot;
	uint32_t count;
	struct kv_entry entry; /* the slot's new content */
};

/* The stash. magic is written last when a table is made. */
struct kv_stash {
	uint64_t magic;
	uint32_t version;
	uint32_t count;	  /* used slots */
	uint64_t sum;	  /* sum over slots of slot_hash() */
	uint64_t last_id; /* message id of the last applied change */
	struct kv_redo redo;
	struct kv_entry table[KV_ENTRIES];
};

_Static_assert(sizeof(struct kv_stash) <= KV_STASH_SIZE, "kv table outgrew its stash");

/* Stages of handling a request where the crash=N hook may strike. */
enum crash_stage {
	CRASH_NONE,
	CRASH_RECEIVED,	 /* before anything is done */
	CRASH_RECORDING, /* redo record half written, not armed */
	CRASH_ARMED,	 /* record armed, table untouched */
	CRASH_APPLYING,	 /* slot written, header not yet */
	CRASH_APPLIED,	 /* change complete, reply not sent */
	CRASH_NSTAGES
};

struct kv {
	struct kv_stash *st; /* at VE_STASH_BASE */
	struct ve_rng rng;
	uint64_t crash_every; /* crash=N */
	uint64_t selftest;    /* selftest=N */
	struct ve_heartbeat hb;
};

/* Keep the compiler from moving stash stores across this point: a death
 * between two statements must see them done in program order. */
static inline void ordered(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static _Noreturn void crash(void)
{
	*(volatile int *)0 = 1;
	__builtin_trap();
}

static void maybe_crash(enum crash_stage at, enum crash_stage now)
{
	if (at == now)
		crash();
}

static uint64_t slot_hash(uint32_t slot, const struct kv_entry *e)
{
	const uint8_t *p = (const uint8_t *)e;
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < 4; i++) {
		h ^= (slot >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	for (size_t i = 0; i < sizeof(*e); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The checksum and used-slot count of the whole table, from scratch. */
static uint64_t table_sum(const struct kv_stash *st, uint32_t *count)
{
	uint64_t sum = 0;

	*count = 0;
	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		sum += slot_hash(i, &st->table[i]);
		*count += st->table[i].used != 0;
	}
	return sum;
}

/* Apply the armed redo record, then disarm it. Idempotent. */
static void redo_apply(struct kv_stash *st, enum crash_stage at)
{
	struct kv_redo *r = &st->redo;

	st->table[r->slot] = r->entry;
	ordered();
	maybe_crash(at, CRASH_APPLYING);
	st->count = r->count;
	st->sum = r->sum;
	st->last_id = r->id;
	ordered();
	r->armed = 0;
	ordered();
}

/*
 * Make slot `slot` hold *e (all zero: deleted) as the change of message id,
 * through the redo record.
 */
static void change(struct kv_stash *st, uint32_t slot, const struct kv_entry *e, uint64_t id,
		   enum crash_stage at)
{
	struct kv_redo *r = &st->redo;
	const struct kv_entry *old = &st->table[slot];

	r->id = id;
	r->slot = slot;
	r->count = st->count + (e->used && !old->used) - (!e->used && old->used);
	maybe_crash(at, CRASH_RECORDING);
	r->sum = st->sum - slot_hash(slot, old) + slot_hash(slot, e);
	r->entry = *e;
	ordered();
	r->armed = 1;
	ordered();
	maybe_crash(at, CRASH_ARMED);
	redo_apply(st, at);
}

/*
 * Whether slot e is well formed: used is 0 or 1, a used slot's lengths are
 * in range, and an unused slot is all zero (a delete writes zeros). Only
 * lengths checked here are ever used to copy or compare bytes.
 */
static bool entry_ok(const struct kv_entry *e)
{
	if (e->used == 1)
		return e->klen >= 1 && e->klen <= KV_KEY_MAX && e->vlen <= KV_VAL_MAX &&
		       e->pad == 0;
	return e->used == 0 && e->klen == 0 && e->vlen == 0 && e->pad == 0;
}

/* Whether every slot of the table is well formed. */
static bool table_ok(const struct kv_stash *st)
{
	for (uint32_t i = 0; i < KV_ENTRIES; i++)
		if (!entry_ok(&st->table[i]))
			return false;
	return true;
}

/*
 * Whether the armed redo record may be applied: its slot and entry are in
 * range, and the checksum and count it carries are exactly what the table
 * will have once the slot holds its entry (the table itself being well
 * formed and summing, without that slot, to what it did before). A record
 * that fails any of it was not written by change(): applying it could only
 * make things worse.
 */
static bool redo_ok(const struct kv_stash *st)
{
	const struct kv_redo *r = &st->redo;
	uint32_t count;
	uint64_t sum;

	if (r->armed != 1 || r->slot >= KV_ENTRIES || r->count > KV_ENTRIES || !entry_ok(&r->entry))
		return false;
	sum = table_sum(st, &count);
	sum = sum - slot_hash(r->slot, &st->table[r->slot]) + slot_hash(r->slot, &r->entry);
	count = count - st->table[r->slot].used + r->entry.used;
	return sum == r->sum && count == r->count;
}

/*
 * Why the stash cannot be used as it is, or NULL if it can, applying an
 * armed redo record first if it checks out. Every number read from the
 * stash is range-checked before it indexes, sizes or bounds anything, and
 * every loop here runs over KV_ENTRIES, never over a count from the stash,
 * so a stash with any bits flipped ends in a reason, never a hang or a
 * fault. "corrupt": a field out of range or a redo record that does not
 * check.
 */
static const char *stash_problem(struct kv_stash *st)
{
	uint32_t count;

	if (st->magic == 0)
		return "new";
	if (st->magic != KV_MAGIC || st->version != KV_VERSION)
		return "magic";
	if (st->count > KV_ENTRIES || st->redo.armed > 1 || !table_ok(st))
		return "corrupt";
	if (st->redo.armed) {
		if (!redo_ok(st))
			return "corrupt";
		redo_apply(st, CRASH_NONE);
	}
	if (table_sum(st, &count) != st->sum)
		return "checksum";
	if (count != st->count)
		return "count";
	return NULL;
}

/* An empty table; magic last, so a death midway means "new" next time. */
static void stash_init(struct kv_stash *st)
{
	uint32_t count;

	st->magic = 0;
	ordered();
	memset(&st->table, 0, sizeof(st->table));
	memset(&st->redo, 0, sizeof(st->redo));
	st->version = KV_VERSION;
	st->count = 0;
	st->last_id = 0;
	st->sum = table_sum(st, &count);
	ordered();
	st->magic = KV_MAGIC;
	ordered();
}

/* Map the stash and check it. Returns 0 or ve_stash's error. */
static int stash_open(struct kv *kv)
{
	long base = -VE_BUSY;
	const char *why;
	bool redone;

	for (int i = 0; i < STASH_TRIES && base == -VE_BUSY; i++) {
		base = ve_stash(KV_STASH_SIZE);
		if (base == -VE_BUSY)
			ve_sleep_ms(1);
	}
	if (base < 0)
		return (int)base;
	kv->st = (struct kv_stash *)(uintptr_t)base;
	redone = kv->st->magic == KV_MAGIC && kv->st->redo.armed;
	why = stash_problem(kv->st);
	if (why) {
		redone = false;
		stash_init(kv->st);
		ve_event_str("kv_reset", "reason", why);
		ve_printf("kv: table reset (%s)\n", why);
	}
	struct ve_kv f[] = {
		VE_KV_NUM("entries", kv->st->count),
		VE_KV_NUM("redone", redone),
	};
	ve_event("kv_ready", f, 2);
	return 0;
}

/* The slot holding key, or -1. */
static int find(const struct kv_stash *st, const char *key, size_t klen)
{
	for (int i = 0; i < KV_ENTRIES; i++) {
		const struct kv_entry *e = &st->table[i];
		if (e->used && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return i;
	}
	return -1;
}

static int find_free(const struct kv_stash *st)
{
	for (int i = 0; i < KV_ENTRIES; i++)
		if (!st->table[i].used)
			return i;
	return -1;
}

/* A parsed request. */
struct kv_req {
	char op;
	const char *key, *val;
	size_t klen, vlen;
};

/* Check the request's shape. Returns 0 or -VE_INVAL. */
static int parse(const char *buf, size_t len, struct kv_req *q)
{
	if (len < 1)
		return -VE_INVAL;
	q->op = buf[0];
	if (q->op == 'N')
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

/* Reply text for a request into out (VE_MSG_MAX bytes). Returns its length. */
static size_t do_get(struct kv *kv, const struct kv_req *q, char *out)
{
	int i = find(kv->st, q->key, q->klen);
	size_t vlen;

	if (i < 0)
		return (size_t)fmt_snprintf(out, VE_MSG_MAX, "-nokey");
	/* Bits may flip in the stash while we run: copy no more than a slot
	 * holds (the checksum finds the damage at the next start). */
	vlen = kv->st->table[i].vlen;
	if (vlen > KV_VAL_MAX)
		vlen = KV_VAL_MAX;
	out[0] = '+';
	memcpy(out + 1, kv->st->table[i].val, vlen);
	return 1 + vlen;
}

static size_t do_put(struct kv *kv, const struct kv_req *q, uint64_t id, enum crash_stage at,
		     char *out)
{
	struct kv_entry e;
	int i;

	if (kv->st->last_id == id)
		return (size_t)fmt_snprintf(out, VE_MSG_MAX, "+"); /* a replay, applied */
	i = find(kv->st, q->key, q->klen);
	if (i < 0)
		i = find_free(kv->st);
	if (i < 0)
		return (size_t)fmt_snprintf(out, VE_MSG_MAX, "-full");
	memset(&e, 0, sizeof(e));
	e.used = 1;
	e.klen = (uint8_t)q->klen;
	e.vlen = (uint8_t)q->vlen;
	memcpy(e.key, q->key, q->klen);
	memcpy(e.val, q->val, q->vlen);
	change(kv->st, (uint32_t)i, &e, id, at);
	return (size_t)fmt_snprintf(out, VE_MSG_MAX, "+");
}

static size_t do_delete(struct kv *kv, const struct kv_req *q, uint64_t id, enum crash_stage at,
			char *out)
{
	static const struct kv_entry empty;
	int i;

	if (kv->st->last_id == id)
		return (size_t)fmt_snprintf(out, VE_MSG_MAX, "+"); /* a replay, applied */
	i = find(kv->st, q->key, q->klen);
	if (i < 0)
		return (size_t)fmt_snprintf(out, VE_MSG_MAX, "-nokey");
	change(kv->st, (uint32_t)i, &empty, id, at);
	return (size_t)fmt_snprintf(out, VE_MSG_MAX, "+");
}

/* Where the crash=N hook strikes for message m, if at all. */
static enum crash_stage crash_stage_for(struct kv *kv, const struct ve_msg *m)
{
	if (kv->crash_every == 0 || m->redelivered > 0 ||
	    ve_rng_below(&kv->rng, kv->crash_every) != 0)
		return CRASH_NONE;
	return (enum crash_stage)(1 + ve_rng_below(&kv->rng, CRASH_NSTAGES - 1));
}

/* Handle one received message. Returns 0 or the reply/ack error. */
static int handle(struct kv *kv, int h, const struct ve_msg *m, const char *buf, size_t len)
{
	static char out[VE_MSG_MAX];
	enum crash_stage at = crash_stage_for(kv, m);
	struct kv_req q;
	size_t n;

	maybe_crash(at, CRASH_RECEIVED);
	if (m->kind != VE_MSG_CALL)
		return ve_chan_ack(h, m->id);
	if (parse(buf, len, &q) < 0)
		n = (size_t)fmt_snprintf(out, sizeof(out), "-badreq");
	else if (q.op == 'G')
		n = do_get(kv, &q, out);
	else if (q.op == 'P')
		n = do_put(kv, &q, m->id, at, out);
	else if (q.op == 'D')
		n = do_delete(kv, &q, m->id, at, out);
	else
		n = (size_t)fmt_snprintf(out, sizeof(out), "+%u", (unsigned)kv->st->count);
	maybe_crash(at, CRASH_APPLIED);
	return ve_chan_reply(h, m->id, out, n);
}

/*
 * A table with a few entries, in st; with an armed redo record (the
 * change written, not yet applied) if armed.
 */
static void selftest_table(struct kv_stash *st, struct ve_rng *rng, bool armed)
{
	struct kv_entry e;

	stash_init(st);
	for (uint32_t i = 0; i < 40; i++) {
		memset(&e, 0, sizeof(e));
		e.used = 1;
		e.klen = (uint8_t)(1 + ve_rng_below(rng, KV_KEY_MAX));
		e.vlen = (uint8_t)ve_rng_below(rng, KV_VAL_MAX + 1);
		memset(e.key, 'a' + (int)(i % 26), e.klen);
		memset(e.val, 'v', e.vlen);
		change(st, (uint32_t)ve_rng_below(rng, KV_ENTRIES), &e, i + 1, CRASH_NONE);
	}
	if (armed) {
		struct kv_redo *r = &st->redo;
		uint32_t slot = (uint32_t)ve_rng_below(rng, KV_ENTRIES);

		e.key[0] = 'z';
		r->id = 1000;
		r->slot = slot;
		r->count = st->count + !st->table[slot].used;
		r->sum = st->sum - slot_hash(slot, &st->table[slot]) + slot_hash(slot, &e);
		r->entry = e;
		r->armed = 1;
	}
}

/*
 * The selftest=N hook (see the file comment): in scratch memory, never the
 * real stash. Returns 0 if every trial ended right, 3 otherwise.
 */
static int selftest(struct kv *kv)
{
	uint64_t size = (sizeof(struct kv_stash) + 4095) & ~4095ull;
	long a = ve_vm_alloc(0, 3 * size, VE_PROT_READ | VE_PROT_WRITE);
	uint64_t reset = 0, kept = 0, bad = 0;
	struct kv_stash *orig, *want, *t;

	if (a < 0) {
		ve_printf("kv: selftest: vm_alloc: %s\n", ve_strerror(a));
		return 1;
	}
	orig = (struct kv_stash *)(uintptr_t)a;
	want = (struct kv_stash *)(uintptr_t)(a + (long)size);
	t = (struct kv_stash *)(uintptr_t)(a + 2 * (long)size);
	for (uint64_t n = 0; n < kv->selftest; n++) {
		selftest_table(orig, &kv->rng, n % 2);
		*want = *orig;
		if (stash_problem(want) != NULL) {
			bad++; /* a sound table must pass */
			continue;
		}
		*t = *orig;
		for (uint64_t f = 1 + ve_rng_below(&kv->rng, 8); f > 0; f--) {
			uint64_t bit = ve_rng_below(&kv->rng, sizeof(*t) * 8);
			((uint8_t *)t)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		if (stash_problem(t) != NULL)
			reset++;
		else if (memcmp(t->table, want->table, sizeof(t->table)) == 0 &&
			 t->count == want->count)
			kept++;
		else
			bad++;
	}
	struct ve_kv f[] = {
		VE_KV_NUM("trials", kv->selftest),
		VE_KV_NUM("reset", reset),
		VE_KV_NUM("kept", kept),
		VE_KV_NUM("bad", bad),
	};
	ve_event("kv_selftest", f, 4);
	return bad ? 3 : 0;
}

/* Parse the args into *kv. Returns 0 or -VE_INVAL. */
static int parse_args(const char *args, struct kv *kv, bool *beat)
{
	const char *p = ve_skip_space(args);

	*beat = false;
	kv->crash_every = 0;
	kv->selftest = 0;
	while (*p) {
		size_t n = ve_word_len(p);
		if (ve_word_is(p, n, "heartbeat")) {
			*beat = true;
			p += n;
		} else if (n > 9 && strncmp(p, "selftest=", 9) == 0) {
			p += 9;
			if (ve_parse_u64(&p, &kv->selftest) < 0)
				return -VE_INVAL;
		} else if (n > 6 && strncmp(p, "crash=", 6) == 0) {
			p += 6;
			if (ve_parse_u64(&p, &kv->crash_every) < 0)
				return -VE_INVAL;
		} else {
			return -VE_INVAL;
		}
		p = ve_skip_space(p);
	}
	return 0;
}

/* Receive and answer until the queue is empty. Returns 0 or an error. */
static int drain(struct kv *kv, int h)
{
	static char buf[VE_MSG_MAX];
	struct ve_msg m;
	long len;
	int r;

	while ((len = ve_chan_recv(h, &m, buf, sizeof(buf))) >= 0) {
		r = handle(kv, h, &m, buf, (size_t)len);
		if (r < 0) {
			ve_printf("kv: answer %llu: %s\n", (unsigned long long)m.id,
				  ve_strerror(r));
			return r;
		}
		ve_heartbeat_due(&kv->hb);
	}
	return len == -VE_AGAIN ? 0 : (int)len;
}

int main(const char *args)
{
	struct kv kv = { 0 };
	struct ve_wait_result wr;
	int32_t h;
	bool beat;
	int r;

	if (parse_args(args, &kv, &beat) < 0) {
		ve_printf("kv: bad args '%s' (want [heartbeat] [crash=N] [selftest=N])\n", args);
		return 2;
	}
	ve_rng_seed(&kv.rng, (uint64_t)ve_getpid() * 0x100000001b3ull + ve_clock_ns());
	if (kv.selftest)
		return selftest(&kv);
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
	for (;;) {
		r = ve_wait_any(&h, 1, ve_heartbeat_due(&kv.hb), &wr);
		if (r < 0 && r != -VE_TIMEOUT) {
			ve_printf("kv: wait_any: %s\n", ve_strerror(r));
			return 1;
		}
		ve_heartbeat_due(&kv.hb);
		if ((r = drain(&kv, h)) < 0)
			return 1;
	}
}
