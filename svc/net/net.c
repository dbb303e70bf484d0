/*
 * net: Vesta's TCP/IP service. lwIP (NO_SYS, raw API) over a NIC channel
 * (svc/lib/nic.h: whichever driver serves "net0"), serving TCP sockets to
 * other services over the channel "tcp" (svc/lib/sock.h). README.md says
 * what it does and which events it writes.
 *
 * Args (words, any order): ip=A.B.C.D/N (default 10.0.2.15/24),
 * gw=A.B.C.D (default 10.0.2.2), if=NAME (default net0; frames arrive on
 * NAME.rx), heartbeat (cast "H" on "sup" every BEAT_MS).
 *
 * Its whole data segment is a stash with recovery windows (README.md): a
 * restarted net carries on with lwIP's state as its predecessor last
 * committed it, every TCP connection with it.
 *
 * This file: args, the stash, the main loop and lwIP's port functions
 * (sys_now, the ISN hook, random numbers, assertions).
 * Exit codes: 1 a channel call failed (or no scratch memory), 2 bad
 * args, 3 an lwIP assertion failed, 4 a kept stash failed its checks.
 */
#include "net.h"

#include "isn.h"
#include "lwip/init.h"
#include "lwip/timeouts.h"
#include "nic.h"

#define BEAT_MS 200
#define STATS_NS 10000000000ull	 /* net_stats at most this often, if anything moved */
#define POLL_MAX_NS 100000000ull /* notify retries and parked deadlines, at least */
#define INFO_WAIT_NS 500000000ull
#define NIC_WAIT_MS 200 /* between looks for a NIC channel that is not there */

struct net net;
static struct ve_rng rng;

/* --- lwIP's port --- */

u32_t sys_now(void)
{
	return (u32_t)(ve_clock_ns() / 1000000);
}

uint32_t net_rand(void)
{
	return (uint32_t)ve_rng_next(&rng);
}

u32_t net_tcp_isn(const ip_addr_t *lip, u16_t lport, const ip_addr_t *rip, u16_t rport)
{
	return isn_make(net.st->secret, ip4_addr_get_u32(lip), lport, ip4_addr_get_u32(rip), rport,
			ve_clock_ns());
}

_Noreturn void net_assert(const char *msg, const char *file, int line)
{
	struct ve_kv kv[3] = { VE_KV_STR("msg", msg), VE_KV_STR("file", file),
			       VE_KV_NUM("line", line) };

	ve_event("net_assert", kv, 3);
	ve_exit(3);
}

/* Memory of this incarnation, outside the stash: for buffers that hold
 * nothing across messages (a message received, a reply being built),
 * whose writes would otherwise each cost the window a saved page. */
void *net_scratch(size_t len)
{
	long a = ve_vm_alloc(0, (len + 4095) & ~4095ul, VE_PROT_READ | VE_PROT_WRITE);

	if (a < 0) {
		ve_printf("net: scratch: %s\n", ve_strerror(a));
		ve_exit(1);
	}
	return (void *)a;
}

/* --- the stash --- */

static bool have_rdrand(void)
{
	uint32_t a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return c & (1u << 30);
}

/* 64 bits from rdrand if the CPU has it (retried as Intel advises), else
 * SipHash of salt and the generator's next word, keyed by the TSC and the
 * kernel clock (TCG's qemu64 CPU has no rdrand). */
static uint64_t random64(uint64_t salt)
{
	uint64_t v, hi, lo;
	uint8_t ok;

	for (int i = 0; have_rdrand() && i < 10; i++) {
		__asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
		if (ok)
			return v;
	}
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t key[2] = { (hi << 32) | lo, ve_clock_ns() }, msg[2] = { salt, ve_rng_next(&rng) };
	return siphash24(key, msg, sizeof(msg));
}

static void stash_reset(const char *why)
{
	uint64_t secret[2];

	secret[0] = random64(1);
	secret[1] = random64(secret[0]);
	net_stash_reset(net.st, secret);
	ve_event_str("net_stash_reset", "reason", why);
}

static uint32_t tick(void)
{
	return (uint32_t)(ve_clock_ns() >> NET_EPOCH_SHIFT);
}

/* This start's epoch (stash.h): the clock's tick once past floor, waited
 * for (one tick at most, 16.8 ms, unless restarts outran the clock). */
static uint32_t epoch_take(uint32_t floor)
{
	uint32_t e;

	while (!(e = net_epoch_take(floor, tick())))
		ve_sleep_ms(1);
	return e;
}

/*
 * Check the stash's own page and start a new epoch. net's whole data
 * segment is its stash (user-stash.ld, with recovery windows): a new one
 * is all zero but for the initial data, a kept one is the last
 * incarnation's as it was at its last commit, lwIP's state with it. A
 * kept page that fails its checks was corrupted inside the window, and
 * lwIP's state beside it cannot be trusted either: exit 4, so that the
 * supervisor, after repeated early deaths, discards the stash. Returns 0.
 */
static int stash_open(void)
{
	static struct net_stash page;
	uint32_t started = tick(); /* every earlier incarnation took its epoch before */
	const char *why;

	_Static_assert(sizeof(struct net_stash) <= 4096, "the stash is one page");
	net.st = &page;
	ve_rng_seed(&rng, ve_clock_ns() ^ net.st->secret[0]);
	if ((why = net_stash_check(net.st)) && net.up) {
		ve_event_str("net_stash_bad", "reason", why);
		ve_exit(4);
	}
	if (why)
		stash_reset(why);
	net.st->epoch = epoch_take(why ? started : net.st->epoch);
	net.epoch = net.st->epoch;
	net_stash_seal(net.st);
	ve_rng_seed(&rng, net.st->secret[1] ^ ve_clock_ns());
	return 0;
}

/* --- args --- */

struct args {
	ip4_addr_t ip, mask, gw;
	char ifname[24];
	bool beat;
};

/* "A.B.C.D/N" into ip and mask. */
static bool parse_cidr(const char *v, size_t n, ip4_addr_t *ip, ip4_addr_t *mask)
{
	char buf[24];
	const char *slash;
	uint64_t bits = 32;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, v, n);
	buf[n] = 0;
	if ((slash = strchr(buf, '/'))) {
		const char *p = slash + 1;

		buf[slash - buf] = 0;
		if (ve_parse_u64(&p, &bits) < 0 || bits > 32 || *p)
			return false;
	}
	ip4_addr_set_u32(mask, bits ? lwip_htonl(0xffffffffu << (32 - bits)) : 0);
	return ip4addr_aton(buf, ip);
}

static bool parse_word(struct args *a, const char *p, size_t n)
{
	char buf[24];

	if (n > 3 && !memcmp(p, "ip=", 3))
		return parse_cidr(p + 3, n - 3, &a->ip, &a->mask);
	if (n > 3 && !memcmp(p, "gw=", 3) && n - 3 < sizeof(buf)) {
		memcpy(buf, p + 3, n - 3);
		buf[n - 3] = 0;
		return ip4addr_aton(buf, &a->gw);
	}
	if (n > 3 && !memcmp(p, "if=", 3) && n - 3 < sizeof(a->ifname) - 3) {
		memcpy(a->ifname, p + 3, n - 3);
		a->ifname[n - 3] = 0;
		return true;
	}
	return ve_word_is(p, n, "heartbeat") && (a->beat = true);
}

static bool parse_args(struct args *a, const char *args)
{
	const char *p = ve_skip_space(args);

	IP4_ADDR(&a->ip, 10, 0, 2, 15);
	IP4_ADDR(&a->mask, 255, 255, 255, 0);
	IP4_ADDR(&a->gw, 10, 0, 2, 2);
	memcpy(a->ifname, "net0", 5);
	a->beat = false;
	while (*p) {
		size_t n = ve_word_len(p);

		if (!parse_word(a, p, n))
			return false;
		p = ve_skip_space(p + n);
	}
	return true;
}

/* --- the loop --- */

/* Ask the driver for the MAC, beating while it is not up yet. */
static int get_mac(struct ve_heartbeat *hb)
{
	struct nic_info info;
	uint8_t op = NIC_OP_INFO;
	long r;

	for (;;) {
		ve_heartbeat_due(hb);
		r = ve_chan_call(net.nic, &op, 1, &info, sizeof(info), INFO_WAIT_NS);
		if (r == (long)sizeof(info) && info.op == NIC_OP_INFO) {
			memcpy(net.mac, info.mac, 6);
			return 0;
		}
		if (r != -VE_TIMEOUT && r != -VE_POISON) {
			ve_printf("net: 'I' on the NIC: %s\n",
				  r < 0 ? ve_strerror(r) : "bad reply");
			return r < 0 ? (int)r : -VE_INVAL;
		}
	}
}

static void post_up(const struct args *a)
{
	char ip[16], mac[18];

	ip4addr_ntoa_r(&a->ip, ip, sizeof(ip));
	fmt_snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", net.mac[0], net.mac[1],
		     net.mac[2], net.mac[3], net.mac[4], net.mac[5]);
	struct ve_kv kv[4] = { VE_KV_STR("ip", ip), VE_KV_STR("mac", mac),
			       VE_KV_STR("if", a->ifname), VE_KV_NUM("epoch", net.epoch) };
	ve_event("net_up", kv, 4);
}

/* net_stats every STATS_NS while the counters move. */
static void maybe_stats(void)
{
	static uint64_t at, sum;
	uint64_t now = ve_clock_ns(), s = net.rx_frames + net.tx_frames;

	if (now - at < STATS_NS || s == sum)
		return;
	at = now;
	sum = s;
	struct ve_kv kv[5] = { VE_KV_NUM("rx", net.rx_frames),
			       VE_KV_NUM("rx_dropped", net.rx_dropped),
			       VE_KV_NUM("tx", net.tx_frames),
			       VE_KV_NUM("tx_dropped", net.tx_dropped),
			       VE_KV_NUM("conns", sock_conns()) };
	ve_event("net_stats", kv, 5);
}

/* The loop's wait: until lwIP's next timer, the heartbeat, or a parked
 * call's deadline, whichever is first (never 0, which is forever). */
static uint64_t wait_ns(struct ve_heartbeat *hb, uint64_t sock_ns)
{
	uint32_t ms = sys_timeouts_sleeptime();
	uint64_t w = POLL_MAX_NS, b = ve_heartbeat_due(hb);

	if (ms != SYS_TIMEOUTS_SLEEPTIME_INFINITE && (uint64_t)ms * 1000000 < w)
		w = (uint64_t)ms * 1000000;
	if (b && b < w)
		w = b;
	if (sock_ns && sock_ns < w)
		w = sock_ns;
	if (net.nif.loop_first)
		w = 1; /* looped-back packets to take in first */
	return w ? w : 1;
}

/* One message from the rx channel: a frame for lwIP. */
static void on_frame(const struct ve_msg *m, const uint8_t *buf, size_t len)
{
	if (len > 1 && buf[0] == NIC_OP_RX) {
		net.rx_frames++;
		netif_frame_in(buf + 1, len - 1);
	}
	ve_chan_ack(net.rx, m->id);
}

static _Noreturn void serve(struct ve_heartbeat *hb)
{
	uint8_t *buf = net_scratch(VE_MSG_MAX);
	int32_t hs[2] = { net.tcp, net.rx };
	uint64_t sock_ns = 0;

	for (;;) {
		struct ve_next nx = { .handles = hs, .n = 2, .cap = VE_MSG_MAX };
		long r;

		nx.timeout_ns = wait_ns(hb, sock_ns);
		r = ve_chan_next(net.tcp, 0, buf, 0, &nx);
		if (r >= 0 && nx.result.handle == net.rx)
			on_frame(&nx.msg, buf, (size_t)r);
		else if (r >= 0 && nx.result.handle == net.tcp)
			sock_request(&nx.msg, buf, (size_t)r);
		else if (r < 0 && r != -VE_TIMEOUT)
			ve_printf("net: next: %s\n", ve_strerror(r));
		netif_poll(&net.nif);
		sys_check_timeouts();
		sock_ns = sock_poll();
		netif_flush();
		maybe_stats();
	}
}

/* Open the NIC channel, waiting (and beating) while it does not exist: a
 * machine without the driver's device has no driver (the supervisor
 * ignores it), and net must not crash-loop its tree down for that. */
static int open_nic(const char *ifname, struct ve_heartbeat *hb)
{
	bool said = false;

	while ((net.nic = ve_chan_open(ifname)) == -VE_NOENT) {
		if (!said) {
			ve_event_str("net_no_nic", "if", ifname);
			ve_printf("net: no %s yet (no NIC driver): waiting\n", ifname);
			said = true;
		}
		ve_heartbeat_due(hb);
		ve_sleep_ms(NIC_WAIT_MS);
	}
	return net.nic;
}

/* Serve net's channels, then open the NIC's: serving first makes net
 * ready for its supervisor, which starts the rest of the tree, even while
 * it waits for a NIC that this machine lacks. */
static int open_channels(const char *ifname, struct ve_heartbeat *hb)
{
	char rxname[32];

	fmt_snprintf(rxname, sizeof(rxname), "%s.rx", ifname);
	if ((net.rx = ve_chan_serve_wait(rxname)) < 0) {
		ve_printf("net: serve %s: %s\n", rxname, ve_strerror(net.rx));
		return net.rx;
	}
	if ((net.tcp = ve_chan_serve_wait(SOCK_CHANNEL)) < 0) {
		ve_printf("net: serve %s: %s\n", SOCK_CHANNEL, ve_strerror(net.tcp));
		return net.tcp;
	}
	if (open_nic(ifname, hb) < 0) {
		ve_printf("net: open %s: %s\n", ifname, ve_strerror(net.nic));
		return net.nic;
	}
	return 0;
}

int main(const char *args)
{
	static struct args a;
	static struct ve_heartbeat hb;

	if (!parse_args(&a, args)) {
		ve_printf("net: bad args '%s' (want [ip=A.B.C.D/N] [gw=A.B.C.D] [if=NAME] "
			  "[heartbeat])\n",
			  args);
		return 2;
	}
	if (ve_heartbeat_init(&hb, a.beat ? BEAT_MS * 1000000ull : 0) < 0 || stash_open() < 0 ||
	    open_channels(a.ifname, &hb) < 0)
		return 1;
	if (net.up) {
		sock_resume();
	} else {
		if (get_mac(&hb) < 0)
			return 1;
		lwip_init();
		netif_start(&a.ip, &a.mask, &a.gw);
		sock_start();
		net.up = true; /* committed with the first frame cast or answer */
	}
	post_up(&a);
	serve(&hb);
}
