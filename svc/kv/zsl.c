/*
 * A sorted set's order: a skiplist of (score, member) whose links carry
 * spans (how many nodes they skip), so that finding the node at a rank is
 * O(log n) as in Redis; the member -> node dict answers ZSCORE in O(1).
 * A node's member bytes are those of its dict entry (entries never move).
 */
#include "db.h"
#include "string.h"

#define ZSL_MAX 32 /* levels: enough for 2^64 elements at p = 1/4 */

int rs_zcmp_ele(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static struct rs_znode *znode_new(int level)
{
	struct rs_znode *n = rs_alloc(sizeof(*n) + (size_t)level * sizeof(n->lv[0]));
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n) + (size_t)level * sizeof(n->lv[0]));
	n->level = level;
	return n;
}

int rs_zset_init(struct rs_zset *z)
{
	rs_dict_init(&z->d);
	z->sl = rs_alloc(sizeof(*z->sl));
	if (!z->sl)
		return -1;
	z->sl->head = znode_new(ZSL_MAX);
	if (!z->sl->head) {
		rs_free(z->sl);
		return -1;
	}
	z->sl->tail = NULL;
	z->sl->len = 0;
	z->sl->level = 1;
	return 0;
}

void rs_zset_clear(struct rs_zset *z)
{
	if (!z->sl)
		return;
	struct rs_znode *n = z->sl->head, *next;
	for (; n; n = next) {
		next = n->lv[0].fwd;
		rs_free(n);
	}
	rs_free(z->sl);
	z->sl = NULL;
	rs_dict_clear(&z->d, NULL);
}

/* Levels with probability 1/4 each step, as Redis. */
static int zsl_random_level(uint64_t *rand)
{
	int l = 1;
	while (l < ZSL_MAX && (rs_rand(rand) & 3) == 0)
		l++;
	return l;
}

static bool zless(const struct rs_znode *n, const struct rs_znode *x)
{
	return n->score < x->score ||
	       (n->score == x->score && rs_zcmp_ele(n->ele, n->len, x->ele, x->len) < 0);
}

/* update[i]: the last node at level i before x; rank[i] its rank. */
static void zsl_path(const struct rs_zsl *sl, const struct rs_znode *x, struct rs_znode **update,
		     uint64_t *rank)
{
	struct rs_znode *n = sl->head;
	for (int i = sl->level - 1; i >= 0; i--) {
		rank[i] = i == sl->level - 1 ? 0 : rank[i + 1];
		while (n->lv[i].fwd && zless(n->lv[i].fwd, x)) {
			rank[i] += n->lv[i].span;
			n = n->lv[i].fwd;
		}
		update[i] = n;
	}
}

static void zsl_link(struct rs_zsl *sl, struct rs_znode *x)
{
	struct rs_znode *update[ZSL_MAX];
	uint64_t rank[ZSL_MAX];
	zsl_path(sl, x, update, rank);
	for (int i = sl->level; i < x->level; i++) {
		rank[i] = 0;
		update[i] = sl->head;
		update[i]->lv[i].span = sl->len;
	}
	if (x->level > sl->level)
		sl->level = x->level;
	for (int i = 0; i < x->level; i++) {
		x->lv[i].fwd = update[i]->lv[i].fwd;
		update[i]->lv[i].fwd = x;
		x->lv[i].span = update[i]->lv[i].span - (rank[0] - rank[i]);
		update[i]->lv[i].span = rank[0] - rank[i] + 1;
	}
	for (int i = x->level; i < sl->level; i++)
		update[i]->lv[i].span++;
	x->back = update[0] == sl->head ? NULL : update[0];
	if (x->lv[0].fwd)
		x->lv[0].fwd->back = x;
	else
		sl->tail = x;
	sl->len++;
}

static void zsl_unlink(struct rs_zsl *sl, struct rs_znode *x)
{
	struct rs_znode *update[ZSL_MAX];
	uint64_t rank[ZSL_MAX];
	zsl_path(sl, x, update, rank);
	for (int i = 0; i < sl->level; i++) {
		if (update[i]->lv[i].fwd == x) {
			update[i]->lv[i].span += x->lv[i].span - 1;
			update[i]->lv[i].fwd = x->lv[i].fwd;
		} else {
			update[i]->lv[i].span--;
		}
	}
	if (x->lv[0].fwd)
		x->lv[0].fwd->back = x->back;
	else
		sl->tail = x->back;
	while (sl->level > 1 && !sl->head->lv[sl->level - 1].fwd)
		sl->level--;
	sl->len--;
}

int rs_zset_add(struct rs_zset *z, const void *m, size_t n, double score, uint64_t *rand)
{
	struct rs_znode *x = znode_new(zsl_random_level(rand));
	if (!x)
		return -1;
	struct rs_dent *de = rs_dict_add(&z->d, m, n);
	if (!de) {
		rs_free(x);
		return -1;
	}
	de->v.p = x;
	x->score = score;
	x->ele = de->key;
	x->len = n;
	zsl_link(z->sl, x);
	return 0;
}

void rs_zset_update(struct rs_zset *z, struct rs_znode *x, double score)
{
	zsl_unlink(z->sl, x);
	x->score = score;
	for (int i = 0; i < x->level; i++)
		x->lv[i].fwd = NULL, x->lv[i].span = 0;
	zsl_link(z->sl, x);
}

void rs_zset_delete(struct rs_zset *z, const void *m, size_t n)
{
	struct rs_dent *de = rs_dict_find(&z->d, m, n);
	if (!de)
		return;
	struct rs_znode *x = de->v.p;
	zsl_unlink(z->sl, x);
	rs_free(x);
	rs_free(rs_dict_unlink(&z->d, m, n));
}

struct rs_znode *rs_zsl_at(const struct rs_zsl *sl, uint64_t r)
{
	uint64_t done = 0, want = r + 1;
	struct rs_znode *n = sl->head;
	for (int i = sl->level - 1; i >= 0; i--) {
		while (n->lv[i].fwd && done + n->lv[i].span <= want) {
			done += n->lv[i].span;
			n = n->lv[i].fwd;
		}
		if (done == want)
			return n;
	}
	return NULL;
}

struct rs_znode *rs_zsl_first(const struct rs_zsl *sl,
			      bool (*below)(const struct rs_znode *n, const void *spec),
			      const void *spec)
{
	struct rs_znode *n = sl->head;
	for (int i = sl->level - 1; i >= 0; i--)
		while (n->lv[i].fwd && below(n->lv[i].fwd, spec))
			n = n->lv[i].fwd;
	return n->lv[0].fwd;
}

struct rs_znode *rs_zsl_last(const struct rs_zsl *sl,
			     bool (*within)(const struct rs_znode *n, const void *spec),
			     const void *spec)
{
	struct rs_znode *n = sl->head;
	for (int i = sl->level - 1; i >= 0; i--)
		while (n->lv[i].fwd && within(n->lv[i].fwd, spec))
			n = n->lv[i].fwd;
	return n == sl->head ? NULL : n;
}
