/*
 * kv's keyspace on a disk (dlog.h), so that every write kv acknowledges
 * survives a power cut and a stash that was lost, discarded or found
 * damaged. The stash's log (rstore.h) stays what makes a connection
 * exactly-once across kv's own deaths; the disk is what makes the
 * keyspace durable.
 *
 * Order: a batch's effects are committed to the stash first (rstore), and
 * its commands are added to the *pending* bytes here. Replies are held
 * (rnet sends no byte of any connection's output past what was produced
 * before the last commit) until rdisk_commit has written the pending
 * commands as one log record and flushed: group commit, one flush for
 * every batch that ran while the last one was in progress. So the disk
 * holds every acknowledged write; the stash may hold more (effects whose
 * replies were not sent yet), never less.
 *
 * At start the disk is read back once:
 *   - the stash was kept and read whole: it is ahead of the disk or equal,
 *     so its keyspace is written to the disk as a checkpoint before any
 *     held reply goes out;
 *   - the stash was made anew or lost records: the keyspace is rebuilt
 *     from the disk (rdisk_load's from_disk), run_id included, so nothing
 *     acknowledged is lost;
 *   - a blank disk (all zeros) is formatted; any other disk that is not
 *     a whole kv disk (someone's data, a newer format, a corrupt one, a
 *     failed read) is never written: kv says so and refuses writes.
 *
 * The channel table (table.h, the `kv` channel's store) rides along when
 * rdisk.table is set: its changes are pending like the commands, its
 * replies wait like the Redis ones, and it comes from the disk when the
 * stash's table was made anew (rdisk.table_from_disk: kv_unposted, which
 * stays set until the disk has been read, so a kv that dies first reads
 * it again).
 *
 * Disk records (the payload's first byte says which):
 *   'I' (checkpoints, first) the dataset's run_id, NUL-terminated.
 *   'T' (checkpoints) the channel table's image (rtable.h).
 *   'K' (checkpoints) commands that rebuild the keyspace.
 *   'B' (log) the commands of the batches of one group commit.
 *   'U' (log) the channel table's changes of one group commit.
 *
 * Host-testable: test_rdisk runs it over the engine and a memory disk.
 */
#ifndef VESTA_SVC_KV_RDISK_H
#define VESTA_SVC_KV_RDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlog.h"
#include "rstore.h"
#include "table.h"

enum rdisk_state {
	RDISK_OFF,	/* no disk configured: the stash alone keeps the data */
	RDISK_WAIT,	/* not read back yet: kv reads no request */
	RDISK_OK,	/* in use */
	RDISK_FAILED,	/* a write or flush failed: writes refused, replies held,
			   a checkpoint retried until one commits */
	RDISK_UNUSABLE, /* not a kv disk kv may write (rdisk.why): writes refused */
};

struct rdisk {
	enum rdisk_state state;
	const char *why; /* FAILED, UNUSABLE: what went wrong, for people */
	struct dlog log;
	struct dlog_dev dev;
	struct rstore *st;
	uint8_t *pend; /* commands run since the last commit, RESP */
	size_t pend_len, pend_cap;
	bool pend_failed;	/* out of memory collecting them: checkpoint instead */
	bool dirty;		/* the keyspace or the table changed since the last commit */
	struct kv_stash *table; /* the channel table, kept here too; NULL: not */
	bool table_from_disk;	/* rdisk_load rebuilds it from the disk */
	bool table_found;	/* ... and the disk had one */
	enum kv_why table_why;	/* why the stash's table was made (kv_unposted) */
	uint8_t *tpend;		/* the table's changes since the last commit */
	size_t tpend_len, tpend_cap;
	uint64_t commits, flushes, checkpoints, records_read;
	uint64_t ckpt_sectors;	   /* the last checkpoint's size */
	struct dlog_report report; /* what rdisk_load found */
	bool from_disk;		   /* rdisk_load rebuilt the keyspace from the disk */
};

/* The error text write commands get while the disk cannot take writes
 * (with Redis' "-MISCONF Errors writing to the AOF file: " before it). */
#define RDISK_EIO_TEXT "Input/output error"

/*
 * Read the disk back (d->dev set, d->st the stash's store with its engine
 * rebuilt). from_disk (the stash's disk_pending): the keyspace comes from
 * the disk (the caller has emptied it and closed the stash's
 * connections); else the stash's keyspace is written to the disk.
 * disk_id: a random nonzero number, used if the disk is blank and gets
 * formatted. Sets d->state (OK, FAILED or UNUSABLE) and d->report.
 * Returns 0, or -1 if kv cannot run (out of memory, the stash cannot
 * hold what was read, or a record that checks does not parse).
 */
int rdisk_load(struct rdisk *d, bool from_disk, uint64_t disk_id);

/* The disk cannot be used (why): writes are refused from now on. */
void rdisk_unusable(struct rdisk *d, const char *why);

/* The engine propagated cmds[0..n) (a batch's write commands): pending. */
void rdisk_note(struct rdisk *d, const uint8_t *cmds, size_t n);

/* The channel table changed: p[0..n) is the change (rtable_change). */
void rdisk_note_table(struct rdisk *d, const uint8_t *p, size_t n);

/* Whether replies must wait for rdisk_commit: there is something to make
 * durable, or the disk cannot take it yet. */
bool rdisk_holding(const struct rdisk *d);

/*
 * Make everything pending durable: one log record and a flush (a
 * checkpoint instead when the log is full or collecting failed). In
 * FAILED, retry with a checkpoint. Returns true if the held replies may go
 * out now (the disk has everything they answered).
 */
bool rdisk_commit(struct rdisk *d);

/* Take a checkpoint now (the whole keyspace). Returns 0 or the error. */
int rdisk_checkpoint(struct rdisk *d);

/* The name of a state, for events. */
const char *rdisk_state_name(enum rdisk_state s);

#endif
