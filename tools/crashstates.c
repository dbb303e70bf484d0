/*
 * crashstates: the host half of tools/crashstates.sh (issue 15). Killing
 * QEMU keeps every write the host cached, so it cannot show what a power
 * cut does to writes the disk had not flushed; this tool can. It reads the
 * log QEMU's blklogwrites filter kept of every write and flush kv's disk
 * saw during a checked load (wlog.h), and builds the disks a power cut
 * could have left: the disk as of flush k (every write logged before it),
 * plus any subset of the writes between flush k and flush k+1 (interval
 * k; interval 0 starts at the blank disk, the last one runs to the log's
 * end), one of them possibly torn at sector boundaries.
 *
 *   crashstates info LOG             {"entries":..,"writes":..,"flushes":..,"intervals":..}
 *   crashstates flushes LOG          the number of flushes logged so far
 *   crashstates plan LOG --states M --seed S
 *       At most M states, one a line: "flush K" (the disk exactly at flush K),
 *       "sub K R" (flush K plus the writes of interval K that random
 *       seed R picks) or "torn K R" (the same, and one multi-sector
 *       write of the interval with only R's pick of its sectors). Every
 *       interval a sub or torn state is drawn from has both its flush
 *       states in the plan, so the script can bound what kv reads there.
 *   crashstates image LOG --size BYTES --out IMG flush K | sub K R | torn K R
 *       writes that disk (the log's base disk started as zeros).
 * Exit 0, 1 on a bad log or failure, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "splitmix.h"
#include "wlog.h"

static uint8_t *log_buf;
static size_t log_len;
static struct wlog wl;

static void usage(void)
{
	fprintf(stderr,
		"usage: crashstates info|flushes LOG\n"
		"       crashstates plan LOG --states M --seed S\n"
		"       crashstates image LOG --size BYTES --out IMG flush K|sub K R|torn K R\n");
	exit(2);
}

static void load(const char *path)
{
	FILE *f = fopen(path, "rb");
	char err[160];
	size_t cap = 1 << 20;

	if (!f) {
		fprintf(stderr, "crashstates: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	log_buf = malloc(cap);
	for (size_t got; log_buf && (got = fread(log_buf + log_len, 1, cap - log_len, f)) > 0;) {
		log_len += got;
		if (log_len == cap)
			log_buf = realloc(log_buf, cap *= 2);
	}
	fclose(f);
	if (!log_buf || wlog_parse(log_buf, log_len, &wl, err, sizeof(err))) {
		fprintf(stderr, "crashstates: %s: %s\n", path, log_buf ? err : "out of memory");
		exit(1);
	}
}

/* Interval k: the entries after flush k (after nothing for k = 0) and
 * before flush k+1 (or the log's end). */
static void interval(size_t k, size_t *from, size_t *to)
{
	*from = k ? wlog_flush_at(&wl, k) + 1 : 0;
	*to = wlog_flush_at(&wl, k + 1);
	if (*from > wl.n)
		*from = wl.n;
}

static size_t interval_writes(size_t k, int multi_only)
{
	size_t from, to, n = 0;

	interval(k, &from, &to);
	for (size_t i = from; i < to; i++)
		n += wlog_is_write(&wl, i) && (!multi_only || wl.e[i].nr_sectors > 1);
	return n;
}

static size_t nonempty_intervals(void)
{
	size_t n = 0;

	for (size_t k = 0; k <= wl.flushes; k++)
		n += interval_writes(k, 0) > 0;
	return n;
}

static int cmd_info(void)
{
	printf("{\"entries\":%zu,\"writes\":%zu,\"flushes\":%zu,\"intervals\":%zu}\n", wl.n,
	       wl.writes, wl.flushes, nonempty_intervals());
	return 0;
}

/* A plan is flush states (have[k]) and drawn states, printed by k. */
struct plan {
	char *have;
	size_t *subk, nsub, used;
};

static void want_flush(struct plan *p, size_t k)
{
	if (k <= wl.flushes && !p->have[k]) {
		p->have[k] = 1;
		p->used++;
	}
}

static size_t cost(const struct plan *p, size_t k)
{
	return 1 + !p->have[k] + (k < wl.flushes && !p->have[k + 1]);
}

static void add_sub(struct plan *p, size_t k)
{
	want_flush(p, k);
	want_flush(p, k + 1);
	p->subk[p->nsub++] = k;
	p->used++;
}

static void shuffle(size_t *a, size_t n, uint64_t *s)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = splitmix_below(s, i), t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Whether a drawn state of interval k can differ from its flush states:
 * two writes or more, or one that can tear. */
static int drawable(size_t k)
{
	return interval_writes(k, 0) > 1 || interval_writes(k, 1) > 0;
}

static void print_plan(const struct plan *p, uint64_t *s)
{
	for (size_t k = 0; k <= wl.flushes; k++) {
		if (p->have[k])
			printf("flush %zu\n", k);
		for (size_t i = 0; i < p->nsub; i++)
			if (p->subk[i] == k)
				printf("%s %zu %llu\n",
				       interval_writes(k, 1) && (splitmix_next(s) & 1) ? "torn"
										       : "sub",
				       k, (unsigned long long)(splitmix_next(s) >> 1));
	}
}

/* The last flush first (kv must have all N there). Then, in a seeded
 * order, the intervals a drawn state can tell from its ends (drawable),
 * each with its two flush states and one drawn state, and more drawn
 * states from them up to a quarter of M (a sequential load has few such
 * intervals, a checkpoint's among them, and they are where a cut can
 * reorder); then the other intervals, with their two flush states only
 * (their empty and full subsets, all there is); what is left of M draws
 * more states from the drawable ones. */
static int cmd_plan(size_t m, uint64_t seed)
{
	size_t nk = wl.flushes + 1, *dr = calloc(nk, sizeof(size_t)),
	       *pl = calloc(nk, sizeof(size_t));
	size_t ndr = 0, npl = 0, chosen = 0;
	struct plan p = { calloc(nk + 1, 1), calloc(m + 1, sizeof(size_t)), 0, 0 };
	uint64_t s = seed;

	if (!dr || !pl || !p.have || !p.subk)
		return 1;
	want_flush(&p, wl.flushes);
	for (size_t k = 0; k < nk; k++) {
		if (drawable(k))
			dr[ndr++] = k;
		else if (interval_writes(k, 0))
			pl[npl++] = k;
	}
	shuffle(dr, ndr, &s);
	shuffle(pl, npl, &s);
	for (; chosen < ndr && p.used + cost(&p, dr[chosen]) <= m; chosen++)
		add_sub(&p, dr[chosen]);
	while (chosen && p.nsub < m / 4 && p.used < m)
		add_sub(&p, dr[splitmix_below(&s, chosen)]);
	for (size_t i = 0; i < npl && p.used < m; i++)
		if (p.used + cost(&p, pl[i]) - 1 <= m) {
			want_flush(&p, pl[i]);
			want_flush(&p, pl[i] + 1);
		}
	while (chosen && p.used < m)
		add_sub(&p, dr[splitmix_below(&s, chosen)]);
	print_plan(&p, &s);
	return 0;
}

static int apply(size_t i, const uint8_t *keep, uint8_t *disk, size_t size)
{
	if (wlog_apply(&wl, log_buf, i, keep, disk, size) == 0)
		return 0;
	fprintf(stderr, "crashstates: log entry %zu writes past the disk's %zu bytes\n", i, size);
	return -1;
}

/* The writes of interval k that seed r picks (each with odd 1/2), and for
 * a torn state one multi-sector write of it with r's pick of its sectors. */
static int apply_drawn(size_t k, uint64_t r, int torn, uint8_t *disk, size_t size)
{
	size_t from, to, victim = (size_t)-1;
	uint64_t s = r;

	interval(k, &from, &to);
	if (torn) {
		size_t nth = splitmix_below(&s, interval_writes(k, 1));

		for (size_t i = from; i < to && victim == (size_t)-1; i++)
			if (wlog_is_write(&wl, i) && wl.e[i].nr_sectors > 1 && nth-- == 0)
				victim = i;
	}
	for (size_t i = from; i < to; i++) {
		int pick = (int)(splitmix_next(&s) & 1);

		if (i == victim) {
			size_t bytes = (wl.e[i].nr_sectors + 7) / 8;
			uint8_t *keep = calloc(bytes, 1);

			for (size_t j = 0; keep && j < bytes; j++)
				keep[j] = (uint8_t)splitmix_next(&s);
			if (!keep || apply(i, keep, disk, size))
				return -1;
			free(keep);
		} else if (pick && wlog_is_write(&wl, i) && apply(i, NULL, disk, size)) {
			return -1;
		}
	}
	return 0;
}

static int cmd_image(size_t size, const char *out, const char *kind, size_t k, uint64_t r)
{
	uint8_t *disk = calloc(size, 1);
	size_t upto = k ? wlog_flush_at(&wl, k) : 0;
	FILE *f;

	if (!disk || k > wl.flushes) {
		fprintf(stderr, "crashstates: %s\n", disk ? "no such flush" : "out of memory");
		return 1;
	}
	for (size_t i = 0; i < upto; i++)
		if (apply(i, NULL, disk, size))
			return 1;
	if (strcmp(kind, "flush") && apply_drawn(k, r, !strcmp(kind, "torn"), disk, size))
		return 1;
	f = fopen(out, "wb");
	if (!f || fwrite(disk, 1, size, f) != size || fclose(f)) {
		fprintf(stderr, "crashstates: %s: %s\n", out, strerror(errno));
		return 1;
	}
	free(disk);
	return 0;
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s ? s : "", &end, 0);
	if (!s || !*s || *end || errno)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[1] : NULL, *out = NULL, *kind = NULL;
	size_t states = 0, size = 0, k = 0;
	uint64_t seed = 1, r = 0;

	if (!cmd)
		usage();
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--states") && i + 1 < argc)
			states = num(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = num(argv[++i]);
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = num(argv[++i]);
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!kind &&
			 (!strcmp(argv[i], "flush") || !strcmp(argv[i], "sub") ||
			  !strcmp(argv[i], "torn")) &&
			 i + 1 < argc) {
			kind = argv[i];
			k = num(argv[++i]);
			if (strcmp(kind, "flush"))
				r = i + 1 < argc ? num(argv[++i]) : (usage(), 0);
		} else
			usage();
	}
	load(argv[2]);
	if (!strcmp(cmd, "info"))
		return cmd_info();
	if (!strcmp(cmd, "flushes"))
		return printf("%zu\n", wl.flushes) < 0;
	if (!strcmp(cmd, "plan") && states)
		return cmd_plan(states, seed);
	if (!strcmp(cmd, "image") && size && out && kind)
		return cmd_image(size, out, kind, k, r);
	usage();
	return 2;
}
