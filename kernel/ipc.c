/*
 * Channels in the kernel. The channel core (channels/) keeps queues,
 * in-flight messages, replay and dead letters; this file connects it to
 * processes: handles, permission from the boot table or a spawn_spec,
 * copying between user memory and messages, blocking (call waits for its
 * reply, a full queue blocks the sender, wait_any and next block a server)
 * and waking, IRQ lines as notifications, and the channel events on the log.
 *
 * Waiting is by state, not by wait queue: a blocked process records what it
 * waits for (state + blocked_on + call_id). A waker finds a caller by the
 * pid its message carries and a server by its channel's server pid; only
 * senders blocked on a full channel are found by scanning the process
 * table (NPROC is small), and only while there are some. Each process has
 * one message buffer in the kernel (msg_buf): its request, copied in once,
 * while it waits for room; then, while it waits for the reply, the reply,
 * which the server copies in and the caller copies out in its own space.
 * Batches (castv, recvv) go to the channel core whole: one share charge,
 * one list splice and one refund each, not one per message.
 */
#include "ipc.h"

#include "arch.h"
#include "chan.h"
#include "klog.h"
#include "lib/string.h"
#include "mem.h"
#include "pci.h"
#include "sched.h"
#include "share.h"
#include "vm.h"

static struct chan_registry reg;
/* Per process slot: a process is in one call at a time, and its request
 * is sent before a reply can be written here (only a caller waiting for
 * its reply gets one), so the two uses never overlap. castv and recvv
 * stage a batch's payloads here, in no call, so nobody replies into it
 * meanwhile. */
static uint8_t msg_buf[NPROC][VE_MSG_MAX];
/*
 * Who an IRQ line is delivered to. A line granted by `irqs` has one owner.
 * A PCI device's line may be shared by the holders of several devices (PCI
 * INTx lines are shared by design), up to IRQ_SHARERS: it fires to each,
 * stays masked until each has acked it, then is unmasked.
 */
#define IRQ_SHARERS 4
static struct irq_line {
	struct proc *owner[IRQ_SHARERS];
	uint8_t unacked; /* owner slots that have not acked since it fired */
	bool shared;	 /* held through device grants: more may join */
} lines[16];

/* p's slot among line n's owners, or -1. */
static int line_slot(const struct irq_line *l, const struct proc *p)
{
	for (int k = 0; k < IRQ_SHARERS; k++)
		if (l->owner[k] == p)
			return k;
	return -1;
}

static void *env_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return kmalloc(n);
}

static void env_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

/* A message is its sender's memory: charged to its share (share.c) by the
 * heap its size takes (a slot reused from the channels' spares is charged
 * as a new one), owner = its pid, until it is freed; if the sender dies
 * first, the channel core disowns what stays and it is charged to the
 * sender's name (an orphan owner), so no refund ever looks for a dead pid.
 * The kernel's own messages (sender 0: fault injection) are charged to
 * nobody; the channel's bounds bound them, as they bound every message. */
static struct proc *charged_proc(uint64_t pid)
{
	struct proc *p = pid < SHARE_ORPHAN_BASE ? proc_by_pid((int)pid) : NULL;
	if (!p)
		panic("message memory charged to pid %llu, which is gone", (unsigned long long)pid);
	return p;
}

/* A slot's heap footprint, found once in ipc_init (the heap's classes are
 * fixed): nearly every message takes one. */
static size_t slot_footprint;

/* What a message of n bytes takes from the heap. */
static size_t footprint(size_t n)
{
	return n == CHAN_SLOT_SIZE ? slot_footprint : kmalloc_footprint(n);
}

/* count messages of n bytes: count times one's footprint (VE_BATCH_MAX
 * at most, so no overflow). */
static int env_charge(void *ctx, uint64_t sender, size_t n, uint32_t count, uint64_t *owner)
{
	(void)ctx;
	if (!sender)
		return 0;
	/* The sender is nearly always the process sending: no table lookup. */
	struct proc *cur = proc_current();
	struct proc *p = cur && (uint64_t)cur->pid == sender ? cur : charged_proc(sender);
	int err = share_charge(p, footprint(n) * count);
	if (!err)
		*owner = sender;
	return err;
}

static uint64_t env_disown(void *ctx, uint64_t owner, size_t n)
{
	(void)ctx;
	return share_disown(charged_proc(owner), footprint(n));
}

static void env_refund(void *ctx, uint64_t owner, size_t n, uint32_t count)
{
	(void)ctx;
	if (owner >= SHARE_ORPHAN_BASE)
		share_refund_orphan(owner, footprint(n) * count);
	else
		share_refund(charged_proc(owner), footprint(n) * count);
}

static const struct chan_env env = {
	env_alloc, env_free, NULL, env_charge, env_disown, env_refund
};

int ipc_init(const struct bundle *b, const char **why)
{
	slot_footprint = kmalloc_footprint(CHAN_SLOT_SIZE);
	chan_registry_init(&reg, &env);
	for (uint32_t i = 0; i < b->nprocs; i++) {
		const struct bundle_proc *bp = &b->procs[i];
		struct chan_limits lim = { bp->queue, bp->qbytes, bp->redeliveries };
		for (unsigned k = 0; k < VE_SPAWN_CHANS && bp->serve[k][0]; k++) {
			struct chan *c;
			int err = chan_create(&reg, bp->serve[k], &lim, &c);
			if (err) {
				*why = "cannot create a channel of the boot table";
				return err;
			}
		}
	}
	return 0;
}

static bool granted(const char (*list)[32], const char *name)
{
	for (unsigned k = 0; k < VE_SPAWN_CHANS && list[k][0]; k++)
		if (strcmp(list[k], name) == 0)
			return true;
	return false;
}

/* A serve[] or open[] list: used slots first, each a channel name. */
static int chan_list_check(const char (*list)[32])
{
	bool ended = false;
	for (unsigned k = 0; k < VE_SPAWN_CHANS; k++) {
		if (!list[k][0])
			ended = true;
		else if (ended || !chan_name_ok(list[k]))
			return -VE_INVAL;
	}
	return 0;
}

int ipc_chans_check(const struct proc_chans *pc)
{
	if (chan_list_check(pc->serve) || chan_list_check(pc->open))
		return -VE_INVAL;
	return bundle_chan_limits_check(pc->queue, pc->qbytes, pc->redeliveries,
					pc->serve[0][0] != '\0', NULL);
}

/* Create the channels p may serve that do not exist yet, with p's limits:
 * a process started with spawn_spec brings its channels into being. All or
 * none: a failure removes the ones made before it. */
int ipc_create_served(const struct proc_chans *pc, unsigned *created)
{
	struct chan_limits lim = { pc->queue, pc->qbytes, pc->redeliveries };
	*created = 0;
	for (unsigned k = 0; k < VE_SPAWN_CHANS && pc->serve[k][0]; k++) {
		struct chan *c;
		if (chan_find(&reg, pc->serve[k]))
			continue;
		int err = chan_create(&reg, pc->serve[k], &lim, &c);
		if (err) {
			ipc_uncreate_served(pc, *created);
			*created = 0;
			return err;
		}
		*created |= 1u << k;
	}
	return 0;
}

void ipc_uncreate_served(const struct proc_chans *pc, unsigned created)
{
	for (unsigned k = 0; k < VE_SPAWN_CHANS; k++) {
		struct chan *c = created & (1u << k) ? chan_find(&reg, pc->serve[k]) : NULL;
		/* Nothing ran since they were made: each is idle. */
		if (c && chan_destroy(c))
			klog("channel %s: cannot remove it after a failed spawn", pc->serve[k]);
	}
}

/* The handle h of p, if it exists. h is the whole 64-bit argument the
 * caller passed: a value that only its low bits make a handle is none. */
static struct handle *handle_get(struct proc *p, uint64_t h)
{
	if (h >= VE_HANDLES_MAX || !p->handles[h].ch)
		return NULL;
	return &p->handles[h];
}

static int handle_free_slot(struct proc *p)
{
	for (int h = 0; h < VE_HANDLES_MAX; h++)
		if (!p->handles[h].ch)
			return h;
	return -VE_RANGE;
}

static uint64_t deadline_of(uint64_t timeout_ns)
{
	if (timeout_ns == VE_TIMEOUT_NONE)
		return UINT64_MAX;
	uint64_t now = arch_now_ns();
	return timeout_ns > UINT64_MAX - now ? UINT64_MAX - 1 : now + timeout_ns;
}

/* c's server if it is POLLING: waiting for a message, which c now has. */
static struct proc *polling_server(struct chan *c)
{
	struct proc *s = chan_has_server(c) ? proc_by_pid((int)chan_server(c)) : NULL;
	return s && s->state == PROC_POLLING ? s : NULL;
}

static void wake_server(struct chan *c)
{
	struct proc *s = polling_server(c);
	if (s)
		proc_wake(s);
}

/* The slot of the process that last cast: most often the one blocked on a
 * full channel (a stream of casts), so wake_senders looks there first. */
static int caster_hint;

/* The scan runs only while some process is SENDING (blocked in
 * wait_for_room), which keeps it off the recv/reply/ack path almost always.
 * The last caster is tried first: when it is the only sender blocked, as in
 * a stream of casts, waking it ends the scan before it starts. */
static void wake_senders(struct chan *c)
{
	if (!proc_senders_blocked())
		return;
	struct proc *hint = proc_by_slot(caster_hint);
	if (hint && hint->state == PROC_SENDING && hint->blocked_on == c)
		proc_wake(hint);
	for (int i = 0; proc_senders_blocked() && i < NPROC; i++) {
		struct proc *q = proc_by_slot(i);
		if (q && q->state == PROC_SENDING && q->blocked_on == c)
			proc_wake(q);
	}
}

static void emit_chan_event(const char *ev, struct chan *c, const char *k1, int64_t v1,
			    const char *k2, int64_t v2)
{
	struct evlog_line l;
	ev_start(&l, ev);
	ev_str(&l, "channel", chan_name(c));
	ev_i64(&l, k1, v1);
	if (k2)
		ev_i64(&l, k2, v2);
	ev_send(&l);
}

static long open_common(struct proc *p, uint64_t uname, bool server)
{
	char name[CHAN_NAME_MAX];
	int err = vm_copy_str_in(p, name, uname, sizeof(name));
	if (err)
		return err == -VE_RANGE ? -VE_INVAL : err;
	if (!granted(server ? p->chans.serve : p->chans.open, name))
		return -VE_PERM;
	struct chan *c = chan_find(&reg, name);
	if (!c)
		return -VE_NOENT;
	int h = handle_free_slot(p);
	if (h < 0)
		return h;
	if (server && (err = chan_serve(c, (uint64_t)p->pid)))
		return err;
	p->handles[h] = (struct handle){ .ch = c, .server = server };
	if (server) {
		struct chan_stats st;
		chan_stats(c, &st);
		emit_chan_event("chan_serve", c, "pid", p->pid, "queued", st.queued);
	}
	return h;
}

long ipc_serve(struct proc *p, uint64_t uname)
{
	return open_common(p, uname, true);
}

long ipc_open(struct proc *p, uint64_t uname)
{
	return open_common(p, uname, false);
}

/* Wait for room for len bytes in c (the core's bounds: the message bound
 * over queued and in-flight messages together, the byte bound over the
 * queue), or the deadline. A message larger than the channel's byte bound
 * could never fit: -VE_RANGE at once. */
static int wait_for_room(struct proc *p, struct chan *c, uint32_t len, uint64_t deadline)
{
	struct chan_limits lim;
	chan_get_limits(c, &lim);
	if (len > lim.max_bytes)
		return -VE_RANGE;
	while (!chan_can_send(c, len)) {
		if (deadline != UINT64_MAX && arch_now_ns() >= deadline)
			return -VE_TIMEOUT; /* also: deadline 0 = do not block */
		p->blocked_on = c;
		proc_block(p, PROC_SENDING, deadline);
		p->blocked_on = NULL;
		if (p->timed_out)
			return -VE_TIMEOUT;
	}
	return 0;
}

long ipc_call(struct proc *p, uint64_t h, uint64_t ureq, uint64_t len, uint64_t urep, uint64_t cap,
	      uint64_t timeout_ns)
{
	struct handle *hd = handle_get(p, h);
	if (!hd || hd->server)
		return -VE_BADHANDLE;
	if (len > VE_MSG_MAX)
		return -VE_RANGE;
	if (cap > VE_MSG_MAX)
		cap = VE_MSG_MAX;
	uint8_t *buf = msg_buf[p->slot];
	if (vm_copy_in(p, buf, ureq, len) || vm_check(p, urep, cap, true))
		return -VE_FAULT;
	struct chan *c = hd->ch;
	uint64_t deadline = deadline_of(timeout_ns), id;
	int err = wait_for_room(p, c, (uint32_t)len, deadline);
	if (err)
		return err;
	if ((err = chan_send(c, (uint64_t)p->pid, VE_MSG_CALL, buf, (uint32_t)len, (uint64_t)p->pid,
			     &id)))
		return err;
	p->blocked_on = c;
	p->call_id = id;
	p->call_cap = cap;
	p->call_result = -VE_AGAIN;
	/* The fast path: straight to a waiting server, without the run queues. */
	proc_block_to(p, PROC_CALLING, deadline, polling_server(c));
	p->blocked_on = NULL;
	if (p->timed_out)
		return -VE_TIMEOUT; /* ipc_timeout cancelled the request */
	if (p->call_result > 0 && vm_copy_out(p, urep, buf, (uint64_t)p->call_result))
		return -VE_FAULT;
	return p->call_result;
}

long ipc_cast(struct proc *p, uint64_t h, uint64_t ubuf, uint64_t len, uint64_t flags)
{
	struct handle *hd = handle_get(p, h);
	uint64_t id;
	if (!hd || hd->server)
		return -VE_BADHANDLE;
	if (flags & ~(uint64_t)VE_NONBLOCK)
		return -VE_INVAL;
	if (len > VE_MSG_MAX)
		return -VE_RANGE;
	uint8_t *buf = msg_buf[p->slot];
	if (vm_copy_in(p, buf, ubuf, len))
		return -VE_FAULT;
	struct chan *c = hd->ch;
	caster_hint = p->slot;
	int err = wait_for_room(p, c, (uint32_t)len, (flags & VE_NONBLOCK) ? 0 : UINT64_MAX);
	if (err == -VE_TIMEOUT)
		return -VE_AGAIN; /* non-blocking and full */
	if (err)
		return err;
	if ((err = chan_send(c, (uint64_t)p->pid, VE_MSG_CAST, buf, (uint32_t)len, 0, &id)))
		return err;
	wake_server(c);
	return 0;
}

static struct handle *server_handle(struct proc *p, uint64_t h, long *err)
{
	struct handle *hd = handle_get(p, h);
	*err = !hd ? -VE_BADHANDLE : !hd->server ? -VE_PERM : 0;
	return *err ? NULL : hd;
}

/* Receive the head of hd's queue: its payload to ubuf (at most cap bytes),
 * its header to *out. The payload is copied before the message moves, so a
 * bad buffer leaves it queued. -VE_AGAIN empty, -VE_RANGE longer than cap
 * (out->len says how long), -VE_FAULT. */
static long recv_head(struct proc *p, struct handle *hd, struct ve_msg *out, uint64_t ubuf,
		      uint64_t cap)
{
	const struct chan_msg *head;
	if (chan_list_queued(hd->ch, &head, 1) == 0)
		return -VE_AGAIN;
	out->len = head->len;
	if (cap < head->len)
		return -VE_RANGE;
	if (vm_copy_out(p, ubuf, head->data, head->len))
		return -VE_FAULT;
	struct chan_msg *m;
	long err = chan_recv(hd->ch, (uint64_t)p->pid, &m);
	if (err)
		return err;
	*out = (struct ve_msg){
		.id = m->id,
		.sender = (int32_t)m->sender,
		.kind = m->kind,
		.len = m->len,
		.redelivered = m->redelivered,
	};
	wake_senders(hd->ch);
	return (long)out->len;
}

long ipc_recv(struct proc *p, uint64_t h, uint64_t umsg, uint64_t ubuf, uint64_t cap)
{
	long err;
	struct handle *hd = server_handle(p, h, &err);
	if (!hd)
		return err;
	if (vm_check(p, umsg, sizeof(struct ve_msg), true))
		return -VE_FAULT;
	struct ve_msg out;
	long len = recv_head(p, hd, &out, ubuf, cap);
	if (len >= 0)
		vm_copy_out(p, umsg, &out, sizeof(out)); /* checked above */
	return len;
}

/* The caller of in-flight call m (cookie: its pid), if it still waits for
 * it: a caller that gave up or died is gone or waits for something else. */
static struct proc *waiting_caller(struct chan *c, const struct chan_msg *m)
{
	struct proc *caller = proc_by_pid((int)m->cookie);
	bool waits = caller && caller->state == PROC_CALLING && caller->call_id == m->id &&
		     caller->blocked_on == c;
	return waits ? caller : NULL;
}

/* The caller blocked on a call has its reply of len bytes in its reply
 * buffer: wake it, or (handoff) leave that to the server's next block,
 * which switches straight to it. */
static void deliver_reply(struct proc *caller, uint64_t len, struct proc **handoff)
{
	caller->call_result = len > caller->call_cap ? -VE_RANGE : (int64_t)len;
	if (handoff)
		*handoff = caller;
	else
		proc_wake(caller);
}

static long ack(struct proc *p, struct handle *hd, uint64_t id)
{
	long err = chan_ack(hd->ch, (uint64_t)p->pid, id);
	if (err)
		return err;
	wake_senders(hd->ch);
	return 0;
}

/* Reply to the in-flight call id on hd with ubuf[0..len), copied straight
 * into its waiting caller's msg_buf (or, if nobody waits, into the
 * server's own, only to check it); or, with acks, ack the cast id.
 * 0, VE_REPLY_DISCARDED (nobody waits for it), or -VE_*: nothing changed
 * (once the copy has succeeded and id is a call in flight on hd's channel,
 * whose server p is, chan_reply cannot fail). With handoff, the caller
 * answered is left blocked in *handoff, for wait_one to wake or switch to
 * (NULL if none). */
static long answer(struct proc *p, struct handle *hd, uint64_t id, uint64_t ubuf, uint64_t len,
		   bool acks, struct proc **handoff)
{
	if (len > VE_MSG_MAX)
		return -VE_RANGE;
	const struct chan_msg *held = chan_inflight_find(hd->ch, id);
	if (acks && held && held->kind == VE_MSG_CAST)
		return ack(p, hd, id);
	bool call = held && held->kind == VE_MSG_CALL;
	struct proc *caller = call ? waiting_caller(hd->ch, held) : NULL;
	uint8_t *dst = msg_buf[caller ? caller->slot : p->slot];
	if (vm_copy_in(p, dst, ubuf, len))
		return -VE_FAULT;
	if (call && !caller)
		chan_cancel(hd->ch, id); /* nobody waits: injected, from sender 0 */
	struct chan_msg *m;
	long err = chan_reply(hd->ch, (uint64_t)p->pid, id, &m);
	if (err)
		return err;
	/* Either way the message is gone, which makes room under the bound. */
	wake_senders(hd->ch);
	if (!m) {
		emit_chan_event("discard", hd->ch, "id", (int64_t)id, NULL, 0);
		return VE_REPLY_DISCARDED;
	}
	deliver_reply(caller, len, handoff); /* m came back, so its caller waits */
	chan_msg_free(hd->ch, m);
	return 0;
}

long ipc_reply(struct proc *p, uint64_t h, uint64_t id, uint64_t ubuf, uint64_t len)
{
	long err;
	struct handle *hd = server_handle(p, h, &err);
	return hd ? answer(p, hd, id, ubuf, len, false, NULL) : err;
}

long ipc_ack(struct proc *p, uint64_t h, uint64_t id)
{
	long err;
	struct handle *hd = server_handle(p, h, &err);
	return hd ? ack(p, hd, id) : err;
}

/* Read the n handles a wait names from uhandles into hs, each checked. */
static long wait_handles(struct proc *p, int32_t *hs, uint64_t uhandles, uint64_t n)
{
	if (n > VE_HANDLES_MAX)
		return -VE_RANGE;
	if (n && vm_copy_in(p, hs, uhandles, n * sizeof(hs[0])))
		return -VE_FAULT;
	for (uint64_t i = 0; i < n; i++)
		if (!handle_get(p, (uint64_t)(int64_t)hs[i]))
			return -VE_BADHANDLE;
	return 0;
}

/* Block until a server handle among hs[0..n) has a message, a child has
 * died or an IRQ came (*r says which), or the deadline: -VE_TIMEOUT.
 * *waited (may be NULL) is set if it had to block. */
static long wait_ready(struct proc *p, const int32_t *hs, uint64_t n, uint64_t deadline,
		       struct ve_wait_result *r, uint32_t *waited)
{
	for (;;) {
		*r = (struct ve_wait_result){ .handle = -1,
					      .exited = proc_has_dead_child(p),
					      .irqs = p->irq_pending };
		for (uint64_t i = 0; i < n && r->handle < 0; i++) {
			struct handle *hd = &p->handles[hs[i]];
			if (hd->server && chan_pending(hd->ch))
				r->handle = hs[i];
		}
		if (r->handle >= 0 || r->irqs || r->exited) {
			p->irq_pending = 0;
			return 0;
		}
		if (waited)
			*waited = 1;
		proc_block(p, PROC_POLLING, deadline);
		if (p->timed_out)
			return -VE_TIMEOUT;
	}
}

long ipc_wait_any(struct proc *p, uint64_t uhandles, uint64_t n, uint64_t timeout_ns,
		  uint64_t uresult)
{
	int32_t hs[VE_HANDLES_MAX];
	struct ve_wait_result r;
	long err = wait_handles(p, hs, uhandles, n);
	if (err)
		return err;
	if (vm_check(p, uresult, sizeof(r), true))
		return -VE_FAULT;
	if ((err = wait_ready(p, hs, n, deadline_of(timeout_ns), &r, NULL)))
		return err;
	return vm_copy_out(p, uresult, &r, sizeof(r));
}

/* What next and reply_recv report of answer()'s success. */
static uint32_t answered_as(long answer_result)
{
	return answer_result == VE_REPLY_DISCARDED ? VE_NEXT_DISCARDED : VE_NEXT_ANSWERED;
}

/* The server loop's one call: answer id, wait, receive (abi.h, ve_next). */
long ipc_next(struct proc *p, uint64_t h, uint64_t id, uint64_t ubuf, uint64_t len, uint64_t unext)
{
	int32_t hs[VE_HANDLES_MAX];
	struct ve_next nx;
	long err;
	if (vm_copy_in(p, &nx, unext, sizeof(nx)) || vm_check(p, unext, sizeof(nx), true))
		return -VE_FAULT;
	nx.msg = (struct ve_msg){ 0 };
	nx.result = (struct ve_wait_result){ .handle = -1 };
	nx.waited = 0;
	nx.answered = VE_NEXT_NONE;
	err = wait_handles(p, hs, (uint64_t)(uintptr_t)nx.handles, nx.n);
	if (!err && id) {
		struct handle *hd = server_handle(p, h, &err);
		if (hd && (err = answer(p, hd, id, ubuf, len, true, NULL)) >= 0)
			nx.answered = answered_as(err);
	}
	if (err >= 0) /* else not answered, and nothing waited for */
		err = wait_ready(p, hs, nx.n, deadline_of(nx.timeout_ns), &nx.result, &nx.waited);
	if (!err && nx.result.handle >= 0)
		err = recv_head(p, &p->handles[nx.result.handle], &nx.msg, ubuf, nx.cap);
	vm_copy_out(p, unext, &nx, sizeof(nx)); /* checked above */
	return err;
}

/* Block until hd's channel has a message queued, or the deadline. Only a
 * message ends it: an IRQ or a child's death wakes p, which finds nothing
 * and waits again, leaving them pending for wait_any. to (or NULL) is the
 * caller p has just answered, still blocked: p's block switches straight
 * to it (sched_handoff's rules), or, if p does not block, it is woken. */
static long wait_one(struct proc *p, struct handle *hd, uint64_t deadline, uint32_t *waited,
		     struct proc *to)
{
	while (!chan_pending(hd->ch)) {
		*waited = 1;
		proc_block_to(p, PROC_POLLING, deadline, to);
		to = NULL;
		if (p->timed_out)
			return -VE_TIMEOUT;
	}
	if (to)
		proc_wake(to);
	return 0;
}

/* next on one channel, the header back in *rr (abi.h: reply_recv). */
long ipc_reply_recv(struct proc *p, uint64_t h, uint64_t id, uint64_t ubuf, uint64_t lens,
		    uint64_t timeout_ns, struct ipc_rr *rr)
{
	long err;
	struct proc *to = NULL; /* the caller answered, woken by wait_one */
	*rr = (struct ipc_rr){ 0 };
	struct handle *hd = server_handle(p, h, &err);
	if (!hd)
		return err;
	if (id) {
		if ((err = answer(p, hd, id, ubuf, lens & UINT32_MAX, true, &to)) < 0)
			return err;
		rr->answered = answered_as(err);
	}
	if ((err = wait_one(p, hd, deadline_of(timeout_ns), &rr->waited, to)))
		return err;
	return recv_head(p, hd, &rr->msg, ubuf, lens >> 32);
}

/* ---- batches (abi.h: castv, recvv) ---- */

/* Check castv's batch: lens[0..n) into lens, each a length the channel
 * could ever hold, and buf readable for their sum (*total). */
static long castv_check(struct proc *p, struct chan *c, uint64_t ubuf, uint64_t ulens, uint64_t n,
			uint32_t *lens, uint64_t *total)
{
	struct chan_limits lim;
	if (n == 0)
		return -VE_INVAL;
	if (n > VE_BATCH_MAX)
		return -VE_RANGE;
	if (vm_copy_in(p, lens, ulens, n * sizeof(lens[0])))
		return -VE_FAULT;
	chan_get_limits(c, &lim);
	*total = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (lens[i] > VE_MSG_MAX || lens[i] > lim.max_bytes)
			return -VE_RANGE;
		*total += lens[i];
	}
	return vm_check(p, ubuf, *total, false) ? -VE_FAULT : 0;
}

/* How many of lens[0..n) (each at most VE_MSG_MAX) fit in msg_buf
 * together, at least one; their bytes in *bytes. */
static uint32_t castv_chunk(const uint32_t *lens, uint64_t n, uint64_t *bytes)
{
	uint32_t k = 0;
	*bytes = 0;
	while (k < n && *bytes + lens[k] <= VE_MSG_MAX)
		*bytes += lens[k++];
	return k;
}

/* Queue castv's checked batch: as many messages as fill msg_buf are copied
 * in at once and go to the core as one batch (one charge, one splice).
 * buf was checked readable, and nothing of p's changes while it is in the
 * kernel, so a copy does not fail. The first message that does not fit
 * (-VE_AGAIN) ends the batch; the first always fits, as wait_for_room saw.
 * Returns how many were queued; *err why it stopped short. */
static uint64_t castv_send(struct proc *p, struct chan *c, uint64_t ubuf, const uint32_t *lens,
			   uint64_t n, long *err)
{
	uint8_t *buf = msg_buf[p->slot];
	uint64_t k = 0, bytes;
	while (k < n) {
		uint32_t chunk = castv_chunk(lens + k, n - k, &bytes);
		if (vm_copy_in(p, buf, ubuf, bytes)) {
			*err = -VE_FAULT;
			break;
		}
		long sent = chan_send_batch(c, (uint64_t)p->pid, VE_MSG_CAST, buf, lens + k, chunk,
					    0, NULL);
		if (sent < 0) {
			*err = sent;
			break;
		}
		k += (uint64_t)sent;
		if ((uint32_t)sent < chunk)
			break;
		ubuf += bytes;
	}
	return k;
}

long ipc_castv(struct proc *p, uint64_t h, uint64_t ubuf, uint64_t ulens, uint64_t n,
	       uint64_t flags)
{
	struct handle *hd = handle_get(p, h);
	uint32_t lens[VE_BATCH_MAX];
	uint64_t total;
	if (!hd || hd->server)
		return -VE_BADHANDLE;
	if (flags & ~(uint64_t)VE_NONBLOCK)
		return -VE_INVAL;
	struct chan *c = hd->ch;
	long err = castv_check(p, c, ubuf, ulens, n, lens, &total);
	if (err)
		return err;
	caster_hint = p->slot;
	err = wait_for_room(p, c, lens[0], (flags & VE_NONBLOCK) ? 0 : UINT64_MAX);
	if (err)
		return err == -VE_TIMEOUT ? -VE_AGAIN : err;
	uint64_t k = castv_send(p, c, ubuf, lens, n, &err);
	if (k)
		wake_server(c);
	return k ? (long)k : err;
}

/* Copy the payloads of q[0..n) back to back to ubuf while they fit in
 * cap, before any of them moves (a bad buffer leaves them queued). They
 * are gathered in p's msg_buf (free while it serves) and go out a
 * bufferful at a time: one user copy for many small messages. Returns how
 * many were copied. */
static uint32_t recv_copy(struct proc *p, const struct chan_msg **q, uint32_t n, uint64_t ubuf,
			  uint64_t cap)
{
	uint8_t *buf = msg_buf[p->slot];
	uint32_t k = 0, out = 0; /* gathered; copied out */
	uint64_t fill = 0;
	for (; k < n && q[k]->len <= cap; k++) {
		uint32_t len = q[k]->len;
		if (fill + len > VE_MSG_MAX) {
			if (vm_copy_out(p, ubuf, buf, fill))
				return out;
			ubuf += fill;
			fill = 0;
			out = k;
		}
		memcpy(buf + fill, q[k]->data, len);
		fill += len;
		cap -= len;
	}
	return fill && vm_copy_out(p, ubuf, buf, fill) ? out : k;
}

/* recvv's receiving: from the head of hd's queue into msgs[]/ubuf, as
 * recv_head does one at a time, but moved to in flight together. Returns
 * how many, or recv_head's error for the first (a payload longer than
 * cap: -VE_RANGE, msgs[0].len its length). */
static long recv_batch(struct proc *p, struct handle *hd, struct ve_msg *msgs, uint32_t max,
		       uint64_t ubuf, uint64_t cap)
{
	const struct chan_msg *q[VE_BATCH_MAX];
	uint32_t n = chan_list_queued(hd->ch, q, max);
	if (n == 0)
		return -VE_AGAIN;
	if (q[0]->len > cap) {
		msgs[0].len = q[0]->len;
		return -VE_RANGE;
	}
	uint32_t k = recv_copy(p, q, n, ubuf, cap);
	if (k == 0)
		return -VE_FAULT;
	long err = chan_recv_batch(hd->ch, (uint64_t)p->pid, k, NULL);
	if (err < 0)
		return err;
	for (uint32_t i = 0; i < k; i++)
		msgs[i] = (struct ve_msg){
			.id = q[i]->id,
			.sender = (int32_t)q[i]->sender,
			.kind = q[i]->kind,
			.len = q[i]->len,
			.redelivered = q[i]->redelivered,
		};
	wake_senders(hd->ch);
	return (long)k;
}

/* recvv's acks, in order, at once; b->acked counts them. */
static long ack_batch(struct proc *p, struct handle *hd, struct ve_batch *b, const uint64_t *ids)
{
	long err =
	    b->nacks ? chan_ack_batch(hd->ch, (uint64_t)p->pid, ids, b->nacks, &b->acked) : 0;
	if (b->acked)
		wake_senders(hd->ch);
	return err;
}

long ipc_recvv(struct proc *p, uint64_t h, uint64_t ubatch)
{
	struct ve_batch b;
	struct ve_msg msgs[VE_BATCH_MAX];
	uint64_t ids[VE_BATCH_MAX];
	long err;
	struct handle *hd = server_handle(p, h, &err);
	if (!hd)
		return err;
	if (vm_copy_in(p, &b, ubatch, sizeof(b)) || vm_check(p, ubatch, sizeof(b), true))
		return -VE_FAULT;
	if (b.max == 0 || b.pad)
		return -VE_INVAL;
	if (b.max > VE_BATCH_MAX || b.nacks > VE_BATCH_MAX)
		return -VE_RANGE;
	uint64_t umsgs = (uint64_t)(uintptr_t)b.msgs, ubuf = (uint64_t)(uintptr_t)b.buf;
	/* No more than max whole messages are written: only that much of buf
	 * is checked (and touched, a page at a time). */
	uint64_t cap = b.cap < b.max * VE_MSG_MAX ? b.cap : b.max * VE_MSG_MAX;
	if (vm_copy_in(p, ids, (uint64_t)(uintptr_t)b.acks, b.nacks * sizeof(ids[0])) ||
	    vm_check(p, umsgs, b.max * sizeof(msgs[0]), true) || vm_check(p, ubuf, cap, true))
		return -VE_FAULT;
	b.acked = b.waited = 0;
	err = ack_batch(p, hd, &b, ids);
	if (!err)
		err = wait_one(p, hd, deadline_of(b.timeout_ns), &b.waited, NULL);
	if (!err)
		err = recv_batch(p, hd, msgs, b.max, ubuf, cap);
	if (err > 0 || err == -VE_RANGE) /* -VE_RANGE: msgs[0].len says how long */
		vm_copy_out(p, umsgs, msgs, (err > 0 ? (uint64_t)err : 1) * sizeof(msgs[0]));
	vm_copy_out(p, ubatch, &b, sizeof(b)); /* checked above */
	return err;
}

long ipc_chan_info(struct proc *p, uint64_t index, uint64_t uinfo)
{
	struct chan *c = chan_first(&reg);
	for (uint64_t i = 0; c && i < index; i++)
		c = chan_next(c);
	if (!c)
		return -VE_NOENT;
	if (vm_check(p, uinfo, sizeof(struct ve_chaninfo), true))
		return -VE_FAULT;
	struct chan_stats st;
	struct chan_limits lim;
	struct chan_deadletter dl[CHAN_DEADLETTER_KEEP];
	chan_stats(c, &st);
	chan_get_limits(c, &lim);
	struct ve_chaninfo ci = {
		.server = chan_has_server(c) ? (int32_t)chan_server(c) : 0,
		.queued = st.queued,
		.inflight = st.inflight,
		.queued_bytes = st.queued_bytes,
		.sent = st.sent,
		.replied = st.replied,
		.acked = st.acked,
		.poisoned = st.poisoned,
		.cancelled = st.cancelled,
		.discarded = st.discarded,
		.redelivered = st.redelivered,
		.max_msgs = lim.max_msgs,
		.max_bytes = lim.max_bytes,
		.max_redeliveries = lim.max_redeliveries,
		.deadletters = chan_deadletters(c, dl, CHAN_DEADLETTER_KEEP),
	};
	strlcpy(ci.name, chan_name(c), sizeof(ci.name));
	return vm_copy_out(p, uinfo, &ci, sizeof(ci));
}

unsigned ipc_send_to_served(struct proc *p, uint32_t kind, const void *data, uint32_t len)
{
	unsigned sent = 0;
	uint64_t id;
	for (int h = 0; h < VE_HANDLES_MAX; h++) {
		struct handle *hd = &p->handles[h];
		/* Sender 0 is nobody: replies to its calls are discarded. A full
		 * channel refuses (-VE_AGAIN) and is skipped: this never blocks
		 * or drops anything. */
		if (!hd->ch || !hd->server || chan_send(hd->ch, 0, kind, data, len, 0, &id))
			continue;
		wake_server(hd->ch);
		sent++;
	}
	return sent;
}

long ipc_irq_ack(struct proc *p, uint64_t irq)
{
	if (irq > 15)
		return -VE_INVAL;
	int k = line_slot(&lines[irq], p);
	if (!(p->irqs & (1u << irq)) || k < 0)
		return -VE_PERM;
	lines[irq].unacked &= (uint8_t) ~(1u << k);
	if (!lines[irq].unacked)
		arch_irq_unmask((unsigned)irq); /* the last sharer to ack */
	return 0;
}

/* Line n fired, and arch_irq_begin masked it: it stays masked until each
 * owner has acked (for good if it has none). */
void ipc_irq(unsigned n)
{
	if (n >= 16)
		return;
	struct irq_line *l = &lines[n];
	for (int k = 0; k < IRQ_SHARERS; k++) {
		struct proc *p = l->owner[k];
		if (!p)
			continue; /* a free slot */
		l->unacked |= (uint8_t)(1u << k);
		p->irq_pending |= (uint16_t)(1u << n);
		if (p->state == PROC_POLLING)
			proc_wake(p);
	}
}

/*
 * A call's deadline is the moment its caller gives up, so the request is
 * cancelled in the core right then, not when the caller next runs: queued,
 * it is removed (cancelled); in flight, a late reply is discarded and a
 * server death drops it as cancelled, never as poison. The caller's
 * -VE_TIMEOUT, chan_info's counters and the event log (no deadletter) then
 * tell one story however late the caller is scheduled. (Answering
 * -VE_POISON when the request was poisoned after the deadline but before
 * the caller ran would make the result depend on the scheduler instead.)
 * A request poisoned or answered before the deadline woke its caller
 * already, which is then no longer CALLING and never times out.
 */
void ipc_timeout(struct proc *p)
{
	if (p->state == PROC_CALLING) {
		chan_cancel(p->blocked_on, p->call_id);
		wake_senders(p->blocked_on); /* a queued request freed room */
	}
	p->timed_out = true;
	proc_wake(p);
}

static bool line_empty(const struct irq_line *l)
{
	for (int k = 0; k < IRQ_SHARERS; k++)
		if (l->owner[k])
			return false;
	return true;
}

/* Make p an owner of line n: alone, or beside others when all hold it
 * through device grants. False if it cannot have it. */
static bool line_join(struct proc *p, unsigned n)
{
	struct irq_line *l = &lines[n];
	bool dev = pci_lines(p) & (1u << n);
	int free = -1, used = 0;
	for (int k = 0; k < IRQ_SHARERS; k++) {
		if (l->owner[k])
			used++;
		else if (free < 0)
			free = k;
	}
	if (used && !(dev && l->shared && free >= 0))
		return false;
	l->owner[free] = p;
	if (!used) {
		l->shared = dev;
		l->unacked = 0;
		arch_irq_unmask(n);
	}
	return true;
}

void ipc_proc_created(struct proc *p)
{
	for (unsigned n = 0; n < 16; n++) {
		if (!(p->irqs & (1u << n)) || line_join(p, n))
			continue;
		struct proc *o = NULL;
		for (int k = 0; k < IRQ_SHARERS && !o; k++)
			o = lines[n].owner[k];
		klog("IRQ %u is held by %s (pid %d)%s; %s does not get it", n, o->name, o->pid,
		     lines[n].shared ? " and others" : "", p->name);
		p->irqs &= (uint16_t) ~(1u << n);
	}
}

/* A message was in flight at max_redeliveries server deaths: fail its
 * caller and log it as a dead letter. */
static void on_poison(void *ctx, struct chan_msg *m)
{
	struct chan *c = ctx;
	struct evlog_line l;
	ev_start(&l, "deadletter");
	ev_str(&l, "channel", chan_name(c));
	ev_u64(&l, "id", m->id);
	ev_i64(&l, "sender", (int64_t)m->sender);
	ev_str(&l, "kind", m->kind == VE_MSG_CALL ? "call" : "cast");
	ev_u64(&l, "deaths", m->deaths);
	ev_send(&l);
	klog("channel %s: message %llu from pid %lld is poison, dead-lettered", chan_name(c),
	     (unsigned long long)m->id, (long long)m->sender);
	struct proc *caller = m->kind == VE_MSG_CALL ? waiting_caller(c, m) : NULL;
	if (caller) {
		caller->call_result = -VE_POISON;
		proc_wake(caller);
	}
}

void ipc_proc_dying(struct proc *p)
{
	/* Taken before the loop: what the clean-up below wakes (the senders
	 * blocked on a channel it serves, the caller of a request it poisons)
	 * may be p itself. That is harmless: its death, the next edge, takes a
	 * RUNNABLE process off the run queue (lifecycle.c). */
	bool idle = p->state == PROC_POLLING;
	for (int h = 0; h < VE_HANDLES_MAX; h++) {
		struct handle *hd = &p->handles[h];
		if (!hd->ch)
			continue;
		if (hd->server) {
			/* Dead while blocked waiting for work, it was processing
			 * nothing: replay what it held without blaming it. */
			unsigned n = idle ? chan_server_died_idle(hd->ch, on_poison, hd->ch)
					  : chan_server_died(hd->ch, on_poison, hd->ch);
			if (n)
				emit_chan_event("replay", hd->ch, "count", n, "pid", p->pid);
			/* A replay keeps the count the bound holds, but what
			 * was dropped or poisoned frees room: senders may go on. */
			wake_senders(hd->ch);
		} else if (chan_client_died(hd->ch, (uint64_t)p->pid)) {
			wake_senders(hd->ch);
		}
		hd->ch = NULL;
	}
	for (unsigned n = 0; n < 16; n++) {
		struct irq_line *l = &lines[n];
		int k = line_slot(l, p);
		if (k < 0)
			continue;
		l->owner[k] = NULL;
		l->unacked &= (uint8_t) ~(1u << k);
		if (line_empty(l)) {
			l->shared = false;
			arch_irq_mask(n); /* nobody left */
		} else if (!l->unacked) {
			arch_irq_unmask(n); /* it waited for p's ack only */
		}
	}
	p->irqs = 0;
	p->irq_pending = 0;
}
