/*
 * Unit tests for tests/boot/jsonline.c, the COM2 event-line parser: the
 * happy paths, every escape, number syntax, the limits, and garbage of
 * every kind (truncation, nesting, random bytes), which must be refused
 * without crashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vesta/abi.h>

#include "jsonline.h"

#define BUFSZ 4096

/* Parse a NUL-terminated line with a roomy buffer. */
static int parse(const char *line, char *buf, struct jsonline *obj)
{
	return jsonline_parse(line, strlen(line), buf, BUFSZ, obj);
}

static const char *value_of(const struct jsonline *obj, const char *key)
{
	const struct jsonline_pair *p = jsonline_find(obj, key);

	return p ? p->value : NULL;
}

static void test_exit_event(void **state)
{
	const char *line = "{\"ev\":\"exit\",\"t_ns\":123,\"pid\":4,\"name\":\"nullwrite\","
			   "\"reason\":\"page_fault\",\"vector\":14,"
			   "\"rip\":\"0x0000000000401000\",\"addr\":\"0x0000000000000000\"}\n";
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(parse(line, buf, &obj), 8);
	assert_string_equal(obj.pair[0].key, "ev");
	assert_string_equal(obj.pair[0].value, "exit");
	assert_true(obj.pair[0].is_string);
	assert_string_equal(value_of(&obj, "t_ns"), "123");
	assert_false(jsonline_find(&obj, "t_ns")->is_string);
	assert_string_equal(value_of(&obj, "name"), "nullwrite");
	assert_string_equal(value_of(&obj, "vector"), "14");
	assert_string_equal(value_of(&obj, "rip"), "0x0000000000401000");
	assert_string_equal(value_of(&obj, "addr"), "0x0000000000000000");
	assert_null(jsonline_find(&obj, "nope"));
	assert_null(jsonline_find(&obj, "e"));
	assert_null(jsonline_find(&obj, "evx"));
}

static void test_empty_and_whitespace(void **state)
{
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(parse("{}", buf, &obj), 0);
	assert_int_equal(parse(" \t{ \r\n } \r\n", buf, &obj), 0);
	assert_int_equal(parse(" { \"a\" : 1 , \"b\"\t:\"x\" }\r\n", buf, &obj), 2);
	assert_string_equal(value_of(&obj, "a"), "1");
	assert_string_equal(value_of(&obj, "b"), "x");
}

static void test_literals(void **state)
{
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(parse("{\"t\":true,\"f\":false,\"n\":null,"
			       "\"s\":\"null\"}",
			       buf, &obj),
			 4);
	assert_string_equal(value_of(&obj, "t"), "true");
	assert_false(jsonline_find(&obj, "t")->is_string);
	assert_string_equal(value_of(&obj, "f"), "false");
	assert_string_equal(value_of(&obj, "n"), "null");
	assert_false(jsonline_find(&obj, "n")->is_string);
	assert_string_equal(value_of(&obj, "s"), "null");
	assert_true(jsonline_find(&obj, "s")->is_string);
}

static void test_numbers(void **state)
{
	static const char *const good[] = {
		"0",	 "-0",	"7",	"-12",	  "1234567890123456789012", "0.5",
		"-0.25", "1e9", "1E+9", "2.5e-3", "18446744073709551615",
	};
	static const char *const bad[] = {
		"01",  "-",	"+1",	 "1.",	  ".5",	 "1e",	     "1e+", "0x10",
		"--1", "1.2.3", "1e5.0", "12abc", "- 1", "Infinity", "NaN",
	};
	char line[128];
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(line, sizeof(line), "{\"n\":%s}", good[i]);
		assert_int_equal(parse(line, buf, &obj), 1);
		assert_string_equal(obj.pair[0].value, good[i]);
		assert_false(obj.pair[0].is_string);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "{\"n\":%s}", bad[i]);
		assert_int_equal(parse(line, buf, &obj), -VE_INVAL);
		assert_int_equal(obj.npairs, 0);
	}
}

static void test_bad_keywords(void **state)
{
	static const char *const bad[] = {
		"{\"a\":tru}",	    "{\"a\":truex}", "{\"a\":nul}", "{\"a\":False}",
		"{\"a\":nullnull}", "{\"a\":t}",     "{\"a\":'x'}", "{\"a\":x}",
	};
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], buf, &obj), -VE_INVAL);
}

static void test_escapes(void **state)
{
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(parse("{\"s\":\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\"}", buf, &obj), 1);
	assert_string_equal(obj.pair[0].value, "q\"b\\s/n\nt\tr\rb\bf\f");
	assert_int_equal(parse("{\"s\":\"\\u0041\\u007a\\u007F\"}", buf, &obj), 1);
	assert_string_equal(obj.pair[0].value, "Az\x7f");
	/* Non-ASCII and NUL become '?', one byte per escape. */
	assert_int_equal(parse("{\"s\":\"<\\u00e9\\u0000\\ud83d\\ude00]\"}", buf, &obj), 1);
	assert_string_equal(obj.pair[0].value, "<????]");
	/* Raw UTF-8 passes through. */
	assert_int_equal(parse("{\"s\":\"caf\xc3\xa9\"}", buf, &obj), 1);
	assert_string_equal(obj.pair[0].value, "caf\xc3\xa9");
	/* Escapes in keys too. */
	assert_int_equal(parse("{\"a\\u0062\":\"\"}", buf, &obj), 1);
	assert_string_equal(obj.pair[0].key, "ab");
	assert_string_equal(obj.pair[0].value, "");
}

static void test_bad_strings(void **state)
{
	static const char *const bad[] = {
		"{\"s\":\"\\x41\"}", "{\"s\":\"\\u12G4\"}", "{\"s\":\"\\u12\"}",
		"{\"s\":\"\\u\"}",   "{\"s\":\"\\\"}",	    "{\"s\":\"a\tb\"}",
		"{\"s\":\"a\nb\"}",  "{\"s\":\"abc}",	    "{\"s\":\"\\'\"}",
		"{\"s\":\"\x01\"}",  "{\"s\":\"\\U0041\"}",
	};
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], buf, &obj), -VE_INVAL);
}

static void test_bad_structure(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"\n",
		"[]",
		"\"ev\"",
		"42",
		"{",
		"}",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\" 1}",
		"{\"a\":1,}",
		"{,\"a\":1}",
		"{\"a\":1 \"b\":2}",
		"{\"a\":1,,\"b\":2}",
		"{a:1}",
		"{'a':1}",
		"{1:1}",
		"{\"a\":1}}",
		"{\"a\":1} x",
		"{\"a\":1}{\"b\":2}",
		"x{\"a\":1}",
		"\xef\xbb\xbf{\"a\":1}", /* a BOM is not whitespace */
		"{\"a\":1}\f",
	};
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], buf, &obj), -VE_INVAL);
}

/* Nesting is refused, not skipped: see jsonline.h. */
static void test_nested_rejected(void **state)
{
	static const char *const bad[] = {
		"{\"a\":{}}",
		"{\"a\":{\"b\":1}}",
		"{\"a\":[]}",
		"{\"a\":[1,2]}",
		"{\"ev\":\"x\",\"sub\":{\"k\":\"v\"},\"z\":1}",
	};
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], buf, &obj), -VE_INVAL);
		assert_int_equal(obj.npairs, 0);
	}
}

static void test_embedded_nul(void **state)
{
	static const char line[] = "{\"a\":\"x\0y\"}";
	static const char after[] = "{\"a\":1}\0";
	static const char before[] = "{\"a\":1\0}";
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(jsonline_parse(line, sizeof(line) - 1, buf, BUFSZ, &obj), -VE_INVAL);
	assert_int_equal(jsonline_parse(after, sizeof(after) - 1, buf, BUFSZ, &obj), -VE_INVAL);
	assert_int_equal(jsonline_parse(before, sizeof(before) - 1, buf, BUFSZ, &obj), -VE_INVAL);
}

/* The input need not be NUL-terminated: only len bytes are looked at. */
static void test_length_bound(void **state)
{
	static const char line[] = "{\"a\":1}garbage";
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(jsonline_parse(line, 7, buf, BUFSZ, &obj), 1);
	assert_string_equal(obj.pair[0].value, "1");
	assert_int_equal(jsonline_parse(line, 8, buf, BUFSZ, &obj), -VE_INVAL);
}

/* Every strict prefix of a valid line is refused (a truncated write). */
static void test_truncation(void **state)
{
	const char *line = "{\"ev\":\"exit\",\"pid\":4,\"ok\":true,\"x\":null,\"f\":-1.5e3,"
			   "\"s\":\"a\\u0041\\n\"}";
	size_t len = strlen(line);
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(jsonline_parse(line, len, buf, BUFSZ, &obj), 6);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(jsonline_parse(line, n, buf, BUFSZ, &obj), -VE_INVAL);
}

static void test_pair_limit(void **state)
{
	char line[1024];
	char buf[BUFSZ];
	struct jsonline obj;
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(line + n, sizeof(line) - n, "{");
	for (int i = 0; i < JSONLINE_MAX_PAIRS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"k%d\":%d", i ? "," : "", i,
				      i);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "}");
	assert_int_equal(parse(line, buf, &obj), JSONLINE_MAX_PAIRS);
	assert_string_equal(value_of(&obj, "k31"), "31");

	line[n - 1] = '\0';
	strcat(line, ",\"k32\":32}");
	assert_int_equal(parse(line, buf, &obj), -VE_RANGE);
	assert_int_equal(obj.npairs, 0);
}

static void test_duplicate_keys(void **state)
{
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(parse("{\"a\":1,\"a\":2}", buf, &obj), 2);
	assert_string_equal(value_of(&obj, "a"), "1");
	assert_string_equal(obj.pair[1].value, "2");
}

/* len + 1 bytes of buffer are always enough; fewer may not be. */
static void test_buffer_size(void **state)
{
	static const char *const lines[] = {
		"{}",
		"{\"a\":1}",
		"{\"\":\"\"}",
		"{\"a\":1,\"b\":2,\"c\":3}",
		"{\"ev\":\"boot\",\"t_ns\":0}",
		"{\"s\":\"\\u0041\\n\\\\\"}",
		"{\"a\":true,\"b\":false,\"c\":null}",
	};
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t len = strlen(lines[i]);
		int want = parse(lines[i], buf, &obj);
		size_t need;

		assert_true(want >= 0);
		assert_int_equal(jsonline_parse(lines[i], len, buf, len + 1, &obj), want);
		/* Find the least size that works; below it, -VE_RANGE. */
		for (need = 0; need <= len + 1; need++)
			if (jsonline_parse(lines[i], len, buf, need, &obj) >= 0)
				break;
		assert_true(need <= len + 1);
		if (need > 0)
			assert_int_equal(jsonline_parse(lines[i], len, buf, need - 1, &obj),
					 -VE_RANGE);
	}
}

/* The output never goes past bufsize, even when the input is huge. */
static void test_no_overflow(void **state)
{
	char line[200];
	char buf[16];
	struct jsonline obj;

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	snprintf(line, sizeof(line), "{\"key\":\"%0100d\"}", 0);
	assert_int_equal(jsonline_parse(line, strlen(line), buf, 8, &obj), -VE_RANGE);
	for (size_t i = 8; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 'Z');
}

static void test_null_args(void **state)
{
	char buf[BUFSZ];
	struct jsonline obj;

	(void)state;
	assert_int_equal(jsonline_parse(NULL, 0, buf, BUFSZ, &obj), -VE_INVAL);
	assert_int_equal(jsonline_parse("{}", 2, NULL, BUFSZ, &obj), -VE_INVAL);
	assert_int_equal(jsonline_parse("{}", 2, buf, BUFSZ, NULL), -VE_INVAL);
	assert_null(jsonline_find(NULL, "a"));
	assert_int_equal(parse("{\"a\":1}", buf, &obj), 1);
	assert_null(jsonline_find(&obj, NULL));
}

/* A small fixed-seed generator, so a failure reproduces exactly. */
static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/*
 * Random bytes, and random mutations of a valid line: the parser must
 * return either an error or a result whose strings all lie in the buffer.
 */
static void test_garbage(void **state)
{
	static const char alphabet[] = "{}[]\":,\\u0123456789abcdefEe.-+ \t\r\n"
				       "truefalsenull\x01\x7f\xff";
	const char *valid = "{\"ev\":\"exit\",\"pid\":4,\"r\":\"a\\u0041\"}";
	char line[64];
	char buf[sizeof(line) + 1];
	struct jsonline obj;
	uint32_t seed = 12345;

	(void)state;
	for (int round = 0; round < 200000; round++) {
		size_t len = next_rand(&seed) % sizeof(line);
		int r;

		if (round & 1) {
			for (size_t i = 0; i < len; i++)
				line[i] = alphabet[next_rand(&seed) % (sizeof(alphabet) - 1)];
		} else {
			len = strlen(valid);
			memcpy(line, valid, len);
			for (int k = next_rand(&seed) % 3; k >= 0; k--)
				line[next_rand(&seed) % len] =
				    alphabet[next_rand(&seed) % (sizeof(alphabet) - 1)];
		}
		r = jsonline_parse(line, len, buf, len + 1, &obj);
		assert_true(r == -VE_INVAL || r >= 0);
		if (r < 0) {
			assert_int_equal(obj.npairs, 0);
			continue;
		}
		assert_int_equal((size_t)r, obj.npairs);
		for (size_t i = 0; i < obj.npairs; i++) {
			assert_true(obj.pair[i].key >= buf && obj.pair[i].key < buf + len + 1);
			assert_true(obj.pair[i].value >= buf && obj.pair[i].value < buf + len + 1);
			assert_true(strlen(obj.pair[i].value) <= len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_event),	cmocka_unit_test(test_empty_and_whitespace),
		cmocka_unit_test(test_literals),	cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_bad_keywords),	cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_bad_strings),	cmocka_unit_test(test_bad_structure),
		cmocka_unit_test(test_nested_rejected), cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_length_bound),	cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_pair_limit),	cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_buffer_size),	cmocka_unit_test(test_no_overflow),
		cmocka_unit_test(test_null_args),	cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests_name("jsonline", tests, NULL, NULL);
}
