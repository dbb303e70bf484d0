/*
 * rs_compare: send the same commands to two RESP2 servers (a real
 * redis-server and tools/rs_serve, the kv engine on the host) and compare
 * their replies byte for byte. It is how kv's "a client must not tell the
 * difference" is checked against Redis 7.0 itself rather than against our
 * reading of its documentation.
 *
 *	rs_compare [-v] PORT_REF PORT_TEST FILE...
 *
 * A FILE holds one command a line, written as redis-cli reads them:
 * arguments split by spaces, "double quotes" with \" \\ \n \r \t \xHH
 * escapes (binary arguments), 'single quotes' verbatim, and "" an empty
 * argument. Blank lines and lines starting with # are skipped. A line
 * starting with "~ " sends the rest but compares only the reply's type
 * (its first byte): for what depends on time or chance (TIME, SPOP,
 * RANDOMKEY, INFO). One starting with "% " compares the replies with
 * every array's elements sorted: for what comes in a hash table's order
 * (KEYS, SMEMBERS, a whole SCAN). One starting with "> " sends the rest
 * as it is, with the escapes above (an inline request, a malformed frame:
 * "> *1\r\n$4\r\nping\r\n"); after a protocol error both get a new
 * connection. Both servers get the commands on one connection each,
 * in the same order, so their keyspaces stay the same as long as their
 * replies do.
 *
 * Prints each difference (file:line, the command, both replies escaped)
 * and a summary; exit 0 if every reply matched, 1 if any differed, 2 on a
 * usage or connection error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "respwire.h"

#define MAX_ARGS 4096
#define LINE_MAX_BYTES 65536
#define REPLY_TIMEOUT_MS 5000

/* One server's connection and the reply bytes read from it. */
struct peer {
	int fd;
	int port;
	char buf[1 << 21];
	size_t len;
};

static struct peer ref, test;
static bool verbose;

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "rs_compare: connect to port %d: %s\n", port, strerror(errno));
		exit(2);
	}
	return s;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The escape after a backslash in a double-quoted argument at *p: its
 * byte (and *p moved past it). */
static char unescape(const char **p)
{
	char c = *(*p)++;

	switch (c) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'x':
		if (hexval((*p)[0]) >= 0 && hexval((*p)[1]) >= 0) {
			char v = (char)(hexval((*p)[0]) * 16 + hexval((*p)[1]));

			*p += 2;
			return v;
		}
		return 'x';
	default:
		return c;
	}
}

/* Split line into arguments (redis-cli's rules, as far as the header
 * says) stored one after another in store; argv/lens point there.
 * Returns the count, or -1 for an unclosed quote or too many. */
static int split(const char *p, char *store, char **argv, size_t *lens)
{
	int argc = 0;

	for (;;) {
		char *o = store;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n')
			return argc;
		if (argc == MAX_ARGS)
			return -1;
		argv[argc] = o;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			char q = *p;

			if (q != '"' && q != '\'') {
				*o++ = *p++;
				continue;
			}
			for (p++; *p != q;) {
				if (*p == '\0' || *p == '\n')
					return -1;
				if (q == '"' && *p == '\\') {
					if (*++p == '\0')
						return -1;
					*o++ = unescape(&p);
				} else {
					*o++ = *p++;
				}
			}
			p++;
		}
		lens[argc] = (size_t)(o - argv[argc]);
		argc++;
		store = o;
	}
}

static void reconnect(struct peer *s)
{
	close(s->fd);
	s->fd = connect_to(s->port);
	s->len = 0;
}

/* A "> " line's bytes, verbatim but for the escapes of a double-quoted
 * argument (\r\n ends a request: the line's own newline is not sent). */
static size_t unraw(const char *p, char *out)
{
	size_t n = 0;

	while (*p && *p != '\n') {
		if (*p == '\\' && p[1]) {
			p++;
			out[n++] = unescape(&p);
		} else {
			out[n++] = *p++;
		}
	}
	return n;
}

/* Encode argv as a multibulk request into out; its length, or 0. */
static size_t encode(char *out, size_t cap, int argc, char **argv, const size_t *lens)
{
	size_t n = (size_t)snprintf(out, cap, "*%d\r\n", argc);

	for (int i = 0; i < argc && n < cap; i++) {
		n += (size_t)snprintf(out + n, cap - n, "$%zu\r\n", lens[i]);
		if (n + lens[i] + 2 > cap)
			return 0;
		memcpy(out + n, argv[i], lens[i]);
		memcpy(out + n + lens[i], "\r\n", 2);
		n += lens[i] + 2;
	}
	return n < cap ? n : 0;
}

static void send_all(struct peer *s, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);

		if (w <= 0) {
			fprintf(stderr, "rs_compare: write to port %d: %s\n", s->port,
				strerror(errno));
			exit(2);
		}
		p += w;
		n -= (size_t)w;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The reply at p (whole, len bytes) with every array's elements sorted,
 * as a NUL-terminated string (malloc'd). Bulks with NUL bytes compare as
 * far as their first NUL: good enough for listing keys. */
static char *canon(const char *p, long len)
{
	long hdr = (const char *)memchr(p, '\n', (size_t)len) - p + 1, off = hdr;
	long long k = atoll(p + 1);
	char **el, *out;
	size_t total = (size_t)hdr + 1;

	if (p[0] != '*' || k <= 0) {
		out = malloc((size_t)len + 1);
		memcpy(out, p, (size_t)len);
		out[len] = '\0';
		return out;
	}
	el = calloc((size_t)k, sizeof(*el));
	for (long long i = 0; i < k; i++) {
		long w = resp_whole(p + off, (size_t)(len - off));

		el[i] = canon(p + off, w);
		total += strlen(el[i]);
		off += w;
	}
	qsort(el, (size_t)k, sizeof(*el), cmp_str);
	out = malloc(total);
	memcpy(out, p, (size_t)hdr);
	out[hdr] = '\0';
	for (long long i = 0; i < k; i++) {
		strcat(out, el[i]);
		free(el[i]);
	}
	free(el);
	return out;
}

/* Read until s->buf holds one whole reply; its length, or -1 if none came
 * in time, the connection closed, or what came is not RESP2. */
static long read_reply(struct peer *s)
{
	for (;;) {
		long w = resp_whole(s->buf, s->len);
		struct pollfd pf = { .fd = s->fd, .events = POLLIN };
		ssize_t n;

		if (w != 0)
			return w;
		if (poll(&pf, 1, REPLY_TIMEOUT_MS) <= 0)
			return -1;
		n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
		if (n <= 0)
			return -1;
		s->len += (size_t)n;
	}
}

static void consume(struct peer *s, long n)
{
	if (n <= 0) {
		s->len = 0;
		return;
	}
	memmove(s->buf, s->buf + n, s->len - (size_t)n);
	s->len -= (size_t)n;
}

/* Drop s's reply (n bytes, or -1 for none). A server closes after QUIT
 * and a protocol error; one that did not answer may be waiting for more
 * of a frame: either way the next command goes on a new connection. */
static void after_reply(struct peer *s, long n, bool quit)
{
	bool closed = quit || n < 0 || strncmp(s->buf, "-ERR Protocol error", 19) == 0;

	consume(s, n);
	if (closed)
		reconnect(s);
}

/* Print p[0..n) with control and non-ASCII bytes escaped. */
static void show(const char *what, const char *p, long n)
{
	printf("  %s: ", what);
	if (n < 0) {
		printf("(no reply)\n");
		return;
	}
	for (long i = 0; i < n && i < 600; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			printf("\\r");
		else if (c == '\n')
			printf("\\n");
		else if (c < 32 || c >= 127 || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf(n > 600 ? "...\n" : "\n");
}

/* Run one line; true if the replies agree. */
static bool compare_line(const char *file, int lineno, const char *line)
{
	static char store[LINE_MAX_BYTES], req[LINE_MAX_BYTES * 2];
	char *argv[MAX_ARGS];
	size_t lens[MAX_ARGS], n;
	bool type_only = strncmp(line, "~ ", 2) == 0, sorted = strncmp(line, "% ", 2) == 0;
	bool raw = strncmp(line, "> ", 2) == 0;
	int argc = raw ? 0 : split(type_only || sorted ? line + 2 : line, store, argv, lens);
	long a, b;
	bool same, quit;

	if (raw) {
		n = unraw(line + 2, req);
	} else if (argc <= 0 || (n = encode(req, sizeof(req), argc, argv, lens)) == 0) {
		fprintf(stderr, "rs_compare: %s:%d: cannot read this line\n", file, lineno);
		exit(2);
	}
	send_all(&ref, req, n);
	send_all(&test, req, n);
	a = read_reply(&ref);
	b = read_reply(&test);
	if (type_only) {
		same = a > 0 && b > 0 && ref.buf[0] == test.buf[0];
	} else if (sorted && a > 0 && b > 0) {
		char *x = canon(ref.buf, a), *y = canon(test.buf, b);

		same = strcmp(x, y) == 0;
		free(x);
		free(y);
	} else {
		same = a > 0 && a == b && memcmp(ref.buf, test.buf, (size_t)a) == 0;
	}
	same |= a < 0 && b < 0; /* neither answered (a frame not yet whole) */
	if (!same || verbose) {
		printf("%s %s:%d: %s", same ? "same" : "DIFF", file, lineno, line);
		show("redis", ref.buf, a);
		show("kv   ", test.buf, b);
	}
	quit = !raw && lens[0] == 4 && strncasecmp(argv[0], "quit", 4) == 0;
	after_reply(&ref, a, quit);
	after_reply(&test, b, quit);
	return same;
}

int main(int argc, char **argv)
{
	static char line[LINE_MAX_BYTES];
	int first = 1, total = 0, diffs = 0;

	if (argc > 1 && strcmp(argv[1], "-v") == 0)
		verbose = true, first++;
	if (argc - first < 3) {
		fprintf(stderr, "usage: rs_compare [-v] PORT_REF PORT_TEST FILE...\n");
		return 2;
	}
	ref.port = atoi(argv[first]);
	test.port = atoi(argv[first + 1]);
	signal(SIGPIPE, SIG_IGN); /* a closed connection is an error to report */
	ref.fd = connect_to(ref.port);
	test.fd = connect_to(test.port);
	for (int f = first + 2; f < argc; f++) {
		FILE *in = fopen(argv[f], "r");
		int lineno = 0;

		if (!in) {
			fprintf(stderr, "rs_compare: %s: %s\n", argv[f], strerror(errno));
			return 2;
		}
		while (fgets(line, sizeof(line), in)) {
			lineno++;
			if (line[strspn(line, " \t\n")] == '\0' || line[0] == '#')
				continue;
			total++;
			diffs += !compare_line(argv[f], lineno, line);
		}
		fclose(in);
	}
	printf("rs_compare: %d commands, %d replies differ\n", total, diffs);
	return diffs ? 1 : 0;
}
