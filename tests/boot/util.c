/*
 * Helpers shared by the boot-test runner's parts: allocation that exits
 * (after stopping every QEMU) instead of failing, paths, the clock, and
 * bounded failure messages. See util.h for the contracts.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Read com2.log every 50 ms: fast enough for `until`, cheap enough for
   many parallel boots. */
#define POLL_NS 50000000L

/* How much of an event a message quotes. */
#define RAW_SHOWN 200

static void (*fatal_cleanup)(void); /* set once by main */

void util_on_fatal(void (*cleanup)(void))
{
	fatal_cleanup = cleanup;
}

/* Out of memory and the like: stop every QEMU, then give up. */
static void fatal(const char *what)
{
	fprintf(stderr, "runner: %s: %s\n", what, strerror(errno));
	if (fatal_cleanup)
		fatal_cleanup();
	exit(1);
}

void *util_realloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		fatal("out of memory");
	return p;
}

char *util_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(util_realloc(NULL, n), s, n);
}

void *util_grow(void *arr, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 8;
	return util_realloc(arr, *cap * elem);
}

bool util_is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

char *util_path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = util_realloc(NULL, a + b + 2);

	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

double util_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void util_nap(void)
{
	struct timespec ts = { 0, POLL_NS };

	nanosleep(&ts, NULL); /* a signal may cut it short; that is fine */
}

void util_sleep_until(double t)
{
	double d = t - util_now();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

void msg_add(struct msg *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->len >= sizeof(m->s) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(m->s + m->len, sizeof(m->s) - m->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->len += (size_t)n;
	if (m->len > sizeof(m->s) - 1)
		m->len = sizeof(m->s) - 1;
}

/* Firmware and GRUB fill the serial logs with escape sequences. */
void util_clean_text(const char *in, size_t n, char *out, bool keep_nl)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch == 0x1b && i + 1 < n && in[i + 1] == '[') {
			for (i += 2; i < n && (in[i] < 0x40 || in[i] > 0x7e); i++)
				;
		} else if (ch == 0x1b) {
			i++;
		} else if (ch >= 0x20 && ch != 0x7f) {
			*out++ = (char)ch;
		} else if (ch == '\t' || (ch == '\n' && keep_nl)) {
			*out++ = (char)ch;
		}
	}
	*out = '\0';
}

void msg_add_raw(struct msg *m, const char *raw)
{
	size_t n = strlen(raw);
	char *c = util_realloc(NULL, n + 1);

	util_clean_text(raw, n, c, false);
	if (strlen(c) > RAW_SHOWN)
		strcpy(c + RAW_SHOWN, "...");
	msg_add(m, "%s", c);
	free(c);
}
