/*
 * dwcli: a sender blocked on a full channel must be woken when a reply
 * that nobody takes frees the message that filled it. dw has a message
 * bound of 1, which our own call fills: dwsrv holds it in flight. The call
 * times out (the request is cancelled but stays in flight until dwsrv
 * answers it), we post a note on dwn, then cast on dw, which blocks: dw
 * holds one message. dwsrv then replies to the call; the reply is
 * discarded, the message is freed, and our cast must go through.
 * Events: {"ev":"dwcli","call":NAME,"cast":NAME}. Exit 0 iff the call
 * timed out and the cast was queued; 3 for a setup failure.
 */
#include "vesta.h"

#define CALL_TIMEOUT_NS 50000000ull /* 50 ms: dwsrv holds the call longer */

int main(const char *args)
{
	char rep[8];
	(void)args;
	int dw = ve_chan_open("dw"), dwn = ve_chan_open("dwn");
	if (dw < 0 || dwn < 0)
		return 3;
	long call = ve_chan_call(dw, "x", 1, rep, sizeof(rep), CALL_TIMEOUT_NS);
	if (ve_chan_cast(dwn, "n", 1, 0) != 0)
		return 3;
	long cast = ve_chan_cast(dw, "y", 1, 0); /* blocks: dw is full */
	struct ve_kv kv[] = { VE_KV_STR("call", ve_strerror(call)),
			      VE_KV_STR("cast", ve_strerror(cast)) };
	ve_event("dwcli", kv, 2);
	return call == -VE_TIMEOUT && cast == 0 ? 0 : 1;
}
