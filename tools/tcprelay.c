/*
 * tcprelay: a host-side TCP relay for the Redis boot tests. QEMU's user
 * networking listens on a forwarded host port with a backlog of 1, so a
 * client that opens many connections at once (redis-benchmark opens all
 * of its clients at the start of every test) has most of its SYNs dropped
 * by the host's kernel and waits out SYN retransmissions: 1, 3, 7, 15 s...
 * The relay listens with a real backlog and opens the connections to QEMU
 * one at a time (the next once the last is established), then copies
 * bytes both ways. It changes nothing in the streams: a reset on one side
 * is a reset on the other, an EOF is passed on as a half close.
 *
 *   tcprelay LISTEN_PORT TARGET_PORT     (both on 127.0.0.1)
 *
 * LISTEN_PORT 0 takes a free port. Once it listens it prints
 * "listening N" (N: its port) on a line of its own.
 *
 * It runs until killed. Exit status 2 for bad arguments or a port it
 * cannot listen on.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 256
#define BUF 65536

/* One direction of a pair: bytes read from `from` waiting to go to `to`. */
struct pipe {
	char buf[BUF];
	size_t len;
	int eof; /* from said EOF; passed on once len is 0 */
};

struct pair {
	int client, server; /* -1: unused / not yet */
	int connecting;	    /* server's connect is in progress */
	struct pipe up, down;
};

static struct pair pairs[MAX_PAIRS];
static int target_port;

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void pair_close(struct pair *p, int reset)
{
	struct linger l = { 1, 0 };

	if (reset) { /* pass a reset on as a reset */
		if (p->client >= 0)
			setsockopt(p->client, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		if (p->server >= 0)
			setsockopt(p->server, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	if (p->client >= 0)
		close(p->client);
	if (p->server >= 0)
		close(p->server);
	memset(p, 0, sizeof(*p));
	p->client = p->server = -1;
}

/* Is some pair's connect to QEMU still in progress? Only one at a time. */
static int connecting(void)
{
	for (int i = 0; i < MAX_PAIRS; i++)
		if (pairs[i].client >= 0 && pairs[i].connecting)
			return 1;
	return 0;
}

/* Start the connect of the first pair waiting for one. */
static void connect_next(void)
{
	for (int i = 0; i < MAX_PAIRS; i++) {
		struct pair *p = &pairs[i];
		struct sockaddr_in a = loopback(target_port);

		if (p->client < 0 || p->server >= 0)
			continue;
		if ((p->server = tcp_socket()) < 0) {
			pair_close(p, 1);
			continue;
		}
		if (connect(p->server, (struct sockaddr *)&a, sizeof(a)) == 0)
			return;
		if (errno != EINPROGRESS) {
			pair_close(p, 1);
			continue;
		}
		p->connecting = 1;
		return;
	}
}

/* Move bytes from fd into pi. Returns -1 on a reset or error. */
static int fill(int fd, struct pipe *pi)
{
	ssize_t n;

	if (pi->eof || pi->len == BUF)
		return 0;
	n = read(fd, pi->buf + pi->len, BUF - pi->len);
	if (n > 0)
		pi->len += (size_t)n;
	else if (n == 0)
		pi->eof = 1;
	else if (errno != EAGAIN && errno != EINTR)
		return -1;
	return 0;
}

/* Move bytes from pi to fd; pass an EOF on. Returns -1 on error. */
static int drain(int fd, struct pipe *pi)
{
	if (pi->len) {
		ssize_t n = write(fd, pi->buf, pi->len);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		memmove(pi->buf, pi->buf + n, pi->len - (size_t)n);
		pi->len -= (size_t)n;
	}
	if (!pi->len && pi->eof == 1) {
		shutdown(fd, SHUT_WR);
		pi->eof = 2;
	}
	return 0;
}

static void step(struct pair *p, const struct pollfd *c, const struct pollfd *s)
{
	int bad = 0;

	if (p->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (!(s->revents & (POLLOUT | POLLERR | POLLHUP)))
			return;
		getsockopt(p->server, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			pair_close(p, 1);
			return;
		}
		p->connecting = 0;
	}
	if (c->revents & (POLLIN | POLLHUP | POLLERR))
		bad |= fill(p->client, &p->up);
	if (s->revents & (POLLIN | POLLHUP | POLLERR))
		bad |= fill(p->server, &p->down);
	bad |= drain(p->server, &p->up);
	bad |= drain(p->client, &p->down);
	if (bad || (p->up.eof == 2 && p->down.eof == 2))
		pair_close(p, bad);
}

static void take(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int one = 1;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int i = 0; i < MAX_PAIRS; i++)
		if (pairs[i].client < 0) {
			pairs[i].client = fd;
			return;
		}
	close(fd); /* full */
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	int one = 1, lfd;

	socklen_t alen = sizeof(a);

	if (argc != 3 || (a = loopback(atoi(argv[1])), target_port = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: tcprelay LISTEN_PORT TARGET_PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = tcp_socket();
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 128)) {
		perror("tcprelay: listen");
		return 2;
	}
	getsockname(lfd, (struct sockaddr *)&a, &alen);
	printf("listening %d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (int i = 0; i < MAX_PAIRS; i++)
		pairs[i].client = pairs[i].server = -1;
	for (;;) {
		struct pollfd fds[1 + 2 * MAX_PAIRS] = { { .fd = lfd, .events = POLLIN } };

		if (!connecting())
			connect_next();
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = &pairs[i];
			short up = p->up.len < BUF && !p->up.eof ? POLLIN : 0;
			short down = p->down.len < BUF && !p->down.eof ? POLLIN : 0;

			fds[1 + 2 * i] =
			    (struct pollfd){ .fd = p->server >= 0 ? p->client : -1,
					     .events = (short)(up | (p->down.len ? POLLOUT : 0)) };
			fds[2 + 2 * i] = (struct pollfd){
				.fd = p->server,
				.events = (short)(p->connecting ? POLLOUT
								: down | (p->up.len ? POLLOUT : 0))
			};
		}
		if (poll(fds, 1 + 2 * MAX_PAIRS, 1000) < 0 && errno != EINTR)
			return 1;
		if (fds[0].revents & POLLIN)
			take(lfd);
		for (int i = 0; i < MAX_PAIRS; i++)
			if (pairs[i].server >= 0)
				step(&pairs[i], &fds[1 + 2 * i], &fds[2 + 2 * i]);
	}
}
