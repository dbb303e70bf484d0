/*
 * The supervisor's policies, read from the boot bundle at start. The
 * process cannot list the bundle, so the manifest carries a file
 * "policies.list" naming the policy files, one per line. They are parsed
 * and checked (supervisor/policy.c, then sup_plan_check of
 * supervisor/plan.c) exactly as the build's polcheck does, so a set that
 * passed the build boots and a mistake reads the same at boot: `file:line:col: expected X, found Y` on the console and a
 * policy_error event; then the supervisor refuses to run: it halts the
 * machine with failure (halt grant), or exits 1.
 */
#include "supd.h"

/* Report a policy mistake and exit. msg is "file:line:col: text" (or
 * "file: text" when there is no position). */
static _Noreturn void refuse(const char *msg, uint32_t line, uint32_t col)
{
	char file[POL_FILE_MAX];
	const char *text = msg;
	size_t n = 0;
	int colons = line ? 3 : 1;
	char cut[VE_EVENT_STR_MAX + 1];
	struct ve_kv kv[4];

	while (msg[n] && msg[n] != ':' && n + 1 < sizeof(file)) {
		file[n] = msg[n];
		n++;
	}
	file[n] = '\0';
	/* The event's msg is the text after the position, cut to fit. */
	while (*text && colons) {
		if (*text++ == ':')
			colons--;
	}
	text = ve_skip_space(*text ? text : msg);
	ve_printf("%s\n", msg);
	ve_printf("supervisor: refusing these policies; nothing started\n");
	kv[0] = VE_KV_STR("file", file);
	kv[1] = VE_KV_NUM("line", line);
	kv[2] = VE_KV_NUM("col", col);
	strlcpy(cut, text, sizeof(cut));
	kv[3] = VE_KV_STR("msg", cut);
	ve_event("policy_error", kv, 4);
	/* Nothing can run: stop the machine with failure when allowed (the
	 * kernel would only restart a root supervisor that exits); else exit. */
	ve_halt(1);
	ve_exit(1);
}

/* A mistake about the files themselves (no line to point at). */
static _Noreturn void refuse_file(const char *file, const char *what, const char *found)
{
	char msg[POL_ERR_MAX];

	fmt_snprintf(msg, sizeof(msg), "%s: expected %s, found %s", file, what, found);
	refuse(msg, 0, 0);
}

/* Read bundle file name into d->file; returns its length. */
static size_t read_file(struct supd *d, const char *name)
{
	long n = ve_bundle_read(name, d->file, SUPD_FILE_MAX);

	if (n == -VE_RANGE || n > (long)SUPD_FILE_MAX)
		refuse_file(name, "a file of at most 32 KiB", "a larger one");
	if (n < 0)
		refuse_file(name, "a file in the boot image",
			    n == -VE_NOENT ? "none" : ve_strerror(n));
	d->file[n] = '\0';
	return (size_t)n;
}

/* The next name in the list at *p: its length, 0 at the end. Skips blank
 * lines and '#' comments; *p is advanced past the line. */
static size_t next_name(const char **p, const char **name)
{
	for (;;) {
		const char *s = *p, *end;
		size_t n;

		if (!*s)
			return 0;
		end = strchr(s, '\n');
		*p = end ? end + 1 : s + strlen(s);
		s = ve_skip_space(s);
		n = 0;
		while (s + n < *p && s[n] != '\n' && s[n] != '\r' && s[n] != ' ' && s[n] != '\t' &&
		       s[n] != '#')
			n++;
		if (n) {
			*name = s;
			return n;
		}
	}
}

void supd_load(struct supd *d)
{
	static char list[SUPD_FILE_MAX + 1];
	struct pol_error err = { 0 };
	const char *p = list, *word;
	char name[VE_NAME_MAX];
	size_t n, len;
	int r;

	len = read_file(d, SUPD_LIST_FILE);
	memcpy(list, d->file, len + 1);
	pol_init(&d->pol);
	while ((n = next_name(&p, &word)) != 0) {
		if (n >= sizeof(name))
			refuse_file(SUPD_LIST_FILE, "file names of at most 31 characters",
				    "a longer one");
		memcpy(name, word, n);
		name[n] = '\0';
		len = read_file(d, name);
		r = pol_parse_file(&d->pol, name, d->file, len, &err);
		if (r == -VE_RANGE)
			refuse_file(SUPD_LIST_FILE, "at most 64 policy files", "more");
		if (r < 0)
			refuse(err.msg, err.line, err.col);
	}
	if (d->pol.nfiles == 0)
		refuse_file(SUPD_LIST_FILE, "at least one policy file", "none");
	if (sup_plan_check(&d->plan, &d->pol, &d->tree, ve_clock_ns(), &err) < 0)
		refuse(err.msg, err.line, err.col);
}
