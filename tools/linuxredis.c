/*
 * linuxredis: the /init of the Linux guest that `make bench-redis` boots to
 * compare Vesta's kv with Debian's redis-server under the same QEMU
 * (tools/redisbench.sh is the host side, tools/linuxredis.sh packs this
 * program with redis-server, its libraries and the virtio-net modules).
 * Built static, it is pid 1 and does what an init system would, no more:
 * mounts /proc, /sys, /dev and /tmp, loads the kernel modules in /lib/modules
 * (Debian builds virtio-net as modules), gives lo 127.0.0.1 and eth0 the
 * address Vesta's net service takes under QEMU's user networking
 * (10.0.2.15/24, gateway 10.0.2.2), then runs
 *
 *   /usr/bin/redis-server --save '' --appendonly no --protected-mode no
 *                         --bind 0.0.0.0 --port 6379
 *
 * (no persistence, as Vesta's kv). It says each step on the console as a
 * JSON line ({"ev":"linux_net_up",...}, {"ev":"linux_error","what":..});
 * when redis-server exits it powers the machine off.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODDIR "/lib/modules"
#define MAX_MODULES 32
#define IFACE_WAIT_MS 10000 /* eth0 appears once virtio_net probes the NIC */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The end: as pid 1 the machine goes off (QEMU exits); else just exit. */
static void __attribute__((noreturn)) halt(int rc)
{
	if (getpid() == 1) {
		sync();
		reboot(RB_POWER_OFF);
	}
	exit(rc);
}

static void mounts(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL); /* /dev/null for redis */
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
}

/*
 * Load every module in MODDIR. They are not in dependency order (no depmod
 * here): a module whose dependencies are not loaded yet fails with ENOENT
 * (unknown symbol), so passes repeat while one makes progress. Returns how
 * many could not be loaded.
 */
static int load_modules(void)
{
	char *names[MAX_MODULES];
	int done[MAX_MODULES] = { 0 }, n = 0, left, progress;
	DIR *d = opendir(MODDIR);
	struct dirent *e;

	if (!d)
		return 0; /* a kernel with virtio-net built in needs none */
	while ((e = readdir(d)) && n < MAX_MODULES)
		if (strstr(e->d_name, ".ko"))
			names[n++] = strdup(e->d_name);
	closedir(d);
	do {
		progress = 0;
		left = 0;
		for (int i = 0; i < n; i++) {
			char path[300];
			int fd;

			if (done[i])
				continue;
			snprintf(path, sizeof(path), MODDIR "/%s", names[i]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 &&
			    (syscall(SYS_finit_module, fd, "", 0) == 0 || errno == EEXIST))
				done[i] = progress = 1;
			else
				left++;
			if (fd >= 0)
				close(fd);
		}
	} while (progress && left);
	for (int i = 0; i < n; i++)
		if (!done[i])
			say("{\"ev\":\"linux_error\",\"what\":\"module %s not loaded\"}", names[i]);
	return left;
}

static int set_addr(int s, const char *ifname, unsigned long req, const char *ip)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return ioctl(s, req, &ifr);
}

static int set_up(int s, const char *ifname)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int default_route(int s, const char *gw)
{
	struct rtentry rt = { 0 };
	struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
	struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
	struct sockaddr_in *via = (struct sockaddr_in *)&rt.rt_gateway;

	dst->sin_family = mask->sin_family = via->sin_family = AF_INET;
	inet_pton(AF_INET, gw, &via->sin_addr);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	return ioctl(s, SIOCADDRT, &rt);
}

/* lo up, then eth0 (once it exists) 10.0.2.15/24 via 10.0.2.2: QEMU's user
 * networking, as Vesta's net service is configured. Returns 0 or -1. */
static int network(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int waited = 0;

	if (s < 0)
		return -1;
	set_addr(s, "lo", SIOCSIFADDR, "127.0.0.1");
	set_up(s, "lo");
	while (!if_nametoindex("eth0") && waited < IFACE_WAIT_MS) {
		usleep(50000);
		waited += 50;
	}
	if (set_addr(s, "eth0", SIOCSIFADDR, "10.0.2.15") ||
	    set_addr(s, "eth0", SIOCSIFNETMASK, "255.255.255.0") || set_up(s, "eth0") ||
	    default_route(s, "10.0.2.2")) {
		say("{\"ev\":\"linux_error\",\"what\":\"eth0: %s\"}", strerror(errno));
		close(s);
		return -1;
	}
	close(s);
	say("{\"ev\":\"linux_net_up\",\"ip\":\"10.0.2.15/"
	    "24\",\"gw\":\"10.0.2.2\",\"waited_ms\":%d}",
	    waited);
	return 0;
}

/* redis-server in the foreground, as Vesta's kv runs: no persistence. */
static int run_redis(void)
{
	char *argv[] = { "redis-server", "--save", "",
			 "--appendonly", "no",	   "--protected-mode",
			 "no",		 "--bind", "0.0.0.0",
			 "--port",	 "6379",   "--dir",
			 "/tmp",	 NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", "HOME=/tmp", NULL };
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		execve("/usr/bin/redis-server", argv, envp);
		say("{\"ev\":\"linux_error\",\"what\":\"exec redis-server: %s\"}", strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		return -1;
	/* As pid 1, reap everything; stop when redis-server is gone. */
	for (;;) {
		pid_t w = wait(&st);
		if (w == pid || (w < 0 && errno == ECHILD))
			break;
	}
	say("{\"ev\":\"linux_redis_exit\",\"status\":%d}", st);
	return 0;
}

int main(void)
{
	mounts();
	if (load_modules())
		say("{\"ev\":\"linux_error\",\"what\":\"some modules did not load\"}");
	if (network())
		halt(1);
	run_redis();
	halt(0);
}
