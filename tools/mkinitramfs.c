/*
 * mkinitramfs: pack a Linux guest's initramfs for `make bench` (see
 * tools/linuxbench.c) and `make bench-redis` (tools/linuxredis.c): a cpio
 * archive in the "newc" format the kernel unpacks, holding /dev, the node
 * /dev/console (so the kernel gives /init the console as its stdin, stdout
 * and stderr), INIT as /init, and each further SRC file as DEST (an
 * absolute path in the guest; its directories are made first). No cpio
 * tool is needed, and the archive is the same bytes for the same files.
 *
 *     mkinitramfs OUT INIT [DEST=SRC]...
 *
 * Exit status: 0 written, 1 an I/O error, 2 bad usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One archive member: what the newc header says about it. */
struct member {
	const char *name;
	uint32_t mode, rdev_major, rdev_minor;
	const unsigned char *data;
	size_t size;
};

/* Zero bytes up to the next multiple of 4, as newc aligns names and data. */
static void pad4(FILE *f, size_t len)
{
	for (; len % 4; len++)
		fputc(0, f);
}

/* A newc header (13 eight-digit hex fields after the magic), the name with
 * its NUL, then the data, each padded to 4 bytes. */
static void put_member(FILE *f, uint32_t ino, const struct member *m)
{
	size_t namesize = strlen(m->name) + 1;

	fprintf(f, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X", ino, m->mode, 0u,
		0u, (m->mode & S_IFMT) == S_IFDIR ? 2u : 1u, 0u, (unsigned)m->size, 0u, 0u,
		m->rdev_major, m->rdev_minor, namesize, 0u);
	fwrite(m->name, 1, namesize, f);
	pad4(f, 110 + namesize);
	fwrite(m->data, 1, m->size, f);
	pad4(f, m->size);
}

/* The whole of path in memory; exits on failure. */
static unsigned char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "mkinitramfs: %s: %s\n", path, strerror(errno ? errno : EIO));
		exit(1);
	}
	fclose(f);
	*size = (size_t)n;
	return buf;
}

/* Each directory above dest (e.g. "lib" and "lib/modules" for
 * "/lib/modules/x.ko") that no earlier member made; names are kept in seen. */
static void put_parents(FILE *f, uint32_t *ino, const char *dest, char **seen, size_t *nseen)
{
	char dir[4096];

	for (const char *p = strchr(dest, '/'); p; p = strchr(p + 1, '/')) {
		size_t len = (size_t)(p - dest), i;

		if (len == 0 || len >= sizeof(dir))
			continue;
		memcpy(dir, dest, len);
		dir[len] = '\0';
		for (i = 0; i < *nseen && strcmp(seen[i], dir); i++)
			;
		if (i < *nseen)
			continue;
		seen[(*nseen)++] = strdup(dir);
		struct member m = { dir, S_IFDIR | 0755, 0, 0, NULL, 0 };
		put_member(f, (*ino)++, &m);
	}
}

/* The DEST=SRC arguments: SRC's bytes as DEST, without its leading "/". */
static void put_extras(FILE *f, uint32_t *ino, int n, char **args)
{
	size_t cap = 1, nseen = 1; /* at most one directory per '/' */
	char **seen;

	for (int i = 0; i < n; i++)
		for (const char *p = args[i]; *p; p++)
			cap += *p == '/';
	seen = calloc(cap, sizeof(char *));
	if (!seen)
		exit(1);

	seen[0] = "dev";
	for (int i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		struct member m = { NULL, S_IFREG | 0755, 0, 0, NULL, 0 };

		if (!eq || eq == args[i]) {
			fprintf(stderr, "mkinitramfs: %s: want DEST=SRC\n", args[i]);
			exit(2);
		}
		*eq = '\0';
		m.name = args[i] + strspn(args[i], "/");
		m.data = slurp(eq + 1, &m.size);
		put_parents(f, ino, m.name, seen, &nseen);
		put_member(f, (*ino)++, &m);
		free((void *)m.data);
	}
}

int main(int argc, char **argv)
{
	struct member m[] = {
		{ "dev", S_IFDIR | 0755, 0, 0, NULL, 0 },
		{ "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0 },
		{ "init", S_IFREG | 0755, 0, 0, NULL, 0 },
	};
	struct member trailer = { "TRAILER!!!", 0, 0, 0, NULL, 0 };
	unsigned char *init;
	uint32_t ino = 1;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: mkinitramfs OUT INIT [DEST=SRC]...\n");
		return 2;
	}
	init = slurp(argv[2], &m[2].size);
	m[2].data = init;
	f = fopen(argv[1], "wb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		put_member(f, ino++, &m[i]);
	put_extras(f, &ino, argc - 3, argv + 3);
	put_member(f, ino, &trailer);
	int bad = ferror(f); /* fclose must run either way */
	if (fclose(f) || bad) {
		perror(argv[1]);
		return 1;
	}
	free(init);
	return 0;
}
