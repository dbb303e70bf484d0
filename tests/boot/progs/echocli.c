/*
 * echocli: a client of "echo" (echosrv). Args "ID COUNT": it makes COUNT
 * calls with the payload "c<ID>-<k>" and checks that each reply is the
 * same bytes. Crashes of the server must be invisible to it: every call
 * returns its own echo, however often the server died meanwhile.
 *
 * At the end it writes the event
 *   {"ev":"echocli","id":ID,"ok":..,"bad":..,"errors":..}
 * Exit 0 iff every reply was right, 1 if not, 2 for bad args.
 */
#include "vesta.h"

#define ERRORS_SHOWN 5 /* console lines about failed calls, at most */

struct tally {
	uint64_t ok, bad, errors;
};

/* Make call k on h and count the outcome in *t. */
static void one_call(int h, uint64_t id, uint64_t k, struct tally *t)
{
	char req[48], rep[64];
	int len = fmt_snprintf(req, sizeof(req), "c%llu-%llu", (unsigned long long)id,
			       (unsigned long long)k);
	long r = ve_chan_call(h, req, (size_t)len, rep, sizeof(rep), VE_TIMEOUT_NONE);

	if (r < 0) {
		if (t->errors++ < ERRORS_SHOWN)
			ve_printf("echocli %llu: call %llu: %s\n", (unsigned long long)id,
				  (unsigned long long)k, ve_strerror(r));
	} else if (r != len || memcmp(req, rep, (size_t)len) != 0) {
		if (t->bad++ < ERRORS_SHOWN)
			ve_printf("echocli %llu: call %llu: sent '%s', got '%.*s'\n",
				  (unsigned long long)id, (unsigned long long)k, req, (int)r, rep);
	} else {
		t->ok++;
	}
}

int main(const char *args)
{
	struct tally t = { 0, 0, 0 };
	const char *p = args;
	uint64_t id, count;
	int h;

	if (ve_parse_u64(&p, &id) < 0 || ve_parse_u64(&p, &count) < 0 ||
	    *ve_skip_space(p) != '\0') {
		ve_printf("echocli: bad args '%s' (want \"ID COUNT\")\n", args);
		return 2;
	}
	h = ve_chan_open("echo");
	if (h < 0) {
		ve_printf("echocli %llu: open echo: %s\n", (unsigned long long)id, ve_strerror(h));
		return 1;
	}
	for (uint64_t k = 0; k < count; k++)
		one_call(h, id, k, &t);

	struct ve_kv kv[] = {
		VE_KV_NUM("id", id),
		VE_KV_NUM("ok", t.ok),
		VE_KV_NUM("bad", t.bad),
		VE_KV_NUM("errors", t.errors),
	};
	ve_event("echocli", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("echocli %llu: %llu ok, %llu bad, %llu errors\n", (unsigned long long)id,
		  (unsigned long long)t.ok, (unsigned long long)t.bad,
		  (unsigned long long)t.errors);
	return t.bad == 0 && t.errors == 0 ? 0 : 1;
}
