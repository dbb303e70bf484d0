/*
 * A fault campaign's record, shared by the part that runs it (campaign.c:
 * boots the appliance, injects faults), the part that reads the event log
 * into it (campaign_track.c) and the part that judges and reports it
 * (campaign_report.c: the checks, the text and JSON reports, the SVG
 * chart). The record is plain data, filled in as the events arrive, so
 * that the report is a pure function of it.
 */
#ifndef VESTA_TOOLS_CAMPAIGN_H
#define VESTA_TOOLS_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CAMP_NAME_MAX 24 /* a service's name, as in the event log */
#define CAMP_KIND_MAX 16 /* a fault kind's name */
#define CAMP_MAX_SVCS 16 /* services of the tree the campaign tracks */

/* How one fault ended, worst last (the order is the report's). */
enum camp_outcome {
	CAMP_NO_RESTART,    /* the target survived it: nothing to recover */
	CAMP_TRANSPARENT,   /* restarted, and no client saw an error */
	CAMP_CLIENT_ERROR,  /* restarted; a client got an error or a timeout */
	CAMP_STATE_LOST,    /* recovered, but a service's kept state was reset */
	CAMP_ESCALATED,	    /* a supervisor gave up: a subtree (or all) restarted */
	CAMP_NOT_RECOVERED, /* the target did not serve again within the bound */
	CAMP_NOT_INJECTED,  /* the shell did not inject it (no `inject` event) */
	CAMP_KERNEL_DOWN,   /* a panic, or the machine stopped */
	CAMP_NOUTCOMES
};

/* What one fault did to its target (campaign_track.c decides). */
enum camp_fault_death {
	CAMP_SURVIVED,	/* its target did not die of it */
	CAMP_DIED,	/* its target died in its window; not serving again (yet) */
	CAMP_RECOVERED, /* ... and its next process serves */
	CAMP_DIED_LATE, /* its target died of it after its window (a corruption
			   that bit later) */
};

/* One fault: what was asked, what the kernel did, how the tree answered. */
struct camp_fault {
	int index;		    /* from 1, in injection order (in its job) */
	int job;		    /* the guest it ran in, from 0 (--jobs) */
	char target[CAMP_NAME_MAX]; /* the service asked for */
	char kind[CAMP_KIND_MAX];   /* the kind the kernel reports */
	uint64_t arg, seed;	    /* as typed; seed replays this fault */
	int pid;		    /* the target's pid at injection; 0: unknown */
	uint64_t inject_ns;	    /* the inject event's t_ns */
	enum camp_fault_death death;
	char reason[CAMP_KIND_MAX]; /* the exit's reason, if it died */
	uint64_t exit_ns;	    /* the target's exit event's t_ns, if killed */
	uint64_t recovery_us;	    /* its exit to serving again */
	uint64_t detect_us;	    /* inject to its exit (a hang: the heartbeat) */
	bool escalated;		    /* escalate or giveup while it was handled */
	bool state_lost;	    /* kv reset its table (or a stash was discarded) */
	uint64_t client_errors;	    /* workload errors+timeouts+bad, deadletters */
	bool panic;		    /* the kernel panicked while it was handled */
	char answer[96];	    /* the shell's line, when not injected */
	enum camp_outcome outcome;
	/* --resp: what respcheck saw from this fault's typing to the next's
	 * (campaign_resp.c lines its incidents up with these windows). */
	double host_at;	       /* host time it was typed (CLOCK_MONOTONIC s) */
	uint32_t resp_resets;  /* connections reset or closed */
	uint32_t resp_lost;    /* answers lost: timeouts, writes gone */
	uint32_t resp_wrong;   /* wrong, duplicated or error answers */
	uint32_t resp_excused; /* answers a dataset reset explained (run_id) */
	double resp_stall_ms;  /* the longest client stall that began here */
};

/* A service's process as the event log last showed it (campaign_track.c
 * moves it): whether its next (re)start is a restart of its own. */
enum camp_svc_life {
	CAMP_SVC_UP,	  /* running, or being (re)started by its supervisor */
	CAMP_SVC_DIED,	  /* its process ended by itself: the next start is its own */
	CAMP_SVC_STOPPED, /* its supervisor stopped it, for a sibling's restart */
};

/* A service of the tree as the event log shows it. */
struct camp_svc {
	char name[CAMP_NAME_MAX];
	int pid;	   /* current incarnation; 0 before the first spawn */
	bool serves;	   /* it serves a channel (recovery: chan_serve) */
	int restarts_seen; /* its (re)starts after it died by itself */
	int escalations;   /* `escalate` events naming it (a supervisor) */
	int own_exits;	   /* its own failures no fault into it explains */
	enum camp_svc_life life;
	int tree_restarts; /* restarts= in the final `tree`; -1: not seen */
	bool tree_up;	   /* the final `tree` says up */
	bool in_tree;	   /* it appeared in the final `tree` */
	bool stuck;	   /* still the process the last fault into it stopped */
};

/* The workload's counters, as its last event reported them (plus what
 * earlier incarnations counted before their record was lost). keys_lost:
 * acknowledged keys that went with a kv table reset it was told of. */
struct camp_workload {
	bool seen;
	uint64_t ok, bad, errors, timeouts, dups, keys_lost, kv_resets;
};

/* --resp: tools/respcheck ran beside the guest through the whole campaign
 * (its clients on the guest's Redis port); its summary line. */
struct camp_resp {
	bool on;       /* the campaign ran it */
	bool reported; /* its summary line was read */
	int status;    /* its exit status; -1: it did not exit by itself */
	uint64_t requests, replies, lost, wrong, dup, errors, timeouts;
	uint64_t ambiguous, resets, reconnects;
	uint64_t state_resets, excused; /* kv's run_id changed; answers that explains */
	uint64_t late;			/* replies overdue (still delivered or broken) */
	double stall_ms_max;
	char final[16]; /* its read-back at the end: "ok", or what failed */
};

/* Everything a campaign learned; the report reads only this. */
struct camp_record {
	uint64_t seed; /* job k ran with seed + k */
	int jobs;      /* guests that ran side by side (--jobs) */
	const char *accel;
	const char *kinds;   /* as asked, comma-separated */
	const char *targets; /* as asked */
	int faults_asked;
	struct camp_fault *f; /* in injection order */
	size_t nf;
	struct camp_svc svc[CAMP_MAX_SVCS];
	size_t nsvc;
	struct camp_workload wl;
	bool workload_alive; /* it reported during the final check */
	int kernel_panics;
	bool machine_stopped; /* QEMU ended before the campaign did */
	bool tree_checked;    /* the final `tree` was read */
	bool finished;	      /* camp_record_finish closed it */
	int escalations, giveups, kv_resets, deadletters, stash_discards;
	int redis_resets;    /* kv's Redis keyspace made anew or found damaged */
	int workload_resets; /* its record lost (checksum) */
	double wall_s;	     /* how long the campaign took */
	bool stopped_early;  /* a bound hit: max-seconds, console dead */
	char why_stopped[160];
	struct camp_resp resp;
};

extern const char *const camp_outcome_name[CAMP_NOUTCOMES];

/* The record's service named name, added if new (NULL: the table is full). */
struct camp_svc *camp_svc_get(struct camp_record *r, const char *name);

/*
 * Judge the record and write DIR/report.txt, DIR/report.json and
 * DIR/recovery.svg; print the text report and a one-line verdict to say
 * (NULL: nowhere). Returns true iff every check holds; an I/O failure is
 * reported as false, with a message on stderr.
 */
bool camp_report(const struct camp_record *r, const char *dir, FILE *say);

/* Close one guest's record once its campaign ended: mark the services
 * still stuck in the process their last fault stopped (while the record
 * knows which pid is whose). Before camp_report and camp_record_save;
 * camp_report fails a record that was not closed. */
void camp_record_finish(struct camp_record *r);

/* Did fault f kill its target (in its window or later)? */
static inline bool camp_fault_killed(const struct camp_fault *f)
{
	return f->death != CAMP_SURVIVED;
}

/* How fault f ended, as the report counts it. */
enum camp_outcome camp_outcome_of(const struct camp_fault *f);

/*
 * Save a record (one job's) to path, and load one back; the strings
 * accel/kinds/targets are not saved (the loader's caller sets them).
 * Returns 0, or -1 with errno.
 */
int camp_record_save(const struct camp_record *r, const char *path);
int camp_record_load(struct camp_record *r, const char *path);

/* a += b for the counters since boot (not seen). */
void camp_workload_add(struct camp_workload *a, const struct camp_workload *b);

/* Add job record b to the merged record a (faults appended, counters
 * summed, services matched by name). */
void camp_record_merge(struct camp_record *a, const struct camp_record *b);

/* ---- --resp (campaign_resp.c) ---- */

/* Read respcheck's JSON summary line into s. 0, or -1 if it is not one. */
int camp_resp_summary(struct camp_resp *s, const char *line);

/* Add respcheck's incident log (--log: one JSON line each) to the faults
 * whose windows they fall in; those before the first fault are not
 * counted to any. */
void camp_resp_attribute(struct camp_record *r, const char *log);

/* a += b, for --jobs. */
void camp_resp_merge(struct camp_resp *a, const struct camp_resp *b, bool first);

#endif
