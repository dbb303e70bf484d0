/*
 * printf-style formatting: one engine that parses a format and hands its
 * output to a callback, and a buffer writer built on it.
 *
 * Each directive is parsed whole into a struct fmt_spec first, then printed
 * by the function for its conversion. A number is printed as
 *     [spaces] [sign or 0x prefix] [zeros] digits [spaces]
 * and every part but the digits is a count, so a huge width or precision
 * costs no memory: pad() emits it in short runs.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"
#include <vesta/abi.h>

#define FMT_INT_MAX ((int)(~0u >> 1))

enum fmt_flag {
	FL_MINUS = 1u << 0, /* '-': pad on the right */
	FL_ZERO = 1u << 1,  /* '0': pad numbers with zeros */
	FL_SPACE = 1u << 2, /* ' ': a space before a positive number */
	FL_PLUS = 1u << 3,  /* '+': a plus before a positive number */
	FL_ALT = 1u << 4,   /* '#': 0x before hex, a leading 0 for octal */
};

enum fmt_len { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

/* One parsed directive. */
struct fmt_spec {
	unsigned int flags; /* enum fmt_flag bits */
	int width;	    /* minimum field width; 0 if none */
	int prec;	    /* precision; -1 if none */
	enum fmt_len len;
	char conv; /* the conversion character */
};

/* Where output goes, and how much has gone there. */
struct fmt_out {
	void (*emit)(void *ctx, const char *s, size_t n);
	void *ctx;
	size_t count; /* bytes emitted so far */
};

static void put(struct fmt_out *o, const char *s, size_t n)
{
	if (n == 0)
		return;
	o->emit(o->ctx, s, n);
	o->count += n;
}

/* Emit n copies of c, which is ' ' or '0', in runs of up to 64. */
static void pad(struct fmt_out *o, char c, size_t n)
{
	static const char zeros[] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	static const char spaces[] =
	    "                                                                ";
	const char *run = c == '0' ? zeros : spaces;
	const size_t run_len = sizeof(zeros) - 1;

	while (n > 0) {
		size_t k = n < run_len ? n : run_len;

		put(o, run, k);
		n -= k;
	}
}

/* Emit s[0..n) in a field of the spec's width, padded with spaces. */
static void put_field(struct fmt_out *o, const struct fmt_spec *sp, const char *s, size_t n)
{
	size_t fill = (size_t)sp->width > n ? (size_t)sp->width - n : 0;

	if (!(sp->flags & FL_MINUS))
		pad(o, ' ', fill);
	put(o, s, n);
	if (sp->flags & FL_MINUS)
		pad(o, ' ', fill);
}

/* Read a decimal number at *p, advancing *p; saturates at INT_MAX. */
static int parse_num(const char **p)
{
	int v = 0;

	while (**p >= '0' && **p <= '9') {
		int d = **p - '0';

		v = v > (FMT_INT_MAX - d) / 10 ? FMT_INT_MAX : v * 10 + d;
		(*p)++;
	}
	return v;
}

static enum fmt_len parse_len(const char **p)
{
	const char *s = *p;
	enum fmt_len len = LEN_NONE;

	switch (*s) {
	case 'h':
		len = s[1] == 'h' ? LEN_HH : LEN_H;
		break;
	case 'l':
		len = s[1] == 'l' ? LEN_LL : LEN_L;
		break;
	case 'z':
		len = LEN_Z;
		break;
	case 't':
		len = LEN_T;
		break;
	case 'j':
		len = LEN_J;
		break;
	default:
		return LEN_NONE;
	}
	*p += (len == LEN_HH || len == LEN_LL) ? 2 : 1;
	return len;
}

/*
 * Parse the directive after a '%' at *p into *sp, taking any '*' arguments,
 * and advance *p past it. Returns false if its conversion is not one we
 * print; *p then stops after the bad character (or at the NUL that ended
 * the format).
 */
static bool parse_spec(const char **p, va_list *ap, struct fmt_spec *sp)
{
	const char *s = *p;

	sp->flags = 0;
	for (;; s++) {
		if (*s == '-')
			sp->flags |= FL_MINUS;
		else if (*s == '0')
			sp->flags |= FL_ZERO;
		else if (*s == ' ')
			sp->flags |= FL_SPACE;
		else if (*s == '+')
			sp->flags |= FL_PLUS;
		else if (*s == '#')
			sp->flags |= FL_ALT;
		else
			break;
	}

	sp->width = 0;
	if (*s == '*') {
		int w = va_arg(*ap, int);

		s++;
		if (w < 0) {
			/* A negative width is '-' and its magnitude. */
			sp->flags |= FL_MINUS;
			w = w < -FMT_INT_MAX ? FMT_INT_MAX : -w;
		}
		sp->width = w;
	} else {
		sp->width = parse_num(&s);
	}

	sp->prec = -1;
	if (*s == '.') {
		s++;
		if (*s == '*') {
			int pr = va_arg(*ap, int);

			s++;
			sp->prec = pr < 0 ? -1 : pr; /* negative: as if none */
		} else {
			sp->prec = parse_num(&s);
		}
	}

	sp->len = parse_len(&s);
	sp->conv = *s;
	if (*s != '\0')
		s++;
	*p = s;
	switch (sp->conv) {
	case 'd':
	case 'i':
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		return true;
	case 'c':
	case 's':
	case 'p':
	case '%':
		/* %lc and %ls are wide characters, which we do not print. */
		return sp->len == LEN_NONE;
	default:
		return false;
	}
}

static int64_t fetch_signed(va_list *ap, enum fmt_len len)
{
	switch (len) {
	case LEN_HH:
		return (signed char)va_arg(*ap, int);
	case LEN_H:
		return (short)va_arg(*ap, int);
	case LEN_L:
		return va_arg(*ap, long);
	case LEN_LL:
		return va_arg(*ap, long long);
	case LEN_Z:
		/* The signed type of size_t's width: ptrdiff_t on our ABIs. */
		return (int64_t)va_arg(*ap, size_t);
	case LEN_T:
		return va_arg(*ap, ptrdiff_t);
	case LEN_J:
		return va_arg(*ap, intmax_t);
	default:
		return va_arg(*ap, int);
	}
}

static uint64_t fetch_unsigned(va_list *ap, enum fmt_len len)
{
	switch (len) {
	case LEN_HH:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L:
		return va_arg(*ap, unsigned long);
	case LEN_LL:
		return va_arg(*ap, unsigned long long);
	case LEN_Z:
		return va_arg(*ap, size_t);
	case LEN_T:
		/* The unsigned type of ptrdiff_t's width: size_t on our ABIs. */
		return (size_t)va_arg(*ap, ptrdiff_t);
	case LEN_J:
		return va_arg(*ap, uintmax_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

/*
 * Print the number whose magnitude is mag (negative if neg) by the spec's
 * integer conversion.
 */
static void put_int(struct fmt_out *o, const struct fmt_spec *sp, uint64_t mag, bool neg)
{
	const char *set = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned int base = 10;
	char digits[24]; /* 22 octal digits hold 64 bits */
	size_t nd = 0;
	char prefix[2];
	size_t npre = 0;

	if (sp->conv == 'x' || sp->conv == 'X')
		base = 16;
	else if (sp->conv == 'o')
		base = 8;

	if (sp->conv == 'd' || sp->conv == 'i') {
		if (neg)
			prefix[npre++] = '-';
		else if (sp->flags & FL_PLUS)
			prefix[npre++] = '+';
		else if (sp->flags & FL_SPACE)
			prefix[npre++] = ' ';
	} else if (base == 16 && (sp->flags & FL_ALT) && mag != 0) {
		prefix[npre++] = '0';
		prefix[npre++] = sp->conv;
	}

	for (; mag != 0; mag /= base)
		digits[sizeof(digits) - ++nd] = set[mag % base];

	/* No precision means at least one digit; ".0" prints 0 as nothing. */
	size_t prec = sp->prec < 0 ? 1 : (size_t)sp->prec;
	size_t zeros = prec > nd ? prec - nd : 0;

	/* '#' with %o: the first digit is a 0. Only zeros can put one there. */
	if (base == 8 && (sp->flags & FL_ALT) && zeros == 0)
		zeros = 1;

	size_t len = npre + zeros + nd;
	size_t fill = (size_t)sp->width > len ? (size_t)sp->width - len : 0;

	/* '0' pads with zeros unless '-' or a precision overrides it. */
	if ((sp->flags & FL_ZERO) && !(sp->flags & FL_MINUS) && sp->prec < 0) {
		zeros += fill;
		fill = 0;
	}
	if (!(sp->flags & FL_MINUS))
		pad(o, ' ', fill);
	put(o, prefix, npre);
	pad(o, '0', zeros);
	put(o, digits + sizeof(digits) - nd, nd);
	if (sp->flags & FL_MINUS)
		pad(o, ' ', fill);
}

static void put_string(struct fmt_out *o, const struct fmt_spec *sp, const char *s)
{
	size_t n = 0;

	if (s == NULL)
		s = "(null)";
	/* Read no byte past the precision: s need not be NUL-terminated. */
	while ((sp->prec < 0 || n < (size_t)sp->prec) && s[n] != '\0')
		n++;
	put_field(o, sp, s, n);
}

static void put_pointer(struct fmt_out *o, const struct fmt_spec *sp, const void *ptr)
{
	uint64_t v = (uintptr_t)ptr;
	char text[18];

	text[0] = '0';
	text[1] = 'x';
	for (int i = 17; i >= 2; i--, v >>= 4)
		text[i] = "0123456789abcdef"[v & 0xf];
	put_field(o, sp, text, sizeof(text));
}

/* Print one parsed directive, taking its argument from ap. */
static void put_directive(struct fmt_out *o, const struct fmt_spec *sp, va_list *ap)
{
	switch (sp->conv) {
	case 'd':
	case 'i': {
		int64_t v = fetch_signed(ap, sp->len);
		uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

		put_int(o, sp, mag, v < 0);
		break;
	}
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		put_int(o, sp, fetch_unsigned(ap, sp->len), false);
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);

		put_field(o, sp, &c, 1);
		break;
	}
	case 's':
		put_string(o, sp, va_arg(*ap, const char *));
		break;
	case 'p':
		put_pointer(o, sp, va_arg(*ap, const void *));
		break;
	default: /* '%' */
		put(o, "%", 1);
		break;
	}
}

int fmt_vcallback(void (*emit)(void *ctx, const char *s, size_t n), void *ctx, const char *fmt,
		  va_list ap)
{
	struct fmt_out o = { .emit = emit, .ctx = ctx, .count = 0 };
	const char *p = fmt;
	va_list args;

	if (emit == NULL || fmt == NULL)
		return -VE_INVAL;

	/* A copy, so the helpers can share it through a pointer. */
	va_copy(args, ap);
	while (*p != '\0') {
		const char *start = p;
		struct fmt_spec sp;

		while (*p != '\0' && *p != '%')
			p++;
		put(&o, start, (size_t)(p - start));
		if (*p == '\0')
			break;

		start = p++;
		if (parse_spec(&p, &args, &sp))
			put_directive(&o, &sp, &args);
		else
			put(&o, start, (size_t)(p - start));
	}
	va_end(args);
	return o.count > (size_t)FMT_INT_MAX ? -VE_RANGE : (int)o.count;
}

/* A buffer being filled by fmt_vsnprintf. */
struct fmt_buf {
	char *buf;
	size_t size; /* > 0 */
	size_t pos;  /* bytes stored; always < size, leaving room for NUL */
};

static void buf_emit(void *ctx, const char *s, size_t n)
{
	struct fmt_buf *b = ctx;
	size_t room = b->size - 1 - b->pos;

	if (n > room)
		n = room;
	for (size_t i = 0; i < n; i++)
		b->buf[b->pos + i] = s[i];
	b->pos += n;
}

/* Counts only: for fmt_vsnprintf with size 0. */
static void null_emit(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	(void)s;
	(void)n;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_buf b = { .buf = buf, .size = size, .pos = 0 };
	int r;

	if (size > 0 && buf == NULL)
		return -VE_INVAL;
	if (size == 0)
		return fmt_vcallback(null_emit, NULL, fmt, ap);

	r = fmt_vcallback(buf_emit, &b, fmt, ap);
	buf[b.pos] = '\0';
	return r;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}
