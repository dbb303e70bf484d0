/*
 * libFuzzer target for the policy parser (supervisor/policy*.c), which reads
 * text from the boot image inside the supervisor and so must never crash,
 * hang or read out of bounds on any input.
 *
 * An input is split at NUL bytes into up to four files, which are parsed
 * into one set -- the first as a manifest (image lines and processes, as
 * mkbundle reads it), the others as policy files -- and, if all parse,
 * checked as a whole. Beyond the sanitizers' checks it asserts what callers
 * rely on: every message starts with the file name and holds
 * ": expected ", a failed parse leaves the counts as they were, a checked
 * set is a tree holding every service once (unless it holds processes
 * alone), and every process fits the boot table (one set of channel
 * limits; the manifest's name images it carries).
 *
 *	make build/fuzz/fuzz_policy
 *	build/fuzz/fuzz_policy -max_total_time=60 \
 *		-dict=tests/unit/fuzz_policy.dict build/fuzz/corpus tests/boot/images policies
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define MAX_FILES 4

static struct pol_set set;
static struct pol_images images;
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

/* What a service and a process both are: names, bounded lists. */
static void check_desc(const struct pol_service *d)
{
	check_name(d->name);
	check_name(d->image);
	check(memchr(d->args, 0, POL_ARGS_MAX) != NULL);
	check(d->nports <= VE_SPAWN_PORTS && d->nserves <= VE_SPAWN_CHANS &&
	      d->nopens <= VE_SPAWN_CHANS);
	check((d->irqs & ~VE_IRQS_VALID) == 0);
}

/* A checked set's processes: what mkbundle turns into the boot table. */
static void check_processes(uint32_t from_manifest)
{
	uint32_t i, k;

	for (i = 0; i < set.nprocesses; i++) {
		const struct pol_service *p = &set.processes[i];

		check_desc(p);
		check(p->start == POL_START_BOOT || p->start == POL_START_SPAWN);
		for (k = 1; k < p->nserves; k++)
			check(p->serves[k].max_messages == p->serves[0].max_messages &&
			      p->serves[k].max_bytes == p->serves[0].max_bytes &&
			      p->serves[k].max_redeliveries == p->serves[0].max_redeliveries);
		if (i >= from_manifest)
			continue;
		for (k = 0; k < images.n && strcmp(images.image[k].name, p->image); k++)
			;
		check(k < images.n);
	}
}

/* A checked set: a tree from the root that holds every definition once. */
static void check_tree(void)
{
	uint32_t i, k, seen_svc = 0, seen_sup = 1;

	if (!set.nservices && !set.nsupervisors && set.nprocesses)
		return; /* a manifest's processes alone: no tree */
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

		check_desc(svc);
		check(svc->backoff_min_ms <= svc->backoff_max_ms);
		check(!(svc->grants & VE_GRANT_SUPERVISOR));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[MAX_FILES] = { "a.manifest", "b.policy", "c.policy",
						      "d.policy" };
	const char *text = (const char *)data;
	uint32_t from_manifest = 0;
	size_t f;

	pol_init(&set);
	for (f = 0; f < MAX_FILES && size > 0; f++) {
		const char *end = f + 1 < MAX_FILES ? memchr(text, 0, size) : NULL;
		size_t len = end ? (size_t)(end - text) : size;
		uint32_t nsvc = set.nservices, nsup = set.nsupervisors, nproc = set.nprocesses;
		int rc;

		/* Copy to an exact-size buffer so ASan sees a read past the end. */
		char *copy = malloc(len ? len : 1);

		check(copy != NULL);
		memcpy(copy, text, len);
		if (f == 0)
			rc = pol_parse_manifest(&set, &images, names[f], copy, len, &err);
		else
			rc = pol_parse_file(&set, names[f], copy, len, &err);
		if (rc < 0) {
			free(copy);
			check_message(names[f]);
			check(set.nservices == nsvc && set.nsupervisors == nsup &&
			      set.nprocesses == nproc);
			return 0;
		}
		if (f == 0)
			from_manifest = set.nprocesses;
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
	check_processes(from_manifest);
	return 0;
}
