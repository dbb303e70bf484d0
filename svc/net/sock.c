/*
 * The sockets protocol server (svc/lib/sock.h has the protocol): listeners
 * and connections over lwIP's raw TCP API, calls that cannot be answered
 * yet parked until they can be or their deadline, and events cast to each
 * client's NOTIFY channel.
 *
 * Bytes received stay in lwIP pbufs (copied compact, so a connection holds
 * what its window allows and no more) until a RECV's offset consumes them;
 * only then does tcp_recved open the window. SEND copies in only what
 * tcp_sndbuf has room for. So a slow reader stops its sender, and nothing
 * here grows without bound.
 */
#include "net.h"

#include "lwip/etharp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h" /* ABORT: the pcbs lwIP has */
#include "lwip/prot/tcp.h"	/* the stale peers' probes */
#include "lwip/tcp.h"

#define CONN_MAX NET_PEER_MAX /* connections, accepted, connecting or in a backlog */
#define PARK_MAX 384	      /* parked calls; the policy's tcp queue is larger */
#define NOTIFY_MAX 10	      /* NOTIFY channels open at once (16 handles in all) */
#define BACKLOG_MAX 64
#define LINGER_NS 60000000000ull /* a dead connection nobody CLOSEs goes after this */
#define CLOSE_NS 30000000000ull	 /* CLOSE how 0: the peer's FIN, at most this long */
#define NS_NONE UINT64_MAX
#define REPLAYS_NOTED 8 /* net_replay events per incarnation */

struct listener {
	struct tcp_pcb *pcb; /* NULL: slot unused (or could not be opened) */
	int nt;		     /* notifier index or -1 */
	uint32_t pending;    /* SOCK_EV_ACCEPT not yet cast */
	bool armed;	     /* an event may be cast */
};

struct conn {
	uint64_t cid; /* 0: slot free */
	uint64_t lid;
	struct tcp_pcb *pcb; /* NULL once lwIP has freed it (err) */
	char owner[SOCK_OWNER_MAX];
	int nt;
	struct pbuf *rx; /* bytes [consumed, arrived) */
	uint64_t consumed, arrived, taken;
	uint64_t reap_at; /* free the slot at this clock (0: no) */
	uint32_t peer_ip;
	uint16_t peer_port, local_port;
	int err; /* SOCK_E* (positive) once it died */
	bool hup, closing, accepted, connecting, want_out, armed;
	uint32_t pending; /* SOCK_EV_* not yet cast */
};

struct park {
	uint64_t id; /* 0: slot free */
	uint64_t target;
	uint64_t offset;
	uint64_t deadline; /* NS_NONE: forever */
	uint32_t max;
	uint8_t op;
};

struct notifier {
	char name[SOCK_OWNER_MAX];
	int h;
};

static struct listener lis[NET_LISTEN_MAX];
static struct conn conns[CONN_MAX];
static struct park parks[PARK_MAX];
static struct notifier nts[NOTIFY_MAX];
static unsigned nnts;
static uint32_t seq;
static unsigned noted; /* net_replay events of this incarnation */
/* Where replies are built: scratch of this incarnation (net_scratch),
 * not the stash, so that building one dirties no page of the window. */
static uint8_t *out;

/* --- replies --- */

static void reply(uint64_t id, const void *buf, size_t len)
{
	ve_chan_reply(net.tcp, id, buf, len);
}

/* The fixed part of op's reply, which an error reply fills with zeros. */
static size_t rep_len(uint8_t op)
{
	switch (op) {
	case SOCK_OP_LISTEN:
	case SOCK_OP_CONNECT:
	case SOCK_OP_SEND:
		return sizeof(struct sock_rep) + 8;
	case SOCK_OP_ACCEPT:
		return sizeof(struct sock_rep) + sizeof(struct sock_conninfo);
	case SOCK_OP_RECV:
		return sizeof(struct sock_recv_rep);
	case SOCK_OP_LIST:
		return sizeof(struct sock_rep) + 4;
	default:
		return sizeof(struct sock_rep);
	}
}

/* Reply err (0 or -SOCK_E*) and the u64 v, in op's reply layout. */
static void reply_val(uint64_t id, uint8_t op, int32_t err, uint64_t v)
{
	size_t n = rep_len(op);

	memset(out, 0, n);
	memcpy(out, &err, 4);
	if (n >= 12)
		memcpy(out + 4, &v, 8);
	reply(id, out, n);
}

static void reply_err(uint64_t id, uint8_t op, int err)
{
	reply_val(id, op, -err, 0);
}

/* --- notifiers --- */

/* The notifier of channel name ("" for none), opened at first use. */
static int notifier(const char *name)
{
	if (!name[0])
		return -1;
	for (unsigned i = 0; i < nnts; i++)
		if (!strncmp(nts[i].name, name, SOCK_OWNER_MAX))
			return (int)i;
	if (nnts == NOTIFY_MAX)
		return -1;
	strlcpy(nts[nnts].name, name, SOCK_OWNER_MAX);
	nts[nnts].h = ve_chan_open(name);
	if (nts[nnts].h < 0)
		ve_event_str("net_notify_fail", "channel", name);
	return (int)nnts++;
}

/* Cast an event; true if it went (or there is nowhere to send it). */
static bool cast_event(int nt, uint64_t id, uint32_t events)
{
	struct sock_event ev = { .op = SOCK_OP_EVENT, .id = id, .events = events };

	if (nt < 0 || nts[nt].h < 0)
		return true;
	return ve_chan_cast(nts[nt].h, &ev, sizeof(ev), VE_NONBLOCK) >= 0;
}

/* --- connections --- */

static struct conn *conn_new(uint64_t lid, const char *owner, int nt)
{
	for (unsigned i = 0; i < CONN_MAX; i++) {
		struct conn *c = &conns[i];

		if (c->cid)
			continue;
		memset(c, 0, sizeof(*c));
		seq = (seq + 1) & 0xffffff;
		seq += !seq;
		c->cid = ((uint64_t)net.epoch << 32) | (seq << 8) | i;
		c->lid = lid;
		c->nt = nt;
		c->armed = true;
		strlcpy(c->owner, owner, SOCK_OWNER_MAX);
		return c;
	}
	return NULL;
}

/* The connection cid, or NULL with *err: -SOCK_ECONNRESET for a cid of an
 * earlier epoch that is not held any more (it died with that net, or its
 * stash was discarded), -SOCK_EBADF for one never given. A connection
 * kept across deaths in the stash keeps its cid, epoch and all. */
static struct conn *conn_find(uint64_t cid, int *err)
{
	uint32_t ep = (uint32_t)(cid >> 32);
	struct conn *c = &conns[(cid & 0xff) % CONN_MAX];

	if (c->cid == cid && cid)
		return c;
	*err = ep && net_epoch_before(ep, net.epoch) ? SOCK_ECONNRESET : SOCK_EBADF;
	return NULL;
}

/* The stash's record of c's peer (stash.h): set while lwIP holds a pcb
 * for it, cleared when it is gone. */
static void peer_keep(const struct conn *c, bool open)
{
	struct net_peer_rec *r = &net.st->peer[c - conns];
	struct net_peer_rec now = { 0 };

	if (open)
		now = (struct net_peer_rec){ c->peer_ip, c->peer_port, c->local_port };
	if (memcmp(r, &now, sizeof(now)) != 0)
		net_peer_put(r, now);
}

static void detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

/* Drop the bytes before offset `to` and open the window by as much. */
static void consume(struct conn *c, uint64_t to)
{
	while (c->consumed < to) {
		uint64_t n = to - c->consumed;
		u16_t k = n > 0xffff ? 0xffff : (u16_t)n;

		c->rx = pbuf_free_header(c->rx, k);
		if (c->pcb)
			tcp_recved(c->pcb, k);
		c->consumed += k;
	}
}

/* Free the slot; rst: reset the connection, else close it (FIN). What was
 * received and not consumed counts as read: lwIP answers a close with
 * unread bytes by a reset, which would throw away the peer's copy of what
 * the client sent last. */
static void conn_free(struct conn *c, bool rst)
{
	if (!rst)
		consume(c, c->arrived);
	if (c->pcb) {
		detach(c->pcb);
		if (rst || tcp_close(c->pcb) != ERR_OK)
			tcp_abort(c->pcb);
	}
	if (c->rx)
		pbuf_free(c->rx);
	peer_keep(c, false);
	memset(c, 0, sizeof(*c));
}

/* The connection's state as event bits. */
static uint32_t conn_events(const struct conn *c)
{
	uint32_t e = 0;

	if (c->arrived > c->consumed || c->hup || c->err)
		e |= SOCK_EV_IN;
	if (c->pcb && !c->connecting && !c->closing && tcp_sndbuf(c->pcb) > 0)
		e |= SOCK_EV_OUT;
	if (c->hup)
		e |= SOCK_EV_HUP;
	if (c->err)
		e |= SOCK_EV_ERR;
	return e;
}

static void conn_info(const struct conn *c, struct sock_conninfo *ci)
{
	ci->cid = c->cid;
	ci->lid = c->lid;
	ci->peer_ip = c->peer_ip;
	ci->peer_port = c->peer_port;
	ci->local_port = c->local_port;
	ci->consumed = c->consumed;
	ci->taken = c->taken;
	ci->events = conn_events(c);
}

/* --- lwIP's callbacks --- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	struct pbuf *q;

	(void)pcb;
	(void)err;
	if (!p) {
		c->hup = true;
		c->pending |= SOCK_EV_IN | SOCK_EV_HUP;
		if (c->closing)
			c->reap_at = ve_clock_ns();
		return ERR_OK;
	}
	if (!(q = pbuf_clone(PBUF_RAW, PBUF_RAM, p)))
		return ERR_MEM; /* lwIP keeps p and offers it again */
	c->arrived += q->tot_len;
	pbuf_free(p);
	if (c->rx)
		pbuf_cat(c->rx, q);
	else
		c->rx = q;
	c->pending |= SOCK_EV_IN;
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct conn *c = arg;

	(void)len;
	if (c->want_out && tcp_sndbuf(pcb) >= TCP_SND_BUF / 4) {
		c->want_out = false;
		c->pending |= SOCK_EV_OUT;
	}
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct conn *c = arg;

	c->pcb = NULL;
	peer_keep(c, false);
	if (c->closing || !c->accepted) {
		c->reap_at = ve_clock_ns(); /* nobody will ask about it */
		return;
	}
	if (err == ERR_RST)
		c->err = c->connecting ? SOCK_ECONNREFUSED : SOCK_ECONNRESET;
	else if (err == ERR_ABRT)
		c->err = SOCK_ETIMEDOUT;
	else
		c->err = SOCK_ECONNRESET;
	c->pending |= SOCK_EV_IN | SOCK_EV_ERR;
	c->reap_at = ve_clock_ns() + LINGER_NS;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct conn *c = arg;

	(void)err;
	c->connecting = false;
	c->local_port = pcb->local_port;
	c->pending |= SOCK_EV_OUT;
	return ERR_OK;
}

static void attach(struct conn *c, struct tcp_pcb *pcb)
{
	c->pcb = pcb;
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct listener *l = arg;
	const struct net_listen_rec *rec = &net.st->l[l - lis];
	struct conn *c;

	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	if (!(c = conn_new(rec->lid, rec->owner, l->nt))) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	tcp_backlog_delayed(pcb); /* in the backlog until the client ACCEPTs it */
	attach(c, pcb);
	c->peer_ip = ip4_addr_get_u32(&pcb->remote_ip);
	c->peer_port = pcb->remote_port;
	c->local_port = pcb->local_port;
	peer_keep(c, true);
	l->pending |= SOCK_EV_ACCEPT;
	return ERR_OK;
}

/* --- listeners --- */

/* Listen on stash entry i. Returns 0 or -SOCK_E*. */
static int listen_open(unsigned i)
{
	const struct net_listen_rec *rec = &net.st->l[i];
	struct tcp_pcb *pcb = tcp_new(), *lp;

	if (!pcb)
		return -SOCK_ENOMEM;
	if (tcp_bind(pcb, IP4_ADDR_ANY, rec->port) != ERR_OK) {
		tcp_abort(pcb);
		return -SOCK_EADDRINUSE;
	}
	if (!(lp = tcp_listen_with_backlog(pcb, (u8_t)rec->backlog))) {
		tcp_abort(pcb);
		return -SOCK_ENOMEM;
	}
	lis[i].pcb = lp;
	lis[i].nt = notifier(rec->notify);
	lis[i].armed = true;
	tcp_arg(lp, &lis[i]);
	tcp_accept(lp, on_accept);
	return 0;
}

/*
 * A bare ACK on a connection this stack does not have, with a sequence
 * number the peer cannot accept: every TCP answers an unacceptable
 * segment with an ACK of its own (RFC 793 3.9; a BSD stack too, where a
 * RST outside its window would be dropped unanswered), and that ACK,
 * reaching a stack with no such connection, draws lwIP's reset with the
 * sequence number the peer expects.
 */
static void probe(const ip_addr_t *local, const ip_addr_t *remote, u16_t lport, u16_t rport,
		  u32_t seqno)
{
	struct pbuf *p = pbuf_alloc(PBUF_IP, TCP_HLEN, PBUF_RAM);
	struct tcp_hdr *h;

	if (!p)
		return;
	h = p->payload;
	memset(h, 0, TCP_HLEN);
	h->src = lwip_htons(lport);
	h->dest = lwip_htons(rport);
	h->seqno = lwip_htonl(seqno);
	TCPH_HDRLEN_FLAGS_SET(h, TCP_HLEN / 4, TCP_ACK);
	h->wnd = lwip_htons(TCP_WND);
	h->chksum = ip_chksum_pseudo(p, IP_PROTO_TCP, p->tot_len, local, remote);
	ip_output(p, local, remote, TCP_TTL, 0, IP_PROTO_TCP);
	pbuf_free(p);
}

/*
 * The connections of the incarnation before: their pcbs died with it, but
 * each peer still holds its end, and one waiting for a reply would wait
 * until it sent again. They are taken from the stash at start and probed
 * twice each, half the sequence space apart (a window is far smaller than
 * 2^31, so one of the two is outside it), once the next hop's address is
 * known: lwIP queues only ARP_QUEUE_LEN packets behind an unresolved one.
 */
#define STALE_WAIT_NS 5000000000ull /* give up on an unresolved next hop */
#define ARP_EVERY_NS 200000000ull

static unsigned stale_sent, stale_lost, stale_asked; /* for the next net_reset_stale */
static uint64_t stale_until, arp_at;		     /* stale_until 0: nothing stale */

/* Move the peers of the incarnation before to the stash's stale list
 * (after any that one had not reset yet; past its room, the rest are
 * left to time out as before). */
static void stale_take(void)
{
	unsigned j = 0;
	bool any = false;

	/* A death between a copy and its clearing leaves the peer in both:
	 * probed twice, harmlessly. */
	for (unsigned i = 0; i < NET_PEER_MAX; i++) {
		struct net_peer_rec *p = &net.st->peer[i];

		while (p->port && j < NET_PEER_MAX && net.st->stale[j].port)
			j++;
		if (p->port && j < NET_PEER_MAX)
			net_peer_put(&net.st->stale[j], *p);
		net_peer_put(p, (struct net_peer_rec){ 0 });
	}
	for (unsigned i = 0; i < NET_PEER_MAX; i++)
		any |= net.st->stale[i].port != 0 && net.st->stale[i].ip != 0;
	stale_until = any ? ve_clock_ns() + STALE_WAIT_NS : 0;
}

/* Where a frame to ip goes first: ip itself on the interface's subnet,
 * else the gateway. */
static ip4_addr_t next_hop(uint32_t ip)
{
	ip4_addr_t a;

	ip4_addr_set_u32(&a, ip);
	return ip4_addr_netcmp(&a, netif_ip4_addr(&net.nif), netif_ip4_netmask(&net.nif))
		   ? a
		   : *netif_ip4_gw(&net.nif);
}

/* Probe what can be probed now; the clock at which to call again
 * (NS_NONE: nothing left). */
static uint64_t stale_poll(uint64_t now)
{
	bool late = now > stale_until;
	uint32_t seqno = (uint32_t)now;
	unsigned left = 0;

	if (!stale_until)
		return NS_NONE;
	for (unsigned i = 0; i < NET_PEER_MAX; i++) {
		struct net_peer_rec *r = &net.st->stale[i];
		const ip4_addr_t *ip_ret;
		struct eth_addr *eth;
		ip_addr_t remote;
		ip4_addr_t hop;

		if (!r->port)
			continue;
		hop = next_hop(r->ip);
		if (!late && r->ip && etharp_find_addr(&net.nif, &hop, &eth, &ip_ret) < 0) {
			left++;
			continue;
		}
		ip_addr_set_ip4_u32(&remote, r->ip);
		if (!late && r->ip) {
			probe(netif_ip_addr4(&net.nif), &remote, r->local_port, r->port, seqno);
			probe(netif_ip_addr4(&net.nif), &remote, r->local_port, r->port,
			      seqno + 0x80000000u);
		}
		stale_sent += !late && r->ip;
		stale_lost += late;
		net_peer_put(r, (struct net_peer_rec){ 0 });
	}
	if (left) {
		if (now >= arp_at) {
			ip4_addr_t gw = *netif_ip4_gw(&net.nif);

			etharp_request(&net.nif, &gw); /* the usual next hop */
			arp_at = now + ARP_EVERY_NS;
		}
		return arp_at;
	}
	struct ve_kv kv[3] = { VE_KV_NUM("conns", stale_sent), VE_KV_NUM("unreached", stale_lost),
			       VE_KV_NUM("asked", stale_asked) };
	ve_event("net_reset_stale", kv, 3);
	stale_until = 0;
	stale_sent = stale_lost = stale_asked = 0;
	return NS_NONE;
}

/* Whether lwIP has a connection (active, or in TIME-WAIT) with r's four
 * ends: ABORT must not probe the peer of a live one. */
static bool ends_live(const struct net_peer_rec *r)
{
	struct tcp_pcb *const lists[] = { tcp_active_pcbs, tcp_tw_pcbs };

	for (unsigned i = 0; i < 2; i++)
		for (const struct tcp_pcb *p = lists[i]; p; p = p->next)
			if (p->remote_port == r->port && p->local_port == r->local_port &&
			    ip4_addr_get_u32(ip_2_ip4(&p->remote_ip)) == r->ip)
				return true;
	return false;
}

/* ABORT (sock.h): put the ends on the stale list, which stale_poll
 * probes as it does the ones a new stack found in its stash. The list is
 * in the stash like all the rest: a death before the reply's commit
 * loses the record and the replay puts it again; one after it keeps it
 * and no replay comes (a later replay finds it there, or probes again,
 * harmlessly: the ends are not live). */
static int abort_ends(uint64_t cid, const struct net_peer_rec *r)
{
	uint64_t until = ve_clock_ns() + STALE_WAIT_NS;
	int err, e = net_abort_check(cid, net.epoch, r);

	if (e < 0)
		return e;
	if (conn_find(cid, &err) || ends_live(r))
		return -SOCK_EBUSY;
	if ((e = net_stale_add(net.st, *r)) != 0)
		return e < 0 ? e : 0;
	stale_asked++;
	if (stale_until < until)
		stale_until = until;
	return 0;
}

/* Calls parked now. */
static unsigned parked(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PARK_MAX; i++)
		n += parks[i].id != 0;
	return n;
}

/* A kept stash: lwIP's connections, listeners and parked calls carry on;
 * only what belongs to the process is had again: the NOTIFY channels'
 * handles (in the order they were first opened). */
void sock_resume(void)
{
	out = net_scratch(VE_MSG_MAX);
	noted = 0;
	for (unsigned i = 0; i < nnts; i++) {
		nts[i].h = ve_chan_open(nts[i].name);
		if (nts[i].h < 0)
			ve_event_str("net_notify_fail", "channel", nts[i].name);
	}
	for (unsigned i = 0; i < net.st->nlisten; i++) {
		struct ve_kv kv[3] = { VE_KV_NUM("port", net.st->l[i].port),
				       VE_KV_NUM("lid", (int64_t)net.st->l[i].lid),
				       VE_KV_NUM("err", lis[i].pcb ? 0 : -SOCK_ENOMEM) };

		ve_event(lis[i].pcb ? "net_listen" : "net_listen_fail", kv, 3);
	}
	struct ve_kv kv[2] = { VE_KV_NUM("conns", sock_conns()), VE_KV_NUM("parked", parked()) };
	ve_event("net_resume", kv, 2);
}

/* A new stack (lwIP just set up): the stash's listeners are opened anew,
 * and the peers of the connections an earlier stack held are reset. */
void sock_start(void)
{
	out = net_scratch(VE_MSG_MAX);
	noted = 0;
	stale_take();
	for (unsigned i = 0; i < net.st->nlisten; i++) {
		int r = listen_open(i);
		struct ve_kv kv[3] = { VE_KV_NUM("port", net.st->l[i].port),
				       VE_KV_NUM("lid", (int64_t)net.st->l[i].lid),
				       VE_KV_NUM("err", r) };

		ve_event(r < 0 ? "net_listen_fail" : "net_listen", kv, 3);
	}
}

/* The listener lid's index, or -1. */
static int listener_find(uint64_t lid)
{
	for (unsigned i = 0; i < net.st->nlisten; i++)
		if (net.st->l[i].lid == lid && lis[i].pcb)
			return (int)i;
	return -1;
}

/* --- requests --- */

static bool names_ok(const char *owner, const char *notify)
{
	return strnlen(owner, SOCK_OWNER_MAX) - 1 < SOCK_OWNER_MAX - 1 &&
	       strnlen(notify, SOCK_OWNER_MAX) < SOCK_OWNER_MAX;
}

static void op_listen(uint64_t id, const struct sock_listen *q)
{
	struct net_stash *st = net.st;
	unsigned i;
	int r;

	if (!q->port || !q->backlog || !names_ok(q->owner, q->notify))
		return reply_err(id, SOCK_OP_LISTEN, SOCK_EINVAL);
	for (i = 0; i < st->nlisten && st->l[i].port != q->port; i++)
		;
	if (i < st->nlisten && strncmp(st->l[i].owner, q->owner, SOCK_OWNER_MAX))
		return reply_err(id, SOCK_OP_LISTEN, SOCK_EADDRINUSE);
	if (i == NET_LISTEN_MAX)
		return reply_err(id, SOCK_OP_LISTEN, SOCK_ENOMEM);
	if (i == st->nlisten) {
		memset(&st->l[i], 0, sizeof(st->l[i]));
		st->l[i].lid = st->next_lid;
		st->l[i].port = q->port;
		strlcpy(st->l[i].owner, q->owner, SOCK_OWNER_MAX);
	}
	st->l[i].backlog = q->backlog > BACKLOG_MAX ? BACKLOG_MAX : q->backlog;
	memset(st->l[i].notify, 0, SOCK_OWNER_MAX);
	strlcpy(st->l[i].notify, q->notify, SOCK_OWNER_MAX);
	lis[i].nt = notifier(q->notify);
	if (lis[i].pcb)
		tcp_backlog_set(lis[i].pcb, (u8_t)st->l[i].backlog);
	if (!lis[i].pcb && (r = listen_open(i)) < 0) {
		net_stash_seal(net.st);
		return reply_err(id, SOCK_OP_LISTEN, -r);
	}
	if (i == st->nlisten) {
		st->next_lid++;
		st->nlisten++;
	}
	net_stash_seal(net.st);
	reply_val(id, SOCK_OP_LISTEN, 0, st->l[i].lid);
}

/* The parked call id, or NULL. */
static struct park *park_find(uint64_t id)
{
	for (unsigned i = 0; i < PARK_MAX; i++)
		if (parks[i].id == id)
			return &parks[i];
	return NULL;
}

static bool park(uint64_t id, uint8_t op, uint64_t target, uint64_t offset, uint32_t max,
		 uint64_t timeout)
{
	uint64_t now = ve_clock_ns();

	for (unsigned i = 0; i < PARK_MAX; i++) {
		struct park *p = &parks[i];

		if (p->id)
			continue;
		*p = (struct park){
			.id = id, .op = op, .target = target, .offset = offset, .max = max
		};
		p->deadline = timeout == SOCK_TIMEOUT_FOREVER || now + timeout < now
				  ? NS_NONE
				  : now + timeout;
		return true;
	}
	return false;
}

/* Answer ACCEPT on lid if it can be: a backlog connection, an error, or
 * (final: the deadline) -SOCK_EAGAIN. Returns whether it answered. */
static bool accept_answer(uint64_t id, uint64_t lid, bool final)
{
	int li = listener_find(lid);
	struct conn *best = NULL;

	if (li < 0) {
		reply_err(id, SOCK_OP_ACCEPT, SOCK_EBADF);
		return true;
	}
	lis[li].armed = true;
	for (unsigned i = 0; i < CONN_MAX; i++) {
		struct conn *c = &conns[i];

		if (c->cid && c->lid == lid && !c->accepted && (!best || c->cid < best->cid))
			best = c;
	}
	if (!best) {
		if (final)
			reply_err(id, SOCK_OP_ACCEPT, SOCK_EAGAIN);
		return final;
	}
	best->accepted = true;
	if (best->pcb)
		tcp_backlog_accepted(best->pcb);
	memset(out, 0, sizeof(struct sock_rep));
	conn_info(best, (struct sock_conninfo *)(out + sizeof(struct sock_rep)));
	reply(id, out, rep_len(SOCK_OP_ACCEPT));
	return true;
}

static void op_accept(uint64_t id, const struct sock_accept *q)
{
	if (!accept_answer(id, q->lid, q->timeout_ns == 0) &&
	    !park(id, SOCK_OP_ACCEPT, q->lid, 0, 0, q->timeout_ns))
		reply_err(id, SOCK_OP_ACCEPT, SOCK_EAGAIN);
}

/* Answer RECV if it can be. Returns whether it answered. */
static bool recv_answer(uint64_t id, uint64_t cid, uint64_t off, uint32_t max, bool final)
{
	struct sock_recv_rep *rep = (struct sock_recv_rep *)out;
	int err;
	struct conn *c = conn_find(cid, &err);
	uint64_t n;

	if (!c || off < c->consumed || off > c->arrived) {
		reply_err(id, SOCK_OP_RECV, c ? SOCK_EINVAL : err);
		return true;
	}
	c->armed = true;
	consume(c, off);
	n = c->arrived - off;
	n = n < max ? n : max;
	n = n < SOCK_DATA_MAX ? n : SOCK_DATA_MAX;
	if (!n && max && !c->hup && !c->err && !final)
		return false;
	if (!n && max && !c->hup) {
		reply_err(id, SOCK_OP_RECV, c->err ? c->err : SOCK_EAGAIN);
		return true;
	}
	rep->err = 0;
	rep->offset = off;
	rep->events = conn_events(c) & (off + n == c->arrived ? ~0u : ~(uint32_t)SOCK_EV_HUP);
	if (n)
		pbuf_copy_partial(c->rx, rep + 1, (u16_t)n, (u16_t)(off - c->consumed));
	if (off + n == c->arrived)
		c->pending &= ~(uint32_t)(SOCK_EV_IN | SOCK_EV_HUP);
	reply(id, out, sizeof(*rep) + n); /* commits all of the above */
	return true;
}

static void op_recv(uint64_t id, const struct sock_recv *q)
{
	if (!recv_answer(id, q->cid, q->offset, q->max, q->timeout_ns == 0) &&
	    !park(id, SOCK_OP_RECV, q->cid, q->offset, q->max, q->timeout_ns))
		reply_err(id, SOCK_OP_RECV, SOCK_EAGAIN);
}

/* Queue up to n bytes at p on c's pcb. Returns how many it took. */
static size_t send_some(struct conn *c, const uint8_t *p, size_t n)
{
	size_t k = tcp_sndbuf(c->pcb);

	if (tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN - 1)
		k = 0;
	k = k < n ? k : n;
	while (k && tcp_write(c->pcb, p, (u16_t)k, TCP_WRITE_FLAG_COPY) != ERR_OK)
		k /= 2;
	if (k)
		tcp_output(c->pcb);
	return k;
}

static void op_send(uint64_t id, const struct sock_send *q, size_t len)
{
	int err;
	struct conn *c = conn_find(q->cid, &err);
	size_t n = len - sizeof(*q), skip;

	if (!c)
		return reply_err(id, SOCK_OP_SEND, err);
	c->armed = true;
	if (c->closing)
		return reply_err(id, SOCK_OP_SEND, SOCK_EPIPE);
	if (!c->pcb)
		return reply_err(id, SOCK_OP_SEND, c->err ? c->err : SOCK_ECONNRESET);
	if (q->offset > c->taken)
		return reply_err(id, SOCK_OP_SEND, SOCK_EINVAL);
	skip = (size_t)(c->taken - q->offset);
	if (skip < n) {
		size_t k = send_some(c, (const uint8_t *)(q + 1) + skip, n - skip);

		c->taken += k;
		c->want_out |= k < n - skip;
	}
	c->pending &= ~(uint32_t)SOCK_EV_OUT;
	reply_val(id, SOCK_OP_SEND, 0, c->taken);
}

static void op_close(uint64_t id, const struct sock_close *q)
{
	int err;
	struct conn *c = conn_find(q->cid, &err);

	if (!c || q->how > 1)
		return reply_err(id, SOCK_OP_CLOSE, c ? SOCK_EINVAL : err);
	if (q->how == 1 || !c->pcb || c->hup || !c->accepted) {
		conn_free(c, q->how == 1);
	} else if (!c->closing) {
		c->closing = true;
		c->reap_at = ve_clock_ns() + CLOSE_NS;
		if (tcp_shutdown(c->pcb, 0, 1) != ERR_OK)
			conn_free(c, true);
	}
	reply_val(id, SOCK_OP_CLOSE, 0, 0);
}

/* Answer CONNECT on cid once it is up, failed, or at its deadline. */
static bool connect_answer(uint64_t id, uint64_t cid, bool final)
{
	int err;
	struct conn *c = conn_find(cid, &err);

	if (!c) {
		reply_err(id, SOCK_OP_CONNECT, err);
		return true;
	}
	if (c->connecting && !c->err && !final)
		return false;
	if (c->connecting || c->err) {
		reply_err(id, SOCK_OP_CONNECT, c->err ? c->err : SOCK_ETIMEDOUT);
		conn_free(c, true);
		return true;
	}
	c->armed = true;
	reply_val(id, SOCK_OP_CONNECT, 0, cid);
	return true;
}

static void op_connect(uint64_t id, const struct sock_connect *q)
{
	struct tcp_pcb *pcb;
	struct conn *c;
	ip4_addr_t ip;

	if (!q->ip || !q->port || !names_ok(q->owner, q->notify))
		return reply_err(id, SOCK_OP_CONNECT, SOCK_EINVAL);
	if (!(c = conn_new(0, q->owner, notifier(q->notify))) || !(pcb = tcp_new())) {
		if (c)
			conn_free(c, true);
		return reply_err(id, SOCK_OP_CONNECT, SOCK_ENOMEM);
	}
	ip4_addr_set_u32(&ip, q->ip);
	c->accepted = c->connecting = true;
	c->peer_ip = q->ip;
	c->peer_port = q->port;
	attach(c, pcb);
	if (tcp_connect(pcb, &ip, q->port, on_connected) != ERR_OK) {
		conn_free(c, true);
		return reply_err(id, SOCK_OP_CONNECT, SOCK_EHOSTUNREACH);
	}
	c->local_port = pcb->local_port;
	peer_keep(c, true);
	if (q->timeout_ns == 0)
		return reply_val(id, SOCK_OP_CONNECT, -SOCK_EAGAIN, c->cid);
	if (!park(id, SOCK_OP_CONNECT, c->cid, 0, 0, q->timeout_ns))
		reply_val(id, SOCK_OP_CONNECT, -SOCK_EAGAIN, c->cid);
}

static void op_abort(uint64_t id, const struct sock_abort *q)
{
	struct net_peer_rec r = { q->peer_ip, q->peer_port, q->local_port };

	reply_val(id, SOCK_OP_ABORT, abort_ends(q->cid, &r), 0);
}

/* The owner's connection with the smallest cid above after, or NULL. */
static const struct conn *list_next(const char *owner, uint64_t after)
{
	const struct conn *best = NULL;

	for (unsigned i = 0; i < CONN_MAX; i++) {
		const struct conn *c = &conns[i];

		if (c->cid > after && c->accepted && !c->closing &&
		    !strncmp(c->owner, owner, SOCK_OWNER_MAX) && (!best || c->cid < best->cid))
			best = c;
	}
	return best;
}

static void op_list(uint64_t id, const struct sock_list *q)
{
	const size_t head = sizeof(struct sock_rep) + 4, one = sizeof(struct sock_conninfo);
	uint64_t after = q->after;
	const struct conn *c;
	uint32_t n = 0;

	if (!names_ok(q->owner, ""))
		return reply_err(id, SOCK_OP_LIST, SOCK_EINVAL);
	memset(out, 0, head);
	while (head + (n + 1) * one <= VE_MSG_MAX && (c = list_next(q->owner, after))) {
		conn_info(c, (struct sock_conninfo *)(out + head + n * one));
		after = c->cid;
		n++;
	}
	memcpy(out + sizeof(struct sock_rep), &n, 4);
	reply(id, out, head + n * one);
}

/* The request's exact length for op (SEND: its least), or 0 if unknown. */
static size_t req_len(uint8_t op)
{
	switch (op) {
	case SOCK_OP_LISTEN:
		return sizeof(struct sock_listen);
	case SOCK_OP_ACCEPT:
		return sizeof(struct sock_accept);
	case SOCK_OP_CONNECT:
		return sizeof(struct sock_connect);
	case SOCK_OP_RECV:
		return sizeof(struct sock_recv);
	case SOCK_OP_SEND:
		return sizeof(struct sock_send);
	case SOCK_OP_CLOSE:
		return sizeof(struct sock_close);
	case SOCK_OP_LIST:
		return sizeof(struct sock_list);
	case SOCK_OP_ABORT:
		return sizeof(struct sock_abort);
	default:
		return 0;
	}
}

/* A call a dead incarnation left in flight (parked, most likely): say so,
 * for the first few of an incarnation, then serve it like any other. */
static void note_replay(const struct ve_msg *m, const uint8_t *req, size_t len)
{
	char op[2] = { len && req[0] >= 'A' && req[0] <= 'Z' ? (char)req[0] : '?', 0 };

	if (m->redelivered && noted < REPLAYS_NOTED) {
		struct ve_kv kv[2] = { VE_KV_STR("op", op),
				       VE_KV_NUM("redelivered", m->redelivered) };

		noted++;
		ve_event("net_replay", kv, 2);
	}
}

void sock_request(const struct ve_msg *m, const uint8_t *req, size_t len)
{
	size_t want = len ? req_len(req[0]) : 0;

	note_replay(m, req, len);
	/* A call parked before a death that a commit kept: the stash holds
	 * it already and answers it in time. Serving it again would park it
	 * twice and answer it twice (svc/lib/README.md, parked calls). */
	if (m->redelivered && m->kind == VE_MSG_CALL && park_find(m->id))
		return;

	if (m->kind != VE_MSG_CALL) {
		ve_chan_ack(net.tcp, m->id);
		return;
	}
	if (!want || len < want || (req[0] != SOCK_OP_SEND && len != want))
		return reply_err(m->id, len ? req[0] : 0, SOCK_EINVAL);
	switch (req[0]) {
	case SOCK_OP_LISTEN:
		return op_listen(m->id, (const struct sock_listen *)req);
	case SOCK_OP_ACCEPT:
		return op_accept(m->id, (const struct sock_accept *)req);
	case SOCK_OP_CONNECT:
		return op_connect(m->id, (const struct sock_connect *)req);
	case SOCK_OP_RECV:
		return op_recv(m->id, (const struct sock_recv *)req);
	case SOCK_OP_SEND:
		return op_send(m->id, (const struct sock_send *)req, len);
	case SOCK_OP_CLOSE:
		return op_close(m->id, (const struct sock_close *)req);
	case SOCK_OP_ABORT:
		return op_abort(m->id, (const struct sock_abort *)req);
	default:
		return op_list(m->id, (const struct sock_list *)req);
	}
}

/* --- the poll step --- */

static bool park_try(const struct park *p, uint64_t id, bool final)
{
	switch (p->op) {
	case SOCK_OP_ACCEPT:
		return accept_answer(id, p->target, final);
	case SOCK_OP_RECV:
		return recv_answer(id, p->target, p->offset, p->max, final);
	default:
		return connect_answer(id, p->target, final);
	}
}

/* Answer what can be; returns the nearest deadline left (NS_NONE: none). */
static uint64_t parks_poll(uint64_t now)
{
	uint64_t next = NS_NONE;

	for (unsigned i = 0; i < PARK_MAX; i++) {
		struct park *p = &parks[i];

		uint64_t id = p->id;

		if (!id)
			continue;
		/* free before the answer, which commits: a death after it must
		 * not find the call parked still (it is answered, and no replay
		 * comes to take the slot back) */
		p->id = 0;
		if (!park_try(p, id, p->deadline <= now)) {
			p->id = id;
			if (p->deadline < next)
				next = p->deadline;
		}
	}
	return next;
}

/* Cast pending events, free what is due. */
static void conns_poll(uint64_t now)
{
	for (unsigned i = 0; i < CONN_MAX; i++) {
		struct conn *c = &conns[i];

		if (!c->cid)
			continue;
		if (c->reap_at && c->reap_at <= now) {
			conn_free(c, !c->hup);
			continue;
		}
		if (c->pending && c->armed && c->accepted) {
			uint32_t ev = c->pending;

			c->pending = 0; /* before the cast, which commits */
			c->armed = false;
			if (!cast_event(c->nt, c->cid, ev)) {
				c->pending |= ev;
				c->armed = true;
			}
		}
	}
	for (unsigned i = 0; i < net.st->nlisten; i++) {
		struct listener *l = &lis[i];

		if (l->pending && l->armed) {
			uint32_t ev = l->pending;

			l->pending = 0;
			l->armed = false;
			if (!cast_event(l->nt, net.st->l[i].lid, ev)) {
				l->pending |= ev;
				l->armed = true;
			}
		}
	}
}

uint64_t sock_poll(void)
{
	uint64_t now = ve_clock_ns(), next = parks_poll(now), st = stale_poll(now);

	if (st < next)
		next = st;
	conns_poll(now);
	return next == NS_NONE ? VE_TIMEOUT_NONE : (next > now ? next - now : 1);
}

unsigned sock_conns(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CONN_MAX; i++)
		n += conns[i].cid != 0;
	return n;
}
