/*
 * log: the appliance's log service on the channel "log".
 *
 *   cast  TEXT   one line from a service: printed on the console as
 *                "[log] NAME: TEXT" (NAME is the sender's process name,
 *                from ps), kept in the ring, then acked. A trailing
 *                CR/LF is dropped, a tab becomes '?', and a line is cut at
 *                LOG_LINE_MAX bytes. A cast that is no line of text (empty,
 *                or with a byte outside printable ASCII and tab before its
 *                trailing CR/LF) is acked but neither printed nor kept;
 *                {"ev":"log_reject","sender":PID,"len":N} says so.
 *   call 'T'     the tail: as many of the last LOG_RING lines as fit in
 *                one reply, oldest first, each "NAME: TEXT\n".
 *   call other   "-badreq".
 *
 * The ring lives in the stash, so the tail survives a crash of this
 * service. Each slot remembers the message id of its line and a line is
 * committed by one store (the line count), so a cast replayed after a crash
 * that came after the commit is acked without being printed or kept twice.
 * A crash between printing and committing prints the line again.
 *
 * Args: "heartbeat": beat on "sup" (see ve_heartbeat_due) from the main
 * loop, for a policy with `heartbeat`.
 */
#include "vesta.h"

#define LOG_RING 64			/* lines kept */
#define LOG_LINE_MAX 160		/* bytes of "NAME: TEXT" kept per line */
#define LOG_MAGIC 0x31676f6c61747365ull /* "estalog1" */
#define LOG_STASH_SIZE (16u * 1024)
#define NPROCS 64   /* ps entries read: the kernel's process table */
#define BEAT_MS 200 /* heartbeat period: far inside any policy's */

struct log_line {
	uint64_t id; /* the cast that brought it */
	uint32_t len;
	char text[LOG_LINE_MAX];
};

struct log_stash {
	uint64_t magic;
	uint64_t lines; /* lines ever committed; the newest is at lines - 1 */
	struct log_line ring[LOG_RING];
};

_Static_assert(sizeof(struct log_stash) <= LOG_STASH_SIZE, "log ring outgrew its stash");

static void ordered(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The process name of pid into name (VE_NAME_MAX bytes): "pid N" if gone. */
static void sender_name(int32_t pid, char *name)
{
	static struct ve_procinfo ps[NPROCS];
	int n = ve_ps(ps, NPROCS);

	for (int i = 0; i < n; i++) {
		if (ps[i].pid == pid) {
			strlcpy(name, ps[i].name, VE_NAME_MAX);
			return;
		}
	}
	fmt_snprintf(name, VE_NAME_MAX, "pid %d", (int)pid);
}

/* Whether cast id is the newest committed line (a replay). */
static bool seen(const struct log_stash *st, uint64_t id)
{
	return st->lines > 0 && st->ring[(st->lines - 1) % LOG_RING].id == id;
}

/* Whether text[0..len) is one line of text: printable ASCII and tabs,
 * then optionally CR/LF, at least one byte before them. */
static bool is_line(const char *text, size_t len)
{
	size_t n = len, i;

	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	for (i = 0; i < n; i++)
		if (!((text[i] >= 0x20 && text[i] < 0x7f) || text[i] == '\t'))
			return false;
	return n > 0;
}

/* Print and keep the cast text[0..len) from sender. */
static void take_line(struct log_stash *st, const struct ve_msg *m, const char *text, size_t len)
{
	struct log_line *l = &st->ring[st->lines % LOG_RING];
	char name[VE_NAME_MAX];
	int n;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	sender_name(m->sender, name);
	n = fmt_snprintf(l->text, LOG_LINE_MAX, "%s: ", name);
	if (n < 0 || n >= LOG_LINE_MAX)
		n = 0;
	for (size_t i = 0; i < len && n < LOG_LINE_MAX; i++) {
		char c = text[i];
		l->text[n++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	l->len = (uint32_t)n;
	l->id = m->id;
	ve_printf("[log] %.*s\n", n, l->text);
	ordered();
	st->lines++;
	ordered();
}

/* The tail into out (VE_MSG_MAX bytes). Returns its length. */
static size_t tail(const struct log_stash *st, char *out)
{
	uint64_t first = st->lines > LOG_RING ? st->lines - LOG_RING : 0;
	size_t total = 0, at = 0;

	/* Newest first, to find how many fit; then copy them oldest first. */
	uint64_t from = st->lines;
	while (from > first && total + st->ring[(from - 1) % LOG_RING].len + 1 <= VE_MSG_MAX) {
		from--;
		total += st->ring[from % LOG_RING].len + 1;
	}
	for (uint64_t i = from; i < st->lines; i++) {
		const struct log_line *l = &st->ring[i % LOG_RING];
		memcpy(out + at, l->text, l->len);
		at += l->len;
		out[at++] = '\n';
	}
	return at;
}

/* Handle one message. Returns 0 or the reply/ack error. */
static int handle(struct log_stash *st, int h, const struct ve_msg *m, const char *buf, size_t len)
{
	static char out[VE_MSG_MAX];

	if (m->kind == VE_MSG_CAST) {
		if (!is_line(buf, len)) {
			struct ve_kv kv[2] = { VE_KV_NUM("sender", m->sender),
					       VE_KV_NUM("len", len) };

			(void)ve_event("log_reject", kv, 2); /* nothing to do if it fails */
		} else if (!seen(st, m->id)) {
			take_line(st, m, buf, len);
		}
		return ve_chan_ack(h, m->id);
	}
	if (len == 1 && buf[0] == 'T')
		return ve_chan_reply(h, m->id, out, tail(st, out));
	return ve_chan_reply(h, m->id, "-badreq", 7);
}

/* Map the stash; a new or foreign one starts an empty ring. */
static long stash_open(struct log_stash **stp)
{
	long base;
	struct log_stash *st;

	base = ve_stash_wait(LOG_STASH_SIZE);
	if (base < 0)
		return base;
	st = (struct log_stash *)(uintptr_t)base;
	if (st->magic != LOG_MAGIC) {
		memset(st, 0, sizeof(*st));
		ordered();
		st->magic = LOG_MAGIC;
	}
	for (int i = 0; i < LOG_RING; i++)
		if (st->ring[i].len > LOG_LINE_MAX)
			st->ring[i].len = 0; /* never trust a length from memory */
	*stp = st;
	return 0;
}

int main(const char *args)
{
	static char buf[VE_MSG_MAX];
	struct ve_msg msg;
	struct ve_heartbeat hb;
	struct log_stash *st;
	int32_t h;
	long len;
	int r;

	r = ve_heartbeat_init(&hb, ve_args_have(args, "heartbeat") ? BEAT_MS * 1000000ull : 0);
	if (r < 0) {
		ve_printf("log: open sup: %s\n", ve_strerror(r));
		return 1;
	}
	if ((len = stash_open(&st)) < 0) {
		ve_printf("log: stash: %s\n", ve_strerror(len));
		return 1;
	}
	if ((h = ve_chan_serve_wait("log")) < 0) {
		ve_printf("log: serve log: %s\n", ve_strerror(h));
		return 1;
	}
	ve_event1("log_ready", "lines", (int64_t)st->lines);
	for (;;) {
		len = ve_serve_next(h, &hb, buf, sizeof(buf), &msg);
		if (len == -VE_AGAIN)
			continue;
		if (len < 0) {
			ve_printf("log: next: %s\n", ve_strerror(len));
			return 1;
		}
		r = handle(st, h, &msg, buf, (size_t)len);
		if (r < 0) {
			ve_printf("log: answer %llu: %s\n", (unsigned long long)msg.id,
				  ve_strerror(r));
			return 1;
		}
	}
}
