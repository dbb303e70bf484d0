/*
 * The memory and string functions of lib/string.h.
 *
 * memcpy, memmove and memset move whole 64-bit words (on x86-64 at any
 * alignment, elsewhere when source and destination share it), because the
 * kernel copies message bodies of a few KiB and zeroes and loads whole
 * pages, and
 * -mgeneral-regs-only rules out the vector instructions a compiler would
 * otherwise use. On x86-64 the forward word runs are one rep movsq or rep
 * stosq (a process's start zeroes and copies tens of pages). Everything else
 * is a plain byte loop.
 *
 * The compiler may turn a loop into a call to memcpy or memset. GCC and
 * Clang never do so inside the function of that very name, and the word
 * loops below stay inside the named functions so no helper can end up
 * calling its own caller.
 */
#include <stdbool.h>
#include <stdint.h>

#include "string.h"

/*
 * A word that may alias any other type, so the word loops do not break
 * strict aliasing on buffers that were written as bytes or structs, and
 * that may sit at any address (same_alignment).
 */
typedef uint64_t __attribute__((may_alias, aligned(1))) kstr_word;

#define WORD sizeof(kstr_word)

/* Whether words can be moved between a and b: on x86-64 at any alignment
 * (the CPU loads and stores a word anywhere, and rep movsq is one
 * instruction per word either way), elsewhere when they share it. */
static bool same_alignment(const void *a, const void *b)
{
#if defined(__x86_64__)
	(void)a, (void)b;
	return true;
#else
	return ((uintptr_t)a ^ (uintptr_t)b) % WORD == 0;
#endif
}

/* Copy n / WORD words forward from *s to *d (same_alignment), and move
 * both and n past them. */
static void copy_words(unsigned char **d, const unsigned char **s, size_t *n)
{
	size_t words = *n / WORD;
#if defined(__x86_64__)
	__asm__ volatile("rep movsq" : "+D"(*d), "+S"(*s), "+c"(words) : : "memory");
#else
	for (; words; words--, *d += WORD, *s += WORD)
		*(kstr_word *)*d = *(const kstr_word *)*s;
#endif
	*n %= WORD;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (same_alignment(d, s)) {
		for (; n > 0 && (uintptr_t)d % WORD != 0; n--)
			*d++ = *s++;
		copy_words(&d, &s, &n);
	}
	for (; n > 0; n--)
		*d++ = *s++;
	return dst;
}

/*
 * Copying forward is safe unless dst starts inside [src, src + n); then
 * copy backward. A word is always read whole before any part of it is
 * overwritten, so the word loops are safe on overlap too.
 */
void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if ((uintptr_t)d - (uintptr_t)s >= n) {
		if (same_alignment(d, s)) {
			for (; n > 0 && (uintptr_t)d % WORD != 0; n--)
				*d++ = *s++;
			copy_words(&d, &s, &n); /* forward: safe, d is not inside s */
		}
		for (; n > 0; n--)
			*d++ = *s++;
		return dst;
	}

	d += n;
	s += n;
	if (same_alignment(d, s)) {
		for (; n > 0 && (uintptr_t)d % WORD != 0; n--)
			*--d = *--s;
		for (; n >= WORD; n -= WORD) {
			d -= WORD;
			s -= WORD;
			*(kstr_word *)d = *(const kstr_word *)s;
		}
	}
	for (; n > 0; n--)
		*--d = *--s;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	unsigned char byte = (unsigned char)c;
	kstr_word pattern = 0x0101010101010101ull * byte;

	for (; n > 0 && (uintptr_t)d % WORD != 0; n--)
		*d++ = byte;
#if defined(__x86_64__)
	size_t words = n / WORD;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
	n %= WORD;
#else
	for (; n >= WORD; n -= WORD, d += WORD)
		*(kstr_word *)d = pattern;
#endif
	for (; n > 0; n--)
		*d++ = byte;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a;
	const unsigned char *q = b;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	while (*p != '\0' && *p == *q) {
		p++;
		q++;
	}
	return *p == *q ? 0 : (*p < *q ? -1 : 1);
}

int strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
		if (p[i] == '\0')
			return 0;
	}
	return 0;
}

size_t strlcpy(char *restrict dst, const char *restrict src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/* The standard signature hands back a non-const pointer into s. */
void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

char *strchr(const char *s, int c)
{
	char ch = (char)c;

	for (;; s++) {
		if (*s == ch)
			return (char *)s;
		if (*s == '\0')
			return NULL;
	}
}
