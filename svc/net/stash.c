/* net's stash: checks, checksum and reset, epochs, ABORT's checks and the
 * stale list (see stash.h). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "stash.h"

static uint64_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

void net_stash_seal(struct net_stash *st)
{
	st->sum = fnv1a(st, offsetof(struct net_stash, sum));
}

static bool name_ok(const char *s, bool empty_ok)
{
	size_t n = strnlen(s, SOCK_OWNER_MAX);

	return n < SOCK_OWNER_MAX && (empty_ok || n > 0);
}

static bool listener_ok(const struct net_listen_rec *l, uint64_t next_lid)
{
	return l->lid && l->lid < next_lid && l->port && l->backlog && name_ok(l->owner, false) &&
	       name_ok(l->notify, true);
}

static bool all_zero(const struct net_stash *st)
{
	const uint8_t *b = (const uint8_t *)st;

	for (size_t i = 0; i < sizeof(*st); i++)
		if (b[i])
			return false;
	return true;
}

const char *net_stash_check(const struct net_stash *st)
{
	if (all_zero(st))
		return "new";
	if (st->magic != NET_STASH_MAGIC || st->version != NET_STASH_VERSION)
		return "magic";
	if (st->sum != fnv1a(st, offsetof(struct net_stash, sum)))
		return "checksum";
	if (st->nlisten > NET_LISTEN_MAX || st->next_lid == 0)
		return "corrupt";
	for (uint32_t i = 0; i < st->nlisten; i++)
		if (!listener_ok(&st->l[i], st->next_lid))
			return "corrupt";
	return NULL;
}

void net_stash_reset(struct net_stash *st, const uint64_t secret[2])
{
	memset(st, 0, offsetof(struct net_stash, peer));
	st->magic = NET_STASH_MAGIC;
	st->version = NET_STASH_VERSION;
	st->secret[0] = secret[0];
	st->secret[1] = secret[1];
	st->next_lid = 1;
	net_stash_seal(st);
}

uint32_t net_epoch_take(uint32_t floor, uint32_t now)
{
	return now && net_epoch_before(floor, now) ? now : 0;
}

int net_abort_check(uint64_t cid, uint32_t epoch, const struct net_peer_rec *r)
{
	uint32_t ep = (uint32_t)(cid >> 32);

	if (!ep || !net_epoch_before(ep, epoch) || !r->ip || !r->port || !r->local_port)
		return -SOCK_EINVAL;
	return 0;
}

int net_stale_add(struct net_stash *st, struct net_peer_rec r)
{
	struct net_peer_rec *slot = NULL;

	for (unsigned i = 0; i < NET_PEER_MAX; i++) {
		struct net_peer_rec *s = &st->stale[i];

		if (s->port && s->ip == r.ip && s->port == r.port && s->local_port == r.local_port)
			return 1;
		if (!s->port && !slot)
			slot = s;
	}
	if (!slot)
		return -SOCK_EAGAIN;
	net_peer_put(slot, r);
	return 0;
}
