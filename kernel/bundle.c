/*
 * Opening the boot bundle: header checks, decompression into a buffer the
 * caller gives, and the validation of every table entry (see bundle.h for
 * the format).
 *
 * The bundle is the first data the kernel reads that a person produced, so
 * every field is checked here once, at the boundary; the code that starts
 * processes then uses the tables without further checks. Each failure names
 * its cause in a static string so the kernel can log why it refused a boot.
 *
 * Freestanding: no libc, the few string helpers are below.
 */
#include "bundle.h"

#include "pci.h"

/* The payload tables are read in place, so the byte order must match. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the bundle payload is little-endian and read in place"
#endif

#define FNV1A_OFFSET 2166136261u
#define FNV1A_PRIME 16777619u

/* Header field offsets, see struct bundle_header. */
#define HDR_VERSION 8
#define HDR_FLAGS 12
#define HDR_COMP_SIZE 16
#define HDR_RAW_SIZE 20
#define HDR_FNV1A 24
#define HDR_RESERVED 28

/* Which strings a name check reports, for a proc or an image name. */
struct name_errs {
	const char *unterminated;
	const char *empty;
	const char *badchar;
};

static const struct name_errs proc_name_errs = {
	"process name unterminated",
	"process name empty",
	"process name has a bad character",
};

static const struct name_errs image_name_errs = {
	"image name unterminated",
	"image name empty",
	"image name has a bad character",
};

/*
 * What a channel list check reports, for serve[] or open[]. An empty slot is
 * not an error there, so empty is the message for a used slot after one.
 */
static const struct name_errs serve_name_errs = {
	"served channel name unterminated",
	"served channel after an empty slot",
	"served channel name has a bad character",
};

static const struct name_errs open_name_errs = {
	"opened channel name unterminated",
	"opened channel after an empty slot",
	"opened channel name has a bad character",
};

/* Records reason for the caller, if it asked, and returns err. */
static int fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool bytes_equal(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/* Length of s, looking at no more than max bytes; max if no NUL there. */
static size_t str_nlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

/*
 * True if the fixed-size field a (NUL-terminated within BUNDLE_NAME_MAX
 * bytes) holds the same string as b. b is any C string.
 */
static bool name_equal(const char *a, const char *b)
{
	for (size_t i = 0; i < BUNDLE_NAME_MAX; i++) {
		if (a[i] != b[i])
			return false;
		if (a[i] == '\0')
			return true;
	}
	return false;
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/*
 * Checks a name field: NUL-terminated, non-empty, only [A-Za-z0-9_.-] (names
 * go into the log, so no control bytes). Returns NULL if it is fine, else
 * the matching string from errs.
 */
static const char *check_name(const char *name, const struct name_errs *errs)
{
	size_t n = str_nlen(name, BUNDLE_NAME_MAX);

	if (n == BUNDLE_NAME_MAX)
		return errs->unterminated;
	if (n == 0)
		return errs->empty;
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(name[i]))
			return errs->badchar;
	return NULL;
}

uint32_t bundle_fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = FNV1A_OFFSET;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV1A_PRIME;
	}
	return h;
}

int bundle_peek(const void *mod, size_t len, size_t *raw_size, const char **why)
{
	const uint8_t *h = mod;
	uint32_t comp, raw;

	if (!mod || !raw_size)
		return fail(why, "no module", -VE_INVAL);
	if (len < BUNDLE_HEADER_SIZE)
		return fail(why, "truncated header", -VE_INVAL);
	if (!bytes_equal(h, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN))
		return fail(why, "bad magic", -VE_INVAL);
	if (get_le32(h + HDR_VERSION) != BUNDLE_VERSION)
		return fail(why, "unsupported version", -VE_INVAL);
	if (get_le32(h + HDR_FLAGS) != 0)
		return fail(why, "unknown flags", -VE_INVAL);
	if (get_le32(h + HDR_RESERVED) != 0)
		return fail(why, "reserved header field not zero", -VE_INVAL);
	comp = get_le32(h + HDR_COMP_SIZE);
	raw = get_le32(h + HDR_RAW_SIZE);
	if (comp == 0)
		return fail(why, "empty compressed block", -VE_INVAL);
	if (comp > len - BUNDLE_HEADER_SIZE)
		return fail(why, "compressed block runs past the module", -VE_INVAL);
	if (raw > BUNDLE_MAX_RAW)
		return fail(why, "payload larger than the limit", -VE_RANGE);
	if (raw < sizeof(struct bundle_payload))
		return fail(why, "payload smaller than its header", -VE_INVAL);
	*raw_size = raw;
	return 0;
}

/* Checks image i of b: its name, and that its data lies after the tables. */
static int check_image(const struct bundle *b, uint32_t i, size_t tables_end, const char **why)
{
	const struct bundle_image *im = &b->images[i];
	const char *bad = check_name(im->name, &image_name_errs);

	if (bad)
		return fail(why, bad, -VE_INVAL);
	for (uint32_t j = 0; j < i; j++)
		if (name_equal(b->images[j].name, im->name))
			return fail(why, "duplicate image name", -VE_INVAL);
	if (im->size == 0)
		return fail(why, "empty image", -VE_INVAL);
	if (im->offset % BUNDLE_IMAGE_ALIGN != 0)
		return fail(why, "image data not aligned", -VE_INVAL);
	/* Written so that offset + size cannot wrap. */
	if (im->offset < tables_end || im->offset > b->size || im->size > b->size - im->offset)
		return fail(why, "image data out of range", -VE_INVAL);
	return 0;
}

/* Checks the port ranges of p: used ones ordered, unused ones zero. */
static int check_ports(const struct bundle_proc *p, const char **why)
{
	if (p->nports > VE_SPAWN_PORTS)
		return fail(why, "too many port ranges", -VE_INVAL);
	for (uint32_t k = 0; k < VE_SPAWN_PORTS; k++) {
		const struct bundle_ports *r = &p->ports[k];

		if (k < p->nports && r->first > r->last)
			return fail(why, "port range reversed", -VE_INVAL);
		if (k >= p->nports && (r->first != 0 || r->last != 0))
			return fail(why, "unused port range not zero", -VE_INVAL);
	}
	return 0;
}

/*
 * Checks a serve[] or open[] list: used slots first, each a valid name that
 * is not repeated, then empty ones. dup is the message for a repeat.
 */
static int check_chans(const char (*list)[BUNDLE_NAME_MAX], const struct name_errs *errs,
		       const char *dup, const char **why)
{
	bool ended = false;

	for (uint32_t k = 0; k < VE_SPAWN_CHANS; k++) {
		const char *bad;

		if (list[k][0] == '\0') {
			ended = true;
			continue;
		}
		if (ended)
			return fail(why, errs->empty, -VE_INVAL);
		if ((bad = check_name(list[k], errs)))
			return fail(why, bad, -VE_INVAL);
		for (uint32_t j = 0; j < k; j++)
			if (name_equal(list[j], list[k]))
				return fail(why, dup, -VE_INVAL);
	}
	return 0;
}

/* True if the (checked) serve[] of p names chan. */
static bool serves(const struct bundle_proc *p, const char *chan)
{
	for (uint32_t k = 0; k < VE_SPAWN_CHANS && p->serve[k][0]; k++)
		if (name_equal(p->serve[k], chan))
			return true;
	return false;
}

/*
 * Checks the IRQ bits and channel limits of p. Limits without a served
 * channel would be silently ignored, so they are refused.
 */
static int check_limits(const struct bundle_proc *p, const char **why)
{
	if (p->irqs & ~VE_IRQS_VALID)
		return fail(why, "bad IRQ bits", -VE_INVAL);
	if (pci_devsel_check(p->devs))
		return fail(why, "malformed device grants", -VE_INVAL);
	return bundle_chan_limits_check(p->queue, p->qbytes, p->redeliveries,
					p->serve[0][0] != '\0', why);
}

int bundle_chan_limits_check(uint32_t queue, uint32_t qbytes, uint32_t redeliveries, bool serves,
			     const char **why)
{
	if (queue > VE_CHAN_QUEUE_MAX)
		return fail(why, "queue limit out of range", -VE_INVAL);
	if (qbytes > VE_CHAN_QBYTES_MAX)
		return fail(why, "queue byte limit out of range", -VE_INVAL);
	if (redeliveries > VE_CHAN_REDELIVERIES_MAX)
		return fail(why, "redelivery limit out of range", -VE_INVAL);
	if ((queue || qbytes || redeliveries) && !serves)
		return fail(why, "channel limits on a process that serves none", -VE_INVAL);
	return 0;
}

/* True if some used port range of a overlaps one of b. */
static bool ports_overlap(const struct bundle_proc *a, const struct bundle_proc *b)
{
	for (uint32_t k = 0; k < a->nports; k++)
		for (uint32_t l = 0; l < b->nports; l++)
			if (a->ports[k].first <= b->ports[l].last &&
			    b->ports[l].first <= a->ports[k].last)
				return true;
	return false;
}

/*
 * Checks that proc i of b holds nothing exclusive that an earlier proc
 * holds: a served channel, an IRQ line, an I/O port or a PCI device. Both
 * must have been checked on their own already.
 */
static int check_exclusive(const struct bundle *b, uint32_t i, const char **why)
{
	const struct bundle_proc *p = &b->procs[i];

	for (uint32_t j = 0; j < i; j++) {
		const struct bundle_proc *q = &b->procs[j];

		for (uint32_t k = 0; k < VE_SPAWN_CHANS && p->serve[k][0]; k++)
			if (serves(q, p->serve[k]))
				return fail(why, "duplicate served channel", -VE_INVAL);
		if (p->irqs & q->irqs)
			return fail(why, "IRQ granted to two processes", -VE_INVAL);
		if (ports_overlap(p, q))
			return fail(why, "port ranges of two processes overlap", -VE_INVAL);
		for (uint32_t k = 0; k < VE_SPAWN_DEVS && p->devs[k].vendor; k++)
			for (uint32_t l = 0; l < VE_SPAWN_DEVS && q->devs[l].vendor; l++)
				if (ve_devsel_same(&p->devs[k], &q->devs[l]))
					return fail(why, "device granted to two processes",
						    -VE_INVAL);
	}
	return 0;
}

/* Checks that every channel proc i of b opens is served by some proc. */
static int check_opens(const struct bundle *b, uint32_t i, const char **why)
{
	const struct bundle_proc *p = &b->procs[i];

	for (uint32_t k = 0; k < VE_SPAWN_CHANS && p->open[k][0]; k++) {
		uint32_t j = 0;

		while (j < b->nprocs && !serves(&b->procs[j], p->open[k]))
			j++;
		if (j == b->nprocs)
			return fail(why, "process opens a channel no process serves", -VE_INVAL);
	}
	return 0;
}

/*
 * Checks proc i of b on its own and against procs 0..i-1; the images must
 * have been checked already.
 */
static int check_proc(const struct bundle *b, uint32_t i, const char **why)
{
	const struct bundle_proc *p = &b->procs[i];
	const char *bad = check_name(p->name, &proc_name_errs);
	int err;

	if (bad)
		return fail(why, bad, -VE_INVAL);
	for (uint32_t j = 0; j < i; j++)
		if (name_equal(b->procs[j].name, p->name))
			return fail(why, "duplicate process name", -VE_INVAL);
	if (str_nlen(p->image, BUNDLE_NAME_MAX) == BUNDLE_NAME_MAX ||
	    !bundle_image_find(b, p->image))
		return fail(why, "process names a missing image", -VE_INVAL);
	if (str_nlen(p->args, BUNDLE_ARGS_MAX) == BUNDLE_ARGS_MAX)
		return fail(why, "process args unterminated", -VE_INVAL);
	if (p->prio >= VE_NPRIO)
		return fail(why, "bad priority", -VE_INVAL);
	if (p->grants & ~VE_GRANTS_KNOWN)
		return fail(why, "unknown grant bits", -VE_INVAL);
	if (p->reserved != 0 || (p->flags & ~BUNDLE_PROC_FLAGS_KNOWN))
		return fail(why, "reserved process field not zero", -VE_INVAL);
	if ((err = check_ports(p, why)) < 0)
		return err;
	if ((err = check_chans(p->serve, &serve_name_errs, "duplicate served channel", why)) < 0)
		return err;
	if ((err = check_chans(p->open, &open_name_errs, "duplicate opened channel", why)) < 0)
		return err;
	if ((err = check_limits(p, why)) < 0)
		return err;
	return check_exclusive(b, i, why);
}

/*
 * Checks the tables of the size-byte payload at payload and, if all is well,
 * fills *out.
 */
static int check_payload(const uint8_t *payload, size_t size, struct bundle *out, const char **why)
{
	const struct bundle_payload *head = (const void *)payload;
	struct bundle b;
	size_t tables_end;
	int err;

	if (head->nprocs > BUNDLE_MAX_PROCS)
		return fail(why, "too many processes", -VE_RANGE);
	if (head->nimages > BUNDLE_MAX_IMAGES)
		return fail(why, "too many images", -VE_RANGE);
	/* The limits above keep this far from overflowing. */
	tables_end = sizeof(*head) + (size_t)head->nprocs * sizeof(struct bundle_proc) +
		     (size_t)head->nimages * sizeof(struct bundle_image);
	if (tables_end > size)
		return fail(why, "tables run past the payload", -VE_INVAL);

	b.payload = payload;
	b.size = size;
	b.nprocs = head->nprocs;
	b.nimages = head->nimages;
	b.procs = (const void *)(payload + sizeof(*head));
	b.images = (const void *)(payload + sizeof(*head) + b.nprocs * sizeof(struct bundle_proc));
	for (uint32_t i = 0; i < b.nimages; i++)
		if ((err = check_image(&b, i, tables_end, why)) < 0)
			return err;
	for (uint32_t i = 0; i < b.nprocs; i++)
		if ((err = check_proc(&b, i, why)) < 0)
			return err;
	/* Only now is every serve[] known good. */
	for (uint32_t i = 0; i < b.nprocs; i++)
		if ((err = check_opens(&b, i, why)) < 0)
			return err;
	*out = b;
	return 0;
}

int bundle_open(const void *mod, size_t len, void *buf, size_t buf_len,
		int (*decompress)(const void *src, size_t src_len, void *dst, size_t dst_cap),
		struct bundle *out, const char **why)
{
	const uint8_t *h = mod;
	size_t raw;
	int err, got;

	if ((err = bundle_peek(mod, len, &raw, why)) < 0)
		return err;
	if (!buf || !decompress || !out)
		return fail(why, "missing argument", -VE_INVAL);
	if ((uintptr_t)buf % BUNDLE_BUF_ALIGN != 0)
		return fail(why, "buffer not aligned", -VE_INVAL);
	if (buf_len < raw)
		return fail(why, "buffer too small", -VE_RANGE);

	got = decompress(h + BUNDLE_HEADER_SIZE, get_le32(h + HDR_COMP_SIZE), buf, raw);
	if (got < 0)
		return fail(why, "decompression failed", -VE_INVAL);
	if ((size_t)got != raw)
		return fail(why, "decompressed size mismatch", -VE_INVAL);
	if (bundle_fnv1a(buf, raw) != get_le32(h + HDR_FNV1A))
		return fail(why, "checksum mismatch", -VE_INVAL);
	return check_payload(buf, raw, out, why);
}

const struct bundle_image *bundle_image_find(const struct bundle *b, const char *name)
{
	if (!b || !name)
		return NULL;
	for (uint32_t i = 0; i < b->nimages; i++)
		if (name_equal(b->images[i].name, name))
			return &b->images[i];
	return NULL;
}

const void *bundle_image_data(const struct bundle *b, const struct bundle_image *im)
{
	uintptr_t first, at;

	if (!b || !im)
		return NULL;
	/* Compared as integers: im may point anywhere. */
	first = (uintptr_t)b->images;
	at = (uintptr_t)im;
	if (at < first || (at - first) % sizeof(*im) != 0 ||
	    (at - first) / sizeof(*im) >= b->nimages)
		return NULL;
	return b->payload + im->offset;
}
