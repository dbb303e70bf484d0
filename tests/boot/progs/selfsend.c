/*
 * selfsend: a process killed while blocked sending into a full channel it
 * serves itself must simply die. The kernel's clean-up of its server
 * handle wakes the senders blocked on that channel; the dying process was
 * one of them, and must not be woken (queued to run) on its way out, after
 * its kernel stack is freed.
 *
 * As "parent" (the boot process, spawn grant): starts "selfsend sender"
 * twice as the boot-table template ss (serves and opens "ss", max_messages 1),
 * waits until ps shows both blocked, kills the first, waits for it (reason
 * killed), then kills and waits for the second, sleeps so that the
 * scheduler runs whatever it holds (a wrongly woken dead process would run
 * on a freed stack then), and posts
 * {"ev":"selfsend","first":REASON,"second":REASON}. Exit 0 when both died
 * killed; 3 for a setup failure.
 * As "sender": serves "ss" if nobody does yet, opens it, and casts until a
 * cast blocks (max_messages 1: the second).
 */
#include "vesta.h"

static int sender(void)
{
	int h = ve_chan_open("ss");
	if (h < 0)
		return 3;
	ve_chan_serve("ss"); /* the first sender serves it; -VE_BUSY for the second */
	for (;;)
		if (ve_chan_cast(h, "x", 1, 0) < 0)
			return 3;
}

static int start(void)
{
	int pid = ve_spawn("ss", "sender");
	if (pid < 0)
		ve_exit(3);
	while (ve_ps_state(pid) != VE_PS_BLOCKED)
		ve_sleep_ms(1);
	return pid;
}

static uint32_t kill_and_wait(int pid)
{
	struct ve_exit ex = { 0 };
	if (ve_kill(pid) < 0 || ve_wait(pid, &ex) < 0)
		ve_exit(3);
	return ex.reason;
}

int main(const char *args)
{
	if (strcmp(args, "sender") == 0)
		return sender();
	int first = start(), second = start();
	uint32_t r1 = kill_and_wait(first), r2 = kill_and_wait(second);
	ve_sleep_ms(5);
	struct ve_kv kv[] = {
		VE_KV_STR("first", ve_reason_name(r1)),
		VE_KV_STR("second", ve_reason_name(r2)),
	};
	ve_event("selfsend", kv, 2);
	return r1 == VE_R_KILLED && r2 == VE_R_KILLED ? 0 : 1;
}
