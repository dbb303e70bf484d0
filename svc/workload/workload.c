/*
 * workload: the default appliance's in-guest client of "kv". It keeps
 * issuing requests (about half gets, the rest puts and a few deletes) on
 * WL_KEYS keys "wl<i>" and checks every answer against its own record of
 * what it wrote. Every second it posts
 *   {"ev":"workload","ok":..,"bad":..,"errors":..,"timeouts":..,"dups":..,
 *    "lost":..,"kv_resets":..,"unknown":..}
 * counted since its record was last lost (see below): ok = right answers,
 * bad = wrong answers (a value it did not write, a key missing that must be
 * there, or there that must be gone, or a reply that carries no tag of
 * ours), errors = error replies ("-badreq", "-full") and failed calls,
 * timeouts = calls that got no answer within CALL_TIMEOUT_MS, dups =
 * replies carrying the tag of an earlier send of ours (an answer delivered
 * twice or to the wrong call), lost = acknowledged keys that kv lost with
 * its table, kv_resets = how often that happened, unknown = keys whose
 * content it does not know right now.
 *
 * Every request goes wrapped (see svc/kv/README.md): '@', kv's table
 * generation as last learnt (0 at first: never matches), a fresh random
 * tag per send, the request. A reply must carry the send's tag. "-epoch G"
 * says the request was not applied because kv's table is not the one we
 * know: if we knew none, G is adopted and nothing is lost; otherwise kv has
 * lost its table, so every key we had a committed value for is counted
 * lost, all keys become absent, {"ev":"workload_lost","keys":N,"gen":G} is
 * posted and the request sent again. None of that counts as bad.
 *
 * The record (keys, counters, generation) lives in its stash, in two
 * copies, each with a checksum over it and its commit number (record.h). A
 * commit writes the older copy, number first and again last, so once both
 * copies hold a commit a death at any instruction leaves at least one
 * valid copy and the valid one with the higher number is the truth; a
 * restart thus neither resets the counts nor forgets what kv holds, and a
 * damaged newest copy is never mistaken for a commit cut short. Before
 * each request the copy in use is checked again (bits may flip in it): if
 * it is bad the other copy is used, every key becomes *unknown* (any
 * well-formed answer for it counts as right until we commit a put or
 * delete of it) and {"ev":"workload_reset","reason":"checksum"} is
 * posted; if neither copy is valid, or the stash is new (first start, or
 * discarded by the supervisor), the record starts from zero with every key
 * unknown, and the reason is "lost" or "new". Unknown keys become absent
 * when kv says its table was reset (an "-epoch" while we knew a
 * generation). (All keys start unknown even on a new stash: a stash the
 * supervisor discarded looks new, yet kv may still hold our keys.)
 *
 * The working copy of the record and the tags are hashed before each call
 * and again after it: if they changed while we waited (bits flipped in our
 * memory), the answer is not judged, the record is taken back from the
 * stash, every key becomes unknown and the reason is "memory". And before
 * counting an answer wrong (or a dup, or foreign) it checks its own code
 * (ve_image_check): a checker whose code was hit stops rather than accuse
 * kv of its own fault; and before sending a put or delete, so that code
 * that was hit does not store a garbage value for a later incarnation to
 * find.
 *
 * A put or delete is committed as *pending* before the call and committed
 * done after its answer: if the workload dies in between, or the call
 * times out, the change may or may not have happened, and until the key is
 * written again either the old or the new value counts as right. A new
 * change to a key whose earlier change is still pending makes it unknown
 * until the new one is done (either may have happened).
 *
 * Values are "wl<i>=<seq>" padded with '.' to a length that depends on seq
 * (up to 100 bytes), seq being a number never used twice.
 *
 * With "heartbeat" it beats on "sup" (see ve_heartbeat_due) between
 * requests, and a call waits at most until the next beat is due: a call
 * that takes longer (kv restarting) is cancelled and sent again (with a
 * new tag) after the beat, for CALL_TIMEOUT_MS in all. A cancelled call was
 * either never received or is dropped unanswered, and one kv had already
 * applied is harmless to apply again: a put writes the same value; a
 * delete answers "-nokey", which a resent delete takes as done.
 *
 * Args (words, any order): "heartbeat"; "crash=N" (test hook: with
 * probability 1/N per request it dies at a random point around the call).
 * Exit codes: 1 "kv" cannot be opened or the stash mapped, 2 bad args.
 */
#include "record.h"
#include "vesta.h"

#define WL_STASH_SIZE 4096
#define PACE_MS 2		    /* pause between requests: a few hundred per second */
#define REPORT_MS 1000		    /* the workload event's period */
#define CALL_TIMEOUT_MS 10000	    /* a kv restart takes far less */
#define BAD_SHOWN 5		    /* console lines about wrong answers (and dups), at most */
#define BEAT_MS 500		    /* heartbeat period, and the longest call slice */
#define HEX_LEN 16		    /* hex digits of a generation or a tag */
#define WRAP_LEN (1 + 2 * HEX_LEN)  /* '@' GEN TAG, before the request */
#define INNER (1 + HEX_LEN)	    /* '=' TAG, before the inner reply */
#define TAGS_KEPT 8		    /* earlier tags a reply is checked against */
#define WL_FOREIGN (-(long)VE_NERR) /* call_kv: a reply for no call of ours */
#define WL_DAMAGED (WL_FOREIGN - 1) /* call_kv: our own memory changed in the call */

_Static_assert(sizeof(struct wl_stash) <= WL_STASH_SIZE, "workload record outgrew its stash");

/* One request's call to kv (see call_kv). */
struct wl_call {
	const char *req; /* the plain request */
	size_t len;
	int key;      /* a put or delete of this key is in flight; -1: a get */
	uint64_t seq; /* its pend_seq */
	bool resent;  /* the request went out more than once */
	bool reset;   /* kv's table was found reset (all keys made absent) */
};

struct wl {
	struct wl_stash *st;
	struct wl_record rec; /* the working record, loaded before each request */
	unsigned cur;	      /* the copy rec was loaded from (the newest) */
	uint64_t seq;	      /* its commit number */
	struct ve_rng rng;
	uint64_t crash_every;
	int kv;			  /* client handle of "kv" */
	uint64_t bad_shown;	  /* this incarnation's console lines about bad answers */
	uint64_t dup_shown;	  /* and about dups */
	uint64_t err_shown;	  /* and about error replies */
	uint64_t tags[TAGS_KEPT]; /* the tags of the last sends, tags[0] the newest */
	struct ve_heartbeat hb;
};

/* The crash=N hook: die here with probability 1/N. */
static void maybe_crash(struct wl *w)
{
	if (w->crash_every > 0 && ve_rng_below(&w->rng, w->crash_every) == 0) {
		*(volatile int *)0 = 1;
		__builtin_trap();
	}
}

/* Write the working record into the older copy as the next commit. */
static void commit(struct wl *w)
{
	wl_copy_write(&w->st->copy[1 - w->cur], &w->rec, w->seq + 1);
	w->cur = 1 - w->cur;
	w->seq++;
}

/* Load copy i into the working record. Returns false if it is not valid
 * (checked on what was loaded, so a flip during the copy shows too). */
static bool load_copy(struct wl *w, unsigned i)
{
	const struct wl_copy *c = &w->st->copy[i];
	uint64_t seq;

	w->rec = c->rec;
	seq = wl_copy_seq(c, &w->rec);
	if (seq == 0)
		return false;
	w->cur = i;
	w->seq = seq;
	return true;
}

/*
 * The record was lost (why "new" or "lost": start from zero) or its newest
 * copy is bad (why "checksum": the working record holds the other copy).
 * Either way no key is known any more, nor kv's generation; seqs go on
 * above any we may have used. Commits twice, so both copies are valid.
 */
static void recover(struct wl *w, const char *why)
{
	uint64_t floor = ve_clock_ns() / 1000; /* above any seq used so far */

	if (!strcmp(why, "new") || !strcmp(why, "lost")) {
		memset(&w->rec, 0, sizeof(w->rec));
		w->cur = 0;
		w->seq = 0;
	}
	for (unsigned i = 0; i < WL_KEYS; i++)
		w->rec.keys[i] = (struct wl_key){ .unknown = 1 };
	w->rec.gen = 0;
	if (w->rec.next_seq < floor)
		w->rec.next_seq = floor;
	/* Said before it is committed: a death in between says it again. */
	ve_event_str("workload_reset", "reason", why);
	ve_printf("workload: record reset (%s)\n", why);
	commit(w);
	commit(w);
}

/* Pick the truth from the stash at start (see wl_pick). */
static void pick(struct wl *w)
{
	unsigned i = 0;
	enum wl_pick p = wl_pick(w->st, &i);

	if (p == WL_PICK_NEW)
		recover(w, "new");
	else if (p == WL_PICK_LOST || !load_copy(w, i))
		recover(w, "lost"); /* or changed under us */
	else if (p == WL_PICK_CHECKSUM)
		recover(w, "checksum");
}

/* Before each request: reload the newest copy; if it went bad, fall back. */
static void load(struct wl *w)
{
	unsigned cur = w->cur;

	if (load_copy(w, cur))
		return;
	if (load_copy(w, 1 - cur))
		recover(w, "checksum");
	else
		recover(w, "lost");
}

/* The key name of key i into buf. Returns its length. */
static size_t key_name(unsigned i, char *buf, size_t cap)
{
	return (size_t)fmt_snprintf(buf, cap, "wl%u", i);
}

/* The value for key i at seq into buf (>= 101 bytes). Returns its length. */
static size_t value_of(unsigned i, uint64_t seq, char *buf)
{
	size_t n = (size_t)fmt_snprintf(buf, 101, "wl%u=%llu", i, (unsigned long long)seq);
	size_t want = 10 + (size_t)(seq % 91);

	while (n < want)
		buf[n++] = '.';
	return n;
}

/* Build a request: op, klen, key of key i, then len bytes of val. */
static size_t request(char *req, char op, unsigned i, const char *val, size_t len)
{
	size_t klen = key_name(i, req + 2, 32);

	req[0] = op;
	req[1] = (char)klen;
	memcpy(req + 2 + klen, val, len);
	return 2 + klen + len;
}

/* Whether the reply rep[0..n) is right for key k, were it to hold seq. */
static bool matches(unsigned i, uint64_t seq, const char *rep, long n)
{
	char want[128];
	size_t len;

	if (seq == 0)
		return n == 6 && memcmp(rep, "-nokey", 6) == 0;
	len = value_of(i, seq, want);
	return n == (long)len + 1 && rep[0] == '+' && memcmp(rep + 1, want, len) == 0;
}

/* Whether rep[0..n) is a get's answer for key i at some seq (or none). */
static bool well_formed(unsigned i, const char *rep, long n)
{
	char want[40];
	size_t len = key_name(i, want, sizeof(want));
	uint64_t seq = 0;
	long p;

	want[len++] = '=';
	if (matches(i, 0, rep, n))
		return true;
	if (n < 2 + (long)len || rep[0] != '+' || memcmp(rep + 1, want, len) != 0)
		return false;
	for (p = 1 + (long)len; p < n && p < 21 + (long)len && rep[p] >= '0' && rep[p] <= '9'; p++)
		seq = seq * 10 + (uint64_t)(rep[p] - '0');
	return seq != 0 && matches(i, seq, rep, n);
}

static void judge_bad(struct wl *w, unsigned i, const char *op, const char *rep, long n)
{
	const struct wl_key *k = &w->rec.keys[i];

	ve_image_check(&w->hb); /* not our own code that is wrong? */
	w->rec.bad++;
	if (w->bad_shown++ < BAD_SHOWN)
		ve_printf("workload: %s wl%u: wrong answer '%.*s' (seq %llu, pending %u:%llu)\n",
			  op, i, (int)(n > 60 ? 60 : n), rep, (unsigned long long)k->seq,
			  k->pending, (unsigned long long)k->pend_seq);
}

/* Count an error reply, say so (a few times). */
static void judge_error(struct wl *w, unsigned i, const char *op, const char *rep, long n)
{
	w->rec.errors++;
	if (w->err_shown++ < BAD_SHOWN)
		ve_printf("workload: %s wl%u: error '%.*s'\n", op, i, (int)(n > 60 ? 60 : n), rep);
}

/* Count a failed call. */
static void judge_failure(struct wl *w, long r)
{
	if (r == -VE_TIMEOUT)
		w->rec.timeouts++;
	else if (r != WL_FOREIGN && r != WL_DAMAGED)
		w->rec.errors++;
}

/* An error reply other than the one a check expects. */
static bool is_error_reply(const char *rep, long n)
{
	return n >= 1 && rep[0] == '-' && !(n == 6 && memcmp(rep, "-nokey", 6) == 0);
}

/*
 * kv answered "-epoch" gen for call c: adopt gen; if we knew another, kv
 * lost its table (see the file comment). The change in flight, if any,
 * stays pending. Commits, so a death after the resend cannot take us back;
 * the event goes out first, so a death before the commit repeats it (with
 * the same gen) rather than lose it.
 */
static void epoch(struct wl *w, struct wl_call *c, uint64_t gen)
{
	uint64_t lost = 0;
	char hex[HEX_LEN + 1];

	if (w->rec.gen != 0) {
		for (unsigned i = 0; i < WL_KEYS; i++) {
			lost += !w->rec.keys[i].unknown && w->rec.keys[i].seq != 0;
			w->rec.keys[i] = (struct wl_key){ 0 };
		}
		if (c->key >= 0)
			w->rec.keys[c->key] = (struct wl_key){ .pend_seq = c->seq, .pending = 1 };
		w->rec.lost += lost;
		w->rec.kv_resets++;
		c->reset = true;
		ve_hex16_put(hex, gen);
		hex[HEX_LEN] = '\0';
		struct ve_kv f[] = { VE_KV_NUM("keys", lost), VE_KV_STR("gen", hex) };
		ve_event("workload_lost", f, 2);
		ve_printf("workload: kv lost its table: %llu keys\n", (unsigned long long)lost);
	}
	w->rec.gen = gen;
	commit(w);
}

/* A reply with an earlier tag of ours: count it, say so (a few times). */
static void judge_dup(struct wl *w, uint64_t tag)
{
	ve_image_check(&w->hb);
	w->rec.dups++;
	if (w->dup_shown++ < BAD_SHOWN)
		ve_printf("workload: reply for an earlier call (tag %016llx)\n",
			  (unsigned long long)tag);
}

/* A reply with no tag of ours: count it bad, say so (a few times). */
static void judge_foreign(struct wl *w, const char *rep, long n)
{
	ve_image_check(&w->hb);
	w->rec.bad++;
	if (w->bad_shown++ < BAD_SHOWN)
		ve_printf("workload: reply for no call of ours '%.*s'\n", (int)(n > 60 ? 60 : n),
			  rep);
}

/* Whether tag is one of the earlier sends' tags. */
static bool earlier_tag(const struct wl *w, uint64_t tag)
{
	for (int i = 1; i < TAGS_KEPT; i++)
		if (w->tags[i] == tag)
			return true;
	return false;
}

/* A hash of what the workload judges by: its working record and tags. */
static uint64_t guard(const struct wl *w)
{
	return wl_words_sum(w->tags, TAGS_KEPT, wl_rec_sum(&w->rec, 0));
}

/*
 * Send c's request once, wrapped with a fresh tag, waiting at most
 * slice_ns. Returns what ve_chan_call returns, or WL_DAMAGED if the
 * working record or the tags changed while it waited (bits flipped in our
 * memory: the answer cannot be judged by them).
 */
static long send(struct wl *w, const struct wl_call *c, char *rep, size_t cap, uint64_t slice_ns)
{
	static char req[WRAP_LEN + 256];
	uint64_t before;
	long n;

	memmove(&w->tags[1], &w->tags[0], sizeof(w->tags) - sizeof(w->tags[0]));
	w->tags[0] = ve_rng_next(&w->rng);
	req[0] = '@';
	ve_hex16_put(req + 1, w->rec.gen);
	ve_hex16_put(req + 1 + HEX_LEN, w->tags[0]);
	memcpy(req + WRAP_LEN, c->req, c->len);
	before = guard(w);
	n = ve_chan_call(w->kv, req, WRAP_LEN + c->len, rep, cap, slice_ns);
	return guard(w) == before ? n : WL_DAMAGED;
}

/* Bits flipped in our working memory during a call: take the record back
 * from the stash (checked), and know no key until it is written again. */
static void damaged(struct wl *w)
{
	unsigned cur = w->cur;

	if (load_copy(w, cur) || load_copy(w, 1 - cur))
		recover(w, "memory");
	else
		recover(w, "lost");
}

/*
 * Call kv with c's request and wait for its answer for CALL_TIMEOUT_MS in
 * all, beating in between and sending again after each slice, after a dup
 * and after an "-epoch" (see the file comment). Returns the inner reply's
 * length (it is at rep + INNER), or -VE_TIMEOUT, another ve_chan_call
 * error, or WL_FOREIGN (a reply for no call of ours, counted bad).
 */
static long call_kv(struct wl *w, struct wl_call *c, char *rep, size_t cap)
{
	uint64_t end = ve_clock_ns() + CALL_TIMEOUT_MS * 1000000ull, now, slice, tag, gen;
	long n;

	for (int sends = 0;; sends++) {
		c->resent = sends > 0;
		slice = ve_heartbeat_due(&w->hb);
		now = ve_clock_ns();
		if (now >= end)
			return -VE_TIMEOUT;
		if (slice == VE_TIMEOUT_NONE || slice > end - now)
			slice = end - now;
		n = send(w, c, rep, cap, slice);
		if (n == WL_DAMAGED) {
			damaged(w);
			return n;
		}
		if (n == -VE_TIMEOUT)
			continue;
		if (n < 0)
			return n;
		if (n < INNER || rep[0] != '=' || ve_hex16_parse(rep + 1, &tag) < 0 ||
		    (tag != w->tags[0] && !earlier_tag(w, tag))) {
			judge_foreign(w, rep, n);
			return WL_FOREIGN;
		}
		if (tag != w->tags[0]) {
			judge_dup(w, tag);
			continue;
		}
		n -= INNER;
		if (n == 6 + HEX_LEN && memcmp(rep + INNER, "-epoch", 6) == 0 &&
		    ve_hex16_parse(rep + INNER + 6, &gen) == 0 && gen != 0 && gen != w->rec.gen) {
			epoch(w, c, gen);
			continue;
		}
		return n;
	}
}

static void do_get(struct wl *w, unsigned i)
{
	static char req[64], rep[VE_MSG_MAX];
	struct wl_key *k = &w->rec.keys[i];
	struct wl_call c = { .req = req, .len = request(req, 'G', i, "", 0), .key = -1 };
	long n = call_kv(w, &c, rep, sizeof(rep));
	const char *a = rep + INNER;

	if (n < 0)
		judge_failure(w, n);
	else if (is_error_reply(a, n))
		judge_error(w, i, "get", a, n);
	else if (k->unknown
		     ? well_formed(i, a, n)
		     : matches(i, k->seq, a, n) || (k->pending && matches(i, k->pend_seq, a, n)))
		w->rec.ok++;
	else
		judge_bad(w, i, "get", a, n);
	commit(w);
}

/*
 * Put (seq > 0) or delete (seq == 0) key i, committed pending first and
 * done after the answer.
 */
static void do_change(struct wl *w, unsigned i, uint64_t seq)
{
	static char req[256], rep[VE_MSG_MAX], val[128];
	struct wl_key *k = &w->rec.keys[i];
	bool may_exist = k->seq != 0 || (k->pending && k->pend_seq != 0);
	bool may_lack = k->seq == 0 || (k->pending && k->pend_seq == 0);
	size_t vlen = seq ? value_of(i, seq, val) : 0;
	struct wl_call c = { .req = req,
			     .len = request(req, seq ? 'P' : 'D', i, val, vlen),
			     .key = (int)i,
			     .seq = seq };
	const char *a = rep + INNER;
	long n;

	if (k->pending)
		k->unknown = 1; /* the earlier change's fate is still open */
	k->pend_seq = seq;
	k->pending = 1;
	commit(w);
	/* The value was made by our code: if that code changed, the value may
	 * be garbage that kv would keep and a later incarnation would read
	 * back as a wrong answer. Stop before sending it (the key stays
	 * pending: nothing changed). */
	ve_image_check(&w->hb);
	maybe_crash(w);
	n = call_kv(w, &c, rep, sizeof(rep));
	maybe_crash(w);
	if (c.reset) {
		may_exist = false;
		may_lack = true;
	}
	if (n < 0) {
		/* No answer: it may have happened; leave it pending. */
		judge_failure(w, n);
		commit(w);
		return;
	}
	if (n == 1 && a[0] == '+' && (seq || may_exist || k->unknown)) {
		w->rec.ok++;
	} else if (!seq && n == 6 && memcmp(a, "-nokey", 6) == 0 &&
		   (may_lack || c.resent || k->unknown)) {
		w->rec.ok++;
	} else if (is_error_reply(a, n)) {
		judge_error(w, i, seq ? "put" : "delete", a, n);
		k->pending = 0; /* refused: nothing changed */
		commit(w);
		return;
	} else {
		judge_bad(w, i, seq ? "put" : "delete", a, n);
	}
	*k = (struct wl_key){ .seq = seq };
	commit(w);
}

static void one_request(struct wl *w)
{
	unsigned i = (unsigned)ve_rng_below(&w->rng, WL_KEYS);
	uint64_t dice = ve_rng_below(&w->rng, 100);

	load(w);
	if (dice < 50)
		do_get(w, i);
	else
		do_change(w, i, dice >= 60 ? ++w->rec.next_seq : 0); /* a delete in 10 */
}

static void report(const struct wl_record *r)
{
	uint64_t unknown = 0;

	for (unsigned i = 0; i < WL_KEYS; i++)
		unknown += r->keys[i].unknown != 0;
	struct ve_kv f[] = {
		VE_KV_NUM("ok", r->ok),
		VE_KV_NUM("bad", r->bad),
		VE_KV_NUM("errors", r->errors),
		VE_KV_NUM("timeouts", r->timeouts),
		VE_KV_NUM("dups", r->dups),
		VE_KV_NUM("lost", r->lost),
		VE_KV_NUM("kv_resets", r->kv_resets),
		VE_KV_NUM("unknown", unknown),
	};
	ve_event("workload", f, sizeof(f) / sizeof(f[0]));
}

static int parse_args(const char *args, uint64_t *every, bool *beat)
{
	const char *p = ve_skip_space(args);

	*every = 0;
	*beat = false;
	while (*p) {
		size_t n = ve_word_len(p);

		if (ve_word_is(p, n, "heartbeat")) {
			*beat = true;
			p += n;
		} else if (n > 6 && strncmp(p, "crash=", 6) == 0) {
			p += 6;
			if (ve_parse_u64(&p, every) < 0)
				return -VE_INVAL;
		} else {
			return -VE_INVAL;
		}
		p = ve_skip_space(p);
	}
	return 0;
}

/* Map the stash and pick the record from it. Returns 0 or ve_stash's error. */
static int stash_open(struct wl *w)
{
	long base;

	base = ve_stash_wait(WL_STASH_SIZE);
	if (base < 0)
		return (int)base;
	w->st = (struct wl_stash *)(uintptr_t)base;
	pick(w);
	return 0;
}

int main(const char *args)
{
	struct wl w = { .kv = -1 };
	uint64_t next_report;
	bool beat;
	int r;

	if (parse_args(args, &w.crash_every, &beat) < 0) {
		ve_printf("workload: bad args '%s' (want [heartbeat] [crash=N])\n", args);
		return 2;
	}
	if ((r = ve_heartbeat_init(&w.hb, beat ? BEAT_MS * 1000000ull : 0)) < 0) {
		ve_printf("workload: open sup: %s\n", ve_strerror(r));
		return 1;
	}
	ve_rng_seed(&w.rng, (uint64_t)ve_getpid() * 0x9e3779b97f4a7c15ull + ve_clock_ns());
	if ((r = stash_open(&w)) < 0) {
		ve_printf("workload: stash: %s\n", ve_strerror(r));
		return 1;
	}
	if ((w.kv = ve_chan_open("kv")) < 0) {
		ve_printf("workload: open kv: %s\n", ve_strerror(w.kv));
		return 1;
	}
	next_report = ve_clock_ns() + REPORT_MS * 1000000ull;
	for (;;) {
		ve_heartbeat_due(&w.hb);
		one_request(&w);
		if (ve_clock_ns() >= next_report) {
			report(&w.rec);
			next_report = ve_clock_ns() + REPORT_MS * 1000000ull;
		}
		ve_sleep_ms(PACE_MS);
	}
}
