/*
 * respcheck's model of one connection's keys (see respmodel.h): which
 * replies are right, given what was acknowledged and what is ambiguous.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respmodel.h"

void rm_init(struct rm_conn *c, const char *run, int id)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->tag, sizeof(c->tag), "%s-%d", run, id);
}

/* The key of kind ch ('n' counter, 'v' register, 'l' list). */
static void key(const struct rm_conn *c, char ch, char *out, size_t cap)
{
	snprintf(out, cap, "rc:%s:%c", c->tag, ch);
}

/* A value "TAG-<ch><k>". */
static void value(const struct rm_conn *c, char ch, unsigned long long k, char *out, size_t cap)
{
	snprintf(out, cap, "%s-%c%llu", c->tag, ch, k);
}

/* The k of a bulk "TAG-<ch><k>"; 0 if r is not one of ours. */
static unsigned long long value_k(const struct rm_conn *c, char ch, const struct resp_reply *r)
{
	size_t tl = strlen(c->tag);
	char num[24];
	char *end;
	unsigned long long k;

	if (r->type != RESP_BULK || r->len <= tl + 2 || r->len - tl - 2 >= sizeof(num) ||
	    memcmp(r->s, c->tag, tl) != 0 || r->s[tl] != '-' || r->s[tl + 1] != ch)
		return 0;
	memcpy(num, r->s + tl + 2, r->len - tl - 2);
	num[r->len - tl - 2] = 0;
	k = strtoull(num, &end, 10);
	return *end ? 0 : k;
}

size_t rm_request(struct rm_conn *c, char *out, size_t cap)
{
	static const char *const verb[] = { "INCR", "SET", "GET", "RPUSH", "LPOP" };
	static const char kind[] = { 'n', 'v', 'v', 'l', 'l' };
	char k[96], v[96];
	const char *argv[3] = { verb[c->next], k, v };
	int argc = 2;

	c->sent = c->next;
	key(c, kind[c->sent], k, sizeof(k));
	if (c->sent == RM_SET || c->sent == RM_RPUSH) {
		c->sent_k = ++c->seq;
		value(c, c->sent == RM_SET ? 'v' : 'l', c->sent_k, v, sizeof(v));
		argc = 3;
	}
	return resp_command(out, cap, argc, argv);
}

static enum rm_verdict incr_reply(struct rm_conn *c, const struct resp_reply *r)
{
	long long lo = c->incr_last + 1, hi = lo + c->amb_open;
	enum rm_verdict v = RM_OK;

	if (r->type != RESP_INT)
		return RM_WRONG;
	if (c->incr_unknown) {
		c->incr_unknown = false;
		c->incr_ok = c->incr_last = r->n;
		c->incr_amb = c->amb_open = 0;
		return RM_OK;
	}
	c->incr_ok++;
	if (r->n < lo)
		v = RM_LOST;
	else if (r->n > hi)
		v = RM_DUP;
	c->incr_last = r->n; /* resynchronise: one fault, one verdict */
	c->amb_open = 0;
	return v;
}

static enum rm_verdict set_reply(struct rm_conn *c, const struct resp_reply *r)
{
	c->val_try = c->sent_k;
	if (!resp_is(r, RESP_SIMPLE, "OK")) {
		c->try_amb = true;
		return RM_WRONG;
	}
	c->val_known = c->sent_k;
	c->try_amb = c->val_unknown = false;
	return RM_OK;
}

/* A register read of k (0: nil): is it what was written? */
static enum rm_verdict register_verdict(const struct rm_conn *c, unsigned long long k)
{
	if (k == c->val_known || (c->try_amb && k == c->val_try))
		return RM_OK;
	if (k < c->val_known)
		return RM_LOST; /* nil, or an older value: a write is gone */
	return RM_WRONG;
}

static enum rm_verdict get_reply(struct rm_conn *c, const struct resp_reply *r)
{
	unsigned long long k = value_k(c, 'v', r);
	enum rm_verdict v;

	if (r->type != RESP_NIL && !k)
		return RM_WRONG;
	v = register_verdict(c, k);
	if (c->val_unknown && k <= c->seq)
		v = RM_OK; /* nil, or any value this connection wrote */
	c->val_known = k;
	c->try_amb = c->val_unknown = false;
	return v;
}

/* Put element k at the list's tail (forgetting the oldest if full). */
static void list_push(struct rm_conn *c, unsigned long long k, bool maybe)
{
	if (c->nitem == RM_LIST_MAX) {
		memmove(c->item, c->item + 1, sizeof(c->item[0]) * (RM_LIST_MAX - 1));
		c->nitem--;
	}
	c->item[c->nitem++] = (struct rm_item){ k, maybe };
}

static enum rm_verdict rpush_reply(struct rm_conn *c, const struct resp_reply *r)
{
	bool ok = r->type == RESP_INT && r->n >= 1;

	list_push(c, c->sent_k, !ok);
	return ok ? RM_OK : RM_WRONG;
}

/* Drop the first n elements; LOST if a certain one is among them. */
static enum rm_verdict list_drop(struct rm_conn *c, int n)
{
	enum rm_verdict v = RM_OK;

	for (int i = 0; i < n; i++)
		if (!c->item[i].maybe)
			v = RM_LOST;
	memmove(c->item, c->item + n, sizeof(c->item[0]) * (size_t)(c->nitem - n));
	c->nitem -= n;
	return v;
}

static enum rm_verdict lpop_reply(struct rm_conn *c, const struct resp_reply *r)
{
	unsigned long long k = value_k(c, 'l', r);

	if (r->type == RESP_NIL) {
		if (c->list_unknown) {
			c->list_unknown = false; /* known again: empty */
			c->nitem = 0;
			return RM_OK;
		}
		return list_drop(c, c->nitem);
	}
	if (!k)
		return RM_WRONG;
	for (int i = 0; i < c->nitem; i++) {
		if (c->item[i].k != k)
			continue;
		if (k > c->pop_max)
			c->pop_max = k;
		c->item[i].maybe = true; /* it is here: its own drop loses nothing */
		return list_drop(c, i + 1);
	}
	if (c->list_unknown && k <= c->seq)
		return RM_OK; /* an element of the dataset before */
	return k <= c->pop_max ? RM_DUP : RM_WRONG;
}

void rm_forget(struct rm_conn *c)
{
	if (c->sent == RM_INCR) {
		c->incr_ok = c->incr_last; /* incr_reply resynchronised on it */
		c->incr_amb = c->amb_open = 0;
	} else {
		c->incr_unknown = true;
	}
	c->val_unknown = c->sent != RM_GET; /* a GET's reply is what it holds */
	c->try_amb = false;
	c->list_unknown = true;
	for (int i = 0; i < c->nitem; i++)
		c->item[i].maybe = true;
	c->pop_max = 0;
}

/* What follows op in the cycle. */
static enum rm_op after(enum rm_op op)
{
	return op == RM_LPOP ? RM_INCR : (enum rm_op)(op + 1);
}

enum rm_verdict rm_reply(struct rm_conn *c, const struct resp_reply *r)
{
	static enum rm_verdict (*const check[])(struct rm_conn *, const struct resp_reply *) = {
		incr_reply, set_reply, get_reply, rpush_reply, lpop_reply,
	};

	c->next = after(c->sent);
	if (r->type == RESP_ERROR) {
		if (c->sent == RM_SET || c->sent == RM_RPUSH)
			rm_broken(c); /* did it happen? the error does not say */
		c->next = after(c->sent);
		return RM_ERROR;
	}
	return check[c->sent](c, r);
}

/*
 * No reply will come: note what may have happened, and next send the
 * request that settles it (GET after a SET, LPOP after an RPUSH, the same
 * again otherwise).
 */
void rm_broken(struct rm_conn *c)
{
	switch (c->sent) {
	case RM_INCR:
		c->incr_amb++;
		c->amb_open++;
		break;
	case RM_SET:
		c->val_try = c->sent_k;
		c->try_amb = true;
		break;
	case RM_RPUSH:
		list_push(c, c->sent_k, true);
		break;
	case RM_LPOP:
		if (c->nitem)
			c->item[0].maybe = true;
		break;
	case RM_GET:
		break;
	}
	c->next = c->sent == RM_SET ? RM_GET : c->sent == RM_RPUSH ? RM_LPOP : c->sent;
}

size_t rm_final_request(const struct rm_conn *c, int which, char *out, size_t cap)
{
	char k[96];
	const char *get[] = { "GET", k }, *range[] = { "LRANGE", k, "0", "-1" };

	key(c, "nvl"[which], k, sizeof(k));
	if (which == 2)
		return resp_command(out, cap, 4, range);
	return resp_command(out, cap, 2, get);
}

/* The counter read back: between the INCRs answered and those plus the
 * ambiguous ones. */
static enum rm_verdict final_counter(const struct rm_conn *c, const struct resp_reply *r)
{
	char num[24];
	long long n = 0;

	if (r->type == RESP_BULK && r->len < sizeof(num)) {
		memcpy(num, r->s, r->len);
		num[r->len] = 0;
		n = strtoll(num, NULL, 10);
	} else if (r->type != RESP_NIL) {
		return RM_WRONG;
	}
	if (c->incr_unknown)
		return RM_OK;
	if (n < c->incr_ok)
		return RM_LOST;
	return n > c->incr_ok + c->incr_amb ? RM_DUP : RM_OK;
}

/* The list read back: the certain elements in order, the ambiguous ones
 * optional, nothing else. */
static enum rm_verdict final_list(const struct rm_conn *c, const char *buf, size_t len)
{
	struct resp_reply r;
	long used = resp_parse(buf, len, &r);
	long long n = r.n;
	int j = 0;

	if (used <= 0 || r.type != RESP_ARRAY)
		return RM_WRONG;
	for (long long i = 0; i < n; i++, j++) {
		long more = resp_parse(buf + used, len - (size_t)used, &r);
		unsigned long long k = more > 0 ? value_k(c, 'l', &r) : 0;

		used += more > 0 ? more : 0;
		if (c->list_unknown) {
			if (!k || k > c->seq)
				return RM_WRONG;
			continue; /* any element of ours, in any order */
		}
		while (j < c->nitem && c->item[j].k != k && c->item[j].maybe)
			j++;
		if (j == c->nitem || c->item[j].k != k)
			return j < c->nitem ? RM_LOST : RM_WRONG;
	}
	if (c->list_unknown)
		return RM_OK;
	for (; j < c->nitem; j++)
		if (!c->item[j].maybe)
			return RM_LOST;
	return RM_OK;
}

enum rm_verdict rm_final_reply(const struct rm_conn *c, int which, const char *buf, size_t len)
{
	struct resp_reply r;

	if (which == 2)
		return final_list(c, buf, len);
	if (resp_parse(buf, len, &r) <= 0)
		return RM_WRONG;
	if (r.type == RESP_ERROR)
		return RM_ERROR;
	if (which == 0)
		return final_counter(c, &r);
	if (c->val_unknown && (r.type == RESP_NIL || value_k(c, 'v', &r)))
		return value_k(c, 'v', &r) <= c->seq ? RM_OK : RM_WRONG;
	return register_verdict(c, value_k(c, 'v', &r));
}

size_t rm_cleanup(const struct rm_conn *c, char *out, size_t cap)
{
	char n[96], v[96], l[96];
	const char *argv[] = { "DEL", n, v, l };

	key(c, 'n', n, sizeof(n));
	key(c, 'v', v, sizeof(v));
	key(c, 'l', l, sizeof(l));
	return resp_command(out, cap, 4, argv);
}
