/*
 * Unit tests for tests/boot/subst.c: the {dir}/{port}/{port2} placeholders
 * of qemu-args and host commands, and the port reservation that keeps
 * parallel boots from sharing a port while QEMU can still listen on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "subst.h"

static void expect_expand(const char *in, const struct subst *s, const char *want)
{
	char *got = subst_expand(in, s);

	assert_string_equal(got, want);
	free(got);
}

static void test_placeholders(void **state)
{
	struct subst s = { .dir = "build/boot/redis-bios", .port = 40001, .port2 = 40002 };

	(void)state;
	expect_expand("hostfwd=tcp:127.0.0.1:{port}-:6379", &s,
		      "hostfwd=tcp:127.0.0.1:40001-:6379");
	expect_expand("{port2}{port}{dir}/x", &s, "4000240001build/boot/redis-bios/x");
	expect_expand("path={dir}/a,path={dir}/b", &s,
		      "path=build/boot/redis-bios/a,path=build/boot/redis-bios/b");
	expect_expand("", &s, "");
	expect_expand("no placeholders", &s, "no placeholders");
}

/* JSON and shell braces pass through; so do near misses. */
static void test_other_braces_kept(void **state)
{
	struct subst s = { .dir = "d", .port = 7, .port2 = 8 };

	(void)state;
	expect_expand("'\"ev\":\"nickeeper\"' {\"a\":1}", &s, "'\"ev\":\"nickeeper\"' {\"a\":1}");
	expect_expand("{port3} {Port} {dir {port", &s, "{port3} {Port} {dir {port");
	expect_expand("${x} {} {{port}}", &s, "${x} {} {7}");
}

/* A value that is not there leaves its placeholder as written. */
static void test_unset_values(void **state)
{
	struct subst s = { .dir = NULL, .port = 0, .port2 = 0 };

	(void)state;
	expect_expand("{dir}:{port}:{port2}", &s, "{dir}:{port}:{port2}");
}

/* A long folder repeated many times fits (no fixed buffer). */
static void test_long_expansion(void **state)
{
	char dir[3000], in[64], *got;
	struct subst s = { .dir = dir };

	(void)state;
	memset(dir, 'x', sizeof(dir) - 1);
	dir[sizeof(dir) - 1] = 0;
	strcpy(in, "{dir}{dir}{dir}{dir}{dir}");
	got = subst_expand(in, &s);
	assert_int_equal(strlen(got), 5 * strlen(dir));
	free(got);
}

/* Bind a socket to 127.0.0.1:port, with or without SO_REUSEADDR. */
static int bind_port(int port, int reuse, int do_listen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, r;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (r == 0 && do_listen)
		r = listen(fd, 1);
	close(fd);
	return r;
}

/* Held: no plain bind gets it; a SO_REUSEADDR listener (QEMU's slirp) does. */
static void test_reserve_holds(void **state)
{
	struct subst_port a, b;

	(void)state;
	assert_int_equal(subst_port_reserve(&a), 0);
	assert_int_equal(subst_port_reserve(&b), 0);
	assert_true(a.port > 0 && b.port > 0 && a.port != b.port);
	assert_true(a.fd >= 0);
	assert_int_equal(bind_port(a.port, 0, 0), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(bind_port(a.port, 1, 1), 0);
	subst_port_release(&a);
	assert_int_equal(a.fd, -1);
	subst_port_release(&a); /* twice is harmless */
	assert_int_equal(bind_port(a.port, 0, 1), 0);
	subst_port_release(&b);
}

/* Many reservations at once never share a port. */
static void test_reserve_distinct(void **state)
{
	struct subst_port p[64];

	(void)state;
	for (int i = 0; i < 64; i++) {
		assert_int_equal(subst_port_reserve(&p[i]), 0);
		for (int k = 0; k < i; k++)
			assert_int_not_equal(p[i].port, p[k].port);
	}
	for (int i = 0; i < 64; i++)
		subst_port_release(&p[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),  cmocka_unit_test(test_other_braces_kept),
		cmocka_unit_test(test_unset_values),  cmocka_unit_test(test_long_expansion),
		cmocka_unit_test(test_reserve_holds), cmocka_unit_test(test_reserve_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
