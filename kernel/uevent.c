/*
 * event(): a user process writes one line on the event log. The kernel
 * builds the line itself from checked keys and values, so it is always valid
 * JSON, always carries the writer's pid, and can never pass for one of the
 * kernel's own events.
 */
#include "uevent.h"

#include "bundle.h"
#include "klog.h"
#include "lib/string.h"
#include "proc.h"
#include "vm.h"

#define KEY_MAX 24 /* [a-z0-9_]{1,23} and the NUL */

static const char *const kernel_events[] = {
	"boot",	       "spawn",	     "exit",   "ready",	     "halt",
	"panic",       "chan_serve", "replay", "deadletter", "discard",
	"sup_restart", "inject",     "pci",    "dev_grant",  "dev_release",
};

static bool word_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int copy_word(struct proc *p, char *dst, uint64_t uaddr)
{
	int err = vm_copy_str_in(p, dst, uaddr, KEY_MAX);
	if (err)
		return err == -VE_RANGE ? -VE_INVAL : err;
	return word_ok(dst) ? 0 : -VE_INVAL;
}

/* event(ev, kv, n). Errors: -VE_INVAL (bad or reserved event name, bad key,
 * "pid", "ev" or "t_ns" as a key), -VE_RANGE (n or a string too long),
 * -VE_FAULT. Nothing is written unless everything checks. */
long uevent_post(struct proc *p, uint64_t uev, uint64_t ukv, uint64_t n)
{
	char ev[KEY_MAX], keys[VE_EVENT_FIELDS_MAX][KEY_MAX];
	static char strs[VE_EVENT_FIELDS_MAX][VE_EVENT_STR_MAX + 1];
	struct ve_kv kv[VE_EVENT_FIELDS_MAX];
	int err;

	if (n > VE_EVENT_FIELDS_MAX)
		return -VE_RANGE;
	if ((err = copy_word(p, ev, uev)))
		return err;
	/* The root supervisor's `ready` (the whole tree is up) stands beside
	 * the kernel's (every boot process started); every other kernel event
	 * name is the kernel's alone. */
	bool sup_ready = strcmp(ev, "ready") == 0 && (p->grants & VE_GRANT_SUPERVISOR);
	for (unsigned i = 0; i < sizeof(kernel_events) / sizeof(kernel_events[0]); i++)
		if (strcmp(ev, kernel_events[i]) == 0 && !sup_ready)
			return -VE_INVAL;
	if (n && vm_copy_in(p, kv, ukv, n * sizeof(kv[0])))
		return -VE_FAULT;
	for (uint64_t i = 0; i < n; i++) {
		if ((err = copy_word(p, keys[i], (uint64_t)(uintptr_t)kv[i].key)))
			return err;
		if (strcmp(keys[i], "pid") == 0 || strcmp(keys[i], "ev") == 0 ||
		    strcmp(keys[i], "t_ns") == 0)
			return -VE_INVAL;
		if (kv[i].str && (err = vm_copy_str_in(p, strs[i], (uint64_t)(uintptr_t)kv[i].str,
						       sizeof(strs[i]))))
			return err;
	}
	struct evlog_line l;
	ev_start(&l, ev);
	ev_i64(&l, "pid", p->pid);
	for (uint64_t i = 0; i < n; i++) {
		if (kv[i].str)
			ev_str(&l, keys[i], strs[i]);
		else
			ev_i64(&l, keys[i], kv[i].num);
	}
	ev_send(&l);
	return 0;
}
