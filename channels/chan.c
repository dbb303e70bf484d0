/*
 * A channel's messages and its server: send, receive, reply, ack, cancel,
 * and what a server's or a client's death does to what the channel holds.
 *
 * A message the channel holds is on exactly one list, named by m->where:
 * the queue, or in flight (received, not yet replied/acked). It moves
 * between them only through msg_leave() and msg_enter(), which keep the
 * list counts and queued_bytes right. It leaves the channel in one of five
 * ways, each counted once: replied, acked, poisoned, cancelled, discarded.
 */
#include "chan_impl.h"

/* ---- lists ---- */

static void list_unlink(struct chan_msg_list *l, struct chan_msg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		l->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		l->tail = m->prev;
	m->prev = m->next = NULL;
	l->n--;
}

static void list_push_back(struct chan_msg_list *l, struct chan_msg *m)
{
	m->next = NULL;
	m->prev = l->tail;
	if (l->tail)
		l->tail->next = m;
	else
		l->head = m;
	l->tail = m;
	l->n++;
}

static void list_push_front(struct chan_msg_list *l, struct chan_msg *m)
{
	m->prev = NULL;
	m->next = l->head;
	if (l->head)
		l->head->prev = m;
	else
		l->tail = m;
	l->head = m;
	l->n++;
}

/* Take the head of a non-empty l. */
static struct chan_msg *list_pop_front(struct chan_msg_list *l)
{
	struct chan_msg *m = l->head;
	l->head = m->next;
	if (l->head)
		l->head->prev = NULL;
	else
		l->tail = NULL;
	m->next = NULL;
	l->n--;
	return m;
}

static struct chan_msg *list_find(const struct chan_msg_list *l, uint64_t id)
{
	for (struct chan_msg *m = l->head; m; m = m->next) {
		if (m->id == id)
			return m;
	}
	return NULL;
}

/* ---- a message's place ---- */

/* Take m off whichever list holds it. */
static void msg_leave(struct chan *c, struct chan_msg *m)
{
	switch (m->where) {
	case CHAN_MSG_QUEUED:
		list_unlink(&c->queue, m);
		c->queued_bytes -= m->len;
		break;
	case CHAN_MSG_INFLIGHT:
		list_unlink(&c->inflight, m);
		break;
	default:
		break;
	}
	m->where = CHAN_MSG_DETACHED;
}

/* Put a detached m on the queue (at the front for a replay) or in flight. */
static void msg_enter(struct chan *c, struct chan_msg *m, enum chan_msg_where to, bool front)
{
	m->where = (uint8_t)to;
	if (to == CHAN_MSG_INFLIGHT) {
		list_push_back(&c->inflight, m);
		return;
	}
	if (front)
		list_push_front(&c->queue, m);
	else
		list_push_back(&c->queue, m);
	c->queued_bytes += m->len;
}

/* The bytes a message of len takes, and is charged for: a slot, or its
 * exact size when it is larger than a slot holds. */
size_t chan_msg_size(uint32_t len)
{
	return len <= CHAN_SLOT_PAYLOAD ? CHAN_SLOT_SIZE : sizeof(struct chan_msg) + len;
}

static size_t msg_size(const struct chan_msg *m)
{
	return chan_msg_size(m->len);
}

/* Memory for a message of n bytes: a spare slot when there is one. */
static struct chan_msg *msg_alloc(struct chan_registry *r, size_t n)
{
	struct chan_msg *m = r->spare;
	if (n != CHAN_SLOT_SIZE || !m)
		return r->env.alloc(r->env.ctx, n);
	r->spare = m->next;
	r->nspare--;
	return m;
}

/* Its sender died and m stays: the env says whom it is charged to now
 * (once: a client may die on a channel through several handles). */
static void msg_disown(struct chan *c, struct chan_msg *m)
{
	const struct chan_env *e = &c->reg->env;
	if (m->owner && !m->disowned)
		m->owner = e->disown(e->ctx, m->owner, msg_size(m));
	m->disowned = true;
}

/* Free m's memory, or keep it as a spare slot; its refund is the
 * caller's. */
static void msg_release(struct chan_registry *r, struct chan_msg *m, size_t n)
{
	if (n != CHAN_SLOT_SIZE || r->nspare >= CHAN_SPARES) {
		r->env.free(r->env.ctx, m);
		return;
	}
	m->next = r->spare;
	r->spare = m;
	r->nspare++;
}

/* Refund it and free it, or keep it as a spare slot. */
static void msg_free(struct chan *c, struct chan_msg *m)
{
	struct chan_registry *r = c->reg;
	size_t n = msg_size(m);
	if (m->owner)
		r->env.refund(r->env.ctx, m->owner, n, 1);
	msg_release(r, m, n);
}

/* msg_free for a list of detached messages (linked by next), with one
 * refund for each run of one owner and size: a batch's acks refund as
 * its send charged. */
static void msgs_free(struct chan *c, struct chan_msg *m)
{
	struct chan_registry *r = c->reg;
	while (m) {
		uint64_t owner = m->owner;
		size_t n = msg_size(m);
		uint32_t count = 0;
		struct chan_msg *next;
		do {
			next = m->next; /* msg_release reuses next */
			msg_release(r, m, n);
			count++;
		} while ((m = next) && m->owner == owner && msg_size(m) == n);
		if (owner)
			r->env.refund(r->env.ctx, owner, n, count);
	}
}

void chan_msg_free(struct chan *c, struct chan_msg *m)
{
	if (m)
		msg_free(c, m);
}

void chan_drop_all(struct chan *c)
{
	struct chan_msg *m;
	while ((m = c->queue.head) || (m = c->inflight.head)) {
		msg_leave(c, m);
		msg_free(c, m);
	}
}

/* ---- serving ---- */

static bool is_server(const struct chan *c, uint64_t server)
{
	return c->has_server && c->server == server;
}

int chan_serve(struct chan *c, uint64_t server)
{
	if (c->has_server && c->server != server)
		return -VE_BUSY;
	c->has_server = true;
	c->server = server;
	return 0;
}

bool chan_has_server(const struct chan *c)
{
	return c->has_server;
}

uint64_t chan_server(const struct chan *c)
{
	return c->has_server ? c->server : 0;
}

static void deadletter_add(struct chan *c, const struct chan_msg *m)
{
	c->dead[c->dead_next] = (struct chan_deadletter){
		.id = m->id, .sender = m->sender, .kind = m->kind, .len = m->len
	};
	c->dead_next = (c->dead_next + 1) % CHAN_DEADLETTER_KEEP;
	if (c->dead_n < CHAN_DEADLETTER_KEEP)
		c->dead_n++;
}

/*
 * Walk in flight from the newest back to the oldest, pushing each replay
 * onto the front of the queue: so the replays end up ahead of everything
 * queued, in their original order. Poison is collected (oldest first) and
 * recorded and handed out only once the channel is consistent, because the
 * callback may call back into it.
 */
static unsigned server_gone(struct chan *c, bool blame,
			    void (*on_poison)(void *ctx, struct chan_msg *m), void *ctx)
{
	struct chan_msg_list poison = { 0 };
	unsigned requeued = 0;
	struct chan_msg *m;

	while ((m = c->inflight.tail)) {
		msg_leave(c, m);
		if (m->sender_gone) {
			c->st.cancelled++;
			msg_free(c, m);
			continue;
		}
		if (blame)
			m->deaths++;
		if (m->deaths >= c->lim.max_redeliveries) {
			c->st.poisoned++;
			list_push_front(&poison, m);
			continue;
		}
		m->redelivered++;
		c->st.redelivered++;
		msg_enter(c, m, CHAN_MSG_QUEUED, true);
		requeued++;
	}
	c->has_server = false;
	c->server = 0;

	while ((m = poison.head)) {
		list_unlink(&poison, m);
		deadletter_add(c, m);
		if (on_poison)
			on_poison(ctx, m);
		msg_free(c, m);
	}
	return requeued;
}

unsigned chan_server_died(struct chan *c, void (*on_poison)(void *ctx, struct chan_msg *m),
			  void *ctx)
{
	return server_gone(c, true, on_poison, ctx);
}

unsigned chan_server_died_idle(struct chan *c, void (*on_poison)(void *ctx, struct chan_msg *m),
			       void *ctx)
{
	return server_gone(c, false, on_poison, ctx);
}

/* ---- messages ---- */

static bool fits(const struct chan *c, uint32_t len)
{
	return len <= VE_MSG_MAX && len <= c->lim.max_bytes;
}

/* The count bound is over everything the channel holds, queued and in
 * flight together: a server that receives and never answers cannot make
 * the channel hold more than max_msgs. A replay moves messages from in
 * flight to the queue and keeps the sum. The byte bound is over the queue:
 * a server holds what it received in its own memory. */
static bool has_room(const struct chan *c, uint32_t len)
{
	return c->queue.n + c->inflight.n < c->lim.max_msgs &&
	       c->queued_bytes <= c->lim.max_bytes - len;
}

bool chan_can_send(const struct chan *c, uint32_t len)
{
	return fits(c, len) && has_room(c, len);
}

bool chan_pending(const struct chan *c)
{
	return c->queue.n > 0;
}

/* A new detached message of n bytes (chan_msg_size(len)) with the next
 * id, already charged to owner; NULL when out of memory (no id used). */
static struct chan_msg *msg_new(struct chan *c, size_t n, uint64_t sender, uint32_t kind,
				const void *data, uint32_t len, uint64_t cookie, uint64_t owner)
{
	struct chan_msg *m = msg_alloc(c->reg, n);
	if (!m)
		return NULL;
	/* Field by field, not a compound literal: that zeroes the whole header
	 * first, 20 instructions on every send. */
	m->id = c->reg->next_id++;
	m->sender = sender;
	m->cookie = cookie;
	m->kind = kind;
	m->len = len;
	m->redelivered = 0;
	m->deaths = 0;
	m->sender_gone = false;
	m->where = CHAN_MSG_DETACHED;
	m->owner = owner;
	m->disowned = false;
	m->prev = m->next = NULL;
	if (len)
		__builtin_memcpy(m->data, data, len); /* the kernel's or libc's memcpy */
	return m;
}

int chan_send(struct chan *c, uint64_t sender, uint32_t kind, const void *data, uint32_t len,
	      uint64_t cookie, uint64_t *id_out)
{
	if (kind != VE_MSG_CALL && kind != VE_MSG_CAST)
		return -VE_INVAL;
	if (len && !data)
		return -VE_INVAL;
	if (!fits(c, len))
		return -VE_RANGE;
	if (!has_room(c, len))
		return -VE_AGAIN;
	const struct chan_env *e = &c->reg->env;
	size_t n = chan_msg_size(len);
	uint64_t owner = 0;
	if (e->charge && e->charge(e->ctx, sender, n, 1, &owner))
		return -VE_NOMEM;
	struct chan_msg *m = msg_new(c, n, sender, kind, data, len, cookie, owner);
	if (!m) {
		if (owner)
			e->refund(e->ctx, owner, n, 1);
		return -VE_NOMEM;
	}
	msg_enter(c, m, CHAN_MSG_QUEUED, false);
	c->st.sent++;
	if (id_out)
		*id_out = m->id;
	return 0;
}

/* ---- batches ---- */

/* How many of lens[0..n) chan_send would queue one after the other, each
 * taking room from the next; *err gets the first refusal, if any. */
static uint32_t batch_room(const struct chan *c, const uint32_t *lens, uint32_t n, int *err)
{
	uint32_t held = c->queue.n + c->inflight.n;
	uint32_t room = held < c->lim.max_msgs ? c->lim.max_msgs - held : 0;
	uint64_t bytes = c->queued_bytes;
	uint32_t k = 0;
	*err = 0;
	for (; k < n; k++) {
		if (!fits(c, lens[k])) {
			*err = -VE_RANGE;
			break;
		}
		bytes += lens[k];
		if (k >= room || bytes > c->lim.max_bytes) {
			*err = -VE_AGAIN;
			break;
		}
	}
	return k;
}

/* The length of the run of lens[0..n) that takes one size as lens[0]. */
static uint32_t run_of(const uint32_t *lens, uint32_t n)
{
	size_t size = chan_msg_size(lens[0]);
	uint32_t k = 1;
	while (k < n && chan_msg_size(lens[k]) == size)
		k++;
	return k;
}

/* Where a batch's messages are made: on a list of their own until they
 * all go to the queue at once. */
struct batch {
	struct chan *c;
	uint64_t sender, cookie;
	uint32_t kind;
	const uint8_t *data; /* the next message's payload */
	struct chan_msg_list made;
	uint32_t made_bytes;
	int err; /* why it stopped early */
};

/* Make count messages of size n from b->data (lens[0..count)), charged to
 * owner. Returns how many were made; out of memory, the rest's charges
 * are given back. */
static uint32_t batch_make(struct batch *b, const uint32_t *lens, uint32_t count, size_t n,
			   uint64_t owner)
{
	const struct chan_env *e = &b->c->reg->env;
	for (uint32_t i = 0; i < count; i++) {
		struct chan_msg *m =
		    msg_new(b->c, n, b->sender, b->kind, b->data, lens[i], b->cookie, owner);
		if (!m) {
			if (owner)
				e->refund(e->ctx, owner, n, count - i);
			b->err = -VE_NOMEM;
			return i;
		}
		m->where = CHAN_MSG_QUEUED; /* it goes there with the batch */
		list_push_back(&b->made, m);
		b->made_bytes += lens[i];
		b->data += lens[i];
	}
	return count;
}

/* A run of count messages of one size: one charge for all of them. A
 * refused charge is retried one message at a time, as count single sends
 * would charge, so a share with room for some takes those. Returns how
 * many were made. */
static uint32_t batch_run(struct batch *b, const uint32_t *lens, uint32_t count)
{
	const struct chan_env *e = &b->c->reg->env;
	size_t n = chan_msg_size(lens[0]);
	uint64_t owner = 0;
	if (!e->charge || !e->charge(e->ctx, b->sender, n, count, &owner))
		return batch_make(b, lens, count, n, owner);
	for (uint32_t i = 0; i < count; i++) {
		owner = 0;
		if (e->charge(e->ctx, b->sender, n, 1, &owner)) {
			b->err = -VE_NOMEM;
			return i;
		}
		if (!batch_make(b, lens + i, 1, n, owner))
			return i;
	}
	return count;
}

/* Move the whole of from to the tail of l. */
static void list_splice_back(struct chan_msg_list *l, struct chan_msg_list *from)
{
	if (!from->head)
		return;
	from->head->prev = l->tail;
	if (l->tail)
		l->tail->next = from->head;
	else
		l->head = from->head;
	l->tail = from->tail;
	l->n += from->n;
	*from = (struct chan_msg_list){ 0 };
}

long chan_send_batch(struct chan *c, uint64_t sender, uint32_t kind, const void *data,
		     const uint32_t *lens, uint32_t n, uint64_t cookie, uint64_t *first_id)
{
	if (n == 0 || (kind != VE_MSG_CALL && kind != VE_MSG_CAST))
		return -VE_INVAL;
	static const uint8_t none[1];
	for (uint32_t i = 0; !data && i < n; i++)
		if (lens[i])
			return -VE_INVAL;
	if (!data)
		data = none; /* every length is 0: nothing is read from it */
	struct batch b = { .c = c, .sender = sender, .cookie = cookie, .kind = kind, .data = data };
	uint64_t first = c->reg->next_id;
	uint32_t k = batch_room(c, lens, n, &b.err);
	for (uint32_t i = 0, run; i < k; i += run) {
		run = run_of(lens + i, k - i);
		if (batch_run(&b, lens + i, run) < run)
			break;
	}
	if (!b.made.n)
		return b.err;
	c->queued_bytes += b.made_bytes;
	c->st.sent += b.made.n;
	list_splice_back(&c->queue, &b.made);
	if (first_id)
		*first_id = first;
	return (long)(c->reg->next_id - first);
}

int chan_recv(struct chan *c, uint64_t server, struct chan_msg **out)
{
	if (!out)
		return -VE_INVAL;
	if (!is_server(c, server))
		return -VE_PERM;
	struct chan_msg *m = c->queue.head;
	if (!m)
		return -VE_AGAIN;
	msg_leave(c, m);
	msg_enter(c, m, CHAN_MSG_INFLIGHT, false);
	*out = m;
	return 0;
}

long chan_recv_batch(struct chan *c, uint64_t server, uint32_t n, struct chan_msg **out)
{
	if (n == 0)
		return -VE_INVAL;
	if (!is_server(c, server))
		return -VE_PERM;
	struct chan_msg *first = c->queue.head, *last = NULL, *m = first;
	if (!m)
		return -VE_AGAIN;
	uint32_t k = 0, bytes = 0;
	for (; m && k < n; last = m, m = m->next) {
		m->where = CHAN_MSG_INFLIGHT;
		bytes += m->len;
		if (out)
			out[k] = m;
		k++;
	}
	/* first..last leave the queue's head together for in flight's tail. */
	c->queue.head = m;
	if (m)
		m->prev = NULL;
	else
		c->queue.tail = NULL;
	c->queue.n -= k;
	c->queued_bytes -= bytes;
	last->next = NULL;
	struct chan_msg_list taken = { first, last, k };
	list_splice_back(&c->inflight, &taken);
	return k;
}

/* Find the in-flight message id of the given kind, for reply or ack. */
static int inflight_take(struct chan *c, uint64_t server, uint64_t id, uint32_t kind,
			 struct chan_msg **out)
{
	if (!is_server(c, server))
		return -VE_PERM;
	struct chan_msg *m = list_find(&c->inflight, id);
	if (!m)
		return -VE_NOENT;
	if (m->kind != kind)
		return -VE_INVAL;
	msg_leave(c, m);
	*out = m;
	return 0;
}

int chan_reply(struct chan *c, uint64_t server, uint64_t id, struct chan_msg **out)
{
	struct chan_msg *m;
	if (!out)
		return -VE_INVAL;
	int err = inflight_take(c, server, id, VE_MSG_CALL, &m);
	if (err)
		return err;
	if (m->sender_gone) {
		c->st.discarded++;
		msg_free(c, m);
		*out = NULL;
		return 0;
	}
	c->st.replied++;
	*out = m;
	return 0;
}

int chan_ack(struct chan *c, uint64_t server, uint64_t id)
{
	struct chan_msg *m;
	int err = inflight_take(c, server, id, VE_MSG_CAST, &m);
	if (err)
		return err;
	c->st.acked++;
	msg_free(c, m);
	return 0;
}

int chan_ack_batch(struct chan *c, uint64_t server, const uint64_t *ids, uint32_t n,
		   uint32_t *acked)
{
	struct chan_msg_list done = { 0 };
	uint32_t k = 0;
	int err = 0;
	for (; k < n; k++) {
		/* Acks come in receive order: the oldest in flight is nearly
		 * always the one, taken off the head without a search. */
		struct chan_msg *m = c->inflight.head;
		if (m && m->id == ids[k] && m->kind == VE_MSG_CAST && is_server(c, server))
			list_pop_front(&c->inflight)->where = CHAN_MSG_DETACHED;
		else if ((err = inflight_take(c, server, ids[k], VE_MSG_CAST, &m)))
			break;
		list_push_back(&done, m);
	}
	c->st.acked += k;
	msgs_free(c, done.head);
	*acked = k;
	return err;
}

/* Cancel m for its sender. Returns whether that changed anything. */
static bool msg_cancel(struct chan *c, struct chan_msg *m)
{
	if (m->where == CHAN_MSG_QUEUED) {
		msg_leave(c, m);
		c->st.cancelled++;
		msg_free(c, m);
		return true;
	}
	if (m->sender_gone)
		return false;
	m->sender_gone = true;
	return true;
}

int chan_cancel(struct chan *c, uint64_t id)
{
	struct chan_msg *m = list_find(&c->queue, id);
	if (!m)
		m = list_find(&c->inflight, id);
	if (!m)
		return -VE_NOENT;
	msg_cancel(c, m);
	return 0;
}

unsigned chan_client_died(struct chan *c, uint64_t sender)
{
	unsigned n = 0;
	struct chan_msg *m, *next;
	/* Only calls: nobody is left to take their replies. A cast needs no
	 * answer, so it is still delivered and acked. */
	for (m = c->queue.head; m; m = next) {
		next = m->next;
		if (m->sender == sender && m->kind == VE_MSG_CALL && msg_cancel(c, m))
			n++;
		else if (m->sender == sender)
			msg_disown(c, m);
	}
	for (m = c->inflight.head; m; m = m->next) {
		if (m->sender == sender && m->kind == VE_MSG_CALL && msg_cancel(c, m))
			n++;
		if (m->sender == sender)
			msg_disown(c, m);
	}
	return n;
}

const struct chan_msg *chan_inflight_find(const struct chan *c, uint64_t id)
{
	return list_find(&c->inflight, id);
}

/* ---- looking in ---- */

void chan_stats(const struct chan *c, struct chan_stats *out)
{
	*out = c->st;
	out->queued = c->queue.n;
	out->inflight = c->inflight.n;
	out->queued_bytes = c->queued_bytes;
}

unsigned chan_deadletters(const struct chan *c, struct chan_deadletter *out, unsigned cap)
{
	unsigned n = cap < c->dead_n ? cap : c->dead_n;
	unsigned at = (c->dead_next + CHAN_DEADLETTER_KEEP - n) % CHAN_DEADLETTER_KEEP;
	for (unsigned i = 0; i < n; i++)
		out[i] = c->dead[(at + i) % CHAN_DEADLETTER_KEEP];
	return n;
}

static unsigned list_copy(const struct chan_msg_list *l, const struct chan_msg **out, unsigned cap)
{
	unsigned n = 0;
	for (const struct chan_msg *m = l->head; m && n < cap; m = m->next)
		out[n++] = m;
	return n;
}

unsigned chan_list_queued(const struct chan *c, const struct chan_msg **out, unsigned cap)
{
	return list_copy(&c->queue, out, cap);
}

unsigned chan_list_inflight(const struct chan *c, const struct chan_msg **out, unsigned cap)
{
	return list_copy(&c->inflight, out, cap);
}

/* Links both ways, count, where, id order; returns the payload bytes. */
static int list_check(const struct chan_msg_list *l, enum chan_msg_where where, uint64_t *bytes)
{
	const struct chan_msg *prev = NULL;
	uint32_t n = 0;
	*bytes = 0;
	for (const struct chan_msg *m = l->head; m; prev = m, m = m->next) {
		if (m->prev != prev || m->where != where || (prev && prev->id >= m->id))
			return -VE_INVAL;
		if (++n > l->n)
			return -VE_INVAL;
		*bytes += m->len;
	}
	return (n == l->n && l->tail == prev) ? 0 : -VE_INVAL;
}

int chan_check(const struct chan *c)
{
	uint64_t qbytes, ibytes;
	if (list_check(&c->queue, CHAN_MSG_QUEUED, &qbytes) ||
	    list_check(&c->inflight, CHAN_MSG_INFLIGHT, &ibytes))
		return -VE_INVAL;
	if (qbytes != c->queued_bytes)
		return -VE_INVAL;
	/* Everything in flight was received before anything still queued was
	 * sent (replays go back ahead of the queue), so ids order the two. */
	if (c->inflight.tail && c->queue.head && c->inflight.tail->id >= c->queue.head->id)
		return -VE_INVAL;
	const struct chan_stats *s = &c->st;
	uint64_t ended = s->replied + s->acked + s->poisoned + s->cancelled + s->discarded;
	if (s->sent != ended + c->queue.n + c->inflight.n)
		return -VE_INVAL;
	if (!c->has_server && c->inflight.n)
		return -VE_INVAL;
	return 0;
}
