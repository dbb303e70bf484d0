/*
 * The channel registry: channel names, creation, lookup and removal.
 * A channel lives until it is removed, not until its server or clients die;
 * what happens to its messages is in chan.c.
 */
#include "chan_impl.h"

/* Names are what a policy file and the console show: printable, no spaces,
 * no separators that a path or a log line would trip over. */
static bool name_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

bool chan_name_ok(const char *name)
{
	if (!name || !name[0])
		return false;
	for (size_t i = 0; name[i]; i++) {
		if (i >= CHAN_NAME_MAX - 1 || !name_char_ok(name[i]))
			return false;
	}
	return true;
}

static bool name_eq(const char *a, const char *b)
{
	size_t i = 0;
	while (a[i] && a[i] == b[i])
		i++;
	return a[i] == b[i];
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

void chan_registry_init(struct chan_registry *r, const struct chan_env *env)
{
	r->env = *env;
	r->first = r->last = NULL;
	r->next_id = 1;
	r->nchans = 0;
	r->spare = NULL;
	r->nspare = 0;
}

static void chan_unlink(struct chan *c)
{
	struct chan_registry *r = c->reg;
	if (c->prev)
		c->prev->next = c->next;
	else
		r->first = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		r->last = c->prev;
	r->nchans--;
}

void chan_registry_fini(struct chan_registry *r)
{
	while (r->first) {
		struct chan *c = r->first;
		chan_drop_all(c);
		chan_unlink(c);
		r->env.free(r->env.ctx, c);
	}
	while (r->spare) {
		struct chan_msg *m = r->spare;
		r->spare = m->next;
		r->env.free(r->env.ctx, m);
	}
	r->nspare = 0;
}

struct chan *chan_find(struct chan_registry *r, const char *name)
{
	if (!name)
		return NULL;
	for (struct chan *c = r->first; c; c = c->next) {
		if (name_eq(c->name, name))
			return c;
	}
	return NULL;
}

/* A fresh channel, all zero but for what create sets: the allocator gives
 * raw memory and there is no memset here. */
static void chan_init(struct chan *c, struct chan_registry *r, const char *name,
		      const struct chan_limits *lim)
{
	*c = (struct chan){ .reg = r };
	for (size_t i = 0; name[i]; i++)
		c->name[i] = name[i];
	c->lim.max_msgs = or_default(lim ? lim->max_msgs : 0, CHAN_DEFAULT_MAX_MSGS);
	c->lim.max_bytes = or_default(lim ? lim->max_bytes : 0, CHAN_DEFAULT_MAX_BYTES);
	c->lim.max_redeliveries =
	    or_default(lim ? lim->max_redeliveries : 0, CHAN_DEFAULT_MAX_REDELIVERIES);
}

int chan_create(struct chan_registry *r, const char *name, const struct chan_limits *lim,
		struct chan **out)
{
	if (!out || !chan_name_ok(name))
		return -VE_INVAL;
	if (chan_find(r, name))
		return -VE_BUSY;
	struct chan *c = r->env.alloc(r->env.ctx, sizeof(*c));
	if (!c)
		return -VE_NOMEM;
	chan_init(c, r, name, lim);
	c->prev = r->last;
	if (r->last)
		r->last->next = c;
	else
		r->first = c;
	r->last = c;
	r->nchans++;
	*out = c;
	return 0;
}

int chan_destroy(struct chan *c)
{
	if (c->has_server || c->queue.n || c->inflight.n)
		return -VE_BUSY;
	struct chan_registry *r = c->reg;
	chan_unlink(c);
	r->env.free(r->env.ctx, c);
	return 0;
}

const char *chan_name(const struct chan *c)
{
	return c->name;
}

void chan_get_limits(const struct chan *c, struct chan_limits *out)
{
	*out = c->lim;
}

void chan_set_priv(struct chan *c, void *priv)
{
	c->priv = priv;
}

void *chan_priv(const struct chan *c)
{
	return c->priv;
}

struct chan *chan_first(struct chan_registry *r)
{
	return r->first;
}

struct chan *chan_next(struct chan *c)
{
	return c->next;
}
