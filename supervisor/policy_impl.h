/*
 * What the files of the policy parser share and nobody else sees: the
 * words of a line (policy_lex.c), the parser's state (policy_keys.c), the
 * message every mistake produces, and the name tables of the language's
 * enums (policy.c). Freestanding like policy.h.
 */
#ifndef VESTA_SUPERVISOR_POLICY_IMPL_H
#define VESTA_SUPERVISOR_POLICY_IMPL_H

#include "policy.h"

/* A found word is quoted in messages up to this many bytes. */
#define POL_QUOTE_MAX 40
/* Room for a quoted word: two quotes, the cut mark "..." and the NUL. */
#define POL_QUOTE_BUF (POL_QUOTE_MAX + 6)

#define POL_NAME_RULE "a name of 1-31 characters from [A-Za-z0-9_.-]"
#define POL_DURATION_RULE "a duration from 1ms to 60m (like 500ms, 10s or 1m)"
#define POL_SIZE_RULE "a size from 1 to 16MiB (like 4096, 64KiB or 1MiB)"

/* The words of the language's enums, indexed by the enum (policy.c), from
 * the one table of each: VE_PRIO_NAMES (abi.h) and the SUP_*_NAMES of the
 * decision machine's enums (decide.h). */
extern const char *const pol_restart_names[SUP_NRESTARTS];
extern const char *const pol_strategy_names[SUP_NSTRATEGIES];
extern const char *const pol_giveup_names[SUP_NGIVEUPS];
extern const char *const pol_state_names[SUP_NSTASH];
extern const char *const pol_prio_names[VE_NPRIO];
extern const char *const pol_start_names[2];

/* A word of the line being parsed; s is not NUL-terminated. n == 0: none. */
struct word {
	const char *s;
	size_t n;
	uint32_t col;
};

/* The kinds of section, as bits: a key lists those it may be written in. */
enum sect { SECT_NONE = 0, SECT_SERVICE = 1, SECT_SUPERVISOR = 2, SECT_PROCESS = 4 };

/* Keys that may be written once per section, as bits of parser.seen. */
#define NKEYS 32

/* One pol_parse_file() call: the file, the line being split, the section. */
struct parser {
	struct pol_set *s;
	struct pol_error *e;
	const char *fname;
	uint32_t file; /* index in s->files */
	const char *text;
	size_t len;
	size_t line_start; /* offset of the current line */
	size_t line_end;   /* offset of its '\n', or len */
	size_t pos;	   /* next byte to split */
	uint32_t line;
	enum sect sect;
	struct pol_images *images; /* a manifest's image lines; NULL in a policy file */
	struct pol_service *svc;   /* the open section, by sect (a process's too) */
	struct pol_supervisor *sup;
	uint32_t seen_line[NKEYS]; /* line a once-only key was on, 0 = not yet */
};

/* ---- messages (policy_lex.c) ---- */

/* Writes 'word' into q[POL_QUOTE_BUF]: the n bytes at s cut at
 * POL_QUOTE_MAX with "...", unprintable bytes as '?'. Returns q. */
const char *pol_quote(char *q, const char *s, size_t n);

/* pol_set_error at column col of the line being parsed. */
int pol_fail(struct parser *p, uint32_t col, const char *expected, const char *found);

/* Reports word w where expected was expected; "end of line" if there is none. */
int pol_fail_word(struct parser *p, const struct word *w, const char *expected);

/* ---- words (policy_lex.c) ---- */

/* Splits off the next word of the line into *w. Returns false at the end of
 * the line or at a comment, with w->n == 0 and w->col where a word would be. */
bool pol_next_word(struct parser *p, struct word *w);

/* 0 if the line has no word left, else the message for the first one. */
int pol_expect_eol(struct parser *p);

/* Whether w is exactly the string lit. */
bool pol_word_is(const struct word *w, const char *lit);

/* A word with its first `skip` bytes dropped and at most n bytes kept. */
struct word pol_sub_word(const struct word *w, size_t skip, size_t n);

/* Where w is: this file, this line, its column. */
struct pol_pos pol_pos_of(const struct parser *p, const struct word *w);

/* Copies the name in w to dst[POL_NAME_MAX] if it is a valid name. */
int pol_take_name(struct parser *p, const struct word *w, char *dst);

/* ---- values (policy_lex.c) ---- */

/* The n bytes at s as an unsigned number (decimal, or hex after 0x if
 * hex_ok) no larger than max; false on anything else. */
bool pol_parse_num(const char *s, size_t n, bool hex_ok, uint32_t max, uint32_t *out);

/* w as a duration (POL_DURATION_RULE) in ms, or false. */
bool pol_parse_duration(const struct word *w, uint32_t *ms);

/* w as a size (POL_SIZE_RULE) in bytes, or false. */
bool pol_parse_size(const struct word *w, uint32_t *bytes);

/* Reads one word that must be a duration. */
int pol_need_duration(struct parser *p, uint32_t *ms);

/* Reads the last word of the line, which must be one of the n words in
 * names[] (whose list, for the message, is rule), and sets *out to its
 * index and *w to the word. */
int pol_need_choice(struct parser *p, const char *const *names, size_t n, const char *rule,
		    unsigned *out, struct word *w);

#endif
