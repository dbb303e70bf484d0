/*
 * dtsrv: the server half of the deadtimeout test (see dtcli.c). It serves
 * "dt", takes one request and dies on it with a null write:
 *   "crash"  at once, while its caller still waits;
 *   "spin"   only once its caller's timeout has fired: it spins (in ring 3,
 *            at a higher priority than the caller, so the caller cannot run
 *            in between) until ps shows the caller runnable again, i.e. the
 *            kernel woke it for its deadline, and posts {"ev":"dtsrv",
 *            "caller_woken":1} first.
 * So the request is poisoned (the channel's redeliveries are 1) after the
 * caller's deadline passed but before the caller ran: an ordering fixed by
 * priorities and by state, not by speed.
 * A kernel that never times the caller out keeps it spinning until the
 * scenario's timeout: no clock of its own decides. Exit 3 for a setup
 * failure.
 */
#include "vesta.h"

static _Noreturn void crash(void)
{
	*(volatile int *)0 = 1;
	ve_exit(3);
}

int main(const char *args)
{
	struct ve_wait_result wr;
	struct ve_msg m;
	char buf[16];
	(void)args;
	int s = ve_chan_serve_wait("dt");
	if (s < 0)
		return 3;
	int32_t hs[1] = { s };
	long n;
	while ((n = ve_chan_recv(s, &m, buf, sizeof(buf) - 1)) == -VE_AGAIN)
		ve_wait_any(hs, 1, VE_TIMEOUT_NONE, &wr);
	if (n < 0)
		return 3;
	buf[n] = '\0';
	if (strcmp(buf, "spin") == 0) {
		while (ve_ps_state(m.sender) != VE_PS_RUNNING)
			;
		ve_event1("dtsrv", "caller_woken", 1);
	}
	crash();
}
