/*
 * Unit tests for kernel/evlog.c.
 *
 * Most checks compare whole lines. For the rest, a small JSON reader below
 * parses a line the way a log reader would -- one flat object, ASCII only,
 * ending in "}\n" -- and hands back its members in order with the strings
 * unescaped, so escaping can be checked by a round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "evlog.h"

/* The bytes every line keeps free for ,"trunc":true}\n and its NUL. */
#define TAIL_ROOM 16

/* ---- a minimal JSON reader for one flat event line ---- */

enum jtype { J_STR, J_NUM, J_TRUE, J_FALSE, J_NULL };

struct jmember {
	char key[64];
	size_t key_len;
	enum jtype type;
	char val[EVLOG_LINE_MAX]; /* unescaped string, or the number's text */
	size_t val_len;
};

struct jline {
	struct jmember m[48];
	size_t n;
};

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

/* Read a JSON string at *p into out (at most cap bytes). */
static bool read_string(const char **p, char *out, size_t cap, size_t *len)
{
	const char *s = *p;

	*len = 0;
	if (*s++ != '"')
		return false;
	for (;;) {
		unsigned char c = (unsigned char)*s++;
		int byte;

		if (c == '"')
			break;
		if (c < 0x20 || c >= 0x7f)
			return false; /* raw control or non-ASCII byte */
		if (c != '\\') {
			byte = c;
		} else {
			switch (*s++) {
			case '"':
				byte = '"';
				break;
			case '\\':
				byte = '\\';
				break;
			case '/':
				byte = '/';
				break;
			case 'b':
				byte = '\b';
				break;
			case 'f':
				byte = '\f';
				break;
			case 'n':
				byte = '\n';
				break;
			case 'r':
				byte = '\r';
				break;
			case 't':
				byte = '\t';
				break;
			case 'u':
				byte = 0;
				for (int i = 0; i < 4; i++) {
					int h = hexval(*s++);

					if (h < 0)
						return false;
					byte = byte * 16 + h;
				}
				if (byte > 0xff)
					return false; /* evlog never makes these */
				break;
			default:
				return false;
			}
		}
		if (*len >= cap)
			return false;
		out[(*len)++] = (char)byte;
	}
	*p = s;
	return true;
}

static bool read_word(const char **p, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(*p, w, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool read_value(const char **p, struct jmember *m)
{
	const char *s = *p;

	if (*s == '"') {
		m->type = J_STR;
		return read_string(p, m->val, sizeof(m->val), &m->val_len);
	}
	if (*s == '-' || (*s >= '0' && *s <= '9')) {
		m->type = J_NUM;
		m->val_len = 0;
		if (*s == '-')
			m->val[m->val_len++] = *s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		if (*s == '0' && s[1] >= '0' && s[1] <= '9')
			return false; /* no leading zeros in JSON */
		while (*s >= '0' && *s <= '9')
			m->val[m->val_len++] = *s++;
		m->val[m->val_len] = '\0';
		*p = s;
		return true;
	}
	m->val_len = 0;
	if (read_word(p, "true"))
		m->type = J_TRUE;
	else if (read_word(p, "false"))
		m->type = J_FALSE;
	else if (read_word(p, "null"))
		m->type = J_NULL;
	else
		return false;
	return true;
}

/* Parse line l[0..len) into j; false unless it is one valid event line. */
static bool parse_line(const char *l, size_t len, struct jline *j)
{
	const char *p = l;

	j->n = 0;
	if (len < 3 || strlen(l) != len || l[len - 2] != '}' || l[len - 1] != '\n' || *p++ != '{')
		return false;
	while (*p != '}') {
		struct jmember *m = &j->m[j->n];

		if (j->n == sizeof(j->m) / sizeof(j->m[0]))
			return false;
		if (j->n > 0 && *p++ != ',')
			return false;
		if (!read_string(&p, m->key, sizeof(m->key) - 1, &m->key_len))
			return false;
		m->key[m->key_len] = '\0';
		if (*p++ != ':' || !read_value(&p, m))
			return false;
		j->n++;
	}
	return p == l + len - 2;
}

/* Parse l as a valid line or fail the test. */
static void must_parse(const struct evlog_line *l, struct jline *j)
{
	assert_true(l->len < EVLOG_LINE_MAX);
	assert_int_equal(l->buf[l->len], '\0');
	if (!parse_line(l->buf, l->len, j)) {
		print_error("not a valid line: %s", l->buf);
		fail();
	}
	/* Every line starts with ev and t_ns, in that order. */
	assert_true(j->n >= 2);
	assert_string_equal(j->m[0].key, "ev");
	assert_int_equal(j->m[0].type, J_STR);
	assert_string_equal(j->m[1].key, "t_ns");
	assert_int_equal(j->m[1].type, J_NUM);
}

static bool has_trunc(const struct jline *j)
{
	const struct jmember *last = &j->m[j->n - 1];

	return strcmp(last->key, "trunc") == 0 && last->type == J_TRUE;
}

/* The whole line must read exactly want. */
static void assert_line(struct evlog_line *l, const char *want)
{
	size_t len = ev_end(l);

	assert_string_equal(l->buf, want);
	assert_int_equal(len, strlen(want));
	assert_int_equal(l->len, len);
}

/* ---- tests ---- */

static void test_begin_end(void **state)
{
	struct evlog_line l;

	(void)state;
	ev_begin(&l, "boot", 0);
	assert_line(&l, "{\"ev\":\"boot\",\"t_ns\":0}\n");
	ev_begin(&l, "ready", UINT64_MAX);
	assert_line(&l, "{\"ev\":\"ready\",\"t_ns\":18446744073709551615}\n");
}

static void test_types(void **state)
{
	struct evlog_line l;

	(void)state;
	ev_begin(&l, "exit", 1500);
	ev_str(&l, "name", "kv");
	ev_strn(&l, "part", "abcdef", 3);
	ev_u64(&l, "zero", 0);
	ev_u64(&l, "max", UINT64_MAX);
	ev_i64(&l, "neg", -1);
	ev_i64(&l, "min", INT64_MIN);
	ev_i64(&l, "big", INT64_MAX);
	ev_bool(&l, "yes", true);
	ev_bool(&l, "no", false);
	ev_hex(&l, "rip", 0xffffffff80001234ull);
	ev_hex(&l, "addr", 0);
	ev_str(&l, "none", NULL);
	ev_strn(&l, "none2", NULL, 5);
	assert_line(&l, "{\"ev\":\"exit\",\"t_ns\":1500,\"name\":\"kv\","
			"\"part\":\"abc\",\"zero\":0,"
			"\"max\":18446744073709551615,\"neg\":-1,"
			"\"min\":-9223372036854775808,"
			"\"big\":9223372036854775807,\"yes\":true,"
			"\"no\":false,\"rip\":\"0xffffffff80001234\","
			"\"addr\":\"0x0000000000000000\",\"none\":null,"
			"\"none2\":null}\n");
}

static void test_escaping(void **state)
{
	struct evlog_line l;

	(void)state;
	ev_begin(&l, "e\"v", 1);
	ev_str(&l, "s", "a\"b\\c\n\t\x01\x1f\x7f\xe9/~ ");
	ev_strn(&l, "nul", "x\0y", 3);
	ev_str(&l, "k\"\\", "v");
	assert_line(&l, "{\"ev\":\"e\\\"v\",\"t_ns\":1,"
			"\"s\":\"a\\\"b\\\\c\\u000a\\u0009\\u0001\\u001f"
			"\\u007f\\u00e9/~ \","
			"\"nul\":\"x\\u0000y\",\"k\\\"\\\\\":\"v\"}\n");
}

/* Every byte value survives a round trip through the escaping. */
static void test_escaping_all_bytes(void **state)
{
	struct evlog_line l;
	struct jline j;
	char bytes[64];

	(void)state;
	for (int base = 0; base < 256; base += 64) {
		for (int i = 0; i < 64; i++)
			bytes[i] = (char)(base + i);
		ev_begin(&l, "bytes", 2);
		ev_strn(&l, "b", bytes, sizeof(bytes));
		ev_end(&l);
		must_parse(&l, &j);
		assert_int_equal(j.n, 3); /* nothing dropped */
		assert_int_equal(j.m[2].val_len, sizeof(bytes));
		assert_memory_equal(j.m[2].val, bytes, sizeof(bytes));
	}
}

static void test_empty(void **state)
{
	struct evlog_line l;

	(void)state;
	ev_begin(&l, "", 3);
	ev_str(&l, "empty", "");
	ev_strn(&l, "none", "abc", 0);
	ev_str(&l, "", "nokey");
	assert_line(&l, "{\"ev\":\"\",\"t_ns\":3,\"empty\":\"\",\"none\":\"\","
			"\"\":\"nokey\"}\n");
}

static void test_order(void **state)
{
	static const char *const keys[] = { "pid", "name", "reason", "code", "vector",
					    "rip", "addr", "a",	     "z" };
	struct evlog_line l;
	struct jline j;
	size_t n = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	ev_begin(&l, "exit", 4);
	for (size_t i = 0; i < n; i++)
		ev_u64(&l, keys[i], i);
	ev_end(&l);
	must_parse(&l, &j);
	assert_int_equal(j.n, n + 2);
	for (size_t i = 0; i < n; i++) {
		char num[4] = { (char)('0' + i), '\0' };

		assert_string_equal(j.m[i + 2].key, keys[i]);
		assert_string_equal(j.m[i + 2].val, num);
	}
}

/* A field too long for the line is dropped whole; later ones still go in. */
static void test_overflow_huge(void **state)
{
	static char huge[4000];
	struct evlog_line l;
	struct jline j;

	(void)state;
	memset(huge, 'x', sizeof(huge) - 1);
	ev_begin(&l, "log", 5);
	ev_u64(&l, "pid", 7);
	ev_str(&l, "msg", huge);
	ev_bool(&l, "after", true);
	assert_line(&l, "{\"ev\":\"log\",\"t_ns\":5,\"pid\":7,\"after\":true,"
			"\"trunc\":true}\n");
	must_parse(&l, &j);
	assert_true(has_trunc(&j));

	/* 200 raw bytes fit, but 1200 escaped ones do not. */
	char ctl[200];
	memset(ctl, '\x01', sizeof(ctl));
	ev_begin(&l, "log", 6);
	ev_strn(&l, "ctl", ctl, sizeof(ctl));
	assert_line(&l, "{\"ev\":\"log\",\"t_ns\":6,\"trunc\":true}\n");

	/* An event name too long for the line comes out empty. */
	ev_begin(&l, huge, 8);
	ev_u64(&l, "pid", 1);
	assert_line(&l, "{\"ev\":\"\",\"t_ns\":8,\"pid\":1,\"trunc\":true}\n");

	/* ev_begin starts afresh: no trunc left from the line before. */
	ev_begin(&l, "ok", 9);
	assert_line(&l, "{\"ev\":\"ok\",\"t_ns\":9}\n");
}

/*
 * Fields are kept while they end within EVLOG_LINE_MAX - TAIL_ROOM bytes.
 * Here the prefix {"ev":"x","t_ns":0 is 18 bytes and ,"k":"..." is 7 more
 * than its value.
 */
static void test_overflow_boundary(void **state)
{
	static char val[EVLOG_LINE_MAX];
	size_t fit = EVLOG_LINE_MAX - TAIL_ROOM - 18 - 7;
	struct evlog_line l;
	struct jline j;

	(void)state;
	memset(val, 'v', sizeof(val) - 1);
	ev_begin(&l, "x", 0);
	ev_strn(&l, "k", val, fit);
	ev_end(&l);
	must_parse(&l, &j);
	assert_int_equal(j.n, 3);
	assert_int_equal(l.len, EVLOG_LINE_MAX - TAIL_ROOM + 2);

	ev_begin(&l, "x", 0);
	ev_strn(&l, "k", val, fit + 1);
	ev_end(&l);
	assert_string_equal(l.buf, "{\"ev\":\"x\",\"t_ns\":0,\"trunc\":true}\n");
}

/*
 * Whatever the sizes, a line is valid, under EVLOG_LINE_MAX, has each field
 * whole or not at all, and says trunc exactly when one was dropped.
 */
static void test_overflow_any_size(void **state)
{
	static char val[700];
	struct evlog_line l;
	struct jline j;

	(void)state;
	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (char)('a' + i % 26);
	for (size_t a = 0; a < sizeof(val); a += 7) {
		for (size_t b = 0; b < 300; b += 13) {
			ev_begin(&l, "fill", a);
			ev_strn(&l, "a", val, a);
			ev_hex(&l, "h", a);
			ev_strn(&l, "b", val, b);
			ev_i64(&l, "i", -(int64_t)b);
			ev_end(&l);
			must_parse(&l, &j);

			bool trunc = has_trunc(&j);
			size_t kept = j.n - 2 - (trunc ? 1 : 0);

			assert_true(trunc == (kept < 4));
			for (size_t k = 2; k < 2 + kept; k++) {
				struct jmember *m = &j.m[k];

				if (strcmp(m->key, "a") == 0)
					assert_int_equal(m->val_len, a);
				if (strcmp(m->key, "b") == 0)
					assert_int_equal(m->val_len, b);
				if (m->type == J_STR && m->key[0] != 'h')
					assert_memory_equal(m->val, val, m->val_len);
			}
		}
	}
}

/* Small fields until the line is full: each stops fitting cleanly. */
static void test_fill_up(void **state)
{
	struct evlog_line l;
	struct jline j;

	(void)state;
	ev_begin(&l, "many", 10);
	for (int i = 0; i < 100; i++)
		ev_hex(&l, "h", (uint64_t)i);
	assert_true(l.full);
	ev_end(&l);
	must_parse(&l, &j);
	assert_true(has_trunc(&j));
	/* ,"h":"0x<16>": 25 bytes each, after {"ev":"many","t_ns":10 (22). */
	assert_int_equal(j.n - 3, (EVLOG_LINE_MAX - TAIL_ROOM - 22) / 25);
}

/* ev_end twice, or a field after it, never writes past the buffer. */
static void test_after_end(void **state)
{
	static char huge[600];
	struct evlog_line l;
	size_t len;

	(void)state;
	memset(huge, 'x', sizeof(huge) - 1);
	ev_begin(&l, "x", 0);
	for (int i = 0; i < 100; i++)
		ev_hex(&l, "h", (uint64_t)i);
	len = ev_end(&l);
	ev_str(&l, "more", huge);
	ev_u64(&l, "n", 1);
	assert_int_equal(ev_end(&l), len);
	assert_true(l.len < EVLOG_LINE_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_begin_end),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_escaping_all_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_overflow_huge),
		cmocka_unit_test(test_overflow_boundary),
		cmocka_unit_test(test_overflow_any_size),
		cmocka_unit_test(test_fill_up),
		cmocka_unit_test(test_after_end),
	};

	return cmocka_run_group_tests_name("evlog", tests, NULL, NULL);
}
