/*
 * kv's Redis engine (svc/kv's resp.c, cmd*.c, db.c, ...) served over TCP on
 * the host, so real clients -- redis-cli, redis-benchmark, client
 * libraries -- and a byte-for-byte comparison with a real redis-server can
 * be run against the same code the guest runs. One thread, poll().
 *
 *	make build/tools/rs_serve && build/tools/rs_serve 16380
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "resp.h"

#define MAX_CONN 256

static struct rs_engine eng;
static struct pollfd fds[MAX_CONN + 1];
static struct rs_client *cls[MAX_CONN + 1];
static int nfds;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 64) < 0) {
		perror("rs_serve: listen");
		exit(1);
	}
	return s;
}

static void drop(int i)
{
	close(fds[i].fd);
	rs_client_free(&eng, cls[i]);
	fds[i] = fds[nfds - 1];
	cls[i] = cls[nfds - 1];
	nfds--;
}

static void accept_one(void)
{
	int fd = accept(fds[0].fd, NULL, NULL);
	struct rs_client *c;

	if (fd < 0)
		return;
	eng.now_ms = now_ms();
	c = nfds <= MAX_CONN ? rs_client_new(&eng) : NULL;
	if (c == NULL) {
		static const char err[] = "-ERR max number of clients reached\r\n";

		if (write(fd, err, sizeof(err) - 1) < 0)
			perror("rs_serve: write");
		close(fd);
		return;
	}
	fds[nfds] = (struct pollfd){ .fd = fd, .events = POLLIN };
	cls[nfds++] = c;
}

/* Read what came, run it, send what there is; false once the connection
 * is over. */
static bool serve(int i)
{
	static uint8_t buf[1 << 16];
	struct rs_client *c = cls[i];
	ssize_t n = 0;

	if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
		n = read(fds[i].fd, buf, sizeof(buf));
		if (n <= 0)
			return false;
		eng.now_ms = now_ms();
		rs_feed(&eng, c, buf, (size_t)n);
	}
	while (c->out_len > 0 && !c->out_overflow) {
		ssize_t w = write(fds[i].fd, c->out, c->out_len);

		if (w <= 0)
			return false;
		rs_sent(c, (size_t)w);
	}
	return !c->close_after_reply;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 16380;

	if (rs_engine_init(&eng, now_ms(), (uint64_t)now_ms()) != 0)
		return 1;
	fds[0] = (struct pollfd){ .fd = listen_on(port), .events = POLLIN };
	nfds = 1;
	for (;;) {
		if (poll(fds, (nfds_t)nfds, 100) < 0)
			continue;
		eng.now_ms = now_ms();
		rs_active_expire(&eng, 20);
		if (fds[0].revents & POLLIN)
			accept_one();
		for (int i = nfds - 1; i >= 1; i--)
			if (fds[i].revents && !serve(i))
				drop(i);
	}
}
