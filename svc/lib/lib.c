/*
 * svc/lib: the system-call wrappers, ve_printf and the argument helpers
 * declared in vesta.h. Everything here is a thin layer over ve_syscall
 * (syscall.asm) and kernel/lib's fmt and string code.
 */
#include "vesta.h"

/* Nanoseconds per millisecond, for ve_sleep_ms. */
#define NS_PER_MS 1000000ull

/* Bytes ve_printf collects before it writes: one console line or so. */
#define PRINTF_BUF 256

_Noreturn void ve_exit(int code)
{
	ve_syscall(SYS_EXIT, code, 0, 0, 0, 0, 0);
	/* exit never returns; if it ever did, die loudly (invalid opcode). */
	__builtin_trap();
}

long ve_write(const void *buf, size_t len)
{
	return ve_syscall(SYS_WRITE, (long)buf, (long)len, 0, 0, 0, 0);
}

int ve_sleep_ns(uint64_t ns)
{
	return (int)ve_syscall(SYS_SLEEP, (long)ns, 0, 0, 0, 0, 0);
}

int ve_sleep_ms(uint64_t ms)
{
	if (ms > UINT64_MAX / NS_PER_MS)
		return -VE_RANGE;
	return ve_sleep_ns(ms * NS_PER_MS);
}

int ve_yield(void)
{
	return (int)ve_syscall(SYS_YIELD, 0, 0, 0, 0, 0, 0);
}

int ve_getpid(void)
{
	return (int)ve_syscall(SYS_GETPID, 0, 0, 0, 0, 0, 0);
}

uint64_t ve_clock_ns(void)
{
	return (uint64_t)ve_syscall(SYS_CLOCK, 0, 0, 0, 0, 0, 0);
}

long ve_vm_alloc(uint64_t addr, uint64_t len, unsigned prot)
{
	return ve_syscall(SYS_VM_ALLOC, (long)addr, (long)len, (long)prot, 0, 0, 0);
}

int ve_vm_free(uint64_t addr, uint64_t len)
{
	return (int)ve_syscall(SYS_VM_FREE, (long)addr, (long)len, 0, 0, 0, 0);
}

int ve_meminfo(struct ve_meminfo *info)
{
	return (int)ve_syscall(SYS_MEMINFO, (long)info, 0, 0, 0, 0, 0);
}

int ve_spawn(const char *image, const char *args)
{
	return (int)ve_syscall(SYS_SPAWN, (long)image, (long)args, 0, 0, 0, 0);
}

int ve_wait(int pid, struct ve_exit *ex)
{
	return (int)ve_syscall(SYS_WAIT, pid, (long)ex, 0, 0, 0, 0);
}

int ve_halt(int code)
{
	return (int)ve_syscall(SYS_HALT, code, 0, 0, 0, 0, 0);
}

int ve_kill(int pid)
{
	return (int)ve_syscall(SYS_KILL, pid, 0, 0, 0, 0, 0);
}

int ve_kill_hung(int pid)
{
	return (int)ve_syscall(SYS_KILL, pid, VE_R_HUNG, 0, 0, 0, 0);
}

int ve_chan_serve_wait(const char *name)
{
	int h = -VE_BUSY;
	for (int i = 0; i < 100 && h == -VE_BUSY; i++) {
		h = ve_chan_serve(name);
		if (h == -VE_BUSY)
			ve_sleep_ms(1);
	}
	return h;
}

int ve_chan_serve(const char *name)
{
	return (int)ve_syscall(SYS_CHAN_SERVE, (long)name, 0, 0, 0, 0, 0);
}

int ve_chan_open(const char *name)
{
	return (int)ve_syscall(SYS_CHAN_OPEN, (long)name, 0, 0, 0, 0, 0);
}

long ve_chan_call(int h, const void *req, size_t len, void *rep, size_t cap, uint64_t timeout_ns)
{
	return ve_syscall(SYS_CHAN_CALL, h, (long)req, (long)len, (long)rep, (long)cap,
			  (long)timeout_ns);
}

int ve_chan_cast(int h, const void *buf, size_t len, unsigned flags)
{
	return (int)ve_syscall(SYS_CHAN_CAST, h, (long)buf, (long)len, (long)flags, 0, 0);
}

long ve_chan_recv(int h, struct ve_msg *m, void *buf, size_t cap)
{
	return ve_syscall(SYS_CHAN_RECV, h, (long)m, (long)buf, (long)cap, 0, 0);
}

int ve_chan_reply(int h, uint64_t id, const void *buf, size_t len)
{
	return (int)ve_syscall(SYS_CHAN_REPLY, h, (long)id, (long)buf, (long)len, 0, 0);
}

int ve_chan_ack(int h, uint64_t id)
{
	return (int)ve_syscall(SYS_CHAN_ACK, h, (long)id, 0, 0, 0, 0);
}

long ve_chan_next(int h, uint64_t id, void *buf, size_t len, struct ve_next *nx)
{
	return ve_syscall(SYS_CHAN_NEXT, h, (long)id, (long)buf, (long)len, (long)nx, 0);
}

long ve_syscall_reply_recv(long h, long id, long buf, long lens, long timeout_ns,
			   uint64_t out[4]); /* syscall.asm */
/* The stub loads the number itself, keeping the round trip's arguments
 * where they arrive (a generic stub with the number in front cost 13
 * instructions a round trip): the two must agree. */
_Static_assert(SYS_CHAN_REPLY_RECV == 38, "syscall.asm's ve_syscall_reply_recv loads 38");

long ve_chan_reply_recv(int h, uint64_t id, void *buf, size_t len, size_t cap, uint64_t timeout_ns,
			struct ve_msg *msg, uint32_t *answered, uint32_t *waited)
{
	uint64_t out[4];

	if (len > UINT32_MAX)
		return -VE_RANGE;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	long r = ve_syscall_reply_recv(h, (long)id, (long)buf, (long)(len | (uint64_t)cap << 32),
				       (long)timeout_ns, out);
	*msg = (struct ve_msg){ .id = out[0],
				.sender = (int32_t)(uint32_t)out[1],
				.kind = (uint32_t)(out[1] >> 32),
				.len = (uint32_t)out[2],
				.redelivered = (uint32_t)(out[2] >> 32) };
	if (answered)
		*answered = (uint32_t)out[3];
	if (waited)
		*waited = (uint32_t)(out[3] >> 32);
	return r;
}

long ve_chan_castv(int h, const void *buf, const uint32_t *lens, size_t n, unsigned flags)
{
	return ve_syscall(SYS_CHAN_CASTV, h, (long)buf, (long)lens, (long)n, (long)flags, 0);
}

long ve_chan_recvv(int h, struct ve_batch *b)
{
	return ve_syscall(SYS_CHAN_RECVV, h, (long)b, 0, 0, 0, 0);
}

int ve_wait_any(const int32_t *handles, size_t n, uint64_t timeout_ns, struct ve_wait_result *r)
{
	return (int)ve_syscall(SYS_WAIT_ANY, (long)handles, (long)n, (long)timeout_ns, (long)r, 0,
			       0);
}

int ve_irq_ack(unsigned irq)
{
	return (int)ve_syscall(SYS_IRQ_ACK, (long)irq, 0, 0, 0, 0, 0);
}

int ve_event(const char *ev, const struct ve_kv *kv, size_t n)
{
	return (int)ve_syscall(SYS_EVENT, (long)ev, (long)kv, (long)n, 0, 0, 0);
}

int ve_event1(const char *ev, const char *key, int64_t num)
{
	struct ve_kv kv = VE_KV_NUM(key, num);

	return ve_event(ev, &kv, 1);
}

int ve_event_str(const char *ev, const char *key, const char *str)
{
	struct ve_kv kv = VE_KV_STR(key, str);

	return ve_event(ev, &kv, 1);
}

int ve_reap(struct ve_exit *ex)
{
	return (int)ve_syscall(SYS_REAP, (long)ex, 0, 0, 0, 0, 0);
}

long ve_stash_open(uint64_t size, unsigned flags)
{
	return ve_syscall(SYS_STASH, (long)size, (long)flags, 0, 0, 0, 0);
}

long ve_stash(uint64_t size)
{
	return ve_stash_open(size, 0);
}

long ve_stash_open_wait(uint64_t size, unsigned flags)
{
	long base = ve_stash_open(size, flags);

	for (int i = 0; i < 100 && base == -VE_BUSY; i++) {
		ve_sleep_ms(1);
		base = ve_stash_open(size, flags);
	}
	return base;
}

long ve_stash_wait(uint64_t size)
{
	return ve_stash_open_wait(size, 0);
}

int ve_stash_drop(const char *name)
{
	return (int)ve_syscall(SYS_STASH_DROP, (long)name, 0, 0, 0, 0, 0);
}

int ve_ps(struct ve_procinfo *out, size_t n)
{
	return (int)ve_syscall(SYS_PS, (long)out, (long)n, 0, 0, 0, 0);
}

int ve_ps_state(int pid)
{
	struct ve_procinfo ps[64]; /* the kernel's process table, NPROC */
	int n = ve_ps(ps, sizeof(ps) / sizeof(ps[0]));
	for (int i = 0; i < n; i++)
		if (ps[i].pid == pid)
			return (int)ps[i].state;
	return -1;
}

int ve_chan_info(uint32_t index, struct ve_chaninfo *info)
{
	return (int)ve_syscall(SYS_CHAN_INFO, (long)index, (long)info, 0, 0, 0, 0);
}

int ve_chan_info_named(const char *name, struct ve_chaninfo *info)
{
	int r;
	for (uint32_t i = 0; (r = ve_chan_info(i, info)) == 0; i++)
		if (strcmp(info->name, name) == 0)
			return 0;
	return r;
}

int ve_spawn_spec(const struct ve_spawn *sp)
{
	return (int)ve_syscall(SYS_SPAWN_SPEC, (long)sp, 0, 0, 0, 0, 0);
}

int ve_pci_info(uint32_t index, struct ve_pciinfo *info)
{
	return (int)ve_syscall(SYS_PCI_INFO, (long)index, (long)info, 0, 0, 0, 0);
}

int ve_dev_info(unsigned dev, struct ve_pciinfo *info)
{
	return (int)ve_syscall(SYS_DEV_INFO, (long)dev, (long)info, 0, 0, 0, 0);
}

long ve_dev_cfg_read(unsigned dev, uint32_t off, unsigned width)
{
	return ve_syscall(SYS_DEV_CFG_READ, (long)dev, (long)off, (long)width, 0, 0, 0);
}

int ve_dev_cfg_write(unsigned dev, uint32_t off, unsigned width, uint32_t value)
{
	return (int)ve_syscall(SYS_DEV_CFG_WRITE, (long)dev, (long)off, (long)width, (long)value, 0,
			       0);
}

long ve_dev_map(unsigned dev, unsigned bar)
{
	return ve_syscall(SYS_DEV_MAP, (long)dev, (long)bar, 0, 0, 0, 0);
}

long ve_dma_alloc(size_t len, uint64_t *phys)
{
	return ve_syscall(SYS_DMA_ALLOC, (long)len, (long)phys, 0, 0, 0, 0);
}

long ve_bundle_read(const char *name, void *buf, size_t cap)
{
	return ve_syscall(SYS_BUNDLE_READ, (long)name, (long)buf, (long)cap, 0, 0, 0);
}

int ve_inject(int pid, unsigned kind, uint64_t arg, uint64_t seed)
{
	return (int)ve_syscall(SYS_INJECT, pid, (long)kind, (long)arg, (long)seed, 0, 0);
}

/* The kernel's names for fault kinds, as its "inject" events write them. */
static const char *const inject_names[VE_NINJECT] = VE_INJECT_NAMES;

const char *ve_inject_name(unsigned kind)
{
	if (kind >= VE_NINJECT || inject_names[kind] == NULL)
		return "?";
	return inject_names[kind];
}

int ve_inject_parse(const char *word, uint64_t seed)
{
	size_t n = ve_word_len(word);
	struct ve_rng rng;
	unsigned k;

	if (ve_word_is(word, n, "crash")) {
		/* The crash kinds are consecutive in enum ve_inject. */
		ve_rng_seed(&rng, seed);
		return VE_INJ_CRASH_NULL +
		       (int)ve_rng_below(&rng, VE_INJ_CRASH_STACK - VE_INJ_CRASH_NULL + 1);
	}
	for (k = 1; k < VE_NINJECT; k++)
		if (inject_names[k] != NULL && ve_word_is(word, n, inject_names[k]))
			return (int)k;
	return -VE_INVAL;
}

/* ve_printf's output buffer, on the caller's stack. */
struct printf_buf {
	char data[PRINTF_BUF];
	size_t len; /* bytes in data */
	long err;   /* first write error; then output is dropped */
};

static void printf_flush(struct printf_buf *pb)
{
	size_t done = 0;

	while (pb->err == 0 && done < pb->len) {
		long r = ve_write(pb->data + done, pb->len - done);

		if (r < 0)
			pb->err = r;
		else if (r == 0)
			pb->err = -VE_AGAIN; /* no progress: don't spin */
		else
			done += (size_t)r;
	}
	pb->len = 0;
}

static void printf_emit(void *ctx, const char *s, size_t n)
{
	struct printf_buf *pb = ctx;

	while (n > 0 && pb->err == 0) {
		size_t k = sizeof(pb->data) - pb->len;

		if (k > n)
			k = n;
		memcpy(pb->data + pb->len, s, k);
		pb->len += k;
		s += k;
		n -= k;
		if (pb->len == sizeof(pb->data))
			printf_flush(pb);
	}
}

int ve_vprintf(const char *fmt, va_list ap)
{
	struct printf_buf pb;
	int r;

	pb.len = 0;
	pb.err = 0;
	r = fmt_vcallback(printf_emit, &pb, fmt, ap);
	printf_flush(&pb);
	if (pb.err != 0)
		return (int)pb.err;
	return r;
}

int ve_printf(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = ve_vprintf(fmt, ap);
	va_end(ap);
	return r;
}

const char *ve_strerror(long err)
{
	static const char *const names[VE_NERR] = {
		[VE_OK] = "VE_OK",	     [VE_BADCALL] = "VE_BADCALL",
		[VE_FAULT] = "VE_FAULT",     [VE_INVAL] = "VE_INVAL",
		[VE_NOMEM] = "VE_NOMEM",     [VE_PERM] = "VE_PERM",
		[VE_NOENT] = "VE_NOENT",     [VE_AGAIN] = "VE_AGAIN",
		[VE_TIMEOUT] = "VE_TIMEOUT", [VE_BADHANDLE] = "VE_BADHANDLE",
		[VE_RANGE] = "VE_RANGE",     [VE_CHILD] = "VE_CHILD",
		[VE_BUSY] = "VE_BUSY",	     [VE_POISON] = "VE_POISON",
	};
	/* Negate as unsigned so LONG_MIN cannot overflow. */
	uint64_t e = err < 0 ? 0 - (uint64_t)err : (uint64_t)err;

	if (e >= VE_NERR || names[e] == NULL)
		return "VE_?";
	return names[e];
}

const char *ve_reason_name(uint32_t reason)
{
	/* The kernel's names for the "reason" field of exit events. */
	static const char *const names[VE_NREASONS] = VE_REASON_NAMES;

	if (reason >= VE_NREASONS || names[reason] == NULL)
		return "?";
	return names[reason];
}

void ve_rng_seed(struct ve_rng *rng, uint64_t seed)
{
	/* One splitmix64 step spreads a small seed (a pid, a clock) over all
	 * 64 bits; xorshift's only forbidden state is 0. */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	rng->state = z != 0 ? z : 1;
}

uint64_t ve_rng_next(struct ve_rng *rng)
{
	uint64_t x = rng->state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng->state = x;
	return x;
}

uint64_t ve_rng_below(struct ve_rng *rng, uint64_t n)
{
	/* The modulo bias is below n / 2^64: irrelevant for tests. */
	return n == 0 ? 0 : ve_rng_next(rng) % n;
}

const char *ve_skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool is_word_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t';
}

size_t ve_word_len(const char *s)
{
	size_t n = 0;

	while (!is_word_end(s[n]))
		n++;
	return n;
}

bool ve_word_is(const char *word, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(word, lit, n) == 0;
}

/* The value of c as a digit in base, or -1 if it is none. */
static int digit_value(char c, unsigned base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return (unsigned)v < base ? v : -1;
}

void ve_hex16_put(char *out, uint64_t v)
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = "0123456789abcdef"[v & 0xf];
}

int ve_hex16_parse(const char *s, uint64_t *v)
{
	uint64_t r = 0;

	for (int i = 0; i < 16; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			r = r << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			r = r << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -VE_INVAL;
	}
	*v = r;
	return 0;
}

int ve_parse_u64(const char **s, uint64_t *out)
{
	const char *p = ve_skip_space(*s);
	unsigned base = 10;
	uint64_t v = 0;
	int d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2], 16) >= 0) {
		base = 16;
		p += 2;
	}
	if (digit_value(*p, base) < 0)
		return -VE_INVAL;
	for (; (d = digit_value(*p, base)) >= 0; p++) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return -VE_RANGE;
		v = v * base + (uint64_t)d;
	}
	if (!is_word_end(*p))
		return -VE_INVAL;
	*out = v;
	*s = p;
	return 0;
}

/* --- Heartbeats --- */

extern const char __image_ro_start[], __image_ro_end[]; /* user.ld */

/* A hash of the program's code and constants, a word at a time. */
static uint64_t image_hash(void)
{
	const uint64_t *w = (const uint64_t *)(uintptr_t)__image_ro_start;
	const uint64_t *end = (const uint64_t *)(uintptr_t)__image_ro_end;
	uint64_t h = 0xcbf29ce484222325ull;

	for (; w < end; w++)
		h = (h ^ *(const volatile uint64_t *)w) * 0x100000001b3ull;
	return h;
}

int ve_heartbeat_init(struct ve_heartbeat *hb, uint64_t every_ns)
{
	hb->sup = -1;
	hb->every_ns = every_ns;
	hb->next_ns = 0;
	hb->image_hash = image_hash();
	if (every_ns == 0)
		return 0;
	int h = ve_chan_open("sup");
	if (h < 0)
		return h;
	hb->sup = h;
	return 0;
}

void ve_image_check(const struct ve_heartbeat *hb)
{
	if (image_hash() != hb->image_hash) {
		ve_event("image_corrupt", NULL, 0);
		ve_exit(VE_EXIT_IMAGE_CORRUPT);
	}
}

long ve_serve_next(int32_t h, struct ve_heartbeat *hb, void *buf, size_t cap, struct ve_msg *msg)
{
	long len = ve_chan_reply_recv(h, 0, buf, 0, cap, ve_heartbeat_due(hb), msg, NULL, NULL);
	return len == -VE_TIMEOUT ? -VE_AGAIN : len;
}

uint64_t ve_heartbeat_due(struct ve_heartbeat *hb)
{
	uint64_t now;

	if (hb->sup < 0)
		return VE_TIMEOUT_NONE;
	now = ve_clock_ns();
	if (now >= hb->next_ns) {
		ve_image_check(hb);
		ve_chan_cast(hb->sup, "H", 1, VE_NONBLOCK);
		hb->next_ns = now + hb->every_ns;
	}
	return hb->next_ns > now ? hb->next_ns - now : 1;
}

bool ve_args_have(const char *args, const char *lit)
{
	const char *p = ve_skip_space(args);

	while (*p) {
		size_t n = ve_word_len(p);

		if (ve_word_is(p, n, lit))
			return true;
		p = ve_skip_space(p + n);
	}
	return false;
}
