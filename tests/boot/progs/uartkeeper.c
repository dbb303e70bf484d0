/*
 * uartkeeper: kills the COM1 driver again and again while someone types.
 * Args "K MS": it starts the image "uart", then K times sleeps MS ms,
 * kills it, waits for it and starts it again; the last incarnation is left
 * running. Then it writes {"ev":"uartkeeper","kills":K} and exits 0.
 * Needs the spawn grant (kill too, by the test manifests' convention,
 * though killing its own child needs none).
 * Exit 1 if spawn, kill or wait fails, 2 for bad args.
 */
#include "vesta.h"

/* Start the driver. Returns its pid or an error. */
static int start_uart(void)
{
	int pid = ve_spawn("uart", "");

	if (pid < 0)
		ve_printf("uartkeeper: spawn uart: %s\n", ve_strerror(pid));
	return pid;
}

/* Kill pid and collect it. Returns 0 or an error. */
static int end_uart(int pid)
{
	struct ve_exit ex;
	int r = ve_kill(pid);

	if (r < 0) {
		ve_printf("uartkeeper: kill %d: %s\n", pid, ve_strerror(r));
		return r;
	}
	r = ve_wait(pid, &ex);
	if (r < 0)
		ve_printf("uartkeeper: wait %d: %s\n", pid, ve_strerror(r));
	return r;
}

int main(const char *args)
{
	const char *p = args;
	uint64_t kills, ms;
	int pid;

	if (ve_parse_u64(&p, &kills) < 0 || ve_parse_u64(&p, &ms) < 0 || *ve_skip_space(p)) {
		ve_printf("uartkeeper: bad args '%s' (want \"KILLS MS\")\n", args);
		return 2;
	}
	pid = start_uart();
	for (uint64_t k = 0; k < kills && pid >= 0; k++) {
		ve_sleep_ms(ms);
		if (end_uart(pid) < 0)
			return 1;
		pid = start_uart();
	}
	if (pid < 0)
		return 1;
	ve_event1("uartkeeper", "kills", (int64_t)kills);
	ve_printf("uartkeeper: killed uart %llu times; pid %d runs on\n", (unsigned long long)kills,
		  pid);
	return 0;
}
