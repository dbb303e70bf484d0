/*
 * kvcheck: checks svc/kv's protocol from the outside, once: put, get,
 * count, delete and their errors, and that garbage (unknown ops, bad key
 * lengths, wrong sizes, too long values, a cast) gets "-badreq" or an ack
 * and never kills the server; then the generation wrapper: "E" names the
 * table's generation, a request wrapped in '@' GEN TAG is applied and its
 * reply tagged only when GEN is right, a wrong GEN gets "-epoch" and the
 * right one and changes nothing, and a malformed wrapper gets "-badreq".
 * Its keys start with "kvcheck" so they do not meet the workload's. Writes
 *   {"ev":"kvcheck","ok":..,"bad":..}
 * (bad: checks that failed; each is also printed) and exits 0 iff bad is 0.
 */
#include "vesta.h"

struct check {
	int h;
	uint64_t ok, bad;
};

/* Call with req[0..len) and check the reply is exactly want (NUL-ended). */
static void expect(struct check *c, const char *what, const void *req, size_t len, const char *want)
{
	static char rep[VE_MSG_MAX];
	long n = ve_chan_call(c->h, req, len, rep, sizeof(rep), 10000000000ull);
	size_t wl = strlen(want);

	if (n == (long)wl && memcmp(rep, want, wl) == 0) {
		c->ok++;
		return;
	}
	c->bad++;
	if (n < 0)
		ve_printf("kvcheck: %s: %s\n", what, ve_strerror(n));
	else
		ve_printf("kvcheck: %s: got '%.*s', want '%s'\n", what, (int)n, rep, want);
}

/* A request op + klen + key + val into buf. Returns its length. */
static size_t req(char *buf, char op, const char *key, const char *val)
{
	size_t kl = strlen(key), vl = val ? strlen(val) : 0;

	buf[0] = op;
	buf[1] = (char)kl;
	memcpy(buf + 2, key, kl);
	if (val)
		memcpy(buf + 2 + kl, val, vl);
	return 2 + kl + vl;
}

static void protocol(struct check *c)
{
	static char b[512];
	size_t n;

	n = req(b, 'P', "kvcheck1", "hello");
	expect(c, "put", b, n, "+");
	n = req(b, 'G', "kvcheck1", NULL);
	expect(c, "get", b, n, "+hello");
	n = req(b, 'P', "kvcheck1", "");
	expect(c, "put empty", b, n, "+");
	n = req(b, 'G', "kvcheck1", NULL);
	expect(c, "get empty", b, n, "+");
	n = req(b, 'D', "kvcheck1", NULL);
	expect(c, "delete", b, n, "+");
	n = req(b, 'G', "kvcheck1", NULL);
	expect(c, "get deleted", b, n, "-nokey");
	n = req(b, 'D', "kvcheck1", NULL);
	expect(c, "delete twice", b, n, "-nokey");
}

static void garbage(struct check *c)
{
	static char b[512];
	size_t n;

	expect(c, "empty", "", 0, "-badreq");
	expect(c, "unknown op", "Zab", 3, "-badreq");
	expect(c, "count with junk", "Nx", 2, "-badreq");
	expect(c, "no klen", "G", 1, "-badreq");
	expect(c, "klen 0", "G\0", 2, "-badreq");
	expect(c, "klen past end",
	       "G\x05"
	       "ab",
	       4, "-badreq");
	n = req(b, 'G', "kvcheck1", NULL);
	b[n++] = 'x';
	expect(c, "get with a value", b, n, "-badreq");
	n = req(b, 'G', "kvcheck-a-key-that-is-33-bytes-xx", NULL);
	expect(c, "key of 33", b, n, "-badreq");
	n = req(b, 'P', "kvcheck2", NULL);
	memset(b + n, 'v', 129);
	expect(c, "value of 129", b, n + 129, "-badreq");
	memset(b + n, 'v', 128);
	expect(c, "value of 128", b, n + 128, "+");
	n = req(b, 'D', "kvcheck2", NULL);
	expect(c, "delete it", b, n, "+");
	if (ve_chan_cast(c->h, "P\x01k", 3, 0) < 0)
		c->bad++;
	n = req(b, 'G', "k", NULL);
	expect(c, "a cast changes nothing", b, n, "-nokey");
}

/* The table's generation from "E" into *gen. Returns 0 or -VE_INVAL. */
static int generation(struct check *c, uint64_t *gen)
{
	static char rep[VE_MSG_MAX];
	long n = ve_chan_call(c->h, "E", 1, rep, sizeof(rep), 10000000000ull);
	uint64_t g = 0;

	if (n != 17 || rep[0] != '+')
		goto bad;
	for (int i = 1; i < 17; i++) {
		if (rep[i] >= '0' && rep[i] <= '9')
			g = g << 4 | (uint64_t)(rep[i] - '0');
		else if (rep[i] >= 'a' && rep[i] <= 'f')
			g = g << 4 | (uint64_t)(rep[i] - 'a' + 10);
		else
			goto bad;
	}
	if (g == 0)
		goto bad;
	c->ok++;
	*gen = g;
	return 0;
bad:
	c->bad++;
	ve_printf("kvcheck: E: got '%.*s'\n", n < 0 ? 0 : (int)n, rep);
	return -VE_INVAL;
}

/* '@' gen tag and the plain request r[0..rlen) into buf. Returns its length. */
static size_t wrap(char *buf, uint64_t gen, const char *tag, const char *r, size_t rlen)
{
	int n = fmt_snprintf(buf, 40, "@%016llx%s", (unsigned long long)gen, tag);

	memcpy(buf + n, r, rlen);
	return (size_t)n + rlen;
}

static void wrapped(struct check *c)
{
	static const char tag[] = "0123456789abcdef";
	static char b[512], r[256], want[64];
	uint64_t gen;
	size_t n;

	if (generation(c, &gen) < 0)
		return;
	n = wrap(b, gen, tag, r, req(r, 'P', "kvcheck3", "tagged"));
	expect(c, "wrapped put", b, n, "=0123456789abcdef+");
	n = wrap(b, gen, tag, r, req(r, 'G', "kvcheck3", NULL));
	expect(c, "wrapped get", b, n, "=0123456789abcdef+tagged");
	fmt_snprintf(want, sizeof(want), "=%s-epoch%016llx", tag, (unsigned long long)gen);
	n = wrap(b, gen ^ 1, tag, r, req(r, 'P', "kvcheck3", "stale"));
	expect(c, "put with a wrong gen", b, n, want);
	n = wrap(b, 0, tag, r, req(r, 'D', "kvcheck3", NULL));
	expect(c, "delete with gen 0", b, n, want);
	n = req(b, 'G', "kvcheck3", NULL);
	expect(c, "neither was applied", b, n, "+tagged");
	n = wrap(b, gen, "fedcba9876543210", r, req(r, 'D', "kvcheck3", NULL));
	expect(c, "wrapped delete", b, n, "=fedcba9876543210+");
	n = wrap(b, gen, tag, r, req(r, 'G', "kvcheck3", NULL));
	expect(c, "wrapped get deleted", b, n, "=0123456789abcdef-nokey");
	n = wrap(b, gen, tag, "Zab", 3);
	expect(c, "wrapped garbage", b, n, "=0123456789abcdef-badreq");

	expect(c, "bare @", "@", 1, "-badreq");
	n = wrap(b, gen, tag, "", 0);
	expect(c, "wrapper only", b, n, "-badreq");
	n = wrap(b, gen, tag, r, req(r, 'G', "kvcheck3", NULL));
	memmove(b + 20, b + 21, n - 21); /* a digit short */
	expect(c, "short wrapper", b, n - 1, "-badreq");
	n = wrap(b, gen, "0123456789ABCDEF", r, req(r, 'G', "kvcheck3", NULL));
	expect(c, "upper-case tag", b, n, "-badreq");
	n = wrap(b, gen, tag, "", 0);
	n += wrap(b + n, gen, tag, r, req(r, 'G', "kvcheck3", NULL));
	expect(c, "nested wrapper", b, n, "-badreq");
}

int main(const char *args)
{
	struct check c = { .ok = 0, .bad = 0 };

	(void)args;
	if ((c.h = ve_chan_open("kv")) < 0) {
		ve_printf("kvcheck: open kv: %s\n", ve_strerror(c.h));
		return 1;
	}
	protocol(&c);
	garbage(&c);
	wrapped(&c);

	struct ve_kv kv[] = {
		VE_KV_NUM("ok", c.ok),
		VE_KV_NUM("bad", c.bad),
	};
	ve_event("kvcheck", kv, 2);
	return c.bad == 0 ? 0 : 1;
}
