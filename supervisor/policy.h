/*
 * The policy language: the files a person writes to describe processes --
 * which services run, with what restart policy and hardware grants, and how
 * supervisors compose them into a tree; and which processes the kernel
 * itself starts from the boot table (`process` sections, written in a boot
 * image's manifest). policies/README.md describes the language for people.
 *
 * One parser serves two callers: tools/polcheck validates every policy file
 * at build time, and the supervisor parses the same files again at boot from
 * the image. So this file and the parser (policy*.c) are freestanding: they
 * use kernel/lib (fmt, num, string) and no libc,
 * hold no globals and work in memory the caller provides (a struct pol_set,
 * about 100 KiB, zeroed by pol_init()).
 *
 * Use:
 *
 *	pol_init(&set);
 *	for each file:  pol_parse_file(&set, name, text, len, &err);
 *	pol_check(&set, &err);
 *
 * tools/mkbundle reads a manifest with pol_parse_manifest() instead: the
 * same language, whose file may also start with `image NAME PATH` lines
 * and holds only `process` sections.
 *
 * pol_parse_file() checks everything that can be checked inside one file;
 * pol_check() checks what needs every file (names used before they are
 * defined, the shape of the tree, grants two services hold) and then fills
 * in the derived fields (parent, child indices, root) that make the set
 * usable by the supervisor as it is. A mistake produces one message
 * "file:line:col: expected X, found Y".
 */
#ifndef VESTA_SUPERVISOR_POLICY_H
#define VESTA_SUPERVISOR_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vesta/abi.h>

#include "decide.h" /* the OTP enums: restart types, strategies, stash, give-up */

/*
 * Limits. They match what the boot bundle can carry per process (names,
 * args, 8 port ranges, 4 served and 4 opened channels), so a valid policy
 * always fits in it. 64 services and 16 supervisors are far beyond an
 * appliance's needs and keep every cross-check a small fixed loop.
 */
#define POL_MAX_SERVICES 64u
#define POL_MAX_SUPERVISORS 16u
#define POL_MAX_PROCESSES 64u /* == BUNDLE_MAX_PROCS, the kernel's boot table */
#define POL_MAX_IMAGES 64u    /* image lines of a manifest; == BUNDLE_MAX_IMAGES */
#define POL_PATH_MAX 1024u    /* an image line's path, including the NUL */
#define POL_MAX_CHILDREN 32u  /* children of one supervisor */
#define POL_MAX_FILES 64u     /* files in one set */
#define POL_NAME_MAX 32u      /* names, including the NUL; == VE_NAME_MAX */
#define POL_ARGS_MAX 96u      /* the argument string, including the NUL; == VE_ARGS_MAX */
#define POL_FILE_MAX 96u      /* a file name as kept for messages, including the NUL */
#define POL_ERR_MAX 256u      /* any message fits, including the NUL */

/* Value limits. A duration is kept in milliseconds. */
#define POL_DURATION_MAX_MS (60u * 60u * 1000u) /* 60m: longer is a typo */
#define POL_INTENSITY_MAX 1000u
/* Channel limits and IRQ lines: VE_CHAN_*_MAX and VE_IRQS_VALID (abi.h). */

/* Defaults of keys that are left out (OTP's where OTP has one). */
#define POL_DEFAULT_SHUTDOWN_MS 5000u /* OTP's default for a worker */
#define POL_DEFAULT_INTENSITY 1u      /* OTP: 1 restart ... */
#define POL_DEFAULT_PERIOD_MS 5000u   /* ... per 5 s */

/*
 * The supervisor's own channel: it serves it (heartbeats, the shell's
 * commands), so a service may open it without anyone serving it in a policy,
 * and no service may serve it.
 */
#define POL_SUP_CHANNEL "sup"

/*
 * A service's `restart`, a supervisor's `strategy` and `on_giveup` and a
 * service's `state` are the decision machine's own enums (decide.h:
 * sup_restart, sup_strategy, sup_giveup, sup_stash), so a checked set runs
 * as written, with no mapping between two numberings.
 */

/* Whether the kernel starts a process at boot (process sections only). */
enum pol_start {
	POL_START_BOOT = 0,  /* at boot, in the order of the sections (the default) */
	POL_START_SPAWN = 1, /* never by itself: a template that spawn(NAME) starts */
};

/*
 * Where a word was written: files[file] of the set, line and column from 1
 * (a column counts bytes; a tab is one). Kept so pol_check() can point at
 * the word a cross-file mistake is about.
 */
struct pol_pos {
	uint32_t file;
	uint32_t line;
	uint32_t col;
};

/* An inclusive range of I/O ports. */
struct pol_ports {
	uint16_t first;
	uint16_t last; /* >= first */
	struct pol_pos pos;
};

/* A PCI device granted by `device VVVV:DDDD [index N | at BB:DD.F]`: a
 * well-formed ve_devsel (kernel/pci.h's rules), where it was written. */
struct pol_device {
	struct ve_devsel sel;
	struct pol_pos pos;
};

/* A channel a service serves, with its limits; 0 = the kernel's default. */
struct pol_serve {
	char name[POL_NAME_MAX];
	uint32_t max_messages;	   /* 0 or 1..VE_CHAN_QUEUE_MAX */
	uint32_t max_bytes;	   /* 0 or 1..VE_CHAN_QBYTES_MAX */
	uint32_t max_redeliveries; /* 0 or 1..VE_CHAN_REDELIVERIES_MAX */
	struct pol_pos pos;
};

/* A channel a service opens. */
struct pol_open {
	char name[POL_NAME_MAX];
	struct pol_pos pos;
};

/*
 * One `service` section, or one `process` section: a process is described
 * by the keys a service has, without those only a supervisor acts on
 * (restart, shutdown, heartbeat, backoff, state keep their defaults), plus
 * `start`; and it may hold the `supervisor` grant. Every name is
 * NUL-terminated and valid.
 */
struct pol_service {
	char name[POL_NAME_MAX];  /* unique among services, supervisors and processes */
	char image[POL_NAME_MAX]; /* default: the name */
	struct pol_pos image_pos; /* of the image key's value, or pos */
	char args[POL_ARGS_MAX];  /* words joined by single spaces; may be empty */
	enum sup_restart restart;
	uint32_t shutdown_ms;	   /* 0 = brutal_kill */
	uint32_t heartbeat_ms;	   /* 0 = no heartbeat */
	uint32_t ready_timeout_ms; /* 0 = none: may take forever to serve */
	uint32_t backoff_min_ms;   /* 0 = restart at once (then max is 0 too) */
	uint32_t backoff_max_ms;   /* doubling from min, capped here; >= min */
	enum sup_stash state;	   /* the `state` key: keep or discard the stash */
	enum ve_prio prio;
	uint16_t grants; /* VE_GRANT_* */
	uint16_t irqs;	 /* bit n = IRQ line n, within VE_IRQS_VALID */
	struct pol_pos irq_pos[16];
	struct pol_ports ports[VE_SPAWN_PORTS];
	uint32_t nports;
	struct pol_device devices[VE_SPAWN_DEVS]; /* PCI devices, one `device` line each */
	uint32_t ndevices;
	struct pol_serve serves[VE_SPAWN_CHANS];
	uint32_t nserves;
	struct pol_open opens[VE_SPAWN_CHANS];
	uint32_t nopens;
	enum pol_start start; /* processes only */
	struct pol_pos pos;   /* of the name in `service NAME` or `process NAME` */
	int32_t parent;	      /* set by pol_check(): index of its supervisor */
};

/* A child of a supervisor, in start order. */
struct pol_child {
	char name[POL_NAME_MAX];
	struct pol_pos pos;
	bool is_supervisor; /* set by pol_check() */
	uint32_t index;	    /* set by pol_check(): into services[] or supervisors[] */
};

/* One `supervisor` section. */
struct pol_supervisor {
	char name[POL_NAME_MAX];
	enum sup_strategy strategy;
	uint32_t intensity; /* more than this many restarts ... */
	uint32_t period_ms; /* ... within this window: give up */
	enum sup_giveup on_giveup;
	struct pol_child children[POL_MAX_CHILDREN];
	uint32_t nchildren;
	struct pol_pos pos;	      /* of the name in `supervisor NAME` */
	struct pol_pos intensity_pos; /* of N in `intensity`, or pos */
	struct pol_pos giveup_pos;    /* of the value of `on_giveup` */
	bool has_giveup;	      /* on_giveup was written */
	int32_t parent;		      /* set by pol_check(): index, or -1 at the root */
};

/*
 * A set of policy files. Services and supervisors are in the order they
 * were defined. After a successful pol_check(), checked is true, root is the
 * index of the root supervisor, every child's is_supervisor/index and every
 * parent are filled in, and the set is a tree holding every service once.
 */
struct pol_set {
	char files[POL_MAX_FILES][POL_FILE_MAX]; /* names for messages */
	uint32_t nfiles;
	struct pol_service services[POL_MAX_SERVICES];
	uint32_t nservices;
	struct pol_supervisor supervisors[POL_MAX_SUPERVISORS];
	uint32_t nsupervisors;
	struct pol_service processes[POL_MAX_PROCESSES]; /* the kernel's boot table */
	uint32_t nprocesses;
	uint32_t root;
	bool checked;
};

/* An `image NAME PATH` line of a manifest: a file the boot bundle carries. */
struct pol_image {
	char name[POL_NAME_MAX];
	char path[POL_PATH_MAX]; /* as written, not yet resolved */
	struct pol_pos pos;	 /* of the path, for messages about the file */
};

/* The image lines of a manifest, in order. About 68 KiB. */
struct pol_images {
	struct pol_image image[POL_MAX_IMAGES];
	uint32_t n;
};

/*
 * An error: msg holds "file:line:col: expected X, found Y" (no newline);
 * line and col are those in msg (0 if there was no position).
 */
struct pol_error {
	char msg[POL_ERR_MAX];
	uint32_t line;
	uint32_t col;
};

/* Empties *s. Errors: -VE_INVAL if s is NULL. */
int pol_init(struct pol_set *s);

/*
 * Parses the len bytes of policy text at text (it need not be NUL-terminated
 * and may hold any bytes) and adds its services and supervisors to *s. fname
 * names the file in messages; a name longer than POL_FILE_MAX - 1 bytes is
 * kept by its last bytes. Clears s->checked.
 * On an error fills *e (if not NULL) and leaves *s as it was before the call.
 * Errors: -VE_INVAL for any mistake in the text or a NULL argument; -VE_RANGE
 * if the set already holds POL_MAX_FILES files (a mistake in the text that
 * exceeds a limit, like a 65th service, is -VE_INVAL with a message).
 */
int pol_parse_file(struct pol_set *s, const char *fname, const char *text, size_t len,
		   struct pol_error *e);

/*
 * Parses a manifest (the len bytes at text, named fname in messages) as
 * pol_parse_file() parses a policy file, into *s (which should be empty)
 * and *im: `image NAME PATH` lines, each image name once, before the first
 * section; then `process` sections only, each naming (by its image key or
 * its name) an image of an image line. Errors: as pol_parse_file(); *im is
 * then incomplete.
 */
int pol_parse_manifest(struct pol_set *s, struct pol_images *im, const char *fname,
		       const char *text, size_t len, struct pol_error *e);

/*
 * Checks the set as a whole once every file is parsed: every child names a
 * defined service or supervisor, no supervisor contains itself, there is
 * exactly one root (a supervisor that is nobody's child) and only it says
 * on_giveup, every service and supervisor is the child of exactly one
 * supervisor, no supervisor with intensity 0 has a permanent child (a
 * supervisor child counts as permanent), no channel is served twice, every
 * opened channel is served, and no two services hold the same IRQ line or
 * overlapping I/O ports. Processes count with services for channels and
 * hardware, except that a process may open only what a process serves (the
 * kernel's boot table holds no services) and serves every channel with the
 * same limits (the table holds one set); a set of processes alone has no
 * tree to check. Then fills in the derived fields and sets s->checked.
 * Stops at the first mistake, in that order.
 * Errors: -VE_INVAL for a mistake (message in *e if not NULL) or a NULL s.
 */
int pol_check(struct pol_set *s, struct pol_error *e);

/*
 * Fills *e, if not NULL, with the one message every mistake produces:
 * "file:line:col: expected <expected>, found <found>", cut to fit. For the
 * parser and for the checks built on a set (plan.c). Returns -VE_INVAL.
 */
int pol_set_error(struct pol_error *e, const char *file, uint32_t line, uint32_t col,
		  const char *expected, const char *found);

/* Index of the service or supervisor named name, or -VE_NOENT (-VE_INVAL for NULL). */
int pol_service_find(const struct pol_set *s, const char *name);
int pol_supervisor_find(const struct pol_set *s, const char *name);

/* The words the language uses for a value, for logs and the console; "?"
 * if out of range. (The decision machine's sup_strategy_name() and
 * sup_giveup_name() read the same tables, SUP_*_NAMES in decide.h.) */
const char *pol_restart_name(enum sup_restart r);
const char *pol_strategy_name(enum sup_strategy st);
const char *pol_giveup_name(enum sup_giveup g);
const char *pol_state_name(enum sup_stash st);
const char *pol_prio_name(enum ve_prio p);
const char *pol_start_name(enum pol_start st);

#endif
