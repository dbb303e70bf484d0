/*
 * The one header of svc/lib, the small library every Vesta user program
 * links: system-call wrappers, ve_printf, and a few helpers for reading the
 * argument string. It also brings in the ABI (vesta/abi.h) and the libc
 * subset shared with the kernel (string.h, fmt.h from kernel/lib).
 *
 * A program defines `int main(const char *args)`; crt0 calls it with the
 * process's argument string (never NULL, possibly "") and exits with its
 * return value.
 *
 * Every wrapper that can fail returns a negative -VE_* code (see abi.h);
 * ve_strerror() names one for printing.
 */
#ifndef VESTA_SVC_LIB_H
#define VESTA_SVC_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vesta/abi.h>
#include "fmt.h"
#include "string.h"

/* What crt0 was given at entry: the argument string and the pid. */
extern const char *ve_start_args;
extern int ve_start_pid;

/* The program's entry point, called by crt0. */
int main(const char *args);

/*
 * Raw system call: number nr with up to six arguments (unused ones are
 * ignored by the kernel). Returns the kernel's rax: >= 0 on success or a
 * negative -VE_* code. In syscall.asm.
 */
long ve_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* --- System-call wrappers (one per SYS_* in abi.h) --- */

/* End the process with code. Never returns. */
_Noreturn void ve_exit(int code);

/*
 * Write len bytes at buf to the console. Returns the number written.
 * Errors: -VE_FAULT (buf not readable), -VE_RANGE (len too large).
 */
long ve_write(const void *buf, size_t len);

/* Sleep at least ns nanoseconds. Returns 0. */
int ve_sleep_ns(uint64_t ns);

/*
 * Sleep at least ms milliseconds. Returns 0.
 * Errors: -VE_RANGE if ms in nanoseconds does not fit 64 bits.
 */
int ve_sleep_ms(uint64_t ms);

/* Give the CPU to another ready process. Returns 0. */
int ve_yield(void);

/* The caller's pid (> 0). */
int ve_getpid(void);

/* Monotonic nanoseconds since boot. */
uint64_t ve_clock_ns(void);

/*
 * Map len bytes (rounded up to whole 4096-byte pages) of zeroed memory with
 * prot (VE_PROT_* bits, VE_PROT_READ among them) at addr, page aligned, or
 * where the kernel chooses if addr is 0.
 * Returns the address. A process may hold at most a quarter of the
 * machine's memory, so that one that leaks cannot starve the rest: its
 * share counts its image, stack and vm_alloc memory with the page tables
 * they take, its stash while mapped, and the messages it has sent that the
 * kernel still holds (see ve_chan_cast). ve_vm_free gives all of it back.
 * Errors: -VE_INVAL (len 0, addr not page aligned, unknown prot bits or
 * no VE_PROT_READ, addr taken, or addr or len outside [VE_USER_LO,
 * VE_USER_HI)), -VE_NOMEM (not that much free, no free range that large
 * when addr is 0, or past its quarter).
 */
long ve_vm_alloc(uint64_t addr, uint64_t len, unsigned prot);

/* Unmap [addr, addr + len), len rounded up to whole pages, all of them
 * memory ve_vm_alloc gave (any part of what it gave). Returns 0.
 * Errors, with nothing unmapped: -VE_INVAL (len 0, addr unaligned, a page
 * not mapped, or outside the user range), -VE_PERM (a page that
 * ve_vm_alloc did not give: the caller's image, its stack, its stash,
 * the fault-injection page, a device's registers from ve_dev_map or DMA
 * memory from ve_dma_alloc, which stay until the process dies). */
int ve_vm_free(uint64_t addr, uint64_t len);

/* Fill *info with the kernel's frame counts. Returns 0. Errors: -VE_FAULT. */
int ve_meminfo(struct ve_meminfo *info);

/*
 * Start the boot image named image with the argument string args.
 * If the boot table has a process called image (such as a `start spawn`
 * section of the manifest), the child gets that entry's image, priority,
 * grants and channels, and args, if not NULL, replace its arguments;
 * otherwise it runs the image called image at service priority, with no
 * grants. Returns the child's pid.
 * Errors: -VE_PERM (no spawn grant), -VE_NOENT (no such image),
 * -VE_FAULT, -VE_INVAL (image longer than VE_NAME_MAX - 1 bytes, args
 * longer than VE_ARGS_MAX - 1, or an image that is not a valid static
 * ELF64 executable, such as a policy file), -VE_RANGE (an image with more
 * loadable segments than the kernel loads), -VE_NOMEM.
 */
int ve_spawn(const char *image, const char *args);

/*
 * Block until child pid has died and fill *ex with why. Returns 0.
 * Errors: -VE_CHILD (not a child of the caller), -VE_FAULT.
 */
int ve_wait(int pid, struct ve_exit *ex);

/* Stop the machine with code. Returns only on error: -VE_PERM. */
int ve_halt(int code);

/*
 * End process pid: a child of the caller, the caller itself, or any
 * process if the caller holds the kill grant. The victim dies at once with reason VE_R_KILLED
 * ("killed" in the event log); a parent still collects it with ve_wait.
 * Returns 0.
 * Errors: -VE_NOENT (no such live process; a dead child not yet waited
 * for counts as dead), -VE_PERM (not the caller's child, and the caller
 * holds no kill grant).
 */
int ve_kill(int pid);

/* ve_kill, for a supervisor whose service missed its heartbeat: the victim
 * dies with reason VE_R_HUNG ("hung" in the event log). Same errors. */
int ve_kill_hung(int pid);

/* --- Channels ---
 *
 * A channel is a named kernel object ("echo", "console"). It exists from
 * boot for every name that the boot table lets some process serve, or from
 * the first ve_spawn_spec that lets one serve it, and it outlives its
 * server: the queue, its blocked callers and the messages in flight are
 * kept when the server dies. The boot table (or the spawn spec, which a
 * supervisor builds from a policy; both are written in the policy
 * language, policies/README.md) says who may serve (`serves`) or open
 * (`opens`) which name, and sizes each channel (`max_messages` it holds,
 * queued and in flight together; `max_bytes` of queued payload) and its
 * redelivery limit (`max_redeliveries`).
 *
 * A process reaches a channel through a small integer handle, at most
 * VE_HANDLES_MAX of them. A server handle (ve_chan_serve) receives; a
 * client handle (ve_chan_open) sends. Payloads are 0..VE_MSG_MAX bytes.
 *
 * Two kinds of message:
 *   call  the client blocks until the server replies (ve_chan_reply);
 *   cast  one-way; the client goes on once it is queued, and the server
 *         acknowledges it (ve_chan_ack) once it has been dealt with.
 * A message the server has received but not yet replied to or acked is
 * *in flight*. If the server dies, its in-flight messages go back to the
 * front of the queue, in order, and the next server incarnation receives
 * them first, with redelivered > 0 and the same id. A caller never sees the
 * crash: its reply just comes later. So a server should make requests
 * idempotent by id, and reply/ack only when a request's effect is done.
 *
 * A message that was in flight at `redeliveries` consecutive server deaths
 * is not handed out again: it becomes a dead letter (event "deadletter"),
 * its caller gets -VE_POISON, and the rest of the queue carries on.
 *
 * Nothing is dropped silently: every message ends as a reply, an ack, an
 * error to its sender or a dead letter. A reply to a caller that has died
 * or given up is discarded and counted (event "discard").
 *
 * A server's main loop is one ve_chan_next per message: it answers the
 * message just handled, waits over the server handles (and IRQ lines and
 * children), and receives the next message, in one system call. A server
 * that waits on one handle uses ve_chan_reply_recv, the same step with the
 * message's header in registers: the kernel's fast path, where a call to
 * a waiting server switches straight to it. The pieces (ve_wait_any,
 * ve_chan_recv, ve_chan_reply, ve_chan_ack) remain for loops that need
 * them apart. A stream of casts moves in batches: ve_chan_castv queues
 * several in one call, and a server takes several with ve_chan_recvv,
 * which also acks the previous batch.
 */

/*
 * Become the server of the channel name. Returns a server handle (>= 0).
 * Messages left in flight by a dead earlier server are received first.
 * A process started by spawn() gets the serve/open rights of the boot-table
 * entry of the same name (see kernel/syscall.c), if there is one.
 * Errors: -VE_PERM (the caller's boot-table entry or spawn spec does not
 * let it serve name),
 * -VE_BUSY (another live process serves it), -VE_NOENT (no such channel),
 * -VE_INVAL (name longer than a channel name can be), -VE_FAULT (name not
 * readable), -VE_RANGE (handle table full).
 */
int ve_chan_serve(const char *name);

/*
 * ve_chan_serve, retried for up to 100 ms while it answers -VE_BUSY: a
 * restarted server may come up while the kernel is still taking the old
 * incarnation down. Same results and errors.
 */
int ve_chan_serve_wait(const char *name);

/*
 * Open the channel name as a client. Returns a client handle (>= 0). The
 * channel need not have a server yet: calls wait in the queue for one.
 * Errors: -VE_PERM (not granted by `opens`), -VE_NOENT (no such channel),
 * -VE_INVAL (name too long), -VE_FAULT (name not readable), -VE_RANGE
 * (handle table full).
 */
int ve_chan_open(const char *name);

/*
 * Send the len-byte request req on client handle h and block until the
 * server replies; the reply is copied to rep (cap bytes of room). Blocks
 * as well while the channel is full (see ve_chan_cast). A server crash is invisible: the
 * request is replayed to the next server incarnation.
 * timeout_ns > 0 bounds the whole wait (VE_TIMEOUT_NONE, 0: wait forever);
 * on timeout the request is cancelled at the deadline: taken out of the
 * queue if still there, or, if the server has it, its late reply discarded
 * (and a server death then drops it: it is never a dead letter). So a
 * call gets -VE_TIMEOUT or -VE_POISON, whichever happened first, and
 * chan_info counts it the same way (cancelled or discarded, or poisoned).
 * Returns the reply length (0..cap; a cap above VE_MSG_MAX counts as
 * VE_MSG_MAX).
 * Errors: -VE_BADHANDLE (h is not a client handle of the caller),
 * -VE_FAULT (req or rep not accessible), -VE_RANGE (len > VE_MSG_MAX, or
 * len > the channel's byte bound: it could never be queued; or the reply
 * was longer than cap: the reply is dropped), -VE_TIMEOUT, -VE_POISON (the
 * server died with this request in flight `redeliveries` times in a row;
 * it is a dead letter now and will not be retried), -VE_NOMEM (the request
 * would take the caller past its share of memory, or the kernel is out of
 * memory: see ve_chan_cast; nothing was sent).
 */
long ve_chan_call(int h, const void *req, size_t len, void *rep, size_t cap, uint64_t timeout_ns);

/*
 * Queue the len-byte message buf on client handle h as a cast. Returns 0
 * once it is queued; it blocks while the channel is full (it holds its
 * message bound, queued and in flight together, or its byte bound of
 * queued payload), unless flags has VE_NONBLOCK. The server acks it once
 * handled; a crash replays it.
 * A message is its sender's memory, in its share (see ve_vm_alloc), from
 * the send until it is replied, acked or cancelled (a 2 KiB message takes
 * a 4 KiB page; one of up to 432 bytes a 512-byte slot of a shared page,
 * charged its part of that page). Once the sender has
 * died, what it sent that is still held counts in the share of every
 * process of its name (its restart), until handled. A send that would
 * take the caller past its share is refused at once, blocking or not.
 * Errors: -VE_AGAIN (full and VE_NONBLOCK), -VE_BADHANDLE (h is not a
 * client handle of the caller), -VE_INVAL (unknown flags), -VE_FAULT,
 * -VE_RANGE (len > VE_MSG_MAX, or len > the channel's byte bound: it could
 * never be queued, so it is refused at once, blocking or not), -VE_NOMEM
 * (the message would take the caller past its share, or the kernel is out
 * of memory; nothing was sent: it may send again once its messages are
 * handled or it frees memory).
 */
int ve_chan_cast(int h, const void *buf, size_t len, unsigned flags);

/*
 * Take the next message from server handle h without blocking: its payload
 * goes to buf (cap bytes of room) and its header to *m (id, sender, kind,
 * len, redelivered). The message is then in flight until replied (a call)
 * or acked (a cast). Returns the payload length.
 * Errors: -VE_AGAIN (nothing queued), -VE_PERM (h is a client handle),
 * -VE_RANGE (cap < the message's length: it stays queued; a buffer of
 * VE_MSG_MAX bytes always fits), -VE_BADHANDLE, -VE_FAULT.
 */
long ve_chan_recv(int h, struct ve_msg *m, void *buf, size_t cap);

/*
 * Answer the call id received on server handle h with the len-byte reply
 * buf; the call is no longer in flight. Returns 0 when the caller got it,
 * VE_REPLY_DISCARDED (1) when its caller has died or given up on the call
 * (the reply is then discarded and counted): a server that took something
 * out of its state for the reply may put it back.
 * Errors: -VE_NOENT (no call id in flight on h), -VE_INVAL (id is a cast:
 * ack it), -VE_RANGE (len > VE_MSG_MAX), -VE_PERM (h is a client handle),
 * -VE_BADHANDLE, -VE_FAULT.
 */
int ve_chan_reply(int h, uint64_t id, const void *buf, size_t len);

/*
 * Acknowledge the cast id received on server handle h: it is handled and
 * will not be replayed. Returns 0.
 * Errors: -VE_NOENT (no cast id in flight on h), -VE_INVAL (id is a call:
 * reply to it), -VE_PERM (h is a client handle), -VE_BADHANDLE.
 */
int ve_chan_ack(int h, uint64_t id);

/*
 * Block until one of the n handles has a message queued, or one of the
 * caller's granted IRQ lines has fired, or a child of the caller has died
 * and is not yet reaped, or timeout_ns has passed (0: no limit). Client
 * handles may be in the list; they are never ready. With n == 0 it waits
 * for IRQs and children only. Fills *r: r->handle is a ready handle or
 * -1, r->irqs has bit k set for each IRQ line k that fired, r->exited is
 * nonzero while a dead child waits for ve_reap. A line that
 * fired stays masked until ve_irq_ack(k). Returns 0.
 * Errors: -VE_TIMEOUT, -VE_BADHANDLE (a handle that is not the caller's),
 * -VE_RANGE (n > VE_HANDLES_MAX), -VE_FAULT (handles or r not accessible).
 * IRQ lines come from the boot table or policy (`irqs`, and a granted PCI
 * device's line); the kernel unmasks them when the process starts.
 */
int ve_wait_any(const int32_t *handles, size_t n, uint64_t timeout_ns, struct ve_wait_result *r);

/*
 * A server loop's step (struct ve_next in abi.h has the contract): if id is
 * not 0, answer the in-flight message id on server handle h (reply to a
 * call with buf[0..len), ack a cast); then wait as ve_wait_any on
 * nx->handles[0..nx->n) for up to nx->timeout_ns; then receive the first
 * ready handle's next message into buf (nx->cap bytes) and nx->msg.
 * Returns the payload length (nx->result.handle >= 0), or 0 with
 * nx->result.handle == -1 when it woke for nx->result.irqs or
 * nx->result.exited, which it also reports beside a message.
 * nx->answered says, whatever the return, whether the answer was made
 * (VE_NEXT_ANSWERED, VE_NEXT_DISCARDED) or not (VE_NEXT_NONE): after an
 * error with the answer made, do not answer again.
 * Errors: the answer's (as ve_chan_reply/ve_chan_ack; then nothing was
 * waited for), ve_wait_any's, -VE_RANGE (the message is longer than
 * nx->cap: it stays queued, nx->msg.len says how long), -VE_FAULT.
 */
long ve_chan_next(int h, uint64_t id, void *buf, size_t len, struct ve_next *nx);

/*
 * The step of a server that waits on one handle: ve_chan_next on h alone,
 * with the header coming back in registers instead of through a struct
 * (the kernel's fast path). Answers id as ve_chan_next does, waits up to
 * timeout_ns for a message on h (IRQs and dead children do not end the
 * wait: they stay pending for ve_wait_any), and receives it into
 * buf[0..cap) and *msg. *answered (may be NULL) as nx->answered, and
 * *waited (may be NULL) as nx->waited.
 * Returns the payload length. Errors as ve_chan_next's: the answer's
 * (nothing waited for), -VE_TIMEOUT, -VE_RANGE (longer than cap: it stays
 * queued, msg->len says how long), -VE_FAULT (a bad buf).
 */
long ve_chan_reply_recv(int h, uint64_t id, void *buf, size_t len, size_t cap, uint64_t timeout_ns,
			struct ve_msg *msg, uint32_t *answered, uint32_t *waited);

/*
 * Cast n messages (1..VE_BATCH_MAX) on client handle h in one system call:
 * message i is lens[i] bytes of buf, back to back from buf[0] in order.
 * The batch is checked whole first: a bad one queues nothing. Then, like
 * ve_chan_cast, it blocks until the first message fits (unless flags has
 * VE_NONBLOCK), and queues messages in order while they fit, without
 * blocking again. Each queued message is a cast of its own (its own id,
 * acked on its own, replayed on its own). Returns how many were queued,
 * 1..n: the first ones of the batch; send the rest again.
 * Errors (nothing was queued): -VE_INVAL (n == 0, unknown flags),
 * -VE_RANGE (n > VE_BATCH_MAX, or a lens[i] > VE_MSG_MAX or the channel's
 * byte bound), -VE_FAULT (lens or buf not readable), -VE_AGAIN (full and
 * VE_NONBLOCK), -VE_BADHANDLE, -VE_NOMEM (as ve_chan_cast, for the first
 * message; a refusal after some were queued ends the batch there).
 */
long ve_chan_castv(int h, const void *buf, const uint32_t *lens, size_t n, unsigned flags);

/*
 * A server's step over a stream of casts (struct ve_batch in abi.h has
 * the contract): ack b->acks[0..b->nacks) on server handle h, wait up to
 * b->timeout_ns for a message, and receive up to b->max of them: headers
 * to b->msgs[], payloads back to back into b->buf (b->cap bytes). Each is
 * in flight until acked (a cast: pass its id in the next call's acks) or
 * replied (a call: ve_chan_reply). Returns how many were received.
 * b->acked says how many acks were made, whatever the return, once the
 * batch passed its checks (-VE_BADHANDLE, -VE_PERM, -VE_INVAL, -VE_RANGE
 * for max or nacks, -VE_FAULT): on those nothing was acked and *b is as
 * it was.
 * Errors: an ack's (-VE_NOENT, -VE_INVAL: then nothing was waited for),
 * -VE_TIMEOUT, -VE_RANGE (b->max or b->nacks > VE_BATCH_MAX, or the next
 * message is longer than b->cap: it stays queued, b->msgs[0].len says how
 * long), -VE_INVAL (b->max == 0, or b->pad not 0), -VE_FAULT, -VE_PERM, -VE_BADHANDLE.
 */
long ve_chan_recvv(int h, struct ve_batch *b);

/*
 * Unmask IRQ line irq after its interrupt has been dealt with (the device
 * no longer asserts it). A PCI line shared by the holders of several
 * devices fires to each of them and is unmasked once each has acked it
 * (or died). Returns 0.
 * Errors: -VE_INVAL (irq > 15), -VE_PERM (irq is not granted to the
 * caller).
 */
int ve_irq_ack(unsigned irq);

/*
 * Write one event to the event log (COM2):
 *   {"ev":EV,"t_ns":...,"pid":<caller>,KEY:VALUE,...}
 * with the n fields kv[0..n-1], each a string (kv.str) or a number. ev and
 * the keys are [a-z0-9_]{1,23}; ev must not be one of the kernel's event
 * names (kernel/EVENTS.md; only a process with the supervisor grant may
 * write "ready", the whole tree is up), and no key may be "ev", "t_ns" or
 * "pid". Returns 0; nothing is
 * written unless every field checks.
 * Errors: -VE_INVAL (a bad name or key, or ev is a kernel event's name),
 * -VE_RANGE (n > VE_EVENT_FIELDS_MAX, or a string longer than
 * VE_EVENT_STR_MAX), -VE_FAULT (kv or a string not readable).
 */
int ve_event(const char *ev, const struct ve_kv *kv, size_t n);

/* One struct ve_kv, for building an event's field list in place. */
#define VE_KV_NUM(k, n) ((struct ve_kv){ .key = (k), .str = NULL, .num = (int64_t)(n) })
#define VE_KV_STR(k, s) ((struct ve_kv){ .key = (k), .str = (s), .num = 0 })

/* ve_event with one numeric field key=num. Returns and errors as ve_event. */
int ve_event1(const char *ev, const char *key, int64_t num);

/* ve_event with one string field key=str. Returns and errors as ve_event. */
int ve_event_str(const char *ev, const char *key, const char *str);

/* --- Supervision: processes, stashes, the boot bundle ---
 *
 * These calls serve the supervisor (svc/supervisor) and the shell; a
 * service needs only ve_stash.
 */

/*
 * Collect one dead child of the caller without blocking: fills *ex (its
 * pid, reason, code, vector, rip, addr) and frees its slot. Call it until
 * it fails after ve_wait_any reports r->exited != 0.
 * Returns the dead child's pid (> 0).
 * Errors: -VE_AGAIN (children, but none dead), -VE_CHILD (no children at
 * all), -VE_FAULT (ex not writable).
 */
int ve_reap(struct ve_exit *ex);

/*
 * Map the caller's stash, size bytes (rounded up to pages, at most
 * VE_STASH_MAX), at VE_STASH_BASE: the region the previous process of the
 * same name left behind, or a new zeroed one. A stash keeps the size it
 * was made with. Calling it again returns the same mapping.
 * Returns its address (VE_STASH_BASE). While mapped, its pages count in
 * the caller's share of memory (see ve_vm_alloc).
 * Errors: -VE_RANGE (size 0 or above VE_STASH_MAX), -VE_INVAL (the kept
 * stash has another size), -VE_BUSY (another live process of the same name
 * has it mapped), -VE_NOMEM (out of memory, or past the caller's share).
 */
long ve_stash(uint64_t size);

/*
 * ve_stash with flags: VE_STASH_WINDOWS gives the stash recovery windows
 * (kernel/uapi/vesta/abi.h): a new incarnation gets it back exactly as it
 * was at the last commit (reply, ack, cast, call, exit; not console writes
 * or events), so a deterministic server that dies anywhere handles the
 * interrupted request again from the state it had before it. A server
 * that parks calls across messages gets a parked call replayed with its
 * stable id and must recognise it (svc/lib/README.md).
 * Returns and errors as ve_stash; -VE_INVAL also for a kept stash made
 * with other flags, or unknown flags.
 */
long ve_stash_open(uint64_t size, unsigned flags);

/*
 * ve_stash, waiting out -VE_BUSY for up to 100 ms (1 ms apart): a new
 * incarnation may start while the last one is still on its way out.
 * Returns and errors as ve_stash.
 */
long ve_stash_wait(uint64_t size);

/* ve_stash_open, waiting out -VE_BUSY as ve_stash_wait does. */
long ve_stash_open_wait(uint64_t size, unsigned flags);

/*
 * Discard the stash kept for the service name, so its next incarnation
 * starts clean. Needs the spawn grant. Returns 0.
 * Errors: -VE_NOENT (name has no stash: nothing to discard), -VE_BUSY (a
 * live process has it mapped), -VE_PERM (no spawn grant), -VE_INVAL (name
 * too long), -VE_FAULT.
 */
int ve_stash_drop(const char *name);

/*
 * List up to n processes into out: the live ones and the dead ones not yet
 * reaped (state 2). n above the kernel's process table is taken as its
 * size. Returns how many were written.
 * Errors: -VE_FAULT (out not writable for n entries).
 */
int ve_ps(struct ve_procinfo *out, size_t n);

/* The ps state of pid (enum ve_ps_state), or -1 if it is not in the
 * process table. */
int ve_ps_state(int pid);

/*
 * Describe channel number index (0, 1, ... in the kernel's registry) in
 * *info: name, server pid (0: none), queue depth, in-flight count,
 * outcome counters, limits and dead letters. Returns 0.
 * Errors: -VE_NOENT (no channel with that index: the end of the list),
 * -VE_FAULT (info not writable).
 */
int ve_chan_info(uint32_t index, struct ve_chaninfo *info);

/* ve_chan_info of the channel called name. Returns 0; -VE_NOENT if there
 * is none. */
int ve_chan_info_named(const char *name, struct ve_chaninfo *info);

/*
 * Start image sp->image as the process sp->name with exactly the grants in
 * *sp: priority, grants, IRQ lines, port ranges, the channels it may serve
 * and open ("" = an unused slot; used slots come first), and its argument
 * string. Each serve[] name that is not a channel yet is created with the
 * limits queue (messages held, queued and in flight together: 1..4096),
 * qbytes (queued payload bytes: 1..16 MiB) and redeliveries (1..1000), the
 * ranges a boot table allows; 0 is the kernel's default, and all three
 * must be 0 if serve[] is empty. The new process is a child of the caller
 * (reap it with ve_reap). Needs the spawn grant, which is the power to
 * grant anything (devs[] included: PCI devices, vendor 0 = unused slot).
 * Returns its pid. The whole spec is checked before anything is made: a
 * call that fails leaves no process and no channel.
 * Errors: -VE_PERM (no spawn grant), -VE_NOENT (no such image, or no PCI
 * function matches a device grant), -VE_BUSY (a live process holds a
 * device it grants), -VE_INVAL
 * (a name or string not NUL-terminated, an empty name, a bad prio, grant,
 * IRQ line, port range or device grant (abi.h's struct ve_devsel rules),
 * a channel name not 1..31 of [A-Za-z0-9_.-], a
 * used slot after an empty one, a limit out of its range or given with
 * nothing served, an image that is not a valid ELF executable), -VE_RANGE
 * (an image with more loadable segments than the kernel loads), -VE_NOMEM,
 * -VE_FAULT.
 */
int ve_spawn_spec(const struct ve_spawn *sp);

/* --- PCI devices (abi.h: struct ve_pciinfo, ve_devsel) ---
 *
 * `dev` is the number of a grant: 0 for the first device of the process's
 * policy or boot table entry, 1 for the second. A device not granted
 * (dev >= VE_SPAWN_DEVS, or that slot unused) is -VE_PERM in every call.
 * A device comes with bus mastering off (stopped at boot, and at each
 * holder's death; a bridge keeps what the firmware set) and its interrupts
 * enabled (disabled, bit 10, if another process holds its line by `irqs`:
 * the process does not get that line); its driver resets it and sets the
 * command register as it needs (dev_cfg_write at 0x04).
 */

/*
 * Describe PCI function number index (0, 1, ... in bus order, as found at
 * boot) in *info: address, IDs, class, BARs, interrupt line (VE_PCI_NOIRQ:
 * none) and the pid that holds it (0: none). Any process may ask.
 * Errors: -VE_NOENT (past the last function), -VE_FAULT.
 */
int ve_pci_info(uint32_t index, struct ve_pciinfo *info);

/* ve_pci_info of the caller's device dev. Errors: -VE_PERM, -VE_FAULT. */
int ve_dev_info(unsigned dev, struct ve_pciinfo *info);

/*
 * Read width (1, 2 or 4) bytes at off of device dev's configuration space.
 * Returns the value (>= 0).
 * Errors: -VE_PERM, -VE_INVAL (width not 1, 2 or 4, off not a multiple of
 * it, or off >= VE_PCI_CFG_SIZE).
 */
long ve_dev_cfg_read(unsigned dev, uint32_t off, unsigned width);

/*
 * Write value (which fits in width bytes) at off of device dev's
 * configuration space. Returns 0.
 * Errors: -VE_PERM (not granted, or the write touches a BAR, 0x10-0x27,
 * or the expansion ROM, 0x30-0x33; of a bridge or any header type but 0,
 * anything in 0x10-0x3b, its bus numbers and windows too, and its bridge
 * control at 0x3e-0x3f), -VE_INVAL (as for ve_dev_cfg_read, or
 * a value wider than width).
 */
int ve_dev_cfg_write(unsigned dev, uint32_t off, unsigned width, uint32_t value);

/*
 * Map memory BAR bar (0..5) of device dev into the caller, uncached and
 * not executable, at an address the kernel chooses. Returns the address
 * of the BAR's first byte (the same address on every call). The mapping
 * lasts until the process dies; vm_free refuses it (-VE_PERM).
 * Errors: -VE_PERM (not granted, or a page the BAR lies in holds another
 * function's BAR too, whose registers the caller would reach), -VE_INVAL
 * (bar >= 6, or an I/O or empty BAR: I/O BARs are among the caller's
 * ports already), -VE_RANGE (a BAR over 256 MiB, or one past the 52-bit
 * physical addresses a page table holds), -VE_NOMEM (no room, or past the
 * memory share for the page tables).
 */
long ve_dev_map(unsigned dev, unsigned bar);

/*
 * len bytes (rounded up to pages) of zeroed, physically contiguous memory
 * for a device to reach by DMA, mapped read-write (not executable).
 * Returns its address; its physical (bus) address goes to *phys. Charged to the caller's memory
 * share, pinned until the caller dies: vm_free refuses it (-VE_PERM).
 * When the caller dies, its devices stop mastering the bus before this
 * memory is freed. Only a process granted a device may call it.
 * Errors: -VE_PERM (no device granted), -VE_INVAL (len 0 or beyond the user range), -VE_NOMEM (past the
 * share, or no contiguous run that large free), -VE_FAULT (phys not
 * writable; nothing allocated).
 */
long ve_dma_alloc(size_t len, uint64_t *phys);

/*
 * Copy the file name carried in the boot bundle (an `image NAME PATH` of
 * the manifest, ELF or not: policies, lists) to buf, which has cap bytes.
 * Returns the file's size.
 * Errors: -VE_NOENT (no such file), -VE_RANGE (cap is smaller than the
 * file: nothing is copied), -VE_INVAL (name too long), -VE_FAULT.
 */
long ve_bundle_read(const char *name, void *buf, size_t cap);

/* --- Fault injection ---
 *
 * A fault happens to the target as if it were its own doing, so the
 * supervisor sees the same death (or hang) a real bug would cause. The
 * kernel writes an "inject" event (target, kind, arg, seed) to COM2 for
 * each one; seed drives every random choice, so the same seed repeats the
 * same fault.
 */

/*
 * Inject the fault kind (enum ve_inject) into process pid. Needs the
 * inject grant. The kinds, and what arg means to each:
 *   kill     pid dies at once with reason VE_R_KILLED (arg unused);
 *   exit     pid exits with code arg;
 *   null, wild, ud2, div0, stack
 *            a crash in pid's own context: its next ring-3 instruction
 *            writes through a null pointer, writes to a random unmapped
 *            address, executes ud2, divides by zero, or recurses past its
 *            stack guard (arg unused);
 *   hang     pid spins forever in ring 3 (only a heartbeat catches it;
 *            arg unused);
 *   block    pid blocks forever on an empty wait (arg unused);
 *   corrupt  flip arg (0: 1; at most VE_INJ_CORRUPT_MAX, 4096) random
 *            bits in pid's data, heap, stack or code pages; the effect is
 *            whatever they cause, even nothing;
 *   leak     pid maps memory into itself until the kernel refuses (arg
 *            unused);
 *   garbage  send arg (0: 16; at most VE_INJ_GARBAGE_MAX, 1024) malformed
 *            messages to each channel pid serves, as many as its queue
 *            has room for (a larger queue takes several calls to fill);
 *   slow     stall pid for arg nanoseconds (0: 100 ms; at most
 *            VE_INJ_SLOW_MAX_NS, an hour);
 *   step     pid dies arg user instructions (1..VE_INJ_STEP_MAX, 2^32; 0
 *            is -VE_INVAL) after its next commit (VE_STASH_WINDOWS in
 *            abi.h: a reply, ack, cast, call, exit, ...), and each later
 *            commit starts the count again: it runs single-stepped from
 *            that commit on, and dies as killed (the exit event's vector
 *            1, its rip where it stopped). A path shorter than arg
 *            between two commits never dies, only runs slowly. For tests
 *            that land a death on every instruction of a request.
 * The call's own work is bounded by these maxima, whatever arg is, so it
 * never holds the kernel (and the processes of higher priority) for long:
 * what takes time, a hang or a leak, runs in pid at pid's priority.
 * Returns 0 once the fault is set up (a crash happens when pid next runs).
 * Errors: -VE_PERM (the caller holds no inject grant), -VE_NOENT (no live
 * process pid), -VE_INVAL (kind is not an enum ve_inject value, or arg is
 * past the kind's maximum above: nothing is done and no event written),
 * -VE_BUSY (pid is the root supervisor and kind is hang, block, leak or
 * corrupt: nothing watches it for being stuck), -VE_NOMEM (a crash, hang,
 * block or leak runs from a trampoline page the kernel maps into pid, and
 * there was no memory to map it: nothing is done and no event written). A
 * process may fault itself.
 */
int ve_inject(int pid, unsigned kind, uint64_t arg, uint64_t seed);

/*
 * The name of fault kind (enum ve_inject) as the event log writes it:
 * "kill", "null", "garbage", ...; "?" for a number that is none. Never NULL.
 */
const char *ve_inject_name(unsigned kind);

/*
 * The fault kind named by the word at word (it ends at a NUL, space or
 * tab): a name from VE_INJECT_NAMES, or "crash", which is one of the five
 * crash kinds (null, wild, ud2, div0, stack) chosen by seed, so the same
 * seed picks the same one. Returns the kind (> 0).
 * Errors: -VE_INVAL (word names no kind).
 */
int ve_inject_parse(const char *word, uint64_t seed);

/* --- Heartbeats ---
 *
 * A service whose policy has `heartbeat` must cast "H" on the channel "sup"
 * at least once per interval, or the supervisor kills it as hung. The
 * convention: a service beats only when its argument string has the word
 * "heartbeat" (the policy's `args heartbeat`), so it also runs where no
 * supervisor watches it. It beats from its main loop, and every wait in
 * that loop is bounded by ve_heartbeat_due()'s answer, so a service that
 * idles still beats and one that is stuck (hung, blocked) stops.
 */

struct ve_heartbeat {
	int sup;	     /* client handle of "sup"; -1: heartbeats off */
	uint64_t every_ns;   /* the beat period (well inside the policy's) */
	uint64_t next_ns;    /* ve_clock_ns() when the next beat is due */
	uint64_t image_hash; /* of the code and constants, at init */
};

/*
 * Set up *hb to beat every every_ns: opens "sup", and the first beat is due
 * at once. every_ns 0 turns heartbeats off (nothing is opened; the helper
 * then never beats and never bounds a wait). Returns 0.
 * Errors: those of ve_chan_open("sup") (then *hb is off).
 */
int ve_heartbeat_init(struct ve_heartbeat *hb, uint64_t every_ns);

/*
 * Beat if a beat is due: cast "H" on "sup" with VE_NONBLOCK (a full queue
 * drops the beat rather than block; the next one follows soon). Before each
 * beat it checks that the program's code and constants are as they were at
 * init (a hash of the read-only image): if a bit flipped there (a memory
 * fault, or an injected `corrupt`), the process can no longer be trusted to
 * do what its code says while it keeps beating, so it posts
 * {"ev":"image_corrupt"} and exits with VE_EXIT_IMAGE_CORRUPT, and its
 * supervisor restarts it from a clean image. Returns
 * the nanoseconds until the next beat is due (>= 1), to use as the timeout
 * of the loop's wait, or VE_TIMEOUT_NONE (0) if *hb is off.
 */
uint64_t ve_heartbeat_due(struct ve_heartbeat *hb);

/*
 * The loop of a service that serves one channel and beats: wait for the
 * next message on server handle *h, beating on time (the beat is checked
 * before each message, so a long queue is no reason to miss one), with one
 * ve_chan_reply_recv. The answer stays the caller's (reply or ack once the
 * effect is done). Returns the payload length with *msg filled; or
 * -VE_AGAIN when there is no message to handle yet (a beat was due): call
 * again; or ve_chan_reply_recv's errors.
 */
long ve_serve_next(int32_t h, struct ve_heartbeat *hb, void *buf, size_t cap, struct ve_msg *msg);

/*
 * The check ve_heartbeat_due makes before each beat, on its own: if the
 * program's code or constants changed since ve_heartbeat_init (whether or
 * not heartbeats are on), post {"ev":"image_corrupt"} and exit with
 * VE_EXIT_IMAGE_CORRUPT. For a process about to act on a surprising result
 * (a checker about to report a wrong answer): first make sure it is not
 * its own code that is wrong.
 */
void ve_image_check(const struct ve_heartbeat *hb);

/* Whether the word lit appears among the words of args. */
bool ve_args_have(const char *args, const char *lit);

/* --- Output --- */

/*
 * printf to the console (conversions as in fmt.h). The output goes out in
 * writes of at most 256 bytes, the last at the end of the call, so a line
 * printed by one call is not split by other processes' output unless it is
 * longer than that. Returns the number of bytes formatted.
 * Errors: the first error of ve_write (the rest of the output is dropped),
 * or fmt_vcallback's.
 */
int ve_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ve_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * The name of an error code, "VE_FAULT" for VE_FAULT or -VE_FAULT;
 * "VE_?" for a number that is none. Never NULL.
 */
const char *ve_strerror(long err);

/*
 * The event-log name of a death reason (enum ve_reason): "exit", "killed",
 * "page_fault", ...; "?" for a number that is none. Never NULL.
 */
const char *ve_reason_name(uint32_t reason);

/* --- Pseudo-random numbers (xorshift64; for tests, not for secrets) --- */

struct ve_rng {
	uint64_t state; /* never 0 */
};

/* Start *rng from seed (any value, 0 included). */
void ve_rng_seed(struct ve_rng *rng, uint64_t seed);

/* The next 64 pseudo-random bits. */
uint64_t ve_rng_next(struct ve_rng *rng);

/* A pseudo-random number in [0, n); 0 if n is 0. */
uint64_t ve_rng_below(struct ve_rng *rng, uint64_t n);

/* --- The heap (malloc.c) ---
 *
 * malloc, free and realloc over ve_vm_alloc for programs that need a heap
 * (svc/kv's engine). Blocks are 16-byte aligned. Small blocks are reused
 * through per-size free lists and their memory is kept once mapped; a block
 * over 32 KiB is a mapping of its own, given back by ve_free.
 */

/* n bytes, or NULL if the process is out of memory (ve_vm_alloc's
 * -VE_NOMEM: its quarter of the machine, or the machine's frames). */
void *ve_malloc(size_t n);

/* Give back a block from ve_malloc/ve_realloc; NULL is ignored. A pointer
 * the heap did not give, or one given back twice, stops the program. */
void ve_free(void *p);

/* p resized to n bytes, its contents kept up to the smaller size; p NULL
 * is ve_malloc(n). NULL if out of memory, p then untouched. */
void *ve_realloc(void *p, size_t n);

/* Usable bytes of the blocks handed out and not yet freed. */
size_t ve_heap_used(void);

/* --- Argument parsing --- */

/* s advanced past spaces and tabs. */
const char *ve_skip_space(const char *s);

/* Length of the word at s: up to the next space, tab or NUL. */
size_t ve_word_len(const char *s);

/* Whether the n bytes at word are exactly the string lit. */
bool ve_word_is(const char *word, size_t n, const char *lit);

/*
 * Read an unsigned number at *s after optional spaces: decimal, or hex with
 * a 0x prefix. On success stores it in *out and advances *s past it; it
 * must end at a space, tab or NUL. Returns 0.
 * Errors: -VE_INVAL (no number there, or junk after it), -VE_RANGE (more
 * than 64 bits); *s and *out are then unchanged.
 */
int ve_parse_u64(const char **s, uint64_t *out);

/* v as exactly 16 lowercase hex digits at out (no NUL): the text form of a
 * 64-bit tag or generation in a protocol (svc/kv's wrapped requests). */
void ve_hex16_put(char *out, uint64_t v);

/* The 16 lowercase hex digits at s (not NUL-terminated) into *v.
 * Errors: -VE_INVAL (a character that is not 0-9 or a-f). */
int ve_hex16_parse(const char *s, uint64_t *v);

#endif
