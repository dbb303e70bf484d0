/*
 * The memory and string functions of the C library, for code that links no
 * libc: the kernel and the user programs (svc/lib).
 *
 * Names, prototypes and semantics are the standard ones (strnlen and strlcpy
 * as in POSIX and the BSDs), so the compiler's own calls to memcpy, memset,
 * memmove and memcmp -- which it emits for struct copies and for loops it
 * recognises even in freestanding code -- land here too.
 *
 * A host unit test cannot define these names next to the host libc, so when
 * VESTA_STRING_RENAME is defined every name below gets a "vs_" prefix
 * (memcpy becomes vs_memcpy, and so on). Only the test of this file should
 * define it.
 *
 * None of these functions can fail; behaviour on a NULL or too short buffer
 * is undefined, as in C.
 */
#ifndef VESTA_LIB_STRING_H
#define VESTA_LIB_STRING_H

#include <stddef.h>

#ifdef VESTA_STRING_RENAME
#define memcpy vs_memcpy
#define memmove vs_memmove
#define memset vs_memset
#define memcmp vs_memcmp
#define strlen vs_strlen
#define strnlen vs_strnlen
#define strcmp vs_strcmp
#define strncmp vs_strncmp
#define strlcpy vs_strlcpy
#define strchr vs_strchr
#endif

/* Copy n bytes from src to dst, which must not overlap. Returns dst. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);

/* Copy n bytes from src to dst; they may overlap. Returns dst. */
void *memmove(void *dst, const void *src, size_t n);

/* Set n bytes at dst to (unsigned char)c. Returns dst. */
void *memset(void *dst, int c, size_t n);

/*
 * Compare n bytes as unsigned char. Returns <0, 0 or >0 as a is less than,
 * equal to or greater than b at the first byte that differs.
 */
int memcmp(const void *a, const void *b, size_t n);

/* Length of s, not counting its NUL. */
size_t strlen(const char *s);

/* Length of s, but at most max; reads no byte past s[max - 1]. */
size_t strnlen(const char *s, size_t max);

/* Compare two strings as unsigned char; result as memcmp. */
int strcmp(const char *a, const char *b);

/* Compare at most n bytes of two strings; result as memcmp. */
int strncmp(const char *a, const char *b, size_t n);

/*
 * Copy src into dst of size bytes, cutting it to size - 1 bytes and always
 * ending it with a NUL when size > 0. Returns strlen(src): a result >= size
 * means src was cut.
 */
size_t strlcpy(char *restrict dst, const char *restrict src, size_t size);

/*
 * First occurrence of (char)c in s, or NULL. The terminating NUL is part of
 * s, so strchr(s, '\0') points at it.
 */
char *strchr(const char *s, int c);

/* First byte equal to (unsigned char)c among the n at s, or NULL. */
void *memchr(const void *s, int c, size_t n);

#endif
