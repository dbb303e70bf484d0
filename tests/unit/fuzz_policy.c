/*
 * libFuzzer target for the policy parser (supervisor/policy*.c), which reads
 * text from the boot image inside the supervisor and so must never crash,
 * hang or read out of bounds on any input.
 *
 * An input is split at NUL bytes into up to four files, which are parsed
 * into one set and, if all parse, checked as a whole. Beyond the sanitizers'
 * checks it asserts what callers rely on: every message starts with the
 * file name and holds ": expected ", a failed parse leaves the counts as
 * they were, and a checked set is a tree holding every service once.
 *
 *	make build/fuzz/fuzz_policy
 *	build/fuzz/fuzz_policy -max_total_time=60 \
 *		-dict=tests/unit/fuzz_policy.dict build/fuzz/corpus policies
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define MAX_FILES 4

static struct pol_set set;
static struct pol_error err;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_message(const char *fname)
{
	size_t n = strlen(fname);

	check(strlen(err.msg) < POL_ERR_MAX);
	check(strncmp(err.msg, fname, n) == 0 || n >= POL_ERR_MAX / 2);
	check(strstr(err.msg, ": expected ") != NULL);
}

static void check_name(const char *name)
{
	check(memchr(name, 0, POL_NAME_MAX) != NULL);
	check(name[0] != 0);
}

/* A checked set: a tree from the root that holds every definition once. */
static void check_tree(void)
{
	uint32_t i, k, seen_svc = 0, seen_sup = 1;

	check(set.root < set.nsupervisors);
	check(set.supervisors[set.root].parent == -1);
	for (i = 0; i < set.nsupervisors; i++) {
		const struct pol_supervisor *sup = &set.supervisors[i];

		check_name(sup->name);
		check(sup->nchildren <= POL_MAX_CHILDREN);
		for (k = 0; k < sup->nchildren; k++) {
			const struct pol_child *c = &sup->children[k];

			if (c->is_supervisor) {
				check(c->index < set.nsupervisors);
				check(set.supervisors[c->index].parent == (int32_t)i);
				seen_sup++;
			} else {
				check(c->index < set.nservices);
				check(set.services[c->index].parent == (int32_t)i);
				seen_svc++;
			}
		}
	}
	check(seen_svc == set.nservices);
	check(seen_sup == set.nsupervisors);
	for (i = 0; i < set.nservices; i++) {
		const struct pol_service *svc = &set.services[i];

		check_name(svc->name);
		check_name(svc->image);
		check(memchr(svc->args, 0, POL_ARGS_MAX) != NULL);
		check(svc->nports <= VE_SPAWN_PORTS && svc->nserves <= VE_SPAWN_CHANS &&
		      svc->nopens <= VE_SPAWN_CHANS);
		check((svc->irqs & ~VE_IRQS_VALID) == 0);
		check(svc->backoff_min_ms <= svc->backoff_max_ms);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[MAX_FILES] = { "a.policy", "b.policy", "c.policy",
						      "d.policy" };
	const char *text = (const char *)data;
	size_t f;

	pol_init(&set);
	for (f = 0; f < MAX_FILES && size > 0; f++) {
		const char *end = f + 1 < MAX_FILES ? memchr(text, 0, size) : NULL;
		size_t len = end ? (size_t)(end - text) : size;
		uint32_t nsvc = set.nservices, nsup = set.nsupervisors;

		/* Copy to an exact-size buffer so ASan sees a read past the end. */
		char *copy = malloc(len ? len : 1);

		check(copy != NULL);
		memcpy(copy, text, len);
		if (pol_parse_file(&set, names[f], copy, len, &err) < 0) {
			free(copy);
			check_message(names[f]);
			check(set.nservices == nsvc && set.nsupervisors == nsup);
			return 0;
		}
		free(copy);
		text += len + (end != NULL);
		size -= len + (end != NULL);
	}
	if (pol_check(&set, &err) < 0) {
		check(!set.checked);
		check(strstr(err.msg, ": expected ") != NULL);
		return 0;
	}
	check(set.checked);
	check_tree();
	return 0;
}
