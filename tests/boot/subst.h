/*
 * What a boot's words may stand for: "{dir}" (the boot's output folder),
 * "{port}" and "{port2}" (TCP ports on 127.0.0.1 reserved for this boot, e.g.
 * for QEMU's `hostfwd=tcp:127.0.0.1:{port}-:6379`). The runner expands them in
 * `qemu-args` words and in the `host` command.
 *
 * A port is reserved by binding a socket to 127.0.0.1 port 0 with
 * SO_REUSEADDR and keeping it bound (never listening) for the boot's life:
 * the kernel hands the port to no other bind(0) or outgoing connection
 * meanwhile, in this runner or any other process, yet QEMU (whose slirp
 * listener also sets SO_REUSEADDR) can still bind and listen on it. That
 * closes the race that "bind to 0, read the port, close" leaves between
 * parallel boots.
 */
#ifndef VESTA_BOOT_SUBST_H
#define VESTA_BOOT_SUBST_H

/* The values; a port of 0 leaves its placeholder as written. */
struct subst {
	const char *dir; /* NULL: "{dir}" stays */
	int port, port2;
};

/*
 * A new string: in with every "{dir}", "{port}" and "{port2}" replaced.
 * Any other brace is kept, so JSON in a host command passes unharmed.
 */
char *subst_expand(const char *in, const struct subst *s);

/* A reserved port: the bound socket and its number. */
struct subst_port {
	int fd; /* -1: none held */
	int port;
};

/*
 * Reserve a free TCP port on 127.0.0.1 (see above). 0, or -1 with errno
 * set (p->fd is then -1).
 */
int subst_port_reserve(struct subst_port *p);

/* Let the port go (closing the socket); safe on one never reserved. */
void subst_port_release(struct subst_port *p);

#endif
