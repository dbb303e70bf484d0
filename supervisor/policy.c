/*
 * The policy set's own functions (policy.h): starting an empty set,
 * finding a definition by name, and the words of the language's enums.
 * The language itself is read in policy_lex.c (words and values) and
 * policy_keys.c (keys, sections, a file); policy_check.c checks a set
 * across its files. Freestanding: kernel/lib only, no globals but the
 * constant name tables.
 */
#include "policy_impl.h"

#include "string.h"

const char *const pol_restart_names[SUP_NRESTARTS] = SUP_RESTART_NAMES;
const char *const pol_strategy_names[SUP_NSTRATEGIES] = SUP_STRATEGY_NAMES;
const char *const pol_giveup_names[SUP_NGIVEUPS] = SUP_GIVEUP_NAMES;
const char *const pol_state_names[SUP_NSTASH] = SUP_STASH_NAMES;
const char *const pol_prio_names[VE_NPRIO] = VE_PRIO_NAMES;
const char *const pol_start_names[2] = { "boot", "spawn" };

int pol_init(struct pol_set *s)
{
	if (!s)
		return -VE_INVAL;
	memset(s, 0, sizeof(*s));
	return 0;
}

int pol_service_find(const struct pol_set *s, const char *name)
{
	uint32_t i;

	if (!s || !name)
		return -VE_INVAL;
	for (i = 0; i < s->nservices; i++)
		if (!strcmp(s->services[i].name, name))
			return (int)i;
	return -VE_NOENT;
}

int pol_supervisor_find(const struct pol_set *s, const char *name)
{
	uint32_t i;

	if (!s || !name)
		return -VE_INVAL;
	for (i = 0; i < s->nsupervisors; i++)
		if (!strcmp(s->supervisors[i].name, name))
			return (int)i;
	return -VE_NOENT;
}

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "?";
}

const char *pol_restart_name(enum sup_restart r)
{
	return name_of(pol_restart_names, SUP_NRESTARTS, (unsigned)r);
}

const char *pol_strategy_name(enum sup_strategy st)
{
	return name_of(pol_strategy_names, SUP_NSTRATEGIES, (unsigned)st);
}

const char *pol_giveup_name(enum sup_giveup g)
{
	return name_of(pol_giveup_names, SUP_NGIVEUPS, (unsigned)g);
}

const char *pol_state_name(enum sup_stash st)
{
	return name_of(pol_state_names, SUP_NSTASH, (unsigned)st);
}

const char *pol_prio_name(enum ve_prio p)
{
	return name_of(pol_prio_names, VE_NPRIO, (unsigned)p);
}

const char *pol_start_name(enum pol_start st)
{
	return name_of(pol_start_names, 2, (unsigned)st);
}
