/*
 * workload: the default appliance's in-guest client of "kv". It keeps
 * issuing requests (about half gets, the rest puts and a few deletes) on
 * WL_KEYS keys "wl<i>" and checks every answer against its own record of
 * what it wrote. Every second it posts
 *   {"ev":"workload","ok":..,"bad":..,"errors":..,"timeouts":..}
 * counted since boot: ok = right answers, bad = wrong answers (a value it
 * did not write, a key missing that must be there, or there that must be
 * gone), errors = error replies ("-badreq", "-full") and failed calls,
 * timeouts = calls that got no answer within CALL_TIMEOUT_MS.
 *
 * The record and the counters live in its stash, so a restart of the
 * workload neither resets the counts nor forgets what kv holds. A put or
 * delete is recorded as *pending* before the call and committed after its
 * answer: if the workload dies in between, or the call times out, the
 * change may or may not have happened, and until the key is written again
 * either the old or the new value counts as right.
 *
 * Values are "wl<i>=<seq>" padded with '.' to a length that depends on seq
 * (up to 100 bytes), seq being a number never used twice.
 *
 * With "heartbeat" it beats on "sup" (see ve_heartbeat_due) between
 * requests, and a call waits at most until the next beat is due: a call
 * that takes longer (kv restarting) is cancelled and sent again after the
 * beat, for CALL_TIMEOUT_MS in all. A cancelled call was either never
 * received or is dropped unanswered, and one kv had already applied is
 * harmless to apply again: a put writes the same value; a delete answers
 * "-nokey", which a resent delete takes as done.
 *
 * Args (words, any order): "heartbeat"; "crash=N" (test hook: with
 * probability 1/N per request it dies at a random point around the call).
 * Exit codes: 1 "kv" cannot be opened or the stash mapped, 2 bad args.
 */
#include "vesta.h"

#define WL_KEYS 64		       /* keys it cycles through */
#define WL_MAGIC 0x316c726f776b6c77ull /* "wlkworl1" */
#define WL_STASH_SIZE 4096
#define PACE_MS 2	      /* pause between requests: a few hundred per second */
#define REPORT_MS 1000	      /* the workload event's period */
#define CALL_TIMEOUT_MS 10000 /* a kv restart takes far less */
#define BAD_SHOWN 5	      /* console lines about wrong answers, at most */
#define BEAT_MS 500	      /* heartbeat period, and the longest call slice */

/* What the workload believes about one key. seq 0 means "absent". */
struct wl_key {
	uint64_t seq;	   /* last committed: the value kv must hold */
	uint64_t pend_seq; /* a change that may or may not have happened */
	uint64_t pending;  /* 1: pend_seq is as right as seq */
};

struct wl_stash {
	uint64_t magic;
	uint64_t next_seq;
	uint64_t ok, bad, errors, timeouts;
	struct wl_key keys[WL_KEYS];
};

_Static_assert(sizeof(struct wl_stash) <= WL_STASH_SIZE, "workload record outgrew its stash");

struct wl {
	struct wl_stash *st;
	struct ve_rng rng;
	uint64_t crash_every;
	int kv;		    /* client handle of "kv" */
	uint64_t bad_shown; /* this incarnation's console lines about bad answers */
	struct ve_heartbeat hb;
};

static void ordered(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The crash=N hook: die here with probability 1/N. */
static void maybe_crash(struct wl *w)
{
	if (w->crash_every > 0 && ve_rng_below(&w->rng, w->crash_every) == 0) {
		*(volatile int *)0 = 1;
		__builtin_trap();
	}
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

static void judge_bad(struct wl *w, unsigned i, const char *op, const char *rep, long n)
{
	w->st->bad++;
	if (w->bad_shown++ < BAD_SHOWN)
		ve_printf("workload: %s wl%u: wrong answer '%.*s' (seq %llu, pending %llu:%llu)\n",
			  op, i, (int)(n > 60 ? 60 : n), rep,
			  (unsigned long long)w->st->keys[i].seq,
			  (unsigned long long)w->st->keys[i].pending,
			  (unsigned long long)w->st->keys[i].pend_seq);
}

/* Count a failed call. Returns true if it was a timeout. */
static bool judge_failure(struct wl *w, long r)
{
	if (r == -VE_TIMEOUT) {
		w->st->timeouts++;
		return true;
	}
	w->st->errors++;
	return false;
}

/* An error reply other than the one a check expects. */
static bool is_error_reply(const char *rep, long n)
{
	return n >= 1 && rep[0] == '-' && !(n == 6 && memcmp(rep, "-nokey", 6) == 0);
}

/*
 * Call kv with req and wait for the reply for CALL_TIMEOUT_MS in all,
 * beating in between (see the file comment). *resent tells whether the
 * request went out more than once. Returns what ve_chan_call returns.
 */
static long call_kv(struct wl *w, const char *req, size_t len, char *rep, size_t cap, bool *resent)
{
	uint64_t end = ve_clock_ns() + CALL_TIMEOUT_MS * 1000000ull, now, slice;
	long n;

	*resent = false;
	for (;;) {
		slice = ve_heartbeat_due(&w->hb);
		now = ve_clock_ns();
		if (now >= end)
			return -VE_TIMEOUT;
		if (slice == VE_TIMEOUT_NONE || slice > end - now)
			slice = end - now;
		n = ve_chan_call(w->kv, req, len, rep, cap, slice);
		if (n != -VE_TIMEOUT)
			return n;
		*resent = true;
	}
}

static void do_get(struct wl *w, unsigned i)
{
	static char req[64], rep[VE_MSG_MAX];
	struct wl_key *k = &w->st->keys[i];
	size_t len = request(req, 'G', i, "", 0);
	bool resent;
	long n = call_kv(w, req, len, rep, sizeof(rep), &resent);

	if (n < 0)
		judge_failure(w, n);
	else if (is_error_reply(rep, n))
		w->st->errors++;
	else if (matches(i, k->seq, rep, n) || (k->pending && matches(i, k->pend_seq, rep, n)))
		w->st->ok++;
	else
		judge_bad(w, i, "get", rep, n);
}

/*
 * Put (seq > 0) or delete (seq == 0) key i, with the record made pending
 * first and committed after the answer.
 */
static void do_change(struct wl *w, unsigned i, uint64_t seq)
{
	static char req[256], rep[64], val[128];
	struct wl_key *k = &w->st->keys[i];
	bool may_exist = k->seq != 0 || (k->pending && k->pend_seq != 0);
	bool may_lack = k->seq == 0 || (k->pending && k->pend_seq == 0);
	size_t vlen = seq ? value_of(i, seq, val) : 0;
	size_t len = request(req, seq ? 'P' : 'D', i, val, vlen);
	bool resent;
	long n;

	k->pending = 0;
	ordered();
	k->pend_seq = seq;
	ordered();
	k->pending = 1;
	ordered();
	maybe_crash(w);
	n = call_kv(w, req, len, rep, sizeof(rep), &resent);
	maybe_crash(w);
	if (n < 0) {
		/* No answer: it may have happened; leave it pending. */
		judge_failure(w, n);
		return;
	}
	if (n == 1 && rep[0] == '+' && (seq || may_exist)) {
		w->st->ok++;
	} else if (!seq && n == 6 && memcmp(rep, "-nokey", 6) == 0 && (may_lack || resent)) {
		w->st->ok++;
	} else if (is_error_reply(rep, n)) {
		w->st->errors++;
		k->pending = 0; /* refused: nothing changed */
		return;
	} else {
		judge_bad(w, i, seq ? "put" : "delete", rep, n);
	}
	k->seq = seq;
	ordered();
	k->pending = 0;
	ordered();
}

static void one_request(struct wl *w)
{
	unsigned i = (unsigned)ve_rng_below(&w->rng, WL_KEYS);
	uint64_t dice = ve_rng_below(&w->rng, 100);
	uint64_t seq;

	if (dice < 50) {
		do_get(w, i);
		return;
	}
	seq = 0;
	if (dice >= 10) {
		seq = w->st->next_seq + 1;
		w->st->next_seq = seq;
		ordered();
	}
	do_change(w, i, seq);
}

static void report(const struct wl_stash *st)
{
	struct ve_kv f[] = {
		VE_KV_NUM("ok", st->ok),
		VE_KV_NUM("bad", st->bad),
		VE_KV_NUM("errors", st->errors),
		VE_KV_NUM("timeouts", st->timeouts),
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

/* Map the stash; a new one (or one from another layout) starts at zero. */
static int stash_open(struct wl *w)
{
	long base = -VE_BUSY;

	for (int i = 0; i < 100 && base == -VE_BUSY; i++) {
		base = ve_stash(WL_STASH_SIZE);
		if (base == -VE_BUSY)
			ve_sleep_ms(1);
	}
	if (base < 0)
		return (int)base;
	w->st = (struct wl_stash *)(uintptr_t)base;
	if (w->st->magic != WL_MAGIC) {
		memset(w->st, 0, sizeof(*w->st));
		ordered();
		w->st->magic = WL_MAGIC;
	}
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
			report(w.st);
			next_report = ve_clock_ns() + REPORT_MS * 1000000ull;
		}
		ve_sleep_ms(PACE_MS);
	}
}
