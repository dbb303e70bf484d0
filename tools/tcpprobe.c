/*
 * tcpprobe: the host end of the TCP boot tests (nettcp.scn, netkill.scn).
 * It connects to an echo server in the guest (tests/boot/progs/tcpecho.c)
 * through QEMU's user networking (`hostfwd=tcp:127.0.0.1:{port}-:7`) and
 * checks the echo byte for byte.
 *
 *   tcpprobe --port P [--conns N] [--seed S] [--rounds R]
 *            [--until-event TEXT --dir DIR [--every]] [--max-seconds T]
 *
 * A round opens N connections at once (default 8); connection i sends
 * random bytes (every third of the first 12: 64..256 KiB, past the TCP window, so the
 * guest's backpressure is exercised; the others 1 byte..4 KiB) while it
 * reads the echo, shuts its side down when all is sent, and must then see
 * exactly its bytes back and an orderly EOF. A connect that takes over
 * 5 s, or a round in which no byte moves for 15 s, fails. It runs R rounds (default
 * 1), each of which must pass. With --until-event it instead runs rounds
 * until TEXT appears in DIR/com2.log (say the keeper's last event: the
 * guest's service is killed meanwhile, so rounds may fail), and then
 * until a round passes; it passes if that last round did, within T
 * seconds (default 300). With --every too, every round must pass, the
 * ones during the deaths as well: the guest's connections must outlive
 * its service (netkill.scn, where net keeps its TCP state in a windowed
 * stash); the first round that fails ends the run. Prints one summary
 * line; exit 0 on pass, 1 on failure, 2 for bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 512
#define ROUND_S 120.0 /* one round's bound */
#define STALL_S 15.0  /* a round in which no byte moves for this long fails */
#define DIAL_S 5      /* a connect's bound */

struct opts {
	int port;
	unsigned conns, rounds;
	uint64_t seed;
	const char *until, *dir;
	double max_s;
	bool every; /* with until: every round must pass */
};

struct pconn {
	int fd;
	uint8_t *data;
	size_t len, sent, got;
	bool shut, eof, bad;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	struct timeval tv = { .tv_sec = DIAL_S }, none = { 0 };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void conn_init(struct pconn *c, unsigned i, int port)
{
	c->len = i % 3 == 0 && i < 12 ? 65536 + rnd() % (192 * 1024) : 1 + rnd() % 4096;
	c->data = malloc(c->len);
	for (size_t k = 0; k < c->len; k++)
		c->data[k] = (uint8_t)rnd();
	c->sent = c->got = 0;
	c->shut = c->eof = c->bad = false;
	c->fd = dial(port);
	c->bad = c->fd < 0;
}

/* Send what the socket takes; shut down our side when all is sent. */
static void conn_out(struct pconn *c)
{
	while (c->sent < c->len) {
		ssize_t n = send(c->fd, c->data + c->sent, c->len - c->sent, MSG_NOSIGNAL);

		if (n <= 0) {
			c->bad |= n < 0 && errno != EAGAIN;
			return;
		}
		c->sent += (size_t)n;
	}
	if (!c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
}

/* Read and compare the echo; EOF must come exactly at the end. */
static void conn_in(struct pconn *c)
{
	uint8_t b[65536];
	ssize_t n;

	while ((n = recv(c->fd, b, sizeof(b), 0)) > 0) {
		if (c->got + (size_t)n > c->sent || memcmp(b, c->data + c->got, (size_t)n)) {
			c->bad = true;
			return;
		}
		c->got += (size_t)n;
	}
	if (n == 0) {
		c->eof = true;
		c->bad |= c->got != c->len;
	} else if (errno != EAGAIN) {
		c->bad = true;
	}
}

static bool conn_live(const struct pconn *c)
{
	return !c->bad && !c->eof;
}

/* One round of n connections. Returns how many passed. */
static unsigned round_run(const struct opts *o, unsigned *bytes)
{
	static struct pconn cs[CONNS_MAX];
	static struct pollfd pf[CONNS_MAX];
	unsigned n = o->conns, live = n, ok = 0;
	double end = now_s() + ROUND_S, moved;
	size_t moving = 0;

	for (unsigned i = 0; i < n; i++)
		conn_init(&cs[i], i, o->port);
	moved = now_s();
	while (live && now_s() < end && now_s() - moved < STALL_S) {
		size_t sum = 0;

		live = 0;
		for (unsigned i = 0; i < n; i++) {
			pf[i] = (struct pollfd){
				.fd = conn_live(&cs[i]) ? cs[i].fd : -1,
				.events = (short)(POLLIN | (cs[i].sent < cs[i].len ? POLLOUT : 0))
			};
			live += conn_live(&cs[i]);
		}
		poll(pf, n, 50);
		for (unsigned i = 0; i < n; i++)
			if (conn_live(&cs[i])) {
				conn_out(&cs[i]);
				conn_in(&cs[i]);
			}
		for (unsigned i = 0; i < n; i++)
			sum += cs[i].sent + cs[i].got;
		if (sum != moving) {
			moving = sum;
			moved = now_s();
		}
	}
	for (unsigned i = 0; i < n; i++) {
		ok += !cs[i].bad && cs[i].eof;
		*bytes += (unsigned)cs[i].got;
		if (cs[i].fd >= 0)
			close(cs[i].fd);
		free(cs[i].data);
	}
	return ok;
}

static bool log_has(const char *dir, const char *text)
{
	char path[4096], *buf;
	FILE *f;
	long n;
	bool has;

	snprintf(path, sizeof(path), "%s/com2.log", dir);
	if (!(f = fopen(path, "rb")))
		return false;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	has = buf && fread(buf, 1, (size_t)n, f) == (size_t)n && strstr(buf, text);
	free(buf);
	fclose(f);
	return has;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcpprobe --port P [--conns N] [--seed S] [--rounds R] "
			"[--until-event TEXT --dir DIR [--every]] [--max-seconds T]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){
		.conns = 8, .rounds = 1, .seed = 1, .max_s = 300, .dir = getenv("VESTA_BOOT_DIR")
	};
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(a, "--every")) {
			o->every = true;
			i--;
		} else if (i + 1 == argc) {
			usage();
		} else if (!strcmp(a, "--port"))
			o->port = atoi(v);
		else if (!strcmp(a, "--conns"))
			o->conns = (unsigned)atoi(v);
		else if (!strcmp(a, "--seed"))
			o->seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--rounds"))
			o->rounds = (unsigned)atoi(v);
		else if (!strcmp(a, "--until-event"))
			o->until = v;
		else if (!strcmp(a, "--dir"))
			o->dir = v;
		else if (!strcmp(a, "--max-seconds"))
			o->max_s = atof(v);
		else
			usage();
	}
	if (o->port <= 0 || !o->conns || o->conns > CONNS_MAX || (o->until && !o->dir) ||
	    (o->every && !o->until))
		usage();
}

int main(int argc, char **argv)
{
	struct opts o;
	unsigned rounds = 0, passed = 0, ok = 0, bytes = 0;
	bool last = false, seen = false;
	double start = now_s();

	parse(argc, argv, &o);
	rng_state = o.seed * 0x9e3779b97f4a7c15ull + 1;
	while (now_s() - start < o.max_s) {
		seen = seen || (o.until && log_has(o.dir, o.until));
		ok = round_run(&o, &bytes);
		last = ok == o.conns;
		rounds++;
		passed += last;
		if (!o.until && (!last || rounds == o.rounds))
			break;
		if (o.until && ((seen && last) || (o.every && !last)))
			break;
		if (!last)
			usleep(200000);
	}
	printf("tcpprobe: %s rounds=%u passed=%u conns=%u last_ok=%u bytes=%u seconds=%.1f\n",
	       last ? "PASS" : "FAIL", rounds, passed, o.conns, ok, bytes, now_s() - start);
	return last ? 0 : 1;
}
