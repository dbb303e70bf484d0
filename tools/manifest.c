/*
 * The bundle manifest for tools/mkbundle (manifest.h, tools/BUNDLE.md): the
 * policy parser reads it, and each `process` section becomes one entry of
 * the bundle's process table, field for field. The limits of a process's
 * served channels become the entry's one set (pol_check has made sure
 * every channel of a process has the same).
 */
#include "manifest.h"

#include <stdio.h>
#include <string.h>

_Static_assert(POL_NAME_MAX == BUNDLE_NAME_MAX, "a policy name fits a bundle name");
_Static_assert(POL_ARGS_MAX == BUNDLE_ARGS_MAX, "policy args fit a bundle's");
_Static_assert(POL_MAX_PROCESSES == BUNDLE_MAX_PROCS, "as many processes as the table holds");
_Static_assert(POL_MAX_IMAGES == BUNDLE_MAX_IMAGES, "as many images as a bundle holds");

/* Copies the string src into the zeroed field dst: no bytes after its NUL,
 * so a table's bytes depend only on what the manifest says. */
static void put(char *dst, const char *src)
{
	memcpy(dst, src, strlen(src));
}

/* The boot table's entry for process pr. */
static void to_bundle(const struct pol_service *pr, struct bundle_proc *b)
{
	uint32_t k;

	memset(b, 0, sizeof(*b));
	put(b->name, pr->name);
	put(b->image, pr->image);
	put(b->args, pr->args);
	b->prio = (uint8_t)pr->prio;
	b->grants = pr->grants;
	b->irqs = pr->irqs;
	for (k = 0; k < pr->ndevices && k < VE_SPAWN_DEVS; k++)
		b->devs[k] = pr->devices[k].sel;
	b->flags = pr->start == POL_START_SPAWN ? BUNDLE_PROC_SPAWN_ONLY : 0;
	b->nports = (uint8_t)pr->nports;
	for (k = 0; k < pr->nports; k++)
		b->ports[k] = (struct bundle_ports){ pr->ports[k].first, pr->ports[k].last };
	for (k = 0; k < pr->nserves; k++)
		put(b->serve[k], pr->serves[k].name);
	for (k = 0; k < pr->nopens; k++)
		put(b->open[k], pr->opens[k].name);
	if (pr->nserves) {
		b->queue = pr->serves[0].max_messages;
		b->qbytes = pr->serves[0].max_bytes;
		b->redeliveries = pr->serves[0].max_redeliveries;
	}
}

int manifest_parse(const char *file, const char *text, size_t len, struct manifest *m, char *err,
		   size_t err_cap)
{
	struct pol_error e;
	int rc;

	if (!file || (!text && len) || !m || !err || !err_cap)
		return -VE_INVAL;
	memset(m, 0, sizeof(*m));
	err[0] = '\0';
	pol_init(&m->set);
	rc = pol_parse_manifest(&m->set, &m->images, file, text, len, &e);
	if (!rc && m->set.nprocesses) /* no processes: nothing to check */
		rc = pol_check(&m->set, &e);
	if (rc) {
		snprintf(err, err_cap, "%s", e.msg);
		return -VE_INVAL;
	}
	for (uint32_t i = 0; i < m->set.nprocesses; i++)
		to_bundle(&m->set.processes[i], &m->procs[i]);
	m->nprocs = m->set.nprocesses;
	return 0;
}
