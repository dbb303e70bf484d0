/*
 * Redis' number parsing and formatting, and its glob matcher, for the
 * engine's handlers. Freestanding: the guest has no strtod or printf("%g"),
 * so doubles are read and written here exactly, with a small big-integer
 * arithmetic (a double's exact decimal value has at most ~770 digits, and
 * deciding how a decimal string rounds to a double needs as many).
 */
#include "resp.h"

#include "string.h"

/* ---- integers ---- */

bool rs_arg_eq(const struct rs_arg *a, const char *lower)
{
	size_t i;

	for (i = 0; i < a->len; i++) {
		uint8_t ch = a->p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		if (lower[i] == '\0' || (uint8_t)lower[i] != ch)
			return false;
	}
	return lower[i] == '\0';
}

/* Redis' string2ll: "0", or an optional '-' then a digit 1-9 then digits;
 * no '+', no spaces, no leading zeros, no "-0", within int64. */
bool rs_arg_int(const struct rs_arg *a, int64_t *out)
{
	const uint8_t *p = a->p;
	size_t n = a->len, i = 0;
	bool neg = false;
	uint64_t v;

	if (n == 0 || n >= 21)
		return false;
	if (n == 1 && p[0] == '0') {
		*out = 0;
		return true;
	}
	if (p[0] == '-') {
		neg = true;
		if (++i == n)
			return false;
	}
	if (p[i] < '1' || p[i] > '9')
		return false;
	for (v = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || v > UINT64_MAX / 10 ||
		    v * 10 > UINT64_MAX - (uint64_t)(p[i] - '0'))
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* ---- a small unsigned big integer, 32-bit words, least significant first ---- */

#define BIG_WORDS 640 /* 20480 bits: a long double's 10^4935, or 5^5800 << 70 */

struct big {
	uint32_t w[BIG_WORDS];
	int n; /* words in use; w[n - 1] != 0 unless n == 0 */
};

static void big_trim(struct big *b)
{
	while (b->n > 0 && b->w[b->n - 1] == 0)
		b->n--;
}

static void big_set(struct big *b, uint64_t v)
{
	b->w[0] = (uint32_t)v;
	b->w[1] = (uint32_t)(v >> 32);
	b->n = 2;
	big_trim(b);
}

/* b = b * m + add. The callers' sizes keep it within BIG_WORDS. */
static void big_mul_add(struct big *b, uint32_t m, uint32_t add)
{
	uint64_t carry = add;

	for (int i = 0; i < b->n; i++) {
		uint64_t t = (uint64_t)b->w[i] * m + carry;

		b->w[i] = (uint32_t)t;
		carry = t >> 32;
	}
	if (carry != 0 && b->n < BIG_WORDS)
		b->w[b->n++] = (uint32_t)carry;
}

static void big_mul_pow5(struct big *b, int k)
{
	for (; k >= 13; k -= 13)
		big_mul_add(b, 1220703125u, 0); /* 5^13, the largest that fits */
	if (k > 0) {
		uint32_t m = 1;

		while (k-- > 0)
			m *= 5;
		big_mul_add(b, m, 0);
	}
}

/* b /= d; returns the remainder. */
static uint32_t big_div_small(struct big *b, uint32_t d)
{
	uint64_t rem = 0;

	for (int i = b->n - 1; i >= 0; i--) {
		uint64_t t = (rem << 32) | b->w[i];

		b->w[i] = (uint32_t)(t / d);
		rem = t % d;
	}
	big_trim(b);
	return (uint32_t)rem;
}

static int big_bits(const struct big *b)
{
	if (b->n == 0)
		return 0;
	return 32 * (b->n - 1) + 32 - __builtin_clz(b->w[b->n - 1]);
}

static bool big_bit(const struct big *b, int i)
{
	return i / 32 < b->n && (b->w[i / 32] >> (i % 32) & 1);
}

/* dst = src << s (dst != src). */
static void big_shl(struct big *dst, const struct big *src, int s)
{
	int ws = s / 32, bs = s % 32;

	memset(dst->w, 0,
	       sizeof(dst->w[0]) *
		   (size_t)(src->n + ws + 1 < BIG_WORDS ? src->n + ws + 1 : BIG_WORDS));
	for (int i = 0; i < src->n && i + ws < BIG_WORDS; i++) {
		uint64_t t = (uint64_t)src->w[i] << bs;

		dst->w[i + ws] |= (uint32_t)t;
		if (i + ws + 1 < BIG_WORDS)
			dst->w[i + ws + 1] |= (uint32_t)(t >> 32);
	}
	dst->n = src->n + ws + 1 < BIG_WORDS ? src->n + ws + 1 : BIG_WORDS;
	big_trim(dst);
}

static int big_cmp(const struct big *a, const struct big *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (int i = a->n - 1; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

/* a -= b, a >= b. */
static void big_sub(struct big *a, const struct big *b)
{
	int64_t borrow = 0;

	for (int i = 0; i < a->n; i++) {
		int64_t t = (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;

		borrow = t < 0;
		a->w[i] = (uint32_t)(t + (borrow << 32));
	}
	big_trim(a);
}

/* ---- binary floating point from an exact value ---- */

/* A format: bits of precision, and the exponent of the smallest
 * subnormal's unit (value = mantissa * 2^e, e >= lsb_min). */
struct fp_format {
	int prec;
	long lsb_min;
};

static const struct fp_format fp_double = { 53, -1074 };
static const struct fp_format fp_x87 = { 64, -16445 }; /* long double on x86-64 */

/*
 * Round q * 2^be (a little more if sticky) to f's precision, ties to even,
 * as strtod does: *mant * 2^*e. False if it rounds to zero.
 */
static bool fp_round(const struct big *q, long be, bool sticky, const struct fp_format *f,
		     uint64_t *mant, long *e)
{
	int bits = big_bits(q);
	long top = bits - 1 + be, keep = f->prec, shift;
	uint64_t m = 0;

	if (top - f->lsb_min + 1 < keep)
		keep = top - f->lsb_min + 1; /* subnormal: fewer bits */
	if (keep < 0)
		return false; /* under half the smallest subnormal */
	shift = bits - keep;
	for (long i = bits - 1; i >= (shift > 0 ? shift : 0); i--)
		m = m << 1 | big_bit(q, (int)i);
	if (shift < 0)
		m <<= -shift;
	if (shift > 0 && big_bit(q, (int)shift - 1)) {
		bool lower = sticky;

		for (long i = 0; i < shift - 1 && !lower; i++)
			lower = big_bit(q, (int)i);
		if ((lower || (m & 1)) && m == UINT64_MAX) {
			m = UINT64_C(1) << 63; /* 64 ones and up: the next power of two */
			shift++;
		} else if (lower || (m & 1)) {
			m++;
			if (f->prec < 64 && (m >> f->prec) != 0) {
				m >>= 1; /* a carry out of the precision */
				shift++;
			}
		}
	}
	*mant = m;
	*e = be + shift;
	return m != 0;
}

union dbits {
	double d;
	uint64_t u;
};

/* m * 2^e as a double (m < 2^53); false past the largest. */
static bool pack_double(uint64_t m, long e, bool neg, double *out)
{
	union dbits r;

	if (m >> 52) {
		if (e + 52 + 1023 > 2046)
			return false;
		r.u = (uint64_t)(e + 52 + 1023) << 52 | (m & ((UINT64_C(1) << 52) - 1));
	} else {
		r.u = m; /* subnormal: e is -1074 */
	}
	r.u |= (uint64_t)neg << 63;
	*out = r.d;
	return true;
}

union x87bits {
	long double v;
	struct {
		uint64_t m;  /* the significand, its integer bit explicit */
		uint16_t se; /* sign and 15-bit exponent */
	} p;
};

/* m * 2^e as an x87 long double; false past the largest. */
static bool pack_x87(uint64_t m, long e, bool neg, long double *out)
{
	union x87bits r = { .v = 0 };
	long expf = 0; /* denormal: e is -16445 */

	if (m >> 63) {
		expf = e + 63 + 16383;
		if (expf > 32766)
			return false;
	}
	r.p.m = m;
	r.p.se = (uint16_t)(expf | (long)neg << 15);
	*out = r.v;
	return true;
}

/* ---- parsing ---- */

#define DEC_KEEP 800 /* significant digits kept: more than any halfway point has */

struct decimal {
	struct big d; /* the significant digits as an integer */
	int ndig;     /* how many */
	long exp;     /* value = d * 10^exp (hex: d * 2^exp) */
	bool neg;
	bool hex;    /* strtod's "0x" form: d and exp are binary */
	bool sticky; /* hex: nonzero digits were dropped below d */
};

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static void dec_digit(struct decimal *x, uint8_t c, bool frac, bool *dropped)
{
	if (x->ndig == 0 && c == '0') {
		x->exp -= frac; /* a leading zero: only its place counts */
		return;
	}
	if (x->ndig < DEC_KEEP) {
		big_mul_add(&x->d, 10, c - '0');
		x->ndig++;
		x->exp -= frac;
	} else {
		x->exp += !frac;
		*dropped |= c != '0';
	}
}

static int hex_digit(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#define HEX_KEEP 40 /* hex digits kept: 160 bits, well past a long double's 64 */

/* One hex digit into x (see dec_digit). */
static void hex_add(struct decimal *x, int v, bool frac)
{
	if (x->ndig == 0 && v == 0) {
		x->exp -= frac ? 4 : 0;
		return;
	}
	if (x->ndig < HEX_KEEP) {
		big_mul_add(&x->d, 16, (uint32_t)v);
		x->ndig++;
		x->exp -= frac ? 4 : 0;
	} else {
		x->exp += frac ? 0 : 4;
		x->sticky |= v != 0;
	}
}

/* A decimal exponent's or a binary exponent's digits at p[*i..n):
 * false if there is none. Clamped: past 100000 every value over- or
 * underflows anyway. */
static bool read_exp(const uint8_t *p, size_t n, size_t *i, long *exp)
{
	bool eneg = false;
	long ev = 0;

	if (++*i < n && (p[*i] == '+' || p[*i] == '-'))
		eneg = p[(*i)++] == '-';
	if (*i == n || !is_digit(p[*i]))
		return false;
	for (; *i < n && is_digit(p[*i]); (*i)++)
		if (ev < 100000)
			ev = ev * 10 + (p[*i] - '0');
	*exp += eneg ? -ev : ev;
	return true;
}

/* strtod's hexadecimal form after its sign: "0x" hexdigits [. hexdigits]
 * [p [+-] digits], exactly; false on anything else. */
static bool hex_parse(const uint8_t *p, size_t n, struct decimal *x)
{
	size_t i = 2;
	bool frac = false, any = false;

	x->hex = true;
	for (; i < n && (hex_digit(p[i]) >= 0 || (p[i] == '.' && !frac)); i++) {
		if (p[i] == '.')
			frac = true;
		else
			hex_add(x, hex_digit(p[i]), frac), any = true;
	}
	if (!any)
		return false;
	if (i < n && (p[i] == 'p' || p[i] == 'P') && !read_exp(p, n, &i, &x->exp))
		return false;
	return i == n;
}

/* Reads "[+-]digits[.digits][e[+-]digits]", or the hex form, exactly;
 * false on anything else. */
static bool dec_parse(const uint8_t *p, size_t n, struct decimal *x)
{
	size_t i = 0;
	bool frac = false, any = false, dropped = false;

	x->d.n = 0;
	x->ndig = 0;
	x->exp = 0;
	x->neg = false;
	x->hex = false;
	x->sticky = false;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		x->neg = p[i++] == '-';
	if (n - i >= 2 && p[i] == '0' && (p[i + 1] | 0x20) == 'x')
		return hex_parse(p + i, n - i, x);
	for (; i < n && (is_digit(p[i]) || (p[i] == '.' && !frac)); i++) {
		if (p[i] == '.')
			frac = true;
		else
			dec_digit(x, p[i], frac, &dropped), any = true;
	}
	if (!any)
		return false;
	if (dropped) { /* keep the value strictly above the kept digits */
		big_mul_add(&x->d, 10, 1);
		x->exp--;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E') && !read_exp(p, n, &i, &x->exp))
		return false;
	return i == n;
}

/* d * 10^exp with exp < 0: q = d * 2^s / 5^-exp, with prec + 3 or more
 * bits, is what the rounding needs; *sticky if the division was not exact. */
static void dec_quotient(struct decimal *x, const struct fp_format *f, struct big *q, long *be,
			 bool *sticky)
{
	static struct big five, num, den, t;
	int s;

	big_set(&five, 1);
	big_mul_pow5(&five, (int)-x->exp);
	s = big_bits(&five) - big_bits(&x->d) + f->prec + 3;
	if (s >= 0) {
		big_shl(&num, &x->d, s);
		den = five;
	} else {
		num = x->d;
		big_shl(&den, &five, -s);
	}
	memset(q->w, 0, sizeof(q->w[0]) * 4);
	q->n = 4;
	for (int bit = f->prec + 4; bit >= 0; bit--) {
		big_shl(&t, &den, bit);
		if (big_cmp(&num, &t) >= 0) {
			big_sub(&num, &t);
			q->w[bit / 32] |= UINT32_C(1) << (bit % 32);
		}
	}
	big_trim(q);
	*be = x->exp - s;
	*sticky = num.n != 0;
}

/* How strtod's reading of a nonzero number ends: a value, or ERANGE
 * because it is past the largest (strtod gives an infinity) or rounds to
 * zero. */
enum num_fit { NUM_OK, NUM_OVER, NUM_UNDER };

/* The exact value of nonzero x rounded to f (pack then says NUM_OVER for
 * a value past f's largest). */
static enum num_fit dec_round(struct decimal *x, const struct fp_format *f, long max_mag,
			      uint64_t *m, long *e)
{
	static struct big q;
	long mag = x->ndig + x->exp, be = x->exp; /* |value| < 10^mag */
	bool sticky = false;

	if (x->hex)
		return fp_round(&x->d, x->exp, x->sticky, f, m, e) ? NUM_OK : NUM_UNDER;
	if (mag > max_mag)
		return NUM_OVER;
	if (mag < -max_mag - 25)
		return NUM_UNDER;
	if (x->exp >= 0) {
		big_mul_pow5(&x->d, (int)x->exp); /* d * 10^exp = d * 5^exp * 2^exp */
		return fp_round(&x->d, be, false, f, m, e) ? NUM_OK : NUM_UNDER;
	}
	dec_quotient(x, f, &q, &be, &sticky);
	return fp_round(&q, be, sticky, f, m, e) ? NUM_OK : NUM_UNDER;
}

/*
 * Clinger's fast path: up to 15 digits and a power of ten up to 10^22 are
 * both exact doubles, so one multiplication or division, which IEEE
 * rounds correctly, gives the nearest double. Most scores take it.
 */
static bool dec_fast(const struct decimal *x, double *out)
{
	static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,
					1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
					1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	double v;

	if (x->hex || x->ndig > 15 || x->exp < -22 || x->exp > 22 || x->d.n > 2)
		return false;
	v = (double)((uint64_t)(x->d.n > 1 ? x->d.w[1] : 0) << 32 | (x->d.n > 0 ? x->d.w[0] : 0));
	v = x->exp < 0 ? v / pow10[-x->exp] : v * pow10[x->exp];
	*out = x->neg ? -v : v;
	return true;
}

static bool is_inf_word(const uint8_t *p, size_t n)
{
	static const char inf[] = "infinity";

	if (n != 3 && n != 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((p[i] | 0x20) != inf[i])
			return false;
	return true;
}

/* What strtod reads in a, for either format. 1: a finite number in *x
 * (x->d.n == 0 for zero); 2: infinity, its sign in x->neg; 0: not one. */
static int read_number(const struct rs_arg *a, struct decimal *x)
{
	size_t sign = a->len > 0 && (a->p[0] == '+' || a->p[0] == '-');

	if (a->len == 0)
		return 0;
	if (is_inf_word(a->p + sign, a->len - sign)) {
		x->neg = a->p[0] == '-';
		return 2;
	}
	return dec_parse(a->p, a->len, x) ? 1 : 0;
}

/* x (kind 1 of read_number) as a double, as strtod rounds it. */
static enum num_fit to_double(struct decimal *x, double *out)
{
	union dbits z = { .u = (uint64_t)x->neg << 63 };
	enum num_fit fit;
	uint64_t m;
	long e;

	if (x->d.n == 0) {
		*out = z.d;
		return NUM_OK;
	}
	if (dec_fast(x, out))
		return NUM_OK;
	fit = dec_round(x, &fp_double, 310, &m, &e);
	if (fit == NUM_OK && !pack_double(m, e, x->neg, out))
		fit = NUM_OVER;
	if (fit != NUM_OK) /* strtod's ERANGE answers: an infinity, or zero */
		*out = (z.u |= fit == NUM_OVER ? UINT64_C(0x7ff0000000000000) : 0, z.d);
	return fit;
}

/*
 * Redis' string2d: strtod on the whole argument, refusing a leading space,
 * trailing bytes, NaN, overflow and a nonzero value that underflows to
 * zero. Hexadecimal floats ("0x1p3") are read as strtod reads them.
 */
bool rs_arg_double(const struct rs_arg *a, double *out)
{
	static struct decimal x; /* big integers: off the small guest stack */
	int kind = read_number(a, &x);

	if (kind == 2) {
		*out = x.neg ? -(double)__builtin_inf() : (double)__builtin_inf();
		return true;
	}
	return kind == 1 && to_double(&x, out) == NUM_OK;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * zslParseRange's reading of a score bound (after its '('): strtod on the
 * argument as a C string (it ends at a NUL byte), which must take all of
 * it. So unlike rs_arg_double: leading spaces are skipped, "" is 0, and a
 * value past the largest is an infinity and one too small is zero; NaN is
 * still refused.
 */
bool rs_arg_double_range(const struct rs_arg *a, double *out)
{
	static struct decimal x;
	struct rs_arg t = { a->p, 0 };
	int kind;

	while (t.len < a->len && a->p[t.len] != 0)
		t.len++;
	if (t.len == 0) {
		*out = 0;
		return true;
	}
	while (t.len > 0 && is_space(t.p[0]))
		t.p++, t.len--;
	kind = read_number(&t, &x);
	if (kind == 2) {
		*out = x.neg ? -(double)__builtin_inf() : (double)__builtin_inf();
		return true;
	}
	if (kind == 1)
		to_double(&x, out);
	return kind == 1;
}

/* Redis' string2ld, for INCRBYFLOAT and HINCRBYFLOAT: strtold's reading
 * into x87's long double, the same refusals, and at most 5119 bytes. */
bool rs_arg_ldouble(const struct rs_arg *a, long double *out)
{
	static struct decimal x;
	int kind = a->len < RS_LDOUBLE_BUF ? read_number(a, &x) : 0;
	uint64_t m;
	long e;

	if (kind == 2 || (kind == 1 && x.d.n == 0)) {
		union x87bits z = { .v = 0 };

		z.p.m = kind == 2 ? UINT64_C(1) << 63 : 0;
		z.p.se = (uint16_t)((kind == 2 ? 0x7fff : 0) | (int)x.neg << 15);
		*out = z.v;
		return true;
	}
	if (kind == 0)
		return false;
	return dec_round(&x, &fp_x87, 4935, &m, &e) == NUM_OK && pack_x87(m, e, x.neg, out);
}

/* ---- formatting ---- */

#define DIG_MAX 800

/* The exact decimal digits of finite |d| > 0 in dig (no trailing zeros):
 * |d| = dig[0].dig[1]... * 10^*x. Returns the digit count. */
static int exact_digits(double d, char *dig, int *x)
{
	static struct big b;
	union dbits u = { .d = d };
	int bexp = (int)(u.u >> 52 & 0x7ff), n = 0;
	uint64_t m = u.u & ((UINT64_C(1) << 52) - 1);
	char rev[DIG_MAX + 16];

	if (bexp == 0)
		bexp = 1;
	else
		m |= UINT64_C(1) << 52;
	bexp -= 1075; /* |d| = m * 2^bexp */
	big_set(&b, m);
	if (bexp >= 0) {
		static struct big t;

		big_shl(&t, &b, bexp);
		b = t;
	} else {
		big_mul_pow5(&b, -bexp); /* m * 2^bexp = m * 5^-bexp / 10^-bexp */
	}
	while (b.n > 0) {
		uint32_t chunk = big_div_small(&b, 1000000000u);

		for (int i = 0; i < 9; i++, chunk /= 10)
			rev[n++] = (char)('0' + chunk % 10);
	}
	while (rev[n - 1] == '0')
		n--;
	*x = n - 1 + (bexp < 0 ? bexp : 0);
	for (int i = 0; i < n; i++)
		dig[i] = rev[n - 1 - i];
	while (dig[n - 1] == '0')
		n--;
	return n;
}

/* Round dig[0..n) to keep digits (ties to even on the exact value); may
 * carry into a new leading digit (then *x grows). Returns the new count,
 * 0 if the value rounded to zero. */
static int round_digits(char *dig, int n, int keep, int *x)
{
	bool up;

	if (keep >= n)
		return n;
	if (keep < 0)
		return 0;
	up = dig[keep] > '5' ||
	     (dig[keep] == '5' && (n > keep + 1 || (keep > 0 && (dig[keep - 1] - '0') % 2)));
	n = keep;
	if (up) {
		int i = n - 1;

		while (i >= 0 && dig[i] == '9')
			i--;
		if (i < 0) {
			dig[0] = '1';
			n = 1;
			++*x;
		} else {
			dig[i]++;
			n = i + 1;
		}
	}
	while (n > 0 && dig[n - 1] == '0')
		n--;
	return n;
}

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, char ch)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = ch;
	o->len++;
}

static void put_str(struct out *o, const char *s)
{
	while (*s)
		put(o, *s++);
}

/* ".", zeros leading zeros, then dig[0..n) with trailing zeros dropped;
 * nothing at all if no nonzero digit is left. */
static void put_frac(struct out *o, const char *dig, size_t n, size_t zeros)
{
	while (n > 0 && dig[n - 1] == '0')
		n--;
	if (n == 0)
		return;
	put(o, '.');
	while (zeros-- > 0)
		put(o, '0');
	for (size_t i = 0; i < n; i++)
		put(o, dig[i]);
}

/* Digits dig[0..n) with the first at place 10^x, in positional form. */
static void put_fixed(struct out *o, const char *dig, int n, int x)
{
	int place;

	if (x < 0) {
		put_str(o, "0.");
		for (place = -1; place > x; place--)
			put(o, '0');
		for (int i = 0; i < n; i++)
			put(o, dig[i]);
		return;
	}
	for (place = x; place >= 0; place--)
		put(o, x - place < n ? dig[x - place] : '0');
	if (n > x + 1) {
		put(o, '.');
		for (int i = x + 1; i < n; i++)
			put(o, dig[i]);
	}
}

static void put_exp(struct out *o, const char *dig, int n, int x)
{
	char e[8];
	int k = 0, ax = x < 0 ? -x : x;

	put(o, dig[0]);
	if (n > 1) {
		put(o, '.');
		for (int i = 1; i < n; i++)
			put(o, dig[i]);
	}
	put(o, 'e');
	put(o, x < 0 ? '-' : '+');
	do {
		e[k++] = (char)('0' + ax % 10);
		ax /= 10;
	} while (ax > 0 || k < 2);
	while (k > 0)
		put(o, e[--k]);
}

/* "%.17g" with C's rules: exponent form when x < -4 or x >= 17. */
static void put_g17(struct out *o, double d)
{
	static char dig[DIG_MAX + 16];
	int x, n = exact_digits(d, dig, &x);

	n = round_digits(dig, n, 17, &x);
	if (x < -4 || x >= 17)
		put_exp(o, dig, n, x);
	else
		put_fixed(o, dig, n, x);
}

/*
 * Redis formats INCRBYFLOAT's long double with "%.17Lf" and drops trailing
 * zeros. A long double carries ~3 more digits than the double kv computes
 * in, which hides the binary noise of sums such as 10.5 + 0.1; rounding to
 * 16 significant digits as well as to 17 decimals does the same here.
 */
static void put_human(struct out *o, double d)
{
	static char dig[DIG_MAX + 16];
	int x, n = exact_digits(d, dig, &x), keep = x + 18;

	n = round_digits(dig, n, keep < 16 ? keep : 16, &x);
	if (n == 0) {
		o->len = 0; /* Redis turns "-0" into "0" */
		put(o, '0');
		return;
	}
	put_fixed(o, dig, n, x);
}

size_t rs_fmt_double(char *buf, size_t cap, double d, bool humanfriendly)
{
	struct out o = { buf, cap, 0 };
	union dbits u = { .d = d };
	bool neg = u.u >> 63;

	if (cap == 0)
		return 0;
	if (neg)
		put(&o, '-');
	if ((u.u >> 52 & 0x7ff) == 0x7ff)
		put_str(&o, (u.u << 12) != 0 ? "nan" : "inf");
	else if ((u.u << 1) == 0)
		humanfriendly ? (o.len = 0, put(&o, '0')) : put(&o, '0');
	else if (humanfriendly)
		put_human(&o, d);
	else
		put_g17(&o, d);
	if (o.len >= cap)
		o.len = cap - 1;
	buf[o.len] = '\0';
	return o.len;
}

/* ---- long double, as INCRBYFLOAT shows it ---- */

/* The decimal digits of b (destroyed) into out, most significant first;
 * returns their count ("0" for zero). */
static size_t big_to_dec(struct big *b, char *out)
{
	static char rev[5200];
	size_t n = 0;

	while (b->n > 0) {
		uint32_t chunk = big_div_small(b, 1000000000u);

		for (int i = 0; i < 9; i++, chunk /= 10)
			rev[n++] = (char)('0' + chunk % 10);
	}
	while (n > 1 && rev[n - 1] == '0')
		n--;
	if (n == 0)
		rev[n++] = '0';
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	return n;
}

/*
 * |v| * 10^17 rounded to an integer (ties to even, as glibc's printf), for
 * "%.17Lf": m * 2^e * 10^17 is m * 10^17 shifted; past 121 bits of shift
 * nothing is left (m * 10^17 < 2^121), so no long expansion is needed.
 */
static void ld_scaled(uint64_t m, long e, struct big *q)
{
	static struct big t;
	long s = -e;
	bool up;

	big_set(q, m);
	big_mul_add(q, 1000000000u, 0);
	big_mul_add(q, 100000000u, 0); /* 10^17 */
	if (e >= 0) {
		big_shl(&t, q, (int)e);
		*q = t;
		return;
	}
	if (s > big_bits(q)) {
		q->n = 0;
		return;
	}
	up = big_bit(q, (int)s - 1);
	if (up) {
		bool lower = false;

		for (long i = 0; i < s - 1 && !lower; i++)
			lower = big_bit(q, (int)i);
		up = lower || big_bit(q, (int)s);
	}
	for (long i = 0; i < q->n * 32; i++) /* q >>= s */
		if (i + s < q->n * 32 && big_bit(q, (int)(i + s)))
			q->w[i / 32] |= UINT32_C(1) << (i % 32);
		else
			q->w[i / 32] &= ~(UINT32_C(1) << (i % 32));
	big_trim(q);
	if (up)
		big_mul_add(q, 1, 1);
}

size_t rs_fmt_ldouble(char *buf, size_t cap, long double v)
{
	static struct big q;
	static char dig[5200];
	union x87bits u = { .v = v };
	long expf = u.p.se & 0x7fff;
	struct out o = { buf, cap, 0 };
	size_t n;

	if (cap == 0)
		return 0;
	if (u.p.se >> 15)
		put(&o, '-');
	if (expf == 0x7fff) {
		put_str(&o, (u.p.m << 1) != 0 ? "nan" : "inf");
	} else {
		ld_scaled(u.p.m, (expf == 0 ? 1 : expf) - 16383 - 63, &q);
		n = big_to_dec(&q, dig);
		if (n == 1 && dig[0] == '0')
			o.len = 0; /* "-0" is "0" */
		if (n <= 17) {	   /* |v| < 1: "0." and leading zeros */
			put_str(&o, "0");
			put_frac(&o, dig, n, 17 - n);
		} else {
			for (size_t i = 0; i < n - 17; i++)
				put(&o, dig[i]);
			put_frac(&o, dig + n - 17, 17, 0);
		}
	}
	if (o.len >= cap)
		o.len = cap - 1;
	buf[o.len] = '\0';
	return o.len;
}

/* ---- glob ---- */

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Does the [...] class at pat[0..plen) (pat[0] == '[') match c? *used: the
 * pattern bytes it spans. An unclosed class runs to the end of the pattern. */
static bool class_match(const uint8_t *pat, size_t plen, uint8_t c, bool nocase, size_t *used)
{
	size_t i = 1;
	bool neg = i < plen && pat[i] == '^', match = false;

	i += neg;
	for (; i < plen && pat[i] != ']'; i++) {
		if (pat[i] == '\\' && i + 1 < plen) {
			match |= pat[++i] == c;
		} else if (i + 2 < plen && pat[i + 1] == '-') {
			uint8_t lo = pat[i], hi = pat[i + 2], t;

			if (lo > hi)
				t = lo, lo = hi, hi = t;
			if (nocase)
				lo = lower(lo), hi = lower(hi);
			match |= (nocase ? lower(c) : c) >= lo && (nocase ? lower(c) : c) <= hi;
			i += 2;
		} else {
			match |= nocase ? lower(pat[i]) == lower(c) : pat[i] == c;
		}
	}
	*used = i < plen ? i + 1 : plen;
	return match != neg;
}

/* Does the one pattern element at pat (not '*') match c? */
static bool elem_match(const uint8_t *pat, size_t plen, uint8_t c, bool nocase, size_t *used)
{
	uint8_t want = pat[0];

	*used = 1;
	if (want == '?')
		return true;
	if (want == '[')
		return class_match(pat, plen, c, nocase, used);
	if (want == '\\' && plen >= 2) {
		want = pat[1];
		*used = 2;
	}
	return nocase ? lower(want) == lower(c) : want == c;
}

/*
 * stringmatchlen's language, matched without recursion: on a mismatch,
 * the last '*' takes one more byte and the rest is tried again. That finds
 * a match whenever one exists, as Redis' recursive search does, in
 * O(plen * slen) and constant stack whatever the pattern.
 */
bool rs_glob(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen, bool nocase)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0, used;

	while (si < slen) {
		if (pi < plen && pat[pi] == '*') {
			star_p = ++pi;
			star_s = si;
		} else if (pi < plen && elem_match(pat + pi, plen - pi, s[si], nocase, &used)) {
			pi += used;
			si++;
		} else if (star_p != SIZE_MAX) {
			pi = star_p;
			si = ++star_s;
		} else {
			return false;
		}
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}
