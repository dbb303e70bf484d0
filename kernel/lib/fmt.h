/*
 * printf-style formatting for code that links no libc: the kernel's console
 * and log, and svc/lib's printf.
 *
 * Conversions: %d %i %u %x %X %o %c %s %p %%. Flags '-' '0' ' ' '+' '#',
 * a width and a precision (either may be '*'), and the length modifiers
 * hh h l ll z t j. Each behaves as in C99, with three exceptions:
 *   - %p prints "0x" and exactly 16 hex digits, NULL included, so pointers
 *     line up in logs; only the width and '-' apply to it.
 *   - a NULL %s prints "(null)", cut to the precision if there is one.
 *   - any other conversion (%f, %n, %ls, %y, a '%' at the end, ...) is
 *     printed as it stands in the format and takes no argument, though a
 *     '*' in it still takes its int. So %n never writes to memory. Floating
 *     point is not supported: the kernel is built with -mgeneral-regs-only.
 * Integers are at most 64 bits wide; a width or precision above INT_MAX is
 * taken as INT_MAX.
 */
#ifndef VESTA_LIB_FMT_H
#define VESTA_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Format into buf of size bytes. Like C99 vsnprintf, the output is cut to
 * size - 1 bytes and always ends with a NUL when size > 0; buf may be NULL
 * when size is 0. Returns the length the whole output has (not counting
 * the NUL), so a result >= size means it was cut.
 * Errors: -VE_INVAL if fmt is NULL, or buf is NULL while size > 0 (then
 * nothing is written); -VE_RANGE if the whole output would be longer than
 * INT_MAX (buf still holds its cut beginning).
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* fmt_vsnprintf with the arguments in place. Same result and errors. */
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Format with no length limit, handing the output to emit(ctx, s, n) in
 * pieces as it is produced; s is not NUL-terminated and n is never 0. For
 * the console, which has no buffer to fill.
 * Returns the number of bytes emitted.
 * Errors: -VE_INVAL if emit or fmt is NULL (then emit is never called);
 * -VE_RANGE if more than INT_MAX bytes were emitted (all of them were).
 */
int fmt_vcallback(void (*emit)(void *ctx, const char *s, size_t n), void *ctx, const char *fmt,
		  va_list ap) __attribute__((format(printf, 3, 0)));

#endif
