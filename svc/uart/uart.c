/*
 * uart: the COM1 input driver. It owns the UART's ports (0x3f8-0x3ff) and
 * IRQ 4, and serves the channel "console":
 *
 *   call 'R' lo hi   read: the reply holds 1..max input bytes, max being
 *                    the little-endian u16 lo|hi (at most VE_MSG_MAX). If no
 *                    input is waiting the call stays in flight until some
 *                    arrives, so a reader simply blocks in its call, but
 *                    for PARK_MS at most: then it gets an empty reply.
 *                    An empty reply means "nothing for you, ask again":
 *                    no input for PARK_MS, too many readers are waiting,
 *                    or max was 0. So a reader that must stay responsive
 *                    (the shell beats its heartbeat between reads) never
 *                    sits in a read for long, and none need time out its
 *                    call, which would lose the bytes of a late reply.
 *   call 'W' bytes   write the bytes to the UART (polled); empty reply.
 *   anything else    the reply "-badreq": an unknown op, an 'R' that is
 *                    not exactly 3 bytes, an empty message. No read reply
 *                    can be mistaken for it, as none goes to a bad 'R'.
 *   a cast           acked; a 'W' is written first, anything else ignored.
 *
 * Output normally goes through the kernel console (ve_write); 'W' is for
 * a client that wants the raw line. A 'W' replayed after a crash of this
 * driver may be written twice; an 'R' is only answered once, since input
 * bytes leave the ring when the reply is sent (and go back into it if the
 * reader gave up on its call: reply() says so).
 *
 * The main loop is one ve_wait_any: an IRQ drains the receive register
 * into a ring buffer, then pending reads are answered; a message is
 * received and handled; readers parked too long are answered empty. On
 * start it writes {"ev":"uart_ready","irq":4}.
 *
 * Args: "heartbeat": beat on "sup" (see ve_heartbeat_due) from the main
 * loop, for a policy with `heartbeat`.
 */
#include "portio.h"
#include "vesta.h"

#define COM1 0x3f8
#define UART_DATA (COM1 + 0) /* RBR (read), THR (write) */
#define UART_IER (COM1 + 1)  /* interrupt enable */
#define UART_IIR (COM1 + 2)  /* interrupt identification (read) */
#define UART_MCR (COM1 + 4)  /* modem control */
#define UART_LSR (COM1 + 5)  /* line status */
#define UART_MSR (COM1 + 6)  /* modem status */

#define IER_RX 0x01 /* interrupt when a byte has arrived */
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT2 0x08 /* on a PC, gates the UART's IRQ line to the PIC */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

#define UART_IRQ 4
#define RING_SIZE 1024	 /* typed bytes kept while nobody reads */
#define MAX_READERS 16	 /* 'R' calls kept in flight at once */
#define THR_SPINS 100000 /* give up on a byte after that many polls */
#define PARK_MS 250	 /* longest a read waits for input: a reader's pace */
#define BEAT_MS 200	 /* heartbeat period: far inside any policy's */

/* Input bytes not yet given to a reader. */
struct ring {
	uint8_t buf[RING_SIZE];
	size_t head;	  /* index of the oldest byte */
	size_t len;	  /* bytes held */
	uint64_t dropped; /* bytes lost because the ring was full */
};

/* A read call kept in flight until input arrives. */
struct reader {
	uint64_t id;
	size_t max;	/* 1..VE_MSG_MAX */
	uint64_t since; /* ve_clock_ns() when it was parked */
};

struct uart {
	int32_t h; /* server handle of "console" */
	struct ring in;
	struct reader readers[MAX_READERS]; /* oldest first */
	size_t nreaders;
	struct ve_heartbeat hb;
};

/* Turn on the receive interrupt and route it to the PIC. */
static void uart_init(void)
{
	ve_outb(UART_IER, 0);
	(void)ve_inb(UART_IIR); /* clear whatever was pending */
	(void)ve_inb(UART_LSR);
	(void)ve_inb(UART_MSR);
	ve_outb(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	ve_outb(UART_IER, IER_RX);
}

/* Move every byte the UART holds into the ring. */
static void drain_rx(struct ring *r)
{
	while (ve_inb(UART_LSR) & LSR_DATA_READY) {
		uint8_t c = ve_inb(UART_DATA);

		if (r->len == RING_SIZE) {
			r->dropped++;
			continue;
		}
		r->buf[(r->head + r->len) % RING_SIZE] = c;
		r->len++;
	}
}

/* Take up to max bytes out of the ring into out. Returns how many. */
static size_t ring_take(struct ring *r, uint8_t *out, size_t max)
{
	size_t n = r->len < max ? r->len : max;

	for (size_t i = 0; i < n; i++)
		out[i] = r->buf[(r->head + i) % RING_SIZE];
	r->head = (r->head + n) % RING_SIZE;
	r->len -= n;
	return n;
}

/* Write n bytes to the UART, waiting for room before each. */
static void uart_write(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int spin = 0; spin < THR_SPINS && !(ve_inb(UART_LSR) & LSR_THR_EMPTY); spin++)
			;
		ve_outb(UART_DATA, s[i]);
	}
}

/* Put n bytes taken by ring_take back in front of the ring (there is
 * room: nothing was added since they were taken). */
static void ring_untake(struct ring *r, size_t n)
{
	r->head = (r->head + RING_SIZE - n) % RING_SIZE;
	r->len += n;
}

/*
 * Answer read id with up to max bytes of input. A reply nobody took (the
 * reader gave up on its call, as the shell does when this driver is slow
 * to answer, say because it was restarting) gives its bytes back to the
 * ring for the next reader: typed input is never lost that way. Returns 0
 * or the reply's error.
 */
static int answer_read(struct uart *u, uint64_t id, size_t max)
{
	uint8_t out[VE_MSG_MAX];
	size_t n = ring_take(&u->in, out, max);
	int r = ve_chan_reply(u->h, id, out, n);

	if (r == VE_REPLY_DISCARDED)
		ring_untake(&u->in, n);
	return r < 0 ? r : 0;
}

/* An empty reply to id. Returns 0 or the reply's error. */
static int empty_reply(struct uart *u, uint64_t id)
{
	int r = ve_chan_reply(u->h, id, NULL, 0);

	return r < 0 ? r : 0;
}

/* Answer waiting readers, oldest first, while there is input. */
static int serve_readers(struct uart *u)
{
	size_t done = 0;
	int r = 0;

	while (done < u->nreaders && u->in.len > 0 && r == 0) {
		r = answer_read(u, u->readers[done].id, u->readers[done].max);
		done++;
	}
	memmove(u->readers, u->readers + done, (u->nreaders - done) * sizeof(u->readers[0]));
	u->nreaders -= done;
	return r;
}

/* A read call, the 3 bytes 'R' lo hi at buf: answer now, keep it for
 * later, or turn it away. */
static int do_read(struct uart *u, const struct ve_msg *m, const uint8_t *buf)
{
	size_t max = (size_t)buf[1] | (size_t)buf[2] << 8;

	if (max > VE_MSG_MAX)
		max = VE_MSG_MAX;
	if (max == 0 || (u->in.len == 0 && u->nreaders == MAX_READERS))
		return empty_reply(u, m->id);
	if (u->in.len > 0 && u->nreaders == 0)
		return answer_read(u, m->id, max);
	u->readers[u->nreaders].id = m->id;
	u->readers[u->nreaders].max = max;
	u->readers[u->nreaders].since = ve_clock_ns();
	u->nreaders++;
	return serve_readers(u);
}

/* Handle one received message. Returns 0 or a channel error. */
static int handle(struct uart *u, const struct ve_msg *m, const uint8_t *buf, long len)
{
	int r;

	if (len >= 1 && buf[0] == 'W')
		uart_write(buf + 1, (size_t)len - 1);
	if (m->kind == VE_MSG_CAST)
		return ve_chan_ack(u->h, m->id);
	if (len == 3 && buf[0] == 'R')
		return do_read(u, m, buf);
	if (len >= 1 && buf[0] == 'W')
		return empty_reply(u, m->id);
	r = ve_chan_reply(u->h, m->id, "-badreq", 7);
	return r < 0 ? r : 0;
}

/* Receive and handle everything queued. Returns 0 or an error. */
static int take_messages(struct uart *u)
{
	static uint8_t buf[VE_MSG_MAX];
	struct ve_msg m;
	long len;
	int r;

	while ((len = ve_chan_recv(u->h, &m, buf, sizeof(buf))) >= 0) {
		r = handle(u, &m, buf, len);
		if (r < 0)
			return r;
	}
	return len == -VE_AGAIN ? 0 : (int)len;
}

/*
 * Answer readers parked for PARK_MS with an empty reply ("ask again").
 * Returns 0 or the reply's error.
 */
static int expire_readers(struct uart *u)
{
	uint64_t now = ve_clock_ns();
	size_t done = 0;
	int r = 0;

	while (done < u->nreaders && now - u->readers[done].since >= PARK_MS * 1000000ull &&
	       r == 0) {
		r = empty_reply(u, u->readers[done].id);
		done++;
	}
	memmove(u->readers, u->readers + done, (u->nreaders - done) * sizeof(u->readers[0]));
	u->nreaders -= done;
	return r;
}

/*
 * The timeout of the next wait: until the heartbeat is due or the oldest
 * parked reader expires, whichever is first (VE_TIMEOUT_NONE: neither).
 */
static uint64_t next_wait(struct uart *u)
{
	uint64_t wait = ve_heartbeat_due(&u->hb), park, now, at;

	if (u->nreaders == 0)
		return wait;
	now = ve_clock_ns();
	at = u->readers[0].since + PARK_MS * 1000000ull;
	park = at > now ? at - now : 1;
	return wait == VE_TIMEOUT_NONE || park < wait ? park : wait;
}

/* The IRQ fired: take the input, unmask the line, answer readers. */
static int take_irq(struct uart *u)
{
	int r;

	drain_rx(&u->in);
	r = ve_irq_ack(UART_IRQ);
	if (r < 0)
		return r;
	drain_rx(&u->in); /* bytes that came before the unmask */
	return serve_readers(u);
}

int main(const char *args)
{
	static struct uart u;
	struct ve_wait_result wr;
	int r;

	r = ve_heartbeat_init(&u.hb, ve_args_have(args, "heartbeat") ? BEAT_MS * 1000000ull : 0);
	if (r < 0) {
		ve_printf("uart: open sup: %s\n", ve_strerror(r));
		return 1;
	}
	u.h = ve_chan_serve("console");
	if (u.h < 0) {
		ve_printf("uart: serve console: %s\n", ve_strerror(u.h));
		return 1;
	}
	uart_init();
	drain_rx(&u.in);
	ve_event1("uart_ready", "irq", UART_IRQ);
	for (;;) {
		wr.irqs = 0;
		r = ve_wait_any(&u.h, 1, next_wait(&u), &wr);
		if (r == -VE_TIMEOUT)
			r = 0;
		if (r == 0 && (wr.irqs & (1ull << UART_IRQ)))
			r = take_irq(&u);
		if (r == 0)
			r = take_messages(&u);
		if (r == 0)
			r = expire_readers(&u);
		if (r < 0) {
			ve_printf("uart: %s\n", ve_strerror(r));
			return 1;
		}
	}
}
