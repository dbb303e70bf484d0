/*
 * Small helpers every part of the boot-test runner uses: allocation that
 * cannot fail (on failure it runs the registered cleanup, which stops every
 * QEMU, and exits), paths, the clock, and failure messages that truncate
 * instead of overflowing. Guest text is cleaned of terminal escapes before
 * it is shown.
 */
#ifndef VESTA_BOOT_UTIL_H
#define VESTA_BOOT_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest failure message. */
#define MSG_MAX 1024

/* A failure message under construction; it truncates, never overflows. */
struct msg {
	char s[MSG_MAX];
	size_t len;
};

/* Append printf-style text to m; what does not fit is dropped. */
void msg_add(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append guest text to m: cleaned (util_clean_text) and cut short if long. */
void msg_add_raw(struct msg *m, const char *raw);

/*
 * Run cleanup (once, then exit 1) when an allocation fails. The runner
 * registers the function that stops every QEMU it started.
 */
void util_on_fatal(void (*cleanup)(void));

/* realloc that never returns NULL: it reports, cleans up and exits. */
void *util_realloc(void *p, size_t size);

/* strdup with util_realloc's contract. */
char *util_strdup(const char *s);

/* Make room for one more element in a growable array of n elements. */
void *util_grow(void *arr, size_t n, size_t *cap, size_t elem);

/* A blank in a line of text: space, tab, CR or LF. */
bool util_is_blank(char ch);

/* A new string "DIR/NAME". */
char *util_path_join(const char *dir, const char *name);

/* Seconds on the monotonic clock. */
double util_now(void);

/* Sleep one poll interval (50 ms); a signal may cut it short. */
void util_nap(void);

/* Sleep until util_now() reaches t (not at all if it has); a signal may cut it short. */
void util_sleep_until(double t);

/*
 * Copy guest text so that it is safe on a terminal: escape sequences
 * (ESC [ ... final byte) and other control bytes are dropped; newlines are
 * kept only with keep_nl. out gets at most n + 1 bytes, NUL included.
 */
void util_clean_text(const char *in, size_t n, char *out, bool keep_nl);

#endif
