/*
 * Placeholders in a boot's words ({dir}, {port}, {port2}) and the
 * reservation of the ports they stand for. See subst.h for the contracts.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "subst.h"
#include "util.h"

/* Room for in: every placeholder grows by at most its value's length. */
static size_t expanded_max(const char *in, const struct subst *s)
{
	size_t dl = s->dir ? strlen(s->dir) : 0;

	return strlen(in) * (dl > 8 ? dl : 8) + 1;
}

/* The value placeholder at p stands for, into val; its length, or 0. */
static size_t placeholder(const char *p, const struct subst *s, char *val, size_t cap)
{
	if (strncmp(p, "{dir}", 5) == 0 && s->dir) {
		snprintf(val, cap, "%s", s->dir);
		return 5;
	}
	if (strncmp(p, "{port}", 6) == 0 && s->port > 0) {
		snprintf(val, cap, "%d", s->port);
		return 6;
	}
	if (strncmp(p, "{port2}", 7) == 0 && s->port2 > 0) {
		snprintf(val, cap, "%d", s->port2);
		return 7;
	}
	return 0;
}

char *subst_expand(const char *in, const struct subst *s)
{
	size_t cap = expanded_max(in, s), n = 0;
	char *out = util_realloc(NULL, cap);
	char val[4096];

	for (const char *p = in; *p;) {
		size_t used = *p == '{' ? placeholder(p, s, val, sizeof(val)) : 0;

		if (!used) {
			out[n++] = *p++;
			continue;
		}
		memcpy(out + n, val, strlen(val));
		n += strlen(val);
		p += used;
	}
	out[n] = 0;
	return out;
}

int subst_port_reserve(struct subst_port *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int one = 1, e;

	p->port = 0;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    bind(p->fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(p->fd, (struct sockaddr *)&a, &len) == 0) {
		p->port = ntohs(a.sin_port);
		return 0;
	}
	e = errno;
	close(p->fd);
	p->fd = -1;
	errno = e;
	return -1;
}

void subst_port_release(struct subst_port *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}
