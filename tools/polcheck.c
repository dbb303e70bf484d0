/*
 * polcheck: validates a set of policy files (the language is in
 * policies/README.md) with the supervisor's own parser, so a mistake is
 * found at build time with the message the supervisor would give at boot.
 *
 *	polcheck [-v] [-m MANIFEST] FILE...
 *
 * Parses every file (reporting the first mistake of each), then, if all
 * parsed, checks the set exactly as the supervisor does at boot
 * (sup_plan_check: the set as a whole, the plan of the tree and the
 * decision machine's limits), so a set that passes boots. With -m, it then
 * checks the set once more together with the processes of the boot image's
 * manifest (the kernel starts those beside the tree): no channel served by
 * both a process and a service, no IRQ line or I/O port granted to both.
 * Messages go to stderr as "file:line:col: expected X, found Y". Exits 0 if
 * the set is valid, 1 on any mistake or I/O error. -v prints the tree on
 * stdout once it is valid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "policy.h"

/* A policy file is a page or two; anything this big is not one. */
#define FILE_MAX (1024 * 1024)

static struct pol_set set;
static struct pol_images images;
static struct sup_plan plan;
static struct sup_tree tree;

/* Reads all of path into a malloc'd buffer. Returns NULL with a message on failure. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "polcheck: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		fprintf(stderr, "polcheck: out of memory\n");
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, FILE_MAX + 1, f);
	if (ferror(f) || n > FILE_MAX) {
		fprintf(stderr, "polcheck: %s: %s\n", path,
			ferror(f) ? "read error" : "larger than 1 MiB");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static void print_ms(uint32_t ms)
{
	if (ms % 60000 == 0)
		printf("%um", ms / 60000);
	else if (ms % 1000 == 0)
		printf("%us", ms / 1000);
	else
		printf("%ums", ms);
}

static void print_service(const struct pol_service *svc, int depth)
{
	uint32_t k;

	printf("%*s%s: service, image %s, %s, %s, shutdown ", 2 * depth, "", svc->name, svc->image,
	       pol_restart_name(svc->restart), pol_prio_name(svc->prio));
	if (svc->shutdown_ms)
		print_ms(svc->shutdown_ms);
	else
		printf("brutal_kill");
	printf(", state %s", pol_state_name(svc->state));
	if (svc->heartbeat_ms) {
		printf(", heartbeat ");
		print_ms(svc->heartbeat_ms);
	}
	if (svc->ready_timeout_ms) {
		printf(", ready_timeout ");
		print_ms(svc->ready_timeout_ms);
	}
	if (svc->backoff_min_ms) {
		printf(", backoff ");
		print_ms(svc->backoff_min_ms);
		printf("..");
		print_ms(svc->backoff_max_ms);
	}
	for (k = 0; k < svc->nserves; k++)
		printf(", serves %s", svc->serves[k].name);
	for (k = 0; k < svc->nopens; k++)
		printf(", opens %s", svc->opens[k].name);
	printf("\n");
}

static void print_tree(const struct pol_set *s, uint32_t sup_idx, int depth)
{
	const struct pol_supervisor *sup = &s->supervisors[sup_idx];
	uint32_t k;

	printf("%*s%s: supervisor, %s, intensity %u per ", 2 * depth, "", sup->name,
	       pol_strategy_name(sup->strategy), sup->intensity);
	print_ms(sup->period_ms);
	if (sup->parent < 0)
		printf(", on_giveup %s", pol_giveup_name(sup->on_giveup));
	printf("\n");
	for (k = 0; k < sup->nchildren; k++) {
		const struct pol_child *c = &sup->children[k];

		if (c->is_supervisor)
			print_tree(s, c->index, depth + 1);
		else
			print_service(&s->services[c->index], depth + 1);
	}
}

/*
 * Parses path into set: a manifest if manifest, else a policy file.
 * Returns 0, or 1 after printing why.
 */
static int parse(const char *path, bool manifest)
{
	struct pol_error err;
	size_t len;
	char *text = read_file(path, &len);
	int rc;

	if (!text)
		return 1;
	if (manifest)
		rc = pol_parse_manifest(&set, &images, path, text, len, &err);
	else
		rc = pol_parse_file(&set, path, text, len, &err);
	free(text);
	if (rc < 0)
		fprintf(stderr, "%s\n", err.msg);
	return rc < 0;
}

/* The files from argv[first] on, parsed into set; 0 if all parsed. */
static int parse_all(int argc, char **argv, int first)
{
	int bad = 0;

	for (int i = first; i < argc; i++)
		bad |= parse(argv[i], false);
	return bad;
}

/* The policies again, after the manifest's processes: checked together. */
static int check_with_manifest(const char *manifest, int argc, char **argv, int first)
{
	struct pol_error err;

	pol_init(&set);
	if (parse(manifest, true) || parse_all(argc, argv, first))
		return 1;
	if (pol_check(&set, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pol_error err;
	const char *manifest = NULL;
	int i = 1, verbose = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			manifest = argv[++i];
		else
			break;
	}
	if (i >= argc || argv[i][0] == '-') {
		fprintf(stderr, "usage: polcheck [-v] [-m MANIFEST] FILE...\n");
		return 1;
	}
	pol_init(&set);
	if (parse_all(argc, argv, i))
		return 1;
	if (sup_plan_check(&plan, &set, &tree, 0, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (verbose)
		print_tree(&set, set.root, 0);
	if (manifest)
		return check_with_manifest(manifest, argc, argv, i);
	return 0;
}
