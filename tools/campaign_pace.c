/*
 * The campaign's pace (campaign_pace.h): the policy's supervisors, and a
 * window of the restarts each did, from the event log's `restart` events.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_pace.h"
#include "util.h"

#define RING (sizeof(((struct camp_pace *)0)->win[0].t) / sizeof(uint64_t))

/* The whole file at path (NUL-terminated, length in *len), or NULL. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = 2 * cap + 4096 + 1;
			buf = util_realloc(buf, cap);
		}
		got = fread(buf + n, 1, 4096, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files dir/policies.list names (one per line; blank lines and '#'
 * comments skipped), as the supervisor reads them, into names[]. Returns
 * how many, or -1 if there is no list. */
static int listed(const char *dir, char **names)
{
	char *path = util_path_join(dir, "policies.list"), *text, *line, *save = NULL;
	size_t len, nn = 0;

	text = read_file(path, &len);
	free(path);
	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line && nn < POL_MAX_FILES;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t k;

		line += strspn(line, " \t\r");
		k = strcspn(line, " \t\r#");
		if (k == 0)
			continue;
		line[k] = '\0';
		names[nn++] = util_path_join(dir, line);
	}
	free(text);
	return (int)nn;
}

/* Every *.policy in dir into names[], sorted. Returns how many, or -1 if
 * dir cannot be opened. */
static int globbed(const char *dir, char **names)
{
	size_t nn = 0;
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return -1;
	while ((d = readdir(dp)) && nn < POL_MAX_FILES) {
		size_t l = strlen(d->d_name);

		if (l > 7 && !strcmp(d->d_name + l - 7, ".policy"))
			names[nn++] = util_path_join(dir, d->d_name);
	}
	closedir(dp);
	qsort(names, nn, sizeof(names[0]), cmp_str);
	return (int)nn;
}

int camp_pace_load(struct camp_pace *p, const char *dir, char *err, size_t n)
{
	char *names[POL_MAX_FILES];
	int got = listed(dir, names);
	size_t nn;
	struct pol_error e;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	pol_init(&p->set);
	if (got < 0 && (got = globbed(dir, names)) < 0) {
		snprintf(err, n, "%s: cannot open the policy folder", dir);
		return -1;
	}
	nn = (size_t)got;
	for (size_t i = 0; i < nn; i++) {
		size_t len = 0;
		char *text = rc ? NULL : read_file(names[i], &len);

		if (!rc && !text) {
			snprintf(err, n, "%s: cannot read it", names[i]);
			rc = -1;
		} else if (!rc && pol_parse_file(&p->set, names[i], text, len, &e) < 0) {
			snprintf(err, n, "%s", e.msg);
			rc = -1;
		}
		free(text);
		free(names[i]);
	}
	if (!rc && pol_check(&p->set, &e) < 0) {
		snprintf(err, n, "%s", e.msg);
		rc = -1;
	}
	p->loaded = rc == 0;
	return rc;
}

/* Index of the supervisor that restarts name, or -1. */
static int parent_of(const struct camp_pace *p, const char *name)
{
	int i;

	if (!p->loaded)
		return -1;
	if ((i = pol_service_find(&p->set, name)) >= 0)
		return p->set.services[i].parent;
	if ((i = pol_supervisor_find(&p->set, name)) >= 0)
		return p->set.supervisors[i].parent;
	return -1;
}

void camp_pace_restart(struct camp_pace *p, const char *child, uint64_t t_ns)
{
	int s = parent_of(p, child);

	if (s >= 0)
		p->win[s].t[p->win[s].n++ % RING] = t_ns;
}

bool camp_pace_wait(const struct camp_pace *p, const char *target, uint64_t now_ns)
{
	int s = parent_of(p, target);
	const struct pol_supervisor *sup;
	uint64_t period;
	unsigned in = 0, limit;

	if (s < 0)
		return false;
	sup = &p->set.supervisors[s];
	period = (uint64_t)sup->period_ms * 1000000ull;
	limit = sup->intensity * CAMP_PACE_SHARE_PCT / 100;
	if (limit < 1)
		limit = 1;
	for (unsigned i = 0; i < RING && i < p->win[s].n; i++)
		in += now_ns < p->win[s].t[i] || now_ns - p->win[s].t[i] < period;
	return in >= limit;
}
