/*
 * polcheck: validates a set of policy files (the language is in
 * policies/README.md) with the supervisor's own parser, so a mistake is
 * found at build time with the message the supervisor would give at boot.
 *
 *	polcheck [-v] FILE...
 *
 * Parses every file (reporting the first mistake of each), then, if all
 * parsed, checks the set exactly as the supervisor does at boot
 * (sup_plan_check: the set as a whole, the plan of the tree and the
 * decision machine's limits), so a set that passes boots. Messages go to
 * stderr as
 * "file:line:col: expected X, found Y". Exits 0 if the set is valid, 1 on
 * any mistake or I/O error. -v prints the tree on stdout once it is valid.
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

int main(int argc, char **argv)
{
	struct pol_error err;
	int i = 1, verbose = 0, bad = 0;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		i++;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: polcheck [-v] FILE...\n");
		return 1;
	}
	pol_init(&set);
	for (; i < argc; i++) {
		size_t len;
		char *text = read_file(argv[i], &len);

		if (!text) {
			bad = 1;
			continue;
		}
		if (pol_parse_file(&set, argv[i], text, len, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			bad = 1;
		}
		free(text);
	}
	if (bad)
		return 1;
	if (sup_plan_check(&plan, &set, &tree, 0, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (verbose)
		print_tree(&set, set.root, 0);
	return 0;
}
