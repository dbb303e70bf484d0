/*
 * minisup (grants spawn, halt, supervisor): the kernel's side of a root
 * supervisor's restart. The first incarnation starts two tickers and then
 * crashes. The kernel starts minisup again and hands it the tickers: the
 * second incarnation finds them with ps() (parent == itself), posts
 * {"ev":"minisup","adopted":N}, reaps both as they finish, and halts the
 * machine with success.
 */
#include "vesta.h"

static int my_children(void)
{
	static struct ve_procinfo ps[64];
	long n = ve_syscall(SYS_PS, (long)ps, 64, 0, 0, 0, 0);
	int mine = 0;
	for (long i = 0; i < n; i++)
		mine += ps[i].parent == ve_getpid();
	return mine;
}

int main(const char *args)
{
	(void)args;
	int adopted = my_children();
	if (adopted == 0) {
		if (ve_spawn("ticker", "20 20") < 0 || ve_spawn("ticker", "30 20") < 0)
			return 1;
		ve_sleep_ms(50);
		*(volatile int *)0 = 1; /* die with the tickers still running */
	}
	ve_event1("minisup", "adopted", adopted);
	struct ve_exit e;
	for (int reaped = 0; reaped < adopted;) {
		struct ve_wait_result r;
		long pid = ve_syscall(SYS_REAP, (long)&e, 0, 0, 0, 0, 0);
		if (pid > 0) {
			reaped++;
			ve_event1("minisup_reaped", "code", e.code);
			continue;
		}
		if (pid != -VE_AGAIN || ve_wait_any(NULL, 0, 5000000000ull, &r) < 0)
			return 2;
	}
	ve_halt(0);
	return 3;
}
