/*
 * mkinitramfs: pack the Linux guest's initramfs for `make bench` (see
 * tools/linuxbench.c): a cpio archive in the "newc" format the kernel
 * unpacks, holding /dev, the node /dev/console (so the kernel gives /init
 * the console as its stdin, stdout and stderr) and INIT as /init. No cpio
 * tool is needed, and the archive is the same bytes for the same INIT.
 *
 *     mkinitramfs OUT INIT
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

int main(int argc, char **argv)
{
	struct member m[] = {
		{ "dev", S_IFDIR | 0755, 0, 0, NULL, 0 },
		{ "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0 },
		{ "init", S_IFREG | 0755, 0, 0, NULL, 0 },
		{ "TRAILER!!!", 0, 0, 0, NULL, 0 },
	};
	unsigned char *init;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: mkinitramfs OUT INIT\n");
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
		put_member(f, (uint32_t)i + 1, &m[i]);
	int bad = ferror(f); /* fclose must run either way */
	if (fclose(f) || bad) {
		perror(argv[1]);
		return 1;
	}
	free(init);
	return 0;
}
