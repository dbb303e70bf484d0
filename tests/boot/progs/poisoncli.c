/*
 * poisoncli: sends echosrv the one request it always dies on, "POISON".
 * The kernel must replay it to max_redeliveries server incarnations, then
 * give up: the call returns -VE_POISON and the message becomes a dead
 * letter, while other clients' calls carry on.
 *
 * Writes {"ev":"poisoncli","result":"VE_POISON","value":-13} (the call's
 * result, named and as a number). Exit 0 iff the call got -VE_POISON.
 */
#include "vesta.h"

int main(const char *args)
{
	static const char req[] = "POISON";
	char rep[64];
	long r;
	int h;

	(void)args;
	h = ve_chan_open("echo");
	if (h < 0) {
		ve_printf("poisoncli: open echo: %s\n", ve_strerror(h));
		return 1;
	}
	r = ve_chan_call(h, req, sizeof(req) - 1, rep, sizeof(rep), VE_TIMEOUT_NONE);

	struct ve_kv kv[] = {
		VE_KV_STR("result", r < 0 ? ve_strerror(r) : "reply"),
		VE_KV_NUM("value", r),
	};
	ve_event("poisoncli", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("poisoncli: call returned %ld (%s)\n", r, r < 0 ? ve_strerror(r) : "a reply");
	return r == -VE_POISON ? 0 : 1;
}
