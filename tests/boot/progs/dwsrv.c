/*
 * dwsrv: the server half of the discardwake test (see dwcli.c). It serves
 * "dw" (message bound 1) and "dwn". It takes dwcli's call on dw and holds
 * it in flight, so dw is full. Once dwcli's note arrives on dwn (its call
 * timed out, and its next step is a blocking cast on dw) and ps shows
 * dwcli blocked, it replies to the call: the reply is discarded (nobody
 * waits) and the message it frees is the room dwcli's cast waits for. It
 * then takes that cast and acks it.
 * Events: {"ev":"dwsrv","discarded":1,"cast":1} at the end. Exit 0 when
 * both happened as described, 2 if the reply was not discarded, 3 for a
 * setup failure.
 */
#include "vesta.h"

/* The next message on h, waiting for it. */
static long take(int h, struct ve_msg *m, char *buf, size_t cap)
{
	struct ve_wait_result wr;
	int32_t hs[1] = { h };
	long n;
	while ((n = ve_chan_recv(h, m, buf, cap)) == -VE_AGAIN)
		ve_wait_any(hs, 1, VE_TIMEOUT_NONE, &wr);
	return n;
}

int main(const char *args)
{
	struct ve_msg call, note, cast;
	char buf[16];
	(void)args;
	int dw = ve_chan_serve_wait("dw"), dwn = ve_chan_serve_wait("dwn");
	if (dw < 0 || dwn < 0 || take(dw, &call, buf, sizeof(buf)) < 0 ||
	    take(dwn, &note, buf, sizeof(buf)) < 0)
		return 3;
	ve_chan_ack(dwn, note.id);
	while (ve_ps_state(note.sender) != VE_PS_BLOCKED)
		ve_sleep_ms(1); /* until dwcli blocks in its cast on the full dw */
	if (ve_chan_reply(dw, call.id, "late", 4) != VE_REPLY_DISCARDED)
		return 2;
	if (take(dw, &cast, buf, sizeof(buf)) < 0 || cast.kind != VE_MSG_CAST)
		return 3;
	ve_chan_ack(dw, cast.id);
	struct ve_kv kv[] = { VE_KV_NUM("discarded", 1), VE_KV_NUM("cast", 1) };
	ve_event("dwsrv", kv, 2);
	return 0;
}
