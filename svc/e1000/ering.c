/* The e1000's descriptor rings: see ering.h. */
#include "ering.h"

#include <string.h>

/* The device reads a descriptor after the tail moves past it, and writes
 * DD after the rest of it: only the compiler could reorder (see virtq.c). */
#define ERING_ORDERED() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static bool ring_size_ok(uint16_t n)
{
	return n >= 8 && n <= ERING_MAX && n % 8 == 0;
}

int erx_init(struct erx *r, uint16_t n, void *mem, uint64_t buf_phys, uint32_t buf_size)
{
	if (!ring_size_ok(n))
		return -1;
	memset(mem, 0, (size_t)n * sizeof(struct erx_desc));
	r->n = n;
	r->d = mem;
	r->buf_phys = buf_phys;
	r->buf_size = buf_size;
	for (uint16_t i = 0; i < n; i++)
		r->d[i].addr = buf_phys + (uint64_t)i * buf_size;
	r->next = 0;
	r->tail = (uint16_t)(n - 1);
	r->out = false;
	return r->tail;
}

enum erx_take erx_take(struct erx *r, uint16_t *slot, uint16_t *len)
{
	volatile struct erx_desc *d = &r->d[r->next];
	uint8_t st;

	if (r->out)
		return ERX_SKIP; /* the caller's bug: give the last one back first */
	st = d->status;
	if (!(st & ERX_DD))
		return ERX_NONE;
	ERING_ORDERED(); /* the rest after DD */
	r->out = true;
	*slot = r->next;
	*len = d->len;
	if (!(st & ERX_EOP) || d->errors || d->len == 0 || d->len > r->buf_size)
		return ERX_SKIP;
	return ERX_FRAME;
}

uint16_t erx_give_back(struct erx *r)
{
	volatile struct erx_desc *d = &r->d[r->next];

	if (!r->out)
		return r->tail;
	d->status = 0;
	d->errors = 0;
	d->len = 0;
	d->addr = r->buf_phys + (uint64_t)r->next * r->buf_size;
	ERING_ORDERED(); /* the slot before the tail that gives it */
	r->tail = r->next;
	r->next = (uint16_t)((r->next + 1) % r->n);
	r->out = false;
	return r->tail;
}

int erx_check(const struct erx *r)
{
	if (!ring_size_ok(r->n) || r->next >= r->n || r->tail >= r->n)
		return 1;
	if ((uint16_t)((r->tail + 1) % r->n) != r->next)
		return 2;
	for (uint16_t i = 0; i < r->n; i++)
		if (r->d[i].addr != r->buf_phys + (uint64_t)i * r->buf_size)
			return 3;
	return 0;
}

int etx_init(struct etx *t, uint16_t n, void *mem)
{
	if (!ring_size_ok(n))
		return -1;
	memset(mem, 0, (size_t)n * sizeof(struct etx_desc));
	t->n = n;
	t->d = mem;
	t->clean = 0;
	t->tail = 0;
	memset(t->token, 0, sizeof(t->token));
	return 0;
}

int etx_slot(const struct etx *t)
{
	return (t->tail + 1) % t->n == t->clean ? -1 : t->tail;
}

int etx_add(struct etx *t, uint64_t addr, uint16_t len, uint32_t token)
{
	volatile struct etx_desc *d = &t->d[t->tail];

	if (etx_slot(t) < 0 || len == 0)
		return -1;
	d->addr = addr;
	d->len = len;
	d->cso = 0;
	d->css = 0;
	d->special = 0;
	d->status = 0;
	d->cmd = ETX_CMD_EOP | ETX_CMD_IFCS | ETX_CMD_RS;
	t->token[t->tail] = token;
	ERING_ORDERED(); /* the descriptor before the tail that hands it over */
	t->tail = (uint16_t)((t->tail + 1) % t->n);
	return t->tail;
}

bool etx_reclaim(struct etx *t, uint32_t *token)
{
	if (t->clean == t->tail || !(t->d[t->clean].status & ETX_DD))
		return false;
	*token = t->token[t->clean];
	t->d[t->clean].status = 0;
	t->clean = (uint16_t)((t->clean + 1) % t->n);
	return true;
}

uint16_t etx_inflight(const struct etx *t)
{
	return (uint16_t)((t->tail + t->n - t->clean) % t->n);
}

int etx_check(const struct etx *t)
{
	uint16_t free;

	if (!ring_size_ok(t->n) || t->clean >= t->n || t->tail >= t->n)
		return 1;
	if (etx_inflight(t) > t->n - 1)
		return 2;
	/* A slot the driver owns holds no done bit a reclaim could misread. */
	free = (uint16_t)(t->n - etx_inflight(t));
	for (uint16_t k = 0; k < free; k++)
		if (t->d[(t->tail + k) % t->n].status & ETX_DD)
			return 3;
	return 0;
}
