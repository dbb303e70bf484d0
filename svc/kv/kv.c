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
 * Durability: the reply is sent only after the change is in the stash.
 * Every change goes through a one-entry redo record: the new entry, its
 * slot hash, count, checksum and message id are written into the record,
 * the record is armed with one store, the table is updated in place, and
 * the record is disarmed. A death at any instruction leaves either an
 * unarmed record (nothing happened: the kernel replays the request) or an
 * armed one, which the next incarnation applies again before it serves
 * (applying it twice is harmless). The id of the last applied change is
 * kept with the table, so a replayed put or delete (same message id) is
 * answered without being applied twice.
 *
 * On start the stash is checked: magic, version, the generation, every
 * slot's and the redo record's fields against their ranges, the redo record
 * against the table (applied only if it checks), every slot against its
 * stored FNV-1a hash, the checksum (the sum of those hashes, updated
 * incrementally per change) and the count. If any of it is wrong, or the
 * stash is new, kv makes an empty table with a new generation and
 * {"ev":"kv_reset","reason":"new"|"magic"|"corrupt"|"checksum"|"count",
 * "gen":G} says so. No number from the stash is used unchecked and no loop
 * is bounded by one, so a stash with any bits flipped is reset, never hangs
 * or crashes kv (the supervisor's discard after K crashes is the backstop).
 * Then {"ev":"kv_ready","entries":N,"redone":0|1,"gen":G} (redone: an armed
 * redo record was applied; G: 16 hex digits). The stash remembers whether
 * a table's kv_reset has been posted, so one made by an incarnation that
 * died before posting it is posted by the next; it may thus be posted
 * twice, always with the same gen.
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
 *   crash=N    test hook: a request seen for the first time crashes the
 *              server with probability 1/N, at a random stage of its
 *              handling (also in the middle of a change); 0 = never
 *   selftest=N test hook: instead of serving, corrupt N copies of a scratch
 *              table (1..8 random bit flips each, some with an armed redo
 *              record) and check that the start-up check either resets
 *              each or keeps exactly the right table; posts
 *              {"ev":"kv_selftest","trials":N,"reset":R,"kept":K,"bad":B}
 * Before every reply it checks its own code and constants
 * (ve_image_check): if bits flipped there it exits 70 (VE_EXIT_IMAGE_CORRUPT)
 * without answering, and the kernel replays the request to the next
 * incarnation.
 * Exit codes: 1 a channel or stash call failed, 2 bad args, 3 a selftest
 * trial went wrong, 70 its image changed.
 */
#include "vesta.h"

#define KV_KEY_MAX 32
#define KV_VAL_MAX 128
#define KV_ENTRIES 512
#define KV_STASH_SIZE (128u * 1024)    /* the table and its header, rounded up */
#define KV_MAGIC 0x31766b6174736576ull /* "vestakv1" */
#define KV_VERSION 3u		       /* 2: generations, slot hashes; 3: checked ids */
#define HEARTBEAT_MS 100	       /* well inside any sensible policy heartbeat */
#define HEX_LEN 16		       /* hex digits of a generation or a tag */
#define WRAP_LEN (1 + 2 * HEX_LEN)     /* '@' GEN TAG */
#define RESETS_PER_REQUEST 3	       /* runtime resets before "-reset" */

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
	uint64_t armed;	 /* 1: apply this again at start */
	uint64_t id;	 /* the message id of the change */
	uint64_t id_inv; /* ~id: a flipped bit in either shows */
	uint64_t sum;	 /* the table checksum after the change */
	uint64_t hash;	 /* slot_hash(slot, &entry) */
	uint32_t slot;
	uint32_t count;
	struct kv_entry entry; /* the slot's new content */
};

/* The stash. magic is written last when a table is made. */
struct kv_stash {
	uint64_t magic;
	uint32_t version;
	uint32_t count;	   /* used slots */
	uint64_t sum;	   /* sum of hash[] */
	uint64_t last_id;  /* message id of the last applied change */
	uint64_t last_inv; /* ~last_id, or anything else: no replay is recognised */
	uint64_t gen;	   /* the table's generation, never 0 */
	uint64_t gen_inv;  /* ~gen: a flipped bit in either shows */
	uint32_t unposted; /* enum kv_why of this table's kv_reset if not yet posted */
	uint32_t pad;
	struct kv_redo redo;
	struct kv_entry table[KV_ENTRIES];
	uint64_t hash[KV_ENTRIES]; /* slot_hash(i, &table[i]) */
};

_Static_assert(sizeof(struct kv_stash) <= KV_STASH_SIZE, "kv table outgrew its stash");
_Static_assert(VE_MSG_MAX >= 1 + HEX_LEN + 1 + KV_VAL_MAX, "a wrapped reply must fit a message");

/* Why a table was made: the kv_reset event's reason (see the file comment). */
enum kv_why {
	WHY_NONE,
	WHY_NEW,
	WHY_MAGIC,
	WHY_CORRUPT,
	WHY_CHECKSUM,
	WHY_COUNT,
	WHY_RUNTIME,
	WHY_N
};

static const char *const why_names[WHY_N] = {
	"none", "new", "magic", "corrupt", "checksum", "count", "runtime",
};

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
	struct kv_stash *st;  /* at VE_STASH_BASE */
	struct ve_rng rng;    /* also picks generations */
	uint64_t crash_every; /* crash=N */
	uint64_t selftest;    /* selftest=N */
	struct ve_heartbeat hb;
};

/* What a handler returns when the table failed a check: see lost(). */
#define KV_LOST ((size_t)-1)

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

/* A new generation: random and never 0, so a client's 0 never matches. */
static uint64_t new_gen(struct kv *kv)
{
	uint64_t g = ve_rng_next(&kv->rng) ^ ve_clock_ns();

	return g ? g : 1;
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

/* Whether slot i is well formed and matches its stored hash. */
static bool slot_ok(const struct kv_stash *st, uint32_t i)
{
	return entry_ok(&st->table[i]) && st->hash[i] == slot_hash(i, &st->table[i]);
}

/* Whether the generation is nonzero and its complement agrees. */
static bool gen_ok(const struct kv_stash *st)
{
	return st->gen != 0 && st->gen == ~st->gen_inv;
}

/*
 * Why the table does not match its hashes, checksum and count, or
 * WHY_NONE: WHY_CHECKSUM (a slot differs from its hash, or the hashes from
 * the sum), WHY_COUNT. Runs over KV_ENTRIES only.
 */
static enum kv_why table_problem(const struct kv_stash *st)
{
	uint64_t sum = 0;
	uint32_t count = 0;

	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		if (!slot_ok(st, i))
			return WHY_CHECKSUM;
		sum += st->hash[i];
		count += st->table[i].used;
	}
	if (sum != st->sum)
		return WHY_CHECKSUM;
	if (count != st->count)
		return WHY_COUNT;
	return WHY_NONE;
}

/* Apply the armed redo record, then disarm it. Idempotent. */
static void redo_apply(struct kv_stash *st, enum crash_stage at)
{
	struct kv_redo *r = &st->redo;

	st->table[r->slot] = r->entry;
	st->hash[r->slot] = r->hash;
	ordered();
	maybe_crash(at, CRASH_APPLYING);
	st->count = r->count;
	st->sum = r->sum;
	st->last_id = r->id;
	st->last_inv = r->id_inv;
	ordered();
	r->armed = 0;
	ordered();
}

/*
 * Write (not arm) the redo record for making slot `slot` hold *e as the
 * change of message id.
 */
static void redo_write(struct kv_stash *st, uint32_t slot, const struct kv_entry *e, uint64_t id,
		       enum crash_stage at)
{
	struct kv_redo *r = &st->redo;
	const struct kv_entry *old = &st->table[slot];
	uint64_t h = slot_hash(slot, e);

	r->id = id;
	r->id_inv = ~id;
	r->slot = slot;
	r->count = st->count + (e->used && !old->used) - (!e->used && old->used);
	maybe_crash(at, CRASH_RECORDING);
	r->sum = st->sum - st->hash[slot] + h;
	r->hash = h;
	r->entry = *e;
}

/*
 * Make slot `slot` hold *e (all zero: deleted) as the change of message id,
 * through the redo record. Returns false, changing nothing, if the slot
 * does not match its hash (the table is not to be trusted).
 */
static bool change(struct kv_stash *st, uint32_t slot, const struct kv_entry *e, uint64_t id,
		   enum crash_stage at)
{
	if (!slot_ok(st, slot))
		return false;
	redo_write(st, slot, e, id, at);
	ordered();
	st->redo.armed = 1;
	ordered();
	maybe_crash(at, CRASH_ARMED);
	redo_apply(st, at);
	return true;
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
 * range, its hash is its entry's, and the checksum and count it carries
 * are exactly what the table will have once the slot holds its entry. A
 * record that fails any of it was not written by change(): applying it
 * could only make things worse.
 */
static bool redo_ok(const struct kv_stash *st)
{
	const struct kv_redo *r = &st->redo;
	uint32_t count = 0;
	uint64_t sum = 0;

	if (r->armed != 1 || r->id_inv != ~r->id || r->slot >= KV_ENTRIES ||
	    r->count > KV_ENTRIES || !entry_ok(&r->entry) ||
	    r->hash != slot_hash(r->slot, &r->entry))
		return false;
	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		sum += i == r->slot ? r->hash : st->hash[i];
		count += i == r->slot ? r->entry.used : st->table[i].used;
	}
	return sum == r->sum && count == r->count;
}

/*
 * Why the stash cannot be used as it is, or WHY_NONE if it can, applying
 * an armed redo record first if it checks out. Every number read from the
 * stash is range-checked before it indexes, sizes or bounds anything, and
 * every loop here runs over KV_ENTRIES, never over a count from the stash,
 * so a stash with any bits flipped ends in a reason, never a hang or a
 * fault. WHY_CORRUPT: a field out of range, a bad generation or a redo
 * record that does not check.
 */
static enum kv_why stash_problem(struct kv_stash *st)
{
	if (st->magic == 0)
		return WHY_NEW;
	if (st->magic != KV_MAGIC || st->version != KV_VERSION)
		return WHY_MAGIC;
	if (st->count > KV_ENTRIES || st->redo.armed > 1 || st->unposted >= WHY_N || st->pad != 0 ||
	    !gen_ok(st) || !table_ok(st))
		return WHY_CORRUPT;
	if (st->redo.armed) {
		if (!redo_ok(st))
			return WHY_CORRUPT;
		redo_apply(st, CRASH_NONE);
	}
	return table_problem(st);
}

/*
 * An empty table of generation gen (nonzero), made because of why, whose
 * kv_reset event is still to be posted (announce()); magic last, so a
 * death midway means "new" next time.
 */
static void stash_init(struct kv_stash *st, uint64_t gen, enum kv_why why)
{
	st->magic = 0;
	ordered();
	memset(&st->table, 0, sizeof(st->table));
	memset(&st->redo, 0, sizeof(st->redo));
	st->sum = 0;
	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		st->hash[i] = slot_hash(i, &st->table[i]);
		st->sum += st->hash[i];
	}
	st->version = KV_VERSION;
	st->count = 0;
	st->last_id = 0;
	st->gen = gen;
	st->gen_inv = ~gen;
	st->unposted = why;
	st->pad = 0;
	ordered();
	st->magic = KV_MAGIC;
	ordered();
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
 * posted. The mark lives in the stash, so a death between making a table
 * and posting its event cannot make a table nobody hears of; a death
 * after posting and before marking posts it again, with the same gen.
 */
static void announce(struct kv *kv)
{
	enum kv_why why = kv->st->unposted;

	if (why == WHY_NONE || why >= WHY_N)
		return;
	post_gen("kv_reset", why_names[why], kv->st->gen, NULL, 0);
	ve_printf("kv: table reset (%s)\n", why_names[why]);
	ordered();
	kv->st->unposted = WHY_NONE;
	ordered();
}

/*
 * The table failed a check while kv runs: make a new one and say so (see
 * the file comment).
 */
static void lost(struct kv *kv)
{
	stash_init(kv->st, new_gen(kv), WHY_RUNTIME);
	announce(kv);
}

/* Map the stash and check it. Returns 0 or ve_stash's error. */
static int stash_open(struct kv *kv)
{
	long base;
	enum kv_why why;
	bool redone;

	base = ve_stash_wait(KV_STASH_SIZE);
	if (base < 0)
		return (int)base;
	kv->st = (struct kv_stash *)(uintptr_t)base;
	redone = kv->st->magic == KV_MAGIC && kv->st->redo.armed;
	why = stash_problem(kv->st);
	if (why != WHY_NONE) {
		redone = false;
		stash_init(kv->st, new_gen(kv), why);
	}
	announce(kv);
	struct ve_kv f[] = {
		VE_KV_NUM("entries", kv->st->count),
		VE_KV_NUM("redone", redone),
	};
	post_gen("kv_ready", NULL, kv->st->gen, f, 2);
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

/*
 * Whether message id is the change applied last (the kernel replayed it
 * after a death that came after the change but before the reply). Only if
 * last_id and its complement agree: a flipped bit there must not make kv
 * answer "+" to a change it never applied; at worst it applies a replayed
 * change again, which is harmless (a put writes the same value, a delete
 * answers "-nokey", which a resending client takes as done).
 */
static bool replayed(const struct kv_stash *st, uint64_t id)
{
	return st->last_id == id && st->last_inv == ~id;
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
	if (table_problem(kv->st) != WHY_NONE)
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
	int i = find(kv->st, q->key, q->klen);
	size_t vlen;

	if (i < 0)
		return say_checked(kv, out, cap, "-nokey");
	if (!slot_ok(kv->st, (uint32_t)i))
		return KV_LOST;
	vlen = kv->st->table[i].vlen;
	if (vlen > KV_VAL_MAX || 1 + vlen > cap)
		return KV_LOST; /* flipped since the check */
	out[0] = '+';
	memcpy(out + 1, kv->st->table[i].val, vlen);
	return 1 + vlen;
}

static size_t do_put(struct kv *kv, const struct kv_req *q, uint64_t id, enum crash_stage at,
		     char *out, size_t cap)
{
	struct kv_entry e;
	int i;

	if (replayed(kv->st, id))
		return say(out, cap, "+"); /* a replay, applied */
	i = find(kv->st, q->key, q->klen);
	if (i < 0)
		i = find_free(kv->st);
	if (i < 0)
		return say_checked(kv, out, cap, "-full");
	memset(&e, 0, sizeof(e));
	e.used = 1;
	e.klen = (uint8_t)q->klen;
	e.vlen = (uint8_t)q->vlen;
	memcpy(e.key, q->key, q->klen);
	memcpy(e.val, q->val, q->vlen);
	if (!change(kv->st, (uint32_t)i, &e, id, at))
		return KV_LOST;
	return say(out, cap, "+");
}

static size_t do_delete(struct kv *kv, const struct kv_req *q, uint64_t id, enum crash_stage at,
			char *out, size_t cap)
{
	static const struct kv_entry empty;
	int i;

	if (replayed(kv->st, id))
		return say(out, cap, "+"); /* a replay, applied */
	i = find(kv->st, q->key, q->klen);
	if (i < 0)
		return say_checked(kv, out, cap, "-nokey");
	if (!change(kv->st, (uint32_t)i, &empty, id, at))
		return KV_LOST;
	return say(out, cap, "+");
}

/*
 * Answer parsed request q once: "-epoch" if it is wrapped (gen is the
 * client's generation) and gen is not the table's, else the op's answer.
 * Returns the reply length or KV_LOST.
 */
static size_t attempt(struct kv *kv, const struct kv_req *q, bool wrapped, uint64_t gen,
		      uint64_t id, enum crash_stage at, char *out, size_t cap)
{
	bool stale = wrapped && gen != kv->st->gen;

	if (!gen_ok(kv->st))
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
		return do_put(kv, q, id, at, out, cap);
	case 'D':
		return do_delete(kv, q, id, at, out, cap);
	default:
		/* the count is only as good as the table it counts */
		if (table_problem(kv->st) != WHY_NONE)
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
		    uint64_t id, enum crash_stage at, char *out, size_t cap)
{
	struct kv_req q = { 0 };
	size_t n;

	if (parse(req, len, &q) < 0)
		return say(out, cap, "-badreq");
	for (int i = 0; i < RESETS_PER_REQUEST; i++) {
		n = attempt(kv, &q, wrapped, gen, id, at, out, cap);
		if (n != KV_LOST)
			return n;
		lost(kv);
	}
	return say(out, cap, "-reset");
}

/* The reply to message buf[0..len) into out (VE_MSG_MAX bytes). Returns
 * its length. */
static size_t answer(struct kv *kv, const char *buf, size_t len, uint64_t id, enum crash_stage at,
		     char *out)
{
	uint64_t gen, tag;

	if (len < 1 || buf[0] != '@')
		return serve(kv, buf, len, false, 0, id, at, out, VE_MSG_MAX);
	if (len <= WRAP_LEN || ve_hex16_parse(buf + 1, &gen) < 0 ||
	    ve_hex16_parse(buf + 1 + HEX_LEN, &tag) < 0 || buf[WRAP_LEN] == '@')
		return say(out, VE_MSG_MAX, "-badreq");
	out[0] = '=';
	ve_hex16_put(out + 1, tag);
	return 1 + HEX_LEN +
	       serve(kv, buf + WRAP_LEN, len - WRAP_LEN, true, gen, id, at, out + 1 + HEX_LEN,
		     VE_MSG_MAX - 1 - HEX_LEN);
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
	size_t n;

	maybe_crash(at, CRASH_RECEIVED);
	if (m->kind != VE_MSG_CALL)
		return ve_chan_ack(h, m->id);
	n = answer(kv, buf, len, m->id, at, out);
	maybe_crash(at, CRASH_APPLIED);
	/* No answer from code that changed under us (bits flipped in it): the
	 * check exits instead, the kernel replays the request to the next
	 * incarnation, and the client gets that one's answer. A fault
	 * campaign found kv answering "-badreq" for the ~100 ms between such a
	 * flip and its next heartbeat's check. It costs a hash of ~22 KB. */
	ve_image_check(&kv->hb);
	return ve_chan_reply(h, m->id, out, n);
}

/*
 * A table with a few entries, in st; with an armed redo record (the
 * change written, not yet applied) if armed.
 */
static void selftest_table(struct kv *kv, struct kv_stash *st, bool armed)
{
	struct kv_entry e;

	stash_init(st, new_gen(kv), WHY_NONE);
	for (uint32_t i = 0; i < 40; i++) {
		memset(&e, 0, sizeof(e));
		e.used = 1;
		e.klen = (uint8_t)(1 + ve_rng_below(&kv->rng, KV_KEY_MAX));
		e.vlen = (uint8_t)ve_rng_below(&kv->rng, KV_VAL_MAX + 1);
		memset(e.key, 'a' + (int)(i % 26), e.klen);
		memset(e.val, 'v', e.vlen);
		change(st, (uint32_t)ve_rng_below(&kv->rng, KV_ENTRIES), &e, i + 1, CRASH_NONE);
	}
	if (armed) {
		e.key[0] = 'z';
		redo_write(st, (uint32_t)ve_rng_below(&kv->rng, KV_ENTRIES), &e, 1000, CRASH_NONE);
		st->redo.armed = 1;
	}
}

/* Whether t holds the same table as want. */
static bool same_table(const struct kv_stash *t, const struct kv_stash *want)
{
	return memcmp(t->table, want->table, sizeof(t->table)) == 0 &&
	       memcmp(t->hash, want->hash, sizeof(t->hash)) == 0 && t->count == want->count &&
	       t->sum == want->sum && t->gen == want->gen;
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
		selftest_table(kv, orig, n % 2);
		*want = *orig;
		if (stash_problem(want) != WHY_NONE) {
			bad++; /* a sound table must pass */
			continue;
		}
		*t = *orig;
		for (uint64_t f = 1 + ve_rng_below(&kv->rng, 8); f > 0; f--) {
			uint64_t bit = ve_rng_below(&kv->rng, sizeof(*t) * 8);
			((uint8_t *)t)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		if (stash_problem(t) != WHY_NONE)
			reset++;
		else if (same_table(t, want))
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
