/*
 * Scenario files: what a boot test expects. scn_load() parses and checks
 * a .scn file (tests/boot/README.md describes the language); scn_watch()
 * and scn_eval_check() judge the guest's events against it, while the
 * guest runs and after it has stopped. No processes and no I/O beyond
 * reading the file and printing its errors: the events come in as a list.
 */
#ifndef VESTA_BOOT_SCENARIO_H
#define VESTA_BOOT_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "jsonline.h"
#include "util.h"

/* One event: a line of com2.log that parsed as a flat JSON object. */
struct scn_event {
	int line;  /* in com2.log, from 1 */
	char *raw; /* the line as read, without its newline */
	char *buf; /* storage behind obj */
	struct jsonline obj;
};

enum scn_check_kind {
	SCN_UNTIL,
	SCN_EXPECT,
	SCN_COUNT,
	SCN_MIN,
	SCN_NOT,
	SCN_ORDER,
	SCN_EXIT_CODE,
};

struct scn_pattern; /* all of a `MATCH...` list must hold */

/* One directive that tests something. */
struct scn_check {
	enum scn_check_kind kind;
	int line;		 /* in the scenario file */
	char *text;		 /* the directive as written, for messages */
	long n;			 /* events for UNTIL/COUNT/MIN; status for EXIT_CODE */
	struct scn_pattern *pat; /* one; several (in order) for ORDER */
	size_t npat;
};

/* A `send` directive: type text on COM1 once the n-th matching event is in. */
struct scn_send {
	int line;		 /* in the scenario file */
	char *text;		 /* the directive as written, for messages */
	long n;			 /* fire at this many matches */
	struct scn_pattern *pat; /* one */
	char *bytes;		 /* TEXT with its escapes decoded */
	size_t len;
	long every_ms; /* pause between two bytes; 0: all at once */
};

enum scn_firmware { SCN_BIOS, SCN_UEFI, SCN_NFW };
extern const char *const scn_fw_name[SCN_NFW]; /* "bios", "uefi" */

/* QEMU's machine type: pc (i440FX, QEMU's default) or q35. */
enum scn_machine { SCN_PC, SCN_Q35, SCN_NMACHINE };
extern const char *const scn_machine_name[SCN_NMACHINE]; /* "pc", "q35" */

/* A parsed scenario file. */
struct scn {
	char *path;
	char *name;  /* file name without .scn: names the output */
	char *image; /* ISO is ISODIR/image.iso */
	char *cpu;   /* QEMU -cpu model, or NULL for QEMU's default */
	enum scn_firmware fw[SCN_NFW];
	size_t nfw;
	enum scn_machine machine[SCN_NMACHINE];
	size_t nmachine;
	char **qemu_args; /* appended to QEMU's command line, in order */
	size_t nqemu_args;
	bool has_host;
	struct scn_send host; /* `host`: bytes is the command to run */
	long timeout_s;
	long memory_mib;
	long disk_kib; /* `disk`: {dir}/disk.img of this many KiB; 0: none */
	bool allow_panic;
	bool has_until;
	bool has_exit_code; /* else QEMU must end with Vesta's success code */
	struct scn_check until;
	struct scn_check *checks; /* in file order */
	size_t nchecks;
	struct scn_send *sends; /* in file order */
	size_t nsends;
};

/*
 * Read and check a scenario file. Every error is printed to stdout as
 * file:line: message; the result is NULL if there was any.
 */
struct scn *scn_load(const char *path);

void scn_free(struct scn *sc);

/* The scenario's name for path: its file name without directories and ".scn". */
char *scn_name(const char *path);

/* What an event means while the guest runs (see scn_watch). */
enum scn_verdict {
	SCN_GO_ON,     /* nothing yet */
	SCN_PANIC,     /* ev=panic and no allow-panic: stop and fail */
	SCN_UNTIL_MET, /* the Nth match of `until`: stop */
};

/*
 * Judge one event as it arrives. *until_hits counts `until` matches so far
 * and is advanced here. After SCN_PANIC or SCN_UNTIL_MET the caller should
 * ignore later events, so that counts do not depend on timing.
 */
enum scn_verdict scn_watch(const struct scn *sc, const struct scn_event *e, long *until_hits);

/*
 * Does event e fire send s? *hits counts s's matches so far and is advanced
 * here (not past s->n). True exactly once: at the s->n-th match.
 */
bool scn_send_fires(const struct scn_send *s, const struct scn_event *e, long *hits);

/*
 * Does check k hold for the events ev[0..nev)? If not, say what was seen
 * instead into *m. Only the event checks (expect, expect-count, expect-min,
 * expect-not, expect-order) are judged here; `until` and `exit-code`
 * depend on how QEMU ended, which the caller knows, and hold here.
 */
bool scn_eval_check(const struct scn_check *k, const struct scn_event *ev, size_t nev,
		    struct msg *m);

#endif
