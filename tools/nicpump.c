/*
 * nicpump: the host end of a NIC boot test. It exchanges raw Ethernet
 * frames with a Vesta guest through QEMU's `-netdev dgram` on unix
 * sockets (the runner's `nic` directive; no root, no tap device): it sends
 * numbered frames to the guest, where an echo service (netecho) reflects
 * them, and counts what comes back while the guest's NIC driver is killed
 * and restarted over and over.
 *
 *   nicpump [--dir DIR] [--frames N] [--window W] [--loss-ms MS]
 *           [--until-event TEXT] [--driver NAME] [--min-deaths D]
 *           [--max-seconds S] [--slack K]
 *   nicpump [--dir DIR] --ping N
 *
 * With --ping it pings the guest's network service (svc/net) N times
 * instead: see nicpump_ping.c.
 *
 * DIR (default $VESTA_BOOT_DIR, set by the runner's `host`) holds QEMU's
 * socket net-guest.sock and ours, net-host.sock, and com2.log, the guest's
 * event log. It keeps W frames (default 256) in flight; frame k carries k
 * and a payload derived from k, and its length cycles through 60..1514. A
 * frame not echoed within MS ms (default 5000) is lost; one echoed twice
 * is a duplicate (a frame the driver sent, died before acking, and its
 * next incarnation sent again); one echoed after being counted lost is
 * late (it is then not lost); one with a wrong payload is corrupt. It
 * sends at least N frames (default 1000), and goes on until TEXT is in
 * com2.log (say, the keeper's final event) and the driver's last death
 * there is followed by a nic_pass, so every death and the restart after
 * it fall inside the traffic; at most S seconds (default 600).
 *
 * Then it reads com2.log: the deaths of the driver NAME (default
 * virtio-net; `exit` events), its receive ring (nic_up's rx_ring), and the
 * restart latency of each death: from the `exit` to the next `nic_pass`
 * (the new incarnation's first frame taken by the device), guest time.
 * Lost frames are grouped into bursts (lost frames less than W apart in
 * sequence are one burst: one death's loss); frames lost per death are
 * the bursts, and zero for deaths that lost nothing.
 *
 * It passes (exit 0) when: some frames came back, nothing was corrupt,
 * there were at least D deaths (default 0), there are no more bursts than
 * deaths, and no burst is larger than the receive ring and K frames
 * (default 0; for a device that holds frames of its own beside its ring). It
 * prints one summary line of key=value words; exit 1 on failure, 2 for
 * bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jsonline.h"
#include "nicpump_ping.h"

#define ETH_TYPE 0x88b5	  /* IEEE local experimental */
#define MAGIC 0x43494e56u /* "VNIC" */
#define HDR 14
#define MIN_LEN 60
#define MAX_LEN 1514

enum { UNSENT, OUT, ECHOED, LOST };

struct opts {
	const char *dir;
	uint64_t frames;
	unsigned window;
	double loss_s;
	const char *until;
	const char *driver;
	unsigned min_deaths;
	double max_s;
	unsigned slack;
	unsigned ping; /* --ping N: the ping mode */
};

struct pump {
	int fd;
	struct sockaddr_un peer;
	uint8_t *state; /* per sequence number */
	double *sent_at;
	uint64_t cap, sent, oldest;
	unsigned out;
	uint64_t echoed, dup, late, lost, corrupt, stray;
};

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t host_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t frame_len(uint64_t seq)
{
	return MIN_LEN + (size_t)((seq * 97) % (MAX_LEN - MIN_LEN + 1));
}

/* Frame seq into f: our header, MAGIC, seq, then bytes derived from seq. */
static size_t build(uint8_t *f, uint64_t seq)
{
	size_t len = frame_len(seq);

	memcpy(f, guest_mac, 6);
	memcpy(f + 6, host_mac, 6);
	f[12] = ETH_TYPE >> 8;
	f[13] = ETH_TYPE & 0xff;
	memcpy(f + HDR, &(uint32_t){ MAGIC }, 4);
	memcpy(f + HDR + 4, &seq, 8);
	for (size_t i = HDR + 12; i < len; i++)
		f[i] = (uint8_t)(seq + i);
	return len;
}

/* The sequence number of an echo, or -1 if it is not one of ours; sets
 * *bad if it is ours but damaged. */
static int64_t parse_echo(const uint8_t *f, size_t len, bool *bad)
{
	uint64_t seq;
	uint32_t magic;

	*bad = false;
	if (len < HDR + 12 || f[12] != ETH_TYPE >> 8 || f[13] != (ETH_TYPE & 0xff))
		return -1;
	memcpy(&magic, f + HDR, 4);
	if (magic != MAGIC)
		return -1;
	memcpy(&seq, f + HDR + 4, 8);
	if (memcmp(f, host_mac, 6) || memcmp(f + 6, guest_mac, 6) || len < frame_len(seq))
		*bad = true;
	for (size_t i = HDR + 12; i < len && !*bad; i++)
		if (f[i] != (uint8_t)(seq + i))
			*bad = true;
	return (int64_t)seq;
}

static void grow(struct pump *p)
{
	uint64_t old = p->cap;

	p->cap = old ? old * 2 : 65536;
	p->state = realloc(p->state, p->cap);
	p->sent_at = realloc(p->sent_at, p->cap * sizeof(double));
	if (!p->state || !p->sent_at) {
		perror("nicpump: realloc");
		exit(1);
	}
	memset(p->state + old, UNSENT, p->cap - old);
}

/* Send the next frame if the socket takes it. Returns whether it did. */
static bool send_next(struct pump *p)
{
	uint8_t f[MAX_LEN];
	size_t len;

	if (p->sent == p->cap)
		grow(p);
	len = build(f, p->sent);
	if (sendto(p->fd, f, len, MSG_DONTWAIT, (struct sockaddr *)&p->peer, sizeof(p->peer)) < 0)
		return false; /* QEMU is not reading (the driver is down): later */
	p->state[p->sent] = OUT;
	p->sent_at[p->sent] = now_s();
	p->sent++;
	p->out++;
	return true;
}

/* Take every echo waiting on the socket. */
static void receive(struct pump *p)
{
	uint8_t f[2048];
	ssize_t n;
	bool bad;

	while ((n = recv(p->fd, f, sizeof(f), MSG_DONTWAIT)) > 0) {
		int64_t seq = parse_echo(f, (size_t)n, &bad);

		if (seq < 0 || (uint64_t)seq >= p->sent) {
			p->stray++;
			continue;
		}
		if (bad) {
			p->corrupt++;
			continue;
		}
		switch (p->state[seq]) {
		case OUT:
			p->state[seq] = ECHOED;
			p->echoed++;
			p->out--;
			break;
		case ECHOED:
			p->dup++;
			break;
		case LOST:
			p->state[seq] = ECHOED;
			p->lost--;
			p->late++;
			p->echoed++;
			break;
		}
	}
}

/* Count as lost what has been out longer than loss_s. */
static void expire(struct pump *p, double loss_s, double now)
{
	for (; p->oldest < p->sent; p->oldest++) {
		if (p->state[p->oldest] != OUT)
			continue;
		if (now - p->sent_at[p->oldest] < loss_s)
			break;
		p->state[p->oldest] = LOST;
		p->lost++;
		p->out--;
	}
}

/* The whole of DIR/com2.log, NUL-terminated, or NULL. */
static char *read_log(const char *dir)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/com2.log", dir);
	if (!(f = fopen(path, "r")))
		return NULL;
	if (getdelim(&buf, &len, 0, f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Event ev's value of key as text, or "" if it has none. */
static const char *text(const struct jsonline *ev, const char *key)
{
	const struct jsonline_pair *p = jsonline_find(ev, key);

	return p ? p->value : "";
}

/* Event ev's value of key as a number, or -1 if it has none. */
static long long number(const struct jsonline *ev, const char *key)
{
	const struct jsonline_pair *p = jsonline_find(ev, key);

	return p ? strtoll(p->value, NULL, 10) : -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* What the guest's log says: deaths, ring size, restart latencies (ms). */
struct guest_log {
	unsigned deaths, restarts;
	bool pending; /* the last death has no nic_pass after it yet */
	long long rx_ring;
	uint64_t lat_ns[4096];
};

static void read_guest(const char *dir, const char *driver, struct guest_log *g)
{
	static char buf[8192];
	char *log = read_log(dir), *line, *save = NULL;
	long long died_at = -1;
	struct jsonline ev;

	memset(g, 0, sizeof(*g));
	g->rx_ring = -1;
	if (!log)
		return;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (jsonline_parse(line, strlen(line), buf, sizeof(buf), &ev) < 0)
			continue; /* not an event (a torn last line, say) */
		if (!strcmp(text(&ev, "ev"), "exit") && !strcmp(text(&ev, "name"), driver)) {
			g->deaths++;
			died_at = number(&ev, "t_ns");
		} else if (!strcmp(text(&ev, "ev"), "nic_up") && g->rx_ring < 0) {
			g->rx_ring = number(&ev, "rx_ring");
		} else if (!strcmp(text(&ev, "ev"), "nic_pass") && died_at >= 0) {
			if (g->restarts < sizeof(g->lat_ns) / sizeof(g->lat_ns[0]))
				g->lat_ns[g->restarts++] =
				    (uint64_t)(number(&ev, "t_ns") - died_at);
			died_at = -1;
		}
	}
	g->pending = died_at >= 0;
	free(log);
}

/* Lost frames grouped into bursts, one size per burst, into out (sorted). */
static unsigned bursts(const struct pump *p, unsigned window, uint64_t *out, unsigned cap)
{
	unsigned n = 0;
	uint64_t last = 0;
	bool any = false;

	for (uint64_t s = 0; s < p->sent; s++) {
		if (p->state[s] != LOST)
			continue;
		if (!any || s - last >= window) {
			if (n == cap)
				break;
			out[n++] = 0;
			fprintf(stderr, "nicpump: a loss burst from frame %llu, sent at %.3f s\n",
				(unsigned long long)s, p->sent_at[s] - p->sent_at[0]);
		}
		out[n - 1]++;
		last = s;
		any = true;
	}
	qsort(out, n, sizeof(*out), cmp_u64);
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: nicpump [--dir DIR] [--frames N] [--window W] [--loss-ms MS] "
			"[--until-event TEXT] [--driver NAME] [--min-deaths D] [--max-seconds S] "
			"[--slack K]\n       nicpump [--dir DIR] --ping N\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .dir = getenv("VESTA_BOOT_DIR"),
			    .frames = 1000,
			    .window = 256,
			    .loss_s = 5,
			    .driver = "virtio-net",
			    .max_s = 600,
			    .slack = 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--dir"))
			o->dir = v;
		else if (!strcmp(a, "--frames"))
			o->frames = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--window"))
			o->window = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--loss-ms"))
			o->loss_s = strtod(v, NULL) / 1000;
		else if (!strcmp(a, "--until-event"))
			o->until = v;
		else if (!strcmp(a, "--driver"))
			o->driver = v;
		else if (!strcmp(a, "--min-deaths"))
			o->min_deaths = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--max-seconds"))
			o->max_s = strtod(v, NULL);
		else if (!strcmp(a, "--ping"))
			o->ping = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--slack"))
			o->slack = (unsigned)strtoul(v, NULL, 10);
		else
			usage();
	}
	if (!o->dir || o->window == 0 || o->loss_s <= 0)
		usage();
}

/* Open our socket and name QEMU's. */
static void open_socket(struct pump *p, const char *dir)
{
	struct sockaddr_un me = { .sun_family = AF_UNIX };

	p->peer = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if ((size_t)snprintf(me.sun_path, sizeof(me.sun_path), "%s/net-host.sock", dir) >=
		sizeof(me.sun_path) ||
	    (size_t)snprintf(p->peer.sun_path, sizeof(p->peer.sun_path), "%s/net-guest.sock",
			     dir) >= sizeof(p->peer.sun_path)) {
		fprintf(stderr, "nicpump: %s: path too long for a socket\n", dir);
		exit(2);
	}
	unlink(me.sun_path);
	p->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("nicpump: socket");
		exit(1);
	}
}

/*
 * Has the guest's log got the until-event, and a nic_pass after the
 * driver's last death (the incarnation that follows it passes frames too)?
 */
static bool guest_done(const struct opts *o)
{
	static struct guest_log g;
	char *log = read_log(o->dir);
	bool seen = log && strstr(log, o->until);

	free(log);
	if (!seen)
		return false;
	read_guest(o->dir, o->driver, &g);
	return !g.pending;
}

/* Traffic until enough frames went and, with --until-event, guest_done. */
static void pump_run(struct pump *p, const struct opts *o)
{
	double start = now_s(), next_log = start, now;
	bool done = !o->until;

	while ((now = now_s()) - start < o->max_s && (p->sent < o->frames || !done)) {
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };

		while (p->out < o->window && send_next(p))
			;
		poll(&pf, 1, 5);
		receive(p);
		expire(p, o->loss_s, now_s());
		if (!done && now >= next_log) {
			done = guest_done(o);
			next_log = now + 0.2;
		}
	}
	/* The last ones: wait for them, or for them to count as lost. */
	for (double end = now_s() + o->loss_s + 0.1; p->out && now_s() < end;) {
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };

		poll(&pf, 1, 10);
		receive(p);
		expire(p, o->loss_s, now_s());
	}
	if (!done)
		fprintf(stderr,
			"nicpump: '%s' and then a nic_pass after the last %s death "
			"never appeared in com2.log\n",
			o->until, o->driver);
}

int main(int argc, char **argv)
{
	static struct pump p;
	static struct guest_log g;
	static uint64_t burst[65536];
	struct opts o;
	unsigned nb, deaths;
	uint64_t per_death_med = 0, per_death_max = 0, lat_med = 0, lat_max = 0;
	bool ok;

	parse(argc, argv, &o);
	open_socket(&p, o.dir);
	if (o.ping)
		return ping_run(p.fd, &p.peer, o.ping);
	pump_run(&p, &o);
	read_guest(o.dir, o.driver, &g);
	nb = bursts(&p, o.window, burst, 65536);
	deaths = g.deaths;
	if (nb) {
		per_death_max = burst[nb - 1];
		/* The median over deaths: those that lost nothing count as 0
		 * (they come first in the sorted whole). */
		unsigned all = deaths > nb ? deaths : nb, zeros = all - nb;

		per_death_med = all / 2 < zeros ? 0 : burst[all / 2 - zeros];
	}
	if (g.restarts) {
		qsort(g.lat_ns, g.restarts, sizeof(g.lat_ns[0]), cmp_u64);
		lat_med = g.lat_ns[g.restarts / 2];
		lat_max = g.lat_ns[g.restarts - 1];
	}
	ok = p.echoed > 0 && p.corrupt == 0 && deaths >= o.min_deaths && nb <= deaths &&
	     (nb == 0 || (g.rx_ring > 0 && per_death_max <= (uint64_t)g.rx_ring + o.slack));
	printf("nicpump: %s sent=%llu echoed=%llu lost=%llu dup=%llu late=%llu corrupt=%llu "
	       "stray=%llu deaths=%u bursts=%u rx_ring=%lld lost_per_death_median=%llu "
	       "lost_per_death_max=%llu restarts_seen=%u restart_ms_median=%.2f "
	       "restart_ms_max=%.2f\n",
	       ok ? "PASS" : "FAIL", (unsigned long long)p.sent, (unsigned long long)p.echoed,
	       (unsigned long long)p.lost, (unsigned long long)p.dup, (unsigned long long)p.late,
	       (unsigned long long)p.corrupt, (unsigned long long)p.stray, deaths, nb, g.rx_ring,
	       (unsigned long long)per_death_med, (unsigned long long)per_death_max, g.restarts,
	       (double)lat_med / 1e6, (double)lat_max / 1e6);
	return ok ? 0 : 1;
}
