/*
 * COM1 over QEMU's unix-socket chardev: connecting to it, logging what
 * the guest writes, and typing into it at a steady pace. See com1.h.
 *
 * The socket is non-blocking throughout: a guest that does not read its
 * input (a dead driver) must not stall the runner, which polls many guests
 * from one loop. Bytes the socket cannot take yet stay queued here.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "com1.h"
#include "util.h"

#define NEVER 1e300

int com1_init(struct com1 *c, const char *dir, struct msg *m)
{
	struct sockaddr_un sa;
	char *log = util_path_join(dir, "com1.log");

	c->fd = -1;
	c->log_fd = -1;
	c->sock_path = util_path_join(dir, "com1.sock");
	c->log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	free(log);
	if (c->log_fd < 0) {
		msg_add(m, "output folder %s: %s", dir, strerror(errno));
		return -1;
	}
	if (strlen(c->sock_path) >= sizeof(sa.sun_path)) {
		msg_add(m,
			"COM1 socket path %s is longer than a unix socket "
			"allows (%zu bytes): use a shorter --out",
			c->sock_path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	/* A socket left by an earlier run would refuse us until QEMU's is up. */
	if (unlink(c->sock_path) && errno != ENOENT) {
		msg_add(m, "%s: %s", c->sock_path, strerror(errno));
		return -1;
	}
	return 0;
}

char *com1_qemu_path(const struct com1 *c)
{
	size_t n = strlen(c->sock_path);
	char *out = util_realloc(NULL, 2 * n + 1), *o = out;

	for (const char *p = c->sock_path; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

/* Try once to connect; the socket may not exist yet. */
static void try_connect(struct com1 *c)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		c->last_errno = errno;
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, c->sock_path); /* length checked in com1_init */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		c->fd = fd;
		c->connected = true;
		return;
	}
	c->last_errno = errno;
	close(fd);
}

/* The connection is over (EOF or an error): typing stops. */
static void hang_up(struct com1 *c)
{
	for (size_t i = 0; i < c->nq; i++) {
		c->dropped += c->q[i].len - c->q[i].pos;
		free(c->q[i].bytes);
	}
	c->nq = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Copy what the guest wrote into com1.log, until the socket is empty. */
static void read_output(struct com1 *c)
{
	char buf[65536];
	ssize_t n;

	while (c->fd >= 0) {
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			hang_up(c);
			return;
		}
		if (c->log_fd >= 0 && write(c->log_fd, buf, (size_t)n) != n) {
			close(c->log_fd); /* a full disk: keep going without */
			c->log_fd = -1;
		}
	}
}

/* Drop the first queued text, which has been typed in full. */
static void pop_text(struct com1 *c)
{
	free(c->q[0].bytes);
	memmove(c->q, c->q + 1, (c->nq - 1) * sizeof(*c->q));
	c->nq--;
}

/* Type what is due at now: a byte per step, or all of an unpaced text. */
static void write_input(struct com1 *c, double now)
{
	while (c->fd >= 0 && c->nq > 0 && now >= c->next_at) {
		struct com1_text *t = &c->q[0];
		size_t want = t->every_s > 0 ? 1 : t->len - t->pos;
		ssize_t n = send(c->fd, t->bytes + t->pos, want, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* the guest is not reading; try again later */
		if (n < 0) {
			hang_up(c);
			return;
		}
		t->pos += (size_t)n;
		if (t->every_s > 0)
			c->next_at = now + t->every_s;
		if (t->pos == t->len)
			pop_text(c);
	}
}

bool com1_poll(struct com1 *c, double now)
{
	if (!c->connected)
		try_connect(c);
	read_output(c);
	write_input(c, now);
	return c->connected;
}

void com1_type(struct com1 *c, const char *bytes, size_t len, double every_s, double now)
{
	struct com1_text *t;

	if (len == 0)
		return;
	if (c->nq == 0 && c->next_at < now)
		c->next_at = now;
	c->q = util_grow(c->q, c->nq, &c->capq, sizeof(*c->q));
	t = &c->q[c->nq++];
	t->bytes = util_realloc(NULL, len);
	memcpy(t->bytes, bytes, len);
	t->len = len;
	t->pos = 0;
	t->every_s = every_s;
}

double com1_next_due(const struct com1 *c)
{
	return c->fd >= 0 && c->nq > 0 ? c->next_at : NEVER;
}

void com1_finish(struct com1 *c)
{
	read_output(c); /* QEMU is gone: this reads to EOF */
	hang_up(c);
	if (c->log_fd >= 0)
		close(c->log_fd);
	c->log_fd = -1;
}

void com1_free(struct com1 *c)
{
	if (!c->sock_path)
		return; /* never initialised: fd and log_fd are not ours */
	hang_up(c);
	if (c->log_fd >= 0)
		close(c->log_fd);
	c->log_fd = -1;
	free(c->q);
	c->q = NULL;
	c->capq = 0;
	if (c->sock_path)
		unlink(c->sock_path);
	free(c->sock_path);
	c->sock_path = NULL;
}
