/*
 * blkcheck: the disk protocol (svc/lib/blk.h) as a client sees it, against
 * the driver serving blk0. One of three modes, by args:
 *
 *   check SECTORS   INFO says the disk has SECTORS sectors; patterned
 *                   writes of 1..BLK_XFER_MAX sectors at the first sector,
 *                   the last ones and a few between read back the same;
 *                   FLUSH succeeds; every malformed request gets its error
 *                   (EINVAL for each malformed shape, ERANGE past the end
 *                   and for a sector + count that overflows) and changes
 *                   nothing; a cast is acked. Last it writes the text
 *                   "vesta blkcheck marker S" into sectors S = 100 and the
 *                   last one, and FLUSHes, for the host to find in the
 *                   disk's file (blk.scn). Writes
 *                   {"ev":"blkcheck","ok":1,"sectors":..,"flags":..}.
 *   stress KEEPER   writes and reads back patterned runs at pseudo-random
 *                   places while the process named KEEPER (nickeeper) kills
 *                   the driver again and again, until KEEPER is gone; then
 *                   reads the whole disk and checks every sector holds
 *                   what was last written to it. Writes
 *                   {"ev":"blkstress","ok":1,"rounds":..,"bad":..,"redelivered":..}
 *                   (redelivered: blk0's requests replayed to a new driver).
 *   ro SECTORS      the disk is read-only (QEMU's readonly=on): INFO says
 *                   BLK_F_RO and SECTORS; a WRITE gets -BLK_EROFS (one past
 *                   the end -BLK_ERANGE, a malformed one -BLK_EINVAL);
 *                   READ and FLUSH work. Writes {"ev":"blkro","ok":1}.
 *   err SECTOR      the device fails every read and write of SECTOR and
 *                   every flush (QEMU's blkdebug): READ and WRITE of it,
 *                   and ones that cover it, get -BLK_EIO, and so does
 *                   FLUSH; its neighbours read and write fine.
 *                   Writes {"ev":"blkerr","ok":1}.
 *
 * ok 0 comes with "why": the first check that failed. Calls wait forever:
 * a driver that restarts answers later, never wrongly. Exit 0, or 2 for
 * bad args.
 */
#include "blk.h"
#include "vesta.h"

#define MAX_SECTORS 8192 /* stress keeps a tag per sector */

static int h;
static uint8_t rep[sizeof(struct blk_rep) + BLK_XFER_MAX * BLK_SECTOR];
static uint8_t req[sizeof(struct blk_req) + BLK_XFER_MAX * BLK_SECTOR + BLK_SECTOR];

/* The byte at offset i of sector s written with tag t. */
static uint8_t pattern(uint64_t s, uint32_t t, unsigned i)
{
	return (uint8_t)(s * 131 + t * 31 + i * 7 + (i >> 8));
}

/* Call with the request in req (len bytes). Returns the reply's err, or
 * 1 if the reply is malformed (length, or its sectors field). */
static int call(size_t len, size_t want_data, uint64_t sectors)
{
	struct blk_rep r;
	long n = ve_chan_call(h, req, len, rep, sizeof(rep), 0);

	if (n < (long)sizeof(r))
		return 1;
	memcpy(&r, rep, sizeof(r));
	if (sectors && r.sectors != sectors)
		return 1;
	if (n != (long)(sizeof(r) + (r.err == 0 ? want_data : 0)))
		return 1;
	return r.err;
}

static void set_req(uint8_t op, uint32_t count, uint64_t sector)
{
	struct blk_req q = { .op = op, .count = count, .sector = sector };

	memcpy(req, &q, sizeof(q));
}

/* WRITE count sectors at sector with tag t. Returns the err. */
static int put(uint64_t sector, uint32_t count, uint32_t t, uint64_t size)
{
	set_req(BLK_OP_WRITE, count, sector);
	for (uint32_t k = 0; k < count; k++)
		for (unsigned i = 0; i < BLK_SECTOR; i++)
			req[sizeof(struct blk_req) + k * BLK_SECTOR + i] =
			    pattern(sector + k, t, i);
	return call(sizeof(struct blk_req) + count * BLK_SECTOR, 0, size);
}

/* READ count sectors at sector. Returns the err; the data is in rep. */
static int get(uint64_t sector, uint32_t count, uint64_t size)
{
	set_req(BLK_OP_READ, count, sector);
	return call(sizeof(struct blk_req), count * BLK_SECTOR, size);
}

/* Whether sector k of the last get holds tag t's pattern for sector s. */
static bool holds(unsigned k, uint64_t s, uint32_t t)
{
	const uint8_t *d = rep + sizeof(struct blk_rep) + k * BLK_SECTOR;

	for (unsigned i = 0; i < BLK_SECTOR; i++)
		if (d[i] != pattern(s, t, i))
			return false;
	return true;
}

/* Write, read back, compare. NULL or why not. */
static const char *roundtrip(uint64_t sector, uint32_t count, uint32_t t, uint64_t size)
{
	if (put(sector, count, t, size) != 0)
		return "write";
	if (get(sector, count, size) != 0)
		return "read";
	for (uint32_t k = 0; k < count; k++)
		if (!holds(k, sector + k, t))
			return "data read back differs";
	return NULL;
}

/* INFO into *info; NULL or why not. */
static const char *info(struct blk_rep *info)
{
	set_req(BLK_OP_INFO, 0, 0);
	if (call(sizeof(struct blk_req), 0, 0) != 0)
		return "info";
	memcpy(info, rep, sizeof(*info));
	return NULL;
}

/* The malformed requests: each gets its error. NULL or why not. */
static const char *malformed(uint64_t size)
{
	struct blk_req *q = (struct blk_req *)req;
	const int E = -BLK_EINVAL;

	set_req('Z', 0, 0);
	if (call(sizeof(*q), 0, size) != E)
		return "unknown op";
	set_req(BLK_OP_INFO, 0, 0);
	if (call(sizeof(*q) - 1, 0, size) != E || call(sizeof(*q) + 1, 0, size) != E)
		return "info length";
	if (call(0, 0, size) != E)
		return "empty request";
	set_req(BLK_OP_INFO, 1, 0);
	if (call(sizeof(*q), 0, size) != E)
		return "info count";
	set_req(BLK_OP_FLUSH, 0, 5);
	if (call(sizeof(*q), 0, size) != E)
		return "flush sector";
	set_req(BLK_OP_READ, 1, 0);
	q->pad[1] = 1;
	if (call(sizeof(*q), 0, size) != E)
		return "pad";
	set_req(BLK_OP_READ, 0, 0);
	if (call(sizeof(*q), 0, size) != E)
		return "read count 0";
	set_req(BLK_OP_READ, BLK_XFER_MAX + 1, 0);
	if (call(sizeof(*q), 0, size) != E)
		return "read count too big";
	set_req(BLK_OP_READ, 1, 0);
	if (call(sizeof(*q) + BLK_SECTOR, 0, size) != E)
		return "read with data";
	set_req(BLK_OP_WRITE, 0, 0);
	if (call(sizeof(*q), 0, size) != E)
		return "write count 0";
	set_req(BLK_OP_WRITE, 2, 0);
	if (call(sizeof(*q) + BLK_SECTOR, 0, size) != E ||
	    call(sizeof(*q) + 3 * BLK_SECTOR, 0, size) != E)
		return "write length";
	set_req(BLK_OP_READ, 1, size);
	if (call(sizeof(*q), 0, size) != -BLK_ERANGE)
		return "read past the end";
	set_req(BLK_OP_READ, 2, size - 1);
	if (call(sizeof(*q), 0, size) != -BLK_ERANGE)
		return "read across the end";
	set_req(BLK_OP_WRITE, 2, size - 1);
	if (call(sizeof(*q) + 2 * BLK_SECTOR, 0, size) != -BLK_ERANGE)
		return "write across the end";
	set_req(BLK_OP_READ, 2, UINT64_MAX);
	if (call(sizeof(*q), 0, size) != -BLK_ERANGE)
		return "sector + count overflows";
	set_req(BLK_OP_WRITE, 1, UINT64_MAX);
	if (call(sizeof(*q) + BLK_SECTOR, 0, size) != -BLK_ERANGE)
		return "write sector + count overflows";
	set_req(BLK_OP_INFO, 0, 0);
	if (ve_chan_cast(h, req, sizeof(*q), 0) < 0)
		return "cast";
	return NULL;
}

/* Write "vesta blkcheck marker SECTOR" (zero-padded) into sector. Returns
 * the err. */
static int mark(uint64_t sector, uint64_t size)
{
	set_req(BLK_OP_WRITE, 1, sector);
	memset(req + sizeof(struct blk_req), 0, BLK_SECTOR);
	fmt_snprintf((char *)req + sizeof(struct blk_req), BLK_SECTOR, "vesta blkcheck marker %lu",
		     (unsigned long)sector);
	return call(sizeof(struct blk_req) + BLK_SECTOR, 0, size);
}

/* Mode check. NULL or why not. */
static const char *check(uint64_t want, struct blk_rep *in)
{
	static const uint32_t counts[] = { 1, 2, BLK_XFER_MAX };
	const char *why;
	uint64_t size;

	if ((why = info(in)))
		return why;
	if ((size = in->sectors) != want || (in->flags & ~(BLK_F_RO | BLK_F_FLUSH)))
		return "info: size or flags";
	if (in->flags & BLK_F_RO)
		return "disk is read-only";
	for (uint32_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		uint32_t n = counts[c];
		uint64_t at[] = { 0, size - n, size / 2 - 1, 7 };

		for (unsigned k = 0; k < 4; k++)
			if ((why = roundtrip(at[k], n, 1 + c * 4 + k, size)))
				return why;
	}
	/* The malformed requests change nothing: sector 0 still holds its
	 * last write (count BLK_XFER_MAX, tag 9). */
	if ((why = malformed(size)))
		return why;
	if (get(0, 1, size) != 0 || !holds(0, 0, 9))
		return "a malformed request changed sector 0";
	if (mark(100, size) || mark(size - 1, size))
		return "marker";
	set_req(BLK_OP_FLUSH, 0, 0);
	if (call(sizeof(struct blk_req), 0, size) != 0)
		return "flush";
	return NULL;
}

/* Whether a process named name is alive. */
static bool alive(const char *name)
{
	static struct ve_procinfo ps[64];
	int n = ve_ps(ps, 64);

	for (int i = 0; i < n; i++)
		if (!strcmp(ps[i].name, name) && ps[i].state != VE_PS_DEAD)
			return true;
	return false;
}

/* Mode stress. NULL or why not; *rounds and *bad filled. */
static const char *stress(const char *keeper, uint64_t *rounds, uint64_t *bad)
{
	static uint32_t tag[MAX_SECTORS]; /* 0: never written (zeros) */
	struct ve_rng rng;
	struct blk_rep in;
	const char *why;
	uint64_t size;

	if ((why = info(&in)))
		return why;
	if ((size = in.sectors) > MAX_SECTORS || size < BLK_XFER_MAX)
		return "disk size";
	ve_rng_seed(&rng, 7);
	for (*rounds = 0; alive(keeper) || *rounds < 100; ++*rounds) {
		uint32_t n = 1 + (uint32_t)ve_rng_below(&rng, BLK_XFER_MAX);
		uint64_t s = ve_rng_below(&rng, size - n + 1);
		uint32_t t = (uint32_t)*rounds + 1;

		if ((why = roundtrip(s, n, t, size)))
			return why;
		for (uint32_t k = 0; k < n; k++)
			tag[s + k] = t;
	}
	for (uint64_t s = 0; s < size; s++) {
		bool ok = get(s, 1, size) == 0;

		if (ok && tag[s])
			ok = holds(0, s, tag[s]);
		for (unsigned i = 0; ok && !tag[s] && i < BLK_SECTOR; i++)
			ok = rep[sizeof(struct blk_rep) + i] == 0;
		*bad += !ok;
	}
	return *bad ? "a sector does not hold its last write" : NULL;
}

/* Mode ro. NULL or why not. */
static const char *ro(uint64_t want)
{
	struct blk_rep in;
	const char *why;

	if ((why = info(&in)))
		return why;
	if (in.sectors != want || !(in.flags & BLK_F_RO))
		return "info: size or flags";
	if (put(0, 1, 1, want) != -BLK_EROFS || put(want - 1, 1, 1, want) != -BLK_EROFS)
		return "write to a read-only disk";
	if (put(want, 1, 1, want) != -BLK_ERANGE)
		return "write past the end";
	set_req(BLK_OP_WRITE, 0, 0);
	if (call(sizeof(struct blk_req), 0, want) != -BLK_EINVAL)
		return "malformed write";
	if (get(0, BLK_XFER_MAX, want) != 0)
		return "read";
	for (unsigned i = 0; i < BLK_XFER_MAX * BLK_SECTOR; i++)
		if (rep[sizeof(struct blk_rep) + i] != 0)
			return "a write reached the read-only disk";
	set_req(BLK_OP_FLUSH, 0, 0);
	if (call(sizeof(struct blk_req), 0, want) != 0)
		return "flush";
	return NULL;
}

/* Mode err. NULL or why not. */
static const char *err(uint64_t bad)
{
	struct blk_rep in;
	const char *why;

	if ((why = info(&in)))
		return why;
	if (bad < 1 || bad + 2 > in.sectors)
		return "sector";
	if (put(bad, 1, 1, in.sectors) != -BLK_EIO)
		return "write of the failing sector";
	if (get(bad, 1, in.sectors) != -BLK_EIO)
		return "read of the failing sector";
	if (put(bad - 1, 2, 2, in.sectors) != -BLK_EIO)
		return "write covering the failing sector";
	if (get(bad - 1, 3, in.sectors) != -BLK_EIO)
		return "read covering the failing sector";
	if ((why = roundtrip(bad - 1, 1, 3, in.sectors)) ||
	    (why = roundtrip(bad + 1, 1, 4, in.sectors)))
		return why;
	set_req(BLK_OP_FLUSH, 0, 0);
	if (!(in.flags & BLK_F_FLUSH) || call(sizeof(struct blk_req), 0, in.sectors) != -BLK_EIO)
		return "flush on a device whose flushes fail";
	return NULL;
}

static void report(const char *ev, const char *why, struct ve_kv *kv, size_t n)
{
	kv[n++] = VE_KV_NUM("ok", why == NULL);
	if (why)
		kv[n++] = VE_KV_STR("why", why);
	ve_event(ev, kv, n);
}

int main(const char *args)
{
	const char *p = ve_skip_space(args);
	size_t n = ve_word_len(p);
	struct ve_kv kv[6];
	uint64_t v = 0;
	const char *why;

	if ((h = ve_chan_open("blk0")) < 0) {
		ve_printf("blkcheck: open blk0: %s\n", ve_strerror(h));
		return 1;
	}
	if (ve_word_is(p, n, "check") || ve_word_is(p, n, "err") || ve_word_is(p, n, "ro")) {
		bool chk = ve_word_is(p, n, "check"), rd = ve_word_is(p, n, "ro");
		struct blk_rep in = { .err = 0 };

		p += n;
		if (ve_parse_u64(&p, &v) < 0 || *ve_skip_space(p))
			goto usage;
		if (!chk) {
			report(rd ? "blkro" : "blkerr", rd ? ro(v) : err(v), kv, 0);
			return 0;
		}
		why = check(v, &in);
		kv[0] = VE_KV_NUM("sectors", in.sectors);
		kv[1] = VE_KV_NUM("flags", in.flags);
		report("blkcheck", why, kv, 2);
		return 0;
	}
	if (ve_word_is(p, n, "stress")) {
		char keeper[VE_NAME_MAX];
		uint64_t rounds = 0, bad = 0;
		struct ve_chaninfo ci = { .redelivered = 0 };

		p = ve_skip_space(p + n);
		n = ve_word_len(p);
		if (n == 0 || n >= sizeof(keeper) || *ve_skip_space(p + n))
			goto usage;
		memcpy(keeper, p, n);
		keeper[n] = 0;
		why = stress(keeper, &rounds, &bad);
		ve_chan_info_named("blk0", &ci);
		kv[0] = VE_KV_NUM("rounds", rounds);
		kv[1] = VE_KV_NUM("bad", bad);
		kv[2] = VE_KV_NUM("redelivered", ci.redelivered);
		report("blkstress", why, kv, 3);
		return 0;
	}
usage:
	ve_printf("blkcheck: bad args '%s' (want check N, ro N, stress KEEPER or err N)\n", args);
	return 2;
}
