/* The channel side of a NIC driver: see nicsrv.h and nic.h. */
#include "nicsrv.h"

#define PCI_COMMAND 0x04	/* the command register's offset in config space */
#define BEAT_MS 200		/* well inside a driver policy's heartbeat */
#define STATS_NS 10000000000ull /* nic_stats at most this often, if anything moved */

/* Copy the value of word "key=value" at p (n bytes) to out if it starts
 * with key=. Returns 1 if it did, 0 if the word is another, -1 if the
 * value is empty or too long. */
static int arg_value(const char *p, size_t n, const char *key, char *out, size_t cap)
{
	size_t k = strlen(key);

	if (n <= k || memcmp(p, key, k) != 0 || p[k] != '=')
		return 0;
	if (n - k - 1 == 0 || n - k - 1 >= cap)
		return -1;
	memcpy(out, p + k + 1, n - k - 1);
	out[n - k - 1] = 0;
	return 1;
}

/* Parse "if=NAME rx=NAME heartbeat". Returns 0 or -VE_INVAL. */
static int parse_args(struct nicsrv *s, const char *args, bool *beat)
{
	const char *p = ve_skip_space(args);

	memcpy(s->ifname, "net0", 5);
	s->rxname[0] = 0;
	*beat = false;
	while (*p) {
		size_t n = ve_word_len(p);
		int a = arg_value(p, n, "if", s->ifname, sizeof(s->ifname));
		int b = a ? 0 : arg_value(p, n, "rx", s->rxname, sizeof(s->rxname));

		if (a < 0 || b < 0)
			return -VE_INVAL;
		if (!a && !b) {
			if (!ve_word_is(p, n, "heartbeat"))
				return -VE_INVAL;
			*beat = true;
		}
		p = ve_skip_space(p + n);
	}
	if (!s->rxname[0])
		fmt_snprintf(s->rxname, sizeof(s->rxname), "%s.rx", s->ifname);
	return 0;
}

int nicsrv_init(struct nicsrv *s, const char *name, const char *args)
{
	bool beat;
	int r;

	if (parse_args(s, args, &beat) < 0) {
		ve_printf("%s: bad args '%s' (want [if=NAME] [rx=NAME] [heartbeat])\n", name, args);
		return -VE_INVAL;
	}
	if ((r = ve_heartbeat_init(&s->hb, beat ? BEAT_MS * 1000000ull : 0)) < 0) {
		ve_printf("%s: open sup: %s\n", name, ve_strerror(r));
		return r;
	}
	ve_heartbeat_due(&s->hb);
	if ((s->h = ve_chan_serve_wait(s->ifname)) < 0) {
		ve_printf("%s: serve %s: %s\n", name, s->ifname, ve_strerror(s->h));
		return s->h;
	}
	s->rxh = ve_chan_open(s->rxname);
	for (unsigned i = 0; i < NICSRV_TX_MAX; i++)
		s->tx_free[i] = NICSRV_TX_MAX - 1 - i;
	s->ntx_free = NICSRV_TX_MAX;
	return 0;
}

/* nic_pass, once: this incarnation has both received a frame and had one
 * taken by the device, so frames pass again both ways. */
static void note_pass(struct nicsrv *s)
{
	if (!s->passed && s->info.rx_frames && s->info.tx_frames) {
		s->passed = true;
		ve_event_str("nic_pass", "if", s->ifname);
	}
}

/* A received frame could not be handed on (err): count it, and say so on
 * the first drop of an incarnation and every 1000th after. */
static void rx_dropped(struct nicsrv *s, int err)
{
	if (s->info.rx_dropped++ % 1000 == 0) {
		struct ve_chaninfo ci = { 0 };

		ve_chan_info_named(s->rxname, &ci);
		struct ve_kv kv[6] = { VE_KV_STR("if", s->ifname),
				       VE_KV_STR("err", ve_strerror(err)),
				       VE_KV_NUM("dropped", s->info.rx_dropped),
				       VE_KV_NUM("queued", ci.queued),
				       VE_KV_NUM("inflight", ci.inflight),
				       VE_KV_NUM("max", ci.max_msgs) };

		ve_event("nic_rx_drop", kv, 6);
	}
}

void nicsrv_rx(struct nicsrv *s, const uint8_t *frame, size_t len)
{
	static uint8_t msg[NIC_MSG_MAX];
	int r;

	if (len < NIC_FRAME_MIN || len > NIC_FRAME_MAX) {
		rx_dropped(s, -VE_RANGE);
		return;
	}
	if (s->rxh < 0)
		s->rxh = ve_chan_open(s->rxname);
	msg[0] = NIC_OP_RX;
	memcpy(msg + 1, frame, len);
	r = s->rxh < 0 ? s->rxh : ve_chan_cast(s->rxh, msg, 1 + len, VE_NONBLOCK);
	if (r < 0)
		rx_dropped(s, r);
	else
		s->info.rx_frames++;
	note_pass(s);
}

int nicsrv_tx_done(struct nicsrv *s, uint32_t token)
{
	int r;

	if (token >= NICSRV_TX_MAX)
		return -VE_INVAL;
	if (s->tx_call[token])
		r = ve_chan_reply(s->h, s->tx_id[token], NULL, 0);
	else
		r = ve_chan_ack(s->h, s->tx_id[token]);
	s->tx_free[s->ntx_free++] = token;
	s->info.tx_frames++;
	note_pass(s);
	return r < 0 ? r : 0;
}

/* Answer message m (payload buf[0..len)) now, if it is not a frame to
 * send. */
static int answer(struct nicsrv *s, const struct ve_msg *m, const void *rep, size_t n)
{
	int r =
	    m->kind == VE_MSG_CALL ? ve_chan_reply(s->h, m->id, rep, n) : ve_chan_ack(s->h, m->id);

	return r < 0 ? r : 0;
}

/* Handle one message from IF. */
static int handle(struct nicsrv *s, const struct ve_msg *m, const uint8_t *buf, size_t len)
{
	static const uint8_t bad = NIC_BADREQ;

	if (len >= 1 && buf[0] == NIC_OP_TX) {
		uint32_t token;
		int r;

		if (len - 1 < NIC_FRAME_MIN || len - 1 > NIC_FRAME_MAX) {
			s->info.tx_bad++;
			return answer(s, m, NULL, 0);
		}
		token = s->tx_free[--s->ntx_free];
		s->tx_id[token] = m->id;
		s->tx_call[token] = m->kind == VE_MSG_CALL;
		r = s->ops->tx(s->dev, buf + 1, len - 1, token);
		if (r < 0)
			s->tx_free[s->ntx_free++] = token;
		return r;
	}
	if (len == 1 && buf[0] == NIC_OP_INFO && m->kind == VE_MSG_CALL) {
		s->info.link = s->ops->link(s->dev);
		return answer(s, m, &s->info, sizeof(s->info));
	}
	return answer(s, m, &bad, 1);
}

/* Take messages from IF while the transmit ring has room. */
static int take_messages(struct nicsrv *s)
{
	static uint8_t buf[VE_MSG_MAX];
	struct ve_msg m;
	long len;
	int r;

	while (s->ops->tx_room(s->dev) > 0 && s->ntx_free > 0) {
		len = ve_chan_recv(s->h, &m, buf, sizeof(buf));
		if (len == -VE_AGAIN)
			return 0;
		if (len < 0)
			return (int)len;
		if ((r = handle(s, &m, buf, (size_t)len)) < 0)
			return r;
	}
	return 0;
}

/* Write nic_link when the link changed. */
static void report_link(struct nicsrv *s)
{
	bool up = s->ops->link(s->dev);

	if (up != s->link) {
		s->link = up;
		ve_event1("nic_link", "link", up);
	}
}

/* {"ev":"nic_up","if":...,"mac":"..","link":..,"rx_ring":..,"tx_ring":..} */
static void report_up(struct nicsrv *s)
{
	char mac[18];
	struct ve_kv kv[5];
	const uint8_t *a = s->info.mac;

	fmt_snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3],
		     a[4], a[5]);
	kv[0] = VE_KV_STR("if", s->ifname);
	kv[1] = VE_KV_STR("mac", mac);
	kv[2] = VE_KV_NUM("link", s->link);
	kv[3] = VE_KV_NUM("rx_ring", s->info.rx_ring);
	kv[4] = VE_KV_NUM("tx_ring", s->info.tx_ring);
	ve_event("nic_up", kv, 5);
}

/* {"ev":"nic_stats",...}: this incarnation's counters, every STATS_NS
 * while they move. */
static void report_stats(struct nicsrv *s)
{
	uint64_t now = ve_clock_ns(),
		 sum = s->info.rx_frames + s->info.rx_dropped + s->info.tx_frames + s->info.tx_bad;
	struct ve_kv kv[5];

	if (now - s->stats_at < STATS_NS || sum == s->stats_sum)
		return;
	s->stats_at = now;
	s->stats_sum = sum;
	kv[0] = VE_KV_STR("if", s->ifname);
	kv[1] = VE_KV_NUM("rx", s->info.rx_frames);
	kv[2] = VE_KV_NUM("rx_dropped", s->info.rx_dropped);
	kv[3] = VE_KV_NUM("tx", s->info.tx_frames);
	kv[4] = VE_KV_NUM("tx_bad", s->info.tx_bad);
	ve_event("nic_stats", kv, 5);
}

/* One turn of the loop. */
static int step(struct nicsrv *s)
{
	struct ve_wait_result wr = { .handle = -1 };
	uint64_t due = ve_heartbeat_due(&s->hb), poll = NICSRV_POLL_MS * 1000000ull;
	bool room = s->ops->tx_room(s->dev) > 0 && s->ntx_free > 0;
	int r = ve_wait_any(&s->h, room ? 1 : 0, due && due < poll ? due : poll, &wr);

	if (r < 0 && r != -VE_TIMEOUT)
		return r;
	if ((r = s->ops->poll(s->dev, s)) < 0)
		return r;
	if (s->irq != VE_PCI_NOIRQ && (wr.irqs & (1ull << s->irq)) && (r = ve_irq_ack(s->irq)) < 0)
		return r;
	report_link(s);
	report_stats(s);
	return take_messages(s);
}

int nicsrv_run(struct nicsrv *s, const struct nic_ops *ops, void *dev, const uint8_t mac[6],
	       unsigned rx_ring, unsigned tx_ring, unsigned irq)
{
	int r;

	s->ops = ops;
	s->dev = dev;
	s->irq = irq;
	s->info.op = NIC_OP_INFO;
	memcpy(s->info.mac, mac, 6);
	s->info.rx_ring = rx_ring;
	s->info.tx_ring = tx_ring;
	s->link = ops->link(dev);
	s->stats_at = ve_clock_ns();
	report_up(s);
	while ((r = step(s)) == 0)
		;
	ve_printf("nic %s: %s\n", s->ifname, ve_strerror(r));
	return r;
}

void *nicsrv_dma(const char *drv, size_t len, uint64_t *phys)
{
	long a = ve_dma_alloc(len, phys);

	if (a < 0) {
		ve_printf("%s: dma_alloc %lu: %s\n", drv, (unsigned long)len, ve_strerror(a));
		return NULL;
	}
	return (void *)a;
}

int nicsrv_command(const char *drv, uint32_t set, uint32_t clear)
{
	long cmd = ve_dev_cfg_read(0, PCI_COMMAND, 2);
	int r = cmd < 0 ? (int)cmd
			: ve_dev_cfg_write(0, PCI_COMMAND, 2, ((uint32_t)cmd | set) & ~clear);

	if (r < 0)
		ve_printf("%s: command register: %s\n", drv, ve_strerror(r));
	return r;
}
