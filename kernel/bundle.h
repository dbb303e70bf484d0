/*
 * The boot bundle: the one GRUB module that carries every image the kernel
 * may start (static ELF64 files) and the table of processes it starts at
 * boot, with each one's priority, I/O port, IRQ and PCI device grants, other grants, the
 * channels it serves and opens (and the queue limits of those it serves) and
 * argument string. tools/mkbundle builds it from a manifest; tools/BUNDLE.md describes
 * the format for people.
 *
 * On disk (all integers little-endian):
 *
 *   struct bundle_header      32 bytes, see below
 *   comp_size bytes           one LZ4 block holding the payload
 *
 * The payload, once decompressed into a buffer the caller provides:
 *
 *   struct bundle_payload     counts
 *   struct bundle_proc        x nprocs
 *   struct bundle_image       x nimages
 *   image data                each image 16-byte aligned; offsets are
 *                             relative to the payload's start
 *
 * Nothing in a bundle is trusted: bundle_open() checks the header, the
 * decompressed size, the checksum and every table entry before it hands out
 * any of it, so the code that starts processes can use the tables as they
 * are. This file and bundle.c are freestanding and host-testable.
 */
#ifndef VESTA_BUNDLE_H
#define VESTA_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vesta/abi.h>

#define BUNDLE_MAGIC "VBUNDLE1" /* 8 bytes, no NUL in the file */
#define BUNDLE_MAGIC_LEN 8
#define BUNDLE_VERSION 3u
#define BUNDLE_HEADER_SIZE 32u

/*
 * Limits. 64 MiB of payload is far more than an appliance's drivers and
 * services need, yet small enough that the kernel can always find the
 * buffer; the table limits keep every check below a small fixed loop.
 */
#define BUNDLE_MAX_RAW (64u * 1024u * 1024u)
#define BUNDLE_MAX_PROCS 64u
#define BUNDLE_MAX_IMAGES 64u
#define BUNDLE_NAME_MAX 32u    /* names, including the NUL */
#define BUNDLE_ARGS_MAX 96u    /* argument string, including the NUL */
#define BUNDLE_IMAGE_ALIGN 16u /* alignment of each image's data */
#define BUNDLE_BUF_ALIGN 8u    /* alignment bundle_open needs of its buffer */

#define BUNDLE_PROC_SPAWN_ONLY 0x1u /* `start spawn`: a template for spawn() */
#define BUNDLE_PROC_FLAGS_KNOWN BUNDLE_PROC_SPAWN_ONLY

/* IRQ grants (bundle_proc.irqs) within VE_IRQS_VALID; channel limits
 * within VE_CHAN_*_MAX (abi.h). */
#define BUNDLE_REDELIVERIES_DEFAULT 3u /* what redeliveries == 0 stands for */

/* The file header. Read byte by byte: a module need not be aligned. */
struct bundle_header {
	char magic[BUNDLE_MAGIC_LEN]; /* BUNDLE_MAGIC */
	uint32_t version;	      /* BUNDLE_VERSION */
	uint32_t flags;		      /* 0; no flags are defined */
	uint32_t comp_size;	      /* bytes of LZ4 block after the header */
	uint32_t raw_size;	      /* bytes of payload it decompresses to */
	uint32_t raw_fnv1a;	      /* FNV-1a (32-bit) of the payload */
	uint32_t reserved;	      /* 0 */
};

/* Start of the payload. */
struct bundle_payload {
	uint32_t nprocs;  /* <= BUNDLE_MAX_PROCS */
	uint32_t nimages; /* <= BUNDLE_MAX_IMAGES */
};

/* An inclusive range of I/O ports a process may use. */
struct bundle_ports {
	uint16_t first;
	uint16_t last; /* >= first */
};

/*
 * One process started at boot, in table order. A channel name has the same
 * form as a process name; in serve[] and open[] an empty string marks an
 * unused slot, and unused slots come after the used ones. No two processes
 * serve the same channel, hold the same IRQ line, share an I/O port or
 * name the same PCI device for certain (ve_devsel_same), and
 * every opened channel is served by some process of the table. queue,
 * qbytes and redeliveries apply to each channel the process serves, 0 means
 * the kernel's default, and all three are 0 if it serves none.
 */
struct bundle_proc {
	char name[BUNDLE_NAME_MAX];		     /* unique among procs, [A-Za-z0-9_.-]+ */
	char image[BUNDLE_NAME_MAX];		     /* name of a bundle_image */
	char args[BUNDLE_ARGS_MAX];		     /* NUL-terminated, may be empty */
	uint8_t prio;				     /* enum ve_prio */
	uint8_t nports;				     /* used entries of ports[] */
	uint16_t grants;			     /* VE_GRANT_* bits */
	uint32_t reserved;			     /* 0 */
	struct bundle_ports ports[VE_SPAWN_PORTS];   /* unused entries are 0 */
	char serve[VE_SPAWN_CHANS][BUNDLE_NAME_MAX]; /* channels it serves */
	char open[VE_SPAWN_CHANS][BUNDLE_NAME_MAX];  /* channels it may open */
	uint16_t irqs;				     /* IRQ lines granted, VE_IRQS_VALID bits */
	uint16_t flags;				     /* BUNDLE_PROC_* */
	uint32_t queue;	       /* max queued + in flight per served channel, 0 or 1..4096 */
	uint32_t qbytes;       /* max queued bytes per served channel, 0 or 1..16 MiB */
	uint32_t redeliveries; /* per message on a served channel, 0 or 1..1000 */
	struct ve_devsel devs[VE_SPAWN_DEVS]; /* PCI devices granted; vendor 0 = unused */
};

/* One image: a name and where its bytes lie in the payload. */
struct bundle_image {
	char name[BUNDLE_NAME_MAX]; /* unique among images, [A-Za-z0-9_.-]+ */
	uint32_t offset;	    /* from payload start, 16-byte aligned */
	uint32_t size;		    /* > 0 */
};

_Static_assert(sizeof(struct bundle_header) == BUNDLE_HEADER_SIZE, "bundle header is 32 bytes");
_Static_assert(sizeof(struct bundle_payload) == 8, "payload head is 8 bytes");
_Static_assert(sizeof(struct bundle_ports) == 4, "port range is 4 bytes");
_Static_assert(sizeof(struct bundle_proc) == 488, "proc entry is 488 bytes");
_Static_assert(offsetof(struct bundle_proc, serve) == 200, "serve[] follows ports[]");
_Static_assert(offsetof(struct bundle_proc, irqs) == 456, "irqs follows open[]");
_Static_assert(offsetof(struct bundle_proc, devs) == 472, "devs[] follows redeliveries");
_Static_assert(sizeof(struct ve_devsel) == 8, "a device grant is 8 bytes");
_Static_assert(sizeof(struct bundle_image) == 40, "image entry is 40 bytes");
_Static_assert(BUNDLE_NAME_MAX == VE_NAME_MAX, "names match the ABI");
_Static_assert(BUNDLE_ARGS_MAX == VE_ARGS_MAX, "args match the ABI");

/*
 * An opened bundle: views into the caller's buffer, valid as long as that
 * buffer is. Every entry has been checked by bundle_open().
 */
struct bundle {
	const uint8_t *payload;		   /* start of the payload */
	size_t size;			   /* payload bytes (raw_size) */
	const struct bundle_proc *procs;   /* nprocs entries */
	const struct bundle_image *images; /* nimages entries */
	uint32_t nprocs;
	uint32_t nimages;
};

/*
 * Checks the header of the len-byte module at mod and sets *raw_size to the
 * buffer size bundle_open() will need. Bytes after the LZ4 block are ignored
 * (a loader may pad the module).
 * Errors: -VE_INVAL for a missing or malformed header or a block that runs
 * past the module; -VE_RANGE if the payload is larger than BUNDLE_MAX_RAW.
 * On any error, if why is not NULL, *why is set to a static string naming
 * the problem, for the log.
 */
int bundle_peek(const void *mod, size_t len, size_t *raw_size, const char **why);

/*
 * Opens the bundle in the len-byte module at mod: decompresses its payload
 * into buf (BUNDLE_BUF_ALIGN-aligned, buf_len >= the size bundle_peek()
 * gives) with decompress, checks the produced size and the checksum, then
 * checks every table entry. Fills *out only on success.
 * decompress(src, src_len, dst, dst_cap) must decompress src_len bytes at src
 * into at most dst_cap bytes at dst and return the number of bytes produced,
 * or a negative number if the input is malformed or would not fit; the
 * kernel and host tests pass a wrapper over lz4's LZ4_decompress_safe().
 * Errors: -VE_INVAL for any malformation (header, LZ4 data, size, checksum,
 * tables) or a bad argument; -VE_RANGE for a payload above BUNDLE_MAX_RAW,
 * more procs or images than the limits allow, or a buffer that is too small.
 * On any error, if why is not NULL, *why is set to a static string naming
 * the problem.
 */
int bundle_open(const void *mod, size_t len, void *buf, size_t buf_len,
		int (*decompress)(const void *src, size_t src_len, void *dst, size_t dst_cap),
		struct bundle *out, const char **why);

/*
 * Checks the limits of the channels a process serves (struct bundle_proc's
 * queue, qbytes and redeliveries, or the same in a spawn_spec): each 0 (the
 * kernel's default) or up to VE_CHAN_QUEUE_MAX, VE_CHAN_QBYTES_MAX and
 * VE_CHAN_REDELIVERIES_MAX, and all 0 unless serves (the process serves some
 * channel), since they would be silently ignored.
 * Errors: -VE_INVAL, with *why (if why is not NULL) naming the check.
 */
int bundle_chan_limits_check(uint32_t queue, uint32_t qbytes, uint32_t redeliveries, bool serves,
			     const char **why);

/* The image called name, or NULL if b has none (or name is NULL). */
const struct bundle_image *bundle_image_find(const struct bundle *b, const char *name);

/*
 * The first byte of im's data (im->size bytes), or NULL if im is not one of
 * b's images.
 */
const void *bundle_image_data(const struct bundle *b, const struct bundle_image *im);

/* FNV-1a, 32-bit, of n bytes at p: the payload checksum. */
uint32_t bundle_fnv1a(const void *p, size_t n);

#endif
