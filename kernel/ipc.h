/*
 * The kernel side of channels: the registry of named channels (the core in
 * channels/), per-process handles, blocking and waking, IRQs delivered as
 * notifications, and the channel events on the log. The system calls
 * themselves are thin wrappers in syscall.c.
 */
#ifndef VESTA_IPC_H
#define VESTA_IPC_H

#include <stdint.h>

#include "bundle.h"
#include "proc.h"

/* Check a process's channel grants before anything is made of them: in
 * serve[] and open[] the used slots come first and each is a channel name
 * (chan_name_ok), and the limits are those a boot table may give
 * (bundle_chan_limits_check). Errors: -VE_INVAL. */
int ipc_chans_check(const struct proc_chans *pc);
/* Create the channels a process may serve that do not exist yet (pc must
 * have passed ipc_chans_check). *created gets bit k for each serve[k] made
 * here. All or none. Errors: -VE_NOMEM (nothing was made). */
int ipc_create_served(const struct proc_chans *pc, unsigned *created);
/* Remove the channels ipc_create_served made (created as it set), before
 * anything used them: the undo of a spawn that failed after making them. */
void ipc_uncreate_served(const struct proc_chans *pc, unsigned created);

/* Create every channel a boot-table process serves (`serves`). */
int ipc_init(const struct bundle *b, const char **why);

/* A process is dying: cancel what it sent, replay what it served, fail
 * poisoned callers, release its IRQ lines. Called before its slot goes. */
void ipc_proc_dying(struct proc *p);
/* A process was created: take its IRQ lines. */
void ipc_proc_created(struct proc *p);

/* p's deadline passed while it was blocked (any proc_blocked state; the
 * timer, or a kick from inject.c): a call is cancelled, and p wakes with
 * p->timed_out set. */
void ipc_timeout(struct proc *p);

/* IRQ line n fired (called from the trap path, PIC line already masked). */
void ipc_irq(unsigned n);

/* The system calls. A handle h is the whole 64-bit register: a value that is
 * not a handle of p is -VE_BADHANDLE even if its low 32 bits are one. */
long ipc_serve(struct proc *p, uint64_t uname);
long ipc_open(struct proc *p, uint64_t uname);
long ipc_call(struct proc *p, uint64_t h, uint64_t ureq, uint64_t len, uint64_t urep, uint64_t cap,
	      uint64_t timeout_ns);
long ipc_cast(struct proc *p, uint64_t h, uint64_t ubuf, uint64_t len, uint64_t flags);
long ipc_recv(struct proc *p, uint64_t h, uint64_t umsg, uint64_t ubuf, uint64_t cap);
long ipc_reply(struct proc *p, uint64_t h, uint64_t id, uint64_t ubuf, uint64_t len);
long ipc_ack(struct proc *p, uint64_t h, uint64_t id);
long ipc_next(struct proc *p, uint64_t h, uint64_t id, uint64_t ubuf, uint64_t len, uint64_t unext);
/* What reply_recv returns besides the length (syscall.c: in registers). */
struct ipc_rr {
	struct ve_msg msg;
	uint32_t answered; /* enum ve_next_answer */
	uint32_t waited;   /* 1 if it blocked (nothing was ready) */
};
long ipc_reply_recv(struct proc *p, uint64_t h, uint64_t id, uint64_t ubuf, uint64_t lens,
		    uint64_t timeout_ns, struct ipc_rr *rr);
/* Batches of casts (abi.h, struct ve_batch). */
long ipc_castv(struct proc *p, uint64_t h, uint64_t ubuf, uint64_t ulens, uint64_t n,
	       uint64_t flags);
long ipc_recvv(struct proc *p, uint64_t h, uint64_t ubatch);
long ipc_wait_any(struct proc *p, uint64_t uhandles, uint64_t n, uint64_t timeout_ns,
		  uint64_t uresult);
long ipc_irq_ack(struct proc *p, uint64_t irq);
long ipc_chan_info(struct proc *p, uint64_t index, uint64_t uinfo);
/* Fault injection: queue one message from nobody (sender 0) on each channel
 * p serves that has room. Returns on how many it was queued. */
unsigned ipc_send_to_served(struct proc *p, uint32_t kind, const void *data, uint32_t len);

#endif
