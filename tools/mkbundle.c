/*
 * mkbundle: builds the boot bundle (the one GRUB module the kernel unpacks)
 * from a manifest (image lines and process sections in the policy
 * language, tools/manifest.h), or lists what a bundle holds.
 *
 *   mkbundle [-I DIR]... -o OUT MANIFEST
 *   mkbundle -l BUNDLE
 *
 * An image PATH in the manifest is taken as written if absolute; otherwise
 * it is looked up in the manifest's directory, then in each -I DIR in the
 * order given. Before keeping OUT, mkbundle opens what it wrote with the
 * kernel's own bundle_open() and compares the payload, so a bundle it
 * leaves behind is one the kernel accepts. On any error it prints one
 * message, leaves no OUT (nor a temporary file) and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_write.h"
#include "manifest.h"

#define MAX_INCLUDES 32

struct options {
	const char *out;      /* -o */
	const char *manifest; /* the operand */
	const char *list;     /* -l */
	const char *incs[MAX_INCLUDES];
	size_t nincs;
};

/* Images read from disk, parallel to manifest.images. */
struct loaded {
	uint8_t *data[BUNDLE_MAX_IMAGES];
	size_t size[BUNDLE_MAX_IMAGES];
};

static void usage(void)
{
	fprintf(stderr, "usage: mkbundle [-I DIR]... -o OUT MANIFEST\n"
			"       mkbundle -l BUNDLE\n");
	exit(1);
}

/*
 * Reads the file at path into a malloc'd buffer. Returns 0, -EFBIG if it
 * holds more than max bytes, or another negated errno value.
 */
static int read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	uint8_t *buf = NULL, *grown;
	FILE *f = fopen(path, "rb");
	int err = 0;

	if (!f)
		return -errno;
	do {
		if (n == cap || !buf) {
			cap = buf ? cap * 2 : cap;
			if (!(grown = realloc(buf, cap))) {
				err = -ENOMEM;
				break;
			}
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > max)
			err = -EFBIG;
	} while (!err && got > 0);
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*data = buf;
	*len = n;
	return 0;
}

/* dir + "/" + name in a malloc'd string, or NULL. */
static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *s = malloc(a + b + 2);

	if (s)
		snprintf(s, a + b + 2, "%s/%s", dir, name);
	return s;
}

/* The directory part of path ("." if it has none), malloc'd, or NULL. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	char *s;

	if (!slash)
		return strdup(".");
	if (n == 0)
		n = 1; /* "/x" lives in "/" */
	if ((s = malloc(n + 1))) {
		memcpy(s, path, n);
		s[n] = '\0';
	}
	return s;
}

/* Reads dir/path; 0 or a negated errno value as for read_file(). */
static int read_in(const char *dir, const char *path, uint8_t **data, size_t *len)
{
	char *full = join(dir, path);
	int err;

	if (!full)
		return -ENOMEM;
	err = read_file(full, BUNDLE_MAX_RAW, data, len);
	free(full);
	return err;
}

/*
 * Finds and reads image im: absolute as is, else in mdir, then in each -I
 * directory. Prints a manifest-located message on failure.
 */
static int load_image(const struct options *o, const char *mdir, const struct pol_image *im,
		      uint8_t **data, size_t *len)
{
	int err, first;

	if (im->path[0] == '/') {
		err = read_file(im->path, BUNDLE_MAX_RAW, data, len);
	} else {
		first = err = read_in(mdir, im->path, data, len);
		for (size_t i = 0; err == -ENOENT && i < o->nincs; i++)
			err = read_in(o->incs[i], im->path, data, len);
		if (err == -ENOENT)
			err = first;
	}
	if (err == -EFBIG)
		fprintf(stderr,
			"%s:%u:%u: expected a file of at most 64 MiB, "
			"found '%s'\n",
			o->manifest, im->pos.line, im->pos.col, im->path);
	else if (err < 0)
		fprintf(stderr, "%s:%u:%u: expected a readable file, found '%s' (%s)\n",
			o->manifest, im->pos.line, im->pos.col, im->path, strerror(-err));
	else if (*len == 0) {
		free(*data);
		*data = NULL;
		fprintf(stderr, "%s:%u:%u: expected a non-empty file, found '%s'\n", o->manifest,
			im->pos.line, im->pos.col, im->path);
		err = -VE_INVAL;
	}
	return err;
}

static int load_images(const struct options *o, const struct manifest *m, struct loaded *l)
{
	char *mdir = dir_of(o->manifest);
	int err = 0;

	if (!mdir)
		return -VE_NOMEM;
	for (size_t i = 0; i < m->images.n && !err; i++)
		err = load_image(o, mdir, &m->images.image[i], &l->data[i], &l->size[i]);
	free(mdir);
	return err;
}

/*
 * Opens the bundle file image with the kernel's code and, if payload is not
 * NULL, checks it decodes to exactly those bytes. Prints why on failure.
 */
static int verify(const char *name, const uint8_t *file, size_t len, const uint8_t *payload,
		  struct bundle *b, void **buf)
{
	const char *why = "";
	size_t raw;
	int err;

	*buf = NULL;
	if ((err = bundle_peek(file, len, &raw, &why)) == 0) {
		if (!(*buf = malloc(raw)))
			err = -VE_NOMEM, why = "out of memory";
		else
			err = bundle_open(file, len, *buf, raw, bundle_lz4_decompress, b, &why);
	}
	if (!err && payload && memcmp(*buf, payload, raw) != 0)
		err = -VE_INVAL, why = "payload differs after a round trip";
	if (err) {
		fprintf(stderr, "mkbundle: %s: not a valid bundle: %s\n", name, why);
		free(*buf);
		*buf = NULL;
	}
	return err;
}

/* Writes len bytes to path through a temporary file and a rename. */
static int write_atomic(const char *path, const void *data, size_t len)
{
	size_t n = strlen(path) + sizeof(".XXXXXX");
	char *tmp = malloc(n);
	const uint8_t *p = data;
	int fd, err = 0;
	ssize_t w;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, n, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	while (!err && len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno != EINTR)
			err = -errno;
		else if (w > 0)
			p += w, len -= (size_t)w;
	}
	if (!err && fchmod(fd, 0644) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

/* Lays out, packs, self-checks and writes the bundle for m. */
static int emit(const struct options *o, const struct manifest *m, const struct loaded *l)
{
	struct bundle_write_image ims[BUNDLE_MAX_IMAGES];
	uint8_t *payload = NULL, *file = NULL;
	size_t plen, flen;
	struct bundle b;
	void *buf = NULL;
	int err;

	for (size_t i = 0; i < m->images.n; i++) {
		ims[i].name = m->images.image[i].name;
		ims[i].data = l->data[i];
		ims[i].size = l->size[i];
	}
	err = bundle_write_payload(m->procs, m->nprocs, ims, m->images.n, &payload, &plen);
	if (err == -VE_RANGE)
		fprintf(stderr,
			"mkbundle: %s: images add up to more than "
			"64 MiB\n",
			o->manifest);
	if (!err && (err = bundle_write_pack(payload, plen, &file, &flen)))
		fprintf(stderr, "mkbundle: compression failed\n");
	if (!err)
		err = verify(o->out, file, flen, payload, &b, &buf);
	if (!err && (err = write_atomic(o->out, file, flen)))
		fprintf(stderr, "mkbundle: %s: %s\n", o->out, strerror(-err));
	free(buf);
	free(file);
	free(payload);
	return err;
}

static int build(const struct options *o)
{
	char msg[MANIFEST_ERR_MAX];
	struct manifest *m = malloc(sizeof(*m));
	struct loaded l = { 0 };
	uint8_t *text = NULL;
	size_t len;
	int err;

	if (!m)
		return -VE_NOMEM;
	if ((err = read_file(o->manifest, SIZE_MAX, &text, &len)) < 0)
		fprintf(stderr, "mkbundle: %s: %s\n", o->manifest, strerror(-err));
	else if ((err = manifest_parse(o->manifest, (const char *)text, len, m, msg, sizeof(msg))) <
		 0)
		fprintf(stderr, "%s\n", msg);
	else if (!(err = load_images(o, m, &l)))
		err = emit(o, m, &l);
	for (size_t i = 0; i < BUNDLE_MAX_IMAGES; i++)
		free(l.data[i]);
	free(text);
	free(m);
	return err;
}

static const char *prio_name(unsigned prio)
{
	static const char *const names[VE_NPRIO] = VE_PRIO_NAMES;

	return prio < VE_NPRIO ? names[prio] : "?";
}

/* Prints the set bits of mask, named by names[bit] (or numbered), as
 * "\tkey  a b" on a line of its own; nothing when mask is 0. */
static void print_bits(const char *key, unsigned mask, const char *const *names, unsigned nbits)
{
	if (!mask)
		return;
	printf("\t%-9s", key);
	for (unsigned bit = 0; bit < nbits; bit++) {
		if (!(mask & (1u << bit)))
			continue;
		if (names)
			printf(" %s", names[bit]);
		else
			printf(" %u", bit);
	}
	printf("\n");
}

/* Prints one process as the manifest's process section that describes it
 * (tools/BUNDLE.md), every key written out. */
static void print_proc(const struct bundle_proc *p)
{
	static const char *const grants[VE_NGRANT_BITS] = VE_GRANT_NAMES;

	printf("process %s\n\timage     %s\n\tpriority  %s\n", p->name, p->image,
	       prio_name(p->prio));
	if (p->nports) {
		printf("\tports    ");
		for (unsigned k = 0; k < p->nports; k++)
			printf(" 0x%x-0x%x", p->ports[k].first, p->ports[k].last);
		printf("\n");
	}
	print_bits("irqs", p->irqs, NULL, 16);
	print_bits("grants", p->grants, grants, VE_NGRANT_BITS);
	for (unsigned k = 0; k < VE_SPAWN_CHANS && p->serve[k][0]; k++) {
		printf("\tserves    %s", p->serve[k]);
		if (p->queue)
			printf(" max_messages %u", p->queue);
		if (p->qbytes)
			printf(" max_bytes %u", p->qbytes);
		if (p->redeliveries)
			printf(" max_redeliveries %u", p->redeliveries);
		printf("\n");
	}
	if (p->open[0][0]) {
		printf("\topens    ");
		for (unsigned k = 0; k < VE_SPAWN_CHANS && p->open[k][0]; k++)
			printf(" %s", p->open[k]);
		printf("\n");
	}
	printf("\tstart     %s\n", p->flags & BUNDLE_PROC_SPAWN_ONLY ? "spawn" : "boot");
	if (p->args[0])
		printf("\targs      %s\n", p->args);
}

/* mkbundle -l: decodes a bundle with the kernel's code and prints it. */
static int list(const char *path)
{
	uint8_t *file;
	size_t len;
	struct bundle b;
	void *buf;
	int err;

	if ((err = read_file(path, SIZE_MAX, &file, &len)) < 0) {
		fprintf(stderr, "mkbundle: %s: %s\n", path, strerror(-err));
		return err;
	}
	if ((err = verify(path, file, len, NULL, &b, &buf)) == 0) {
		printf("bundle %s: %zu bytes, payload %zu bytes, "
		       "%u images, %u procs\n",
		       path, len, b.size, b.nimages, b.nprocs);
		for (uint32_t i = 0; i < b.nimages; i++)
			printf("image %-31s offset 0x%08x size %u\n", b.images[i].name,
			       b.images[i].offset, b.images[i].size);
		for (uint32_t i = 0; i < b.nprocs; i++)
			print_proc(&b.procs[i]);
	}
	free(buf);
	free(file);
	return err;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt(argc, argv, "I:o:l:")) != -1) {
		if (c == 'I' && o->nincs < MAX_INCLUDES)
			o->incs[o->nincs++] = optarg;
		else if (c == 'o')
			o->out = optarg;
		else if (c == 'l')
			o->list = optarg;
		else
			usage();
	}
	if (o->list && (o->out || o->nincs || optind != argc))
		usage();
	if (!o->list && (!o->out || optind != argc - 1))
		usage();
	if (!o->list)
		o->manifest = argv[optind];
}

int main(int argc, char **argv)
{
	struct options o = { 0 };

	parse_options(argc, argv, &o);
	if (o.list)
		return list(o.list) < 0 ? 1 : 0;
	return build(&o) < 0 ? 1 : 0;
}
