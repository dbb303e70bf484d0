/*
 * A guest: one QEMU process booting one image. guest_start() runs QEMU in
 * a process group of its own with COM1 on a unix socket (com1.h: logged to
 * com1.log, and typed into by guest_type) and COM2 going to a file;
 * guest_poll() reads what the guest added to COM2 (the event log), turns
 * each line into an event, enforces the timeout and reaps QEMU; stopping
 * is SIGTERM to the group, then SIGKILL after a grace period. Every QEMU
 * started is remembered, so that guest_stop_all() can stop them on any
 * way out (on Linux, QEMU is also killed if the runner dies).
 */
#ifndef VESTA_BOOT_GUEST_H
#define VESTA_BOOT_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "com1.h"
#include "scenario.h"
#include "util.h"

#define GUEST_DEFAULT_QEMU "qemu-system-x86_64"
#define GUEST_DEFAULT_ACCEL "tcg"
#define GUEST_DEFAULT_OVMF "/usr/share/ovmf/OVMF.fd" /* Debian's ovmf package */

/* What to boot and how; owned by the caller, which keeps it alive. */
struct guest_config {
	const char *iso;     /* the image: -cdrom */
	const char *dir;     /* output folder: com1.log, com1.sock, com2.log, qemu.log */
	long memory_mib;     /* -m */
	long disk_kib;	     /* create dir/disk.img of this many KiB of zeros; 0: none */
	bool uefi;	     /* boot OVMF instead of the BIOS */
	const char *cpu;     /* -cpu MODEL, or NULL for QEMU's default */
	const char *machine; /* -machine TYPE, or NULL for QEMU's default (pc) */
	char *const *extra;  /* appended to the command line; "{dir}",
				"{port}", "{port2}" in one stand for dir, port,
				port2 (subst.h) */
	size_t nextra;
	int port, port2;   /* reserved by the caller; 0: the placeholder stays */
	long timeout_s;	   /* then stop the guest: guest_poll says GUEST_TIMED_OUT */
	const char *label; /* "NAME [FW]", for -v output */
	bool verbose;	   /* print the QEMU command line and every COM2 line */
	/*
	 * Called for each event in log order while the guest runs and once
	 * more for what is left when QEMU has exited. Returning true cuts the
	 * log there (later lines are ignored) and stops the guest.
	 */
	bool (*on_event)(void *ctx, const struct scn_event *e);
	void *ctx;
};

enum guest_state {
	GUEST_IDLE,	/* not started, or it could not start */
	GUEST_RUNNING,	/* QEMU runs; the guest may still be working */
	GUEST_STOPPING, /* SIGTERM sent; SIGKILL at kill_at */
	GUEST_DONE,	/* QEMU reaped */
};

/* Zero-initialise, then guest_start(). Fields are read-only outside guest.c. */
struct guest {
	struct guest_config cfg;
	enum guest_state state;
	pid_t pid;    /* QEMU and its process group; 0 when none */
	bool ran;     /* QEMU was started */
	double start; /* when */
	double timeout_at;
	double kill_at; /* STOPPING: when SIGTERM turns into SIGKILL */
	double elapsed; /* from start until QEMU was reaped */
	bool stopped;	/* we stopped QEMU (on_event, timeout) */
	bool reaped;
	int status; /* from waitpid, once reaped */

	struct com1 com1;  /* the console: QEMU waits for us to connect */
	double connect_by; /* give up on COM1 then (GUEST_NO_COM1) */

	/* Reading com2.log: byte offset, the unfinished last line. */
	char *com2;
	off_t offset;
	char *part;
	size_t npart, cappart;
	bool overlong; /* the current line passed 64 KiB */
	int nlines;    /* lines seen, blank ones included */
	bool cut;      /* past the line that stopped the guest: later lines
			     are ignored */

	struct scn_event *ev; /* parsed events, in log order */
	size_t nev, capev;
	size_t nbad;  /* lines after the first event that are not a
				 flat JSON object */
	int bad_line; /* the first of them */
	char *bad_raw;
};

/*
 * Check the inputs (image, firmware), create or empty the logs in
 * cfg->dir, and start QEMU. 0, or -1 with the reason in *m (then QEMU did
 * not start and g->state stays GUEST_IDLE).
 */
int guest_start(struct guest *g, const struct guest_config *cfg, struct msg *m);

/* What guest_poll() saw. */
enum guest_news {
	GUEST_NO_NEWS,	 /* still running (or stopping) */
	GUEST_TIMED_OUT, /* the timeout passed just now; the guest is being stopped */
	GUEST_NO_COM1,	 /* COM1's socket did not take our connection in time;
			    the guest is being stopped (see g->com1.last_errno) */
	GUEST_ENDED,	 /* QEMU was reaped and the whole log read: state is DONE */
};

/* One look at a running guest at time now: its log, its process, its clock. */
enum guest_news guest_poll(struct guest *g, double now);

/* How long QEMU may take to let us connect to COM1 (GUEST_NO_COM1). */
#define GUEST_CONNECT_S 30

/*
 * Type len bytes on the guest's COM1, one every every_s seconds (0: all at
 * once), after whatever is still being typed. Bytes that cannot be typed
 * (COM1 never connected, or QEMU gone) are dropped and counted in
 * g->com1.dropped.
 */
void guest_type(struct guest *g, const char *bytes, size_t len, double every_s);

/* When guest_poll() should next run to type on time; a huge value if not. */
double guest_next_due(const struct guest *g);

/* Stop the guest now, cutting its log here, as a met `until` does. */
void guest_stop(struct guest *g);

/* QEMU's exit status if it exited by itself, or -1 (killed by a signal). */
int guest_exit_code(const struct guest *g);

/* How QEMU ended, in words, e.g. "QEMU exit status 3 (the guest wrote 1 ...)". */
void guest_describe_end(struct msg *m, const struct guest *g);

/* Stop every QEMU still running and reap it, waiting at most the grace. */
void guest_stop_all(void);

/* Free what g owns (QEMU must be gone). */
void guest_free(struct guest *g);

#endif
