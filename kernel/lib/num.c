/* Unsigned numbers from text (num.h). */
#include "num.h"

static int digit(char c, unsigned base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n), digits of base only, no larger than max. */
static bool parse_base(const char *s, size_t n, unsigned base, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d = digit(s[i], base);
		/* v * base + d <= max, checked without overflowing. */
		if (d < 0 || (uint64_t)d > max || v > (max - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
	}
	*out = v;
	return true;
}

bool num_parse(const char *s, size_t n, bool hex_ok, uint64_t max, uint64_t *out)
{
	if (hex_ok && n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_base(s + 2, n - 2, 16, max, out);
	return parse_base(s, n, 10, max, out);
}

bool num_parse_hex(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	return parse_base(s, n, 16, max, out);
}
