/*
 * faultinj: inject a fault into a running Vesta from the host, by typing
 * the shell's `fault SVC KIND ARG SEED` command on its console and
 * printing the shell's answer.
 *
 *   faultinj [--sock PATH] SVC KIND [ARG] [SEED]
 *   faultinj [--sock PATH] random [--kinds K,..] [--seed S]
 *   faultinj --boot ISO [--dir DIR] [--accel tcg|kvm] [--redis-port N] [--disk PATH]
 *
 * The console is reached through PATH: a unix socket (the console hub that
 * `faultinj --boot` serves, or QEMU's own `-chardev socket,server=on`), or
 * a serial line (a character device: a real machine's COM1, 115200 8N1).
 *
 * `--boot` starts QEMU with COM1 on a socket, COM2 in DIR/events.log and
 * a virtio-net NIC on user networking (the default appliance drives it)
 * with 127.0.0.1:N (6379 unless --redis-port says otherwise; 0 for none)
 * forwarded to the guest's Redis port 6379, a virtio-blk disk (the raw
 * image PATH, DIR/disk.img unless --disk says otherwise, "none" for no
 * disk; made, 64 MiB of zeros, when it does not exist, and kept: kv's
 * data lives there), and becomes the console hub: this terminal is the console (leave with
 * Ctrl-A X), and DIR/console.sock takes any number of other clients at
 * the same time (faultinj, or a person with socat); what they type goes
 * to COM1 and what COM1 says goes to all of them.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_DIR "build/run"
#define DISK_BYTES (64 << 20) /* a disk --boot makes */
#define ANSWER_TIMEOUT_S 15   /* TCG and a busy guest: the shell may be slow */
#define CRASH_KINDS "null,wild,ud2,div0,stack"
#define MAX_CLIENTS 8

static void usage(FILE *to)
{
	fprintf(to, "usage: faultinj [--sock PATH] SVC KIND [ARG] [SEED]\n"
		    "       faultinj [--sock PATH] random [--kinds K,..] [--seed S]\n"
		    "       faultinj --boot ISO [--dir DIR] [--accel tcg|kvm] [--redis-port N] "
		    "[--disk PATH]\n"
		    "KIND: kill exit crash null wild ud2 div0 stack hang block corrupt leak\n"
		    "garbage slow. PATH defaults to $VESTA_CONSOLE or " DEFAULT_DIR
		    "/console.sock\n(the hub `faultinj --boot` and `make run` serve).\n");
}

/* ---------------------------------------------------------------- console */

static int open_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A serial line: raw, 115200 8N1, as Vesta's COM1 driver sets it. */
static int open_tty(const char *path)
{
	struct termios t;
	int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		cfsetispeed(&t, B115200);
		cfsetospeed(&t, B115200);
		tcsetattr(fd, TCSANOW, &t);
	}
	return fd;
}

/* The console at path, or -1 with errno. */
static int open_console(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISCHR(st.st_mode))
		return open_tty(path);
	return open_unix(path);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Type cmd on the console and wait for the shell's answer: the first line
 * that starts with "fault:" or "usage: fault". Prints it. 0 if the fault
 * was injected, 1 if the shell refused it, 2 if there was no answer.
 */
static int inject(const char *path, const char *cmd)
{
	char buf[8192];
	size_t n = 0;
	time_t until = time(NULL) + ANSWER_TIMEOUT_S;
	int fd = open_console(path);

	if (fd < 0) {
		fprintf(stderr,
			"faultinj: %s: %s (is Vesta running? start one with `make run` "
			"or `faultinj --boot ISO`)\n",
			path, strerror(errno));
		return 2;
	}
	/* ^C first: it drops anything half-typed on the shell's line. */
	if (write_all(fd, "\x03", 1) || write_all(fd, cmd, strlen(cmd)) || write_all(fd, "\r", 1)) {
		fprintf(stderr, "faultinj: %s: %s\n", path, strerror(errno));
		close(fd);
		return 2;
	}
	while (time(NULL) < until) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char *line, *end;
		ssize_t r;

		if (poll(&p, 1, 200) <= 0)
			continue;
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		line = strstr(buf, "\nfault:");
		if (!line)
			line = strstr(buf, "\nusage: fault");
		if (line && (end = strchr(line + 1, '\n'))) {
			*end = '\0';
			line[strcspn(line, "\r")] = '\0';
			printf("%s\n", line + 1);
			close(fd);
			return strncmp(line + 1, "fault: injected", 15) == 0 ? 0 : 1;
		}
		if (n > sizeof(buf) / 2) { /* keep the tail, where the answer comes */
			memmove(buf, buf + n - 1024, 1024);
			n = 1024;
		}
	}
	close(fd);
	fprintf(stderr,
		"faultinj: no answer from the shell on %s within %d s (is the shell up? "
		"another client holding QEMU's socket?)\n",
		path, ANSWER_TIMEOUT_S);
	return 2;
}

/* splitmix64, so that `random --seed S` always makes the same choice. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* `random`: a kind from the list (crash expands), the target by the shell. */
static int inject_random(const char *path, const char *kinds, uint64_t seed)
{
	char list[512], *v[64], *save = NULL, cmd[128];
	int n = 0;
	uint64_t s = seed;

	snprintf(list, sizeof(list), "%s", kinds);
	for (char *w = strtok_r(list, ",", &save); w && n < 64; w = strtok_r(NULL, ",", &save))
		v[n++] = w;
	if (n == 0)
		return 2;
	snprintf(cmd, sizeof(cmd), "fault random %s 0 %" PRIu64, v[rnd(&s) % (uint64_t)n],
		 rnd(&s) | 1);
	return inject(path, cmd);
}

/* ---------------------------------------------------------------- --boot */

static struct termios saved_tty;
static bool tty_raw;
static pid_t qemu_pid;

static void restore_tty(void)
{
	if (tty_raw)
		tcsetattr(0, TCSANOW, &saved_tty);
	tty_raw = false;
}

static void raw_tty(void)
{
	struct termios t;

	if (!isatty(0) || tcgetattr(0, &saved_tty))
		return;
	t = saved_tty;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR; /* keep "\n" a new line on the terminal */
	tcsetattr(0, TCSANOW, &t);
	tty_raw = true;
	atexit(restore_tty);
}

/* Make the disk image path (zeros, DISK_BYTES) unless it exists. 0 or -1. */
static int make_disk(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (ftruncate(fd, DISK_BYTES) < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	printf("faultinj: made %s, a blank disk of %d MiB\n", path, DISK_BYTES >> 20);
	return close(fd);
}

static pid_t start_qemu(const char *iso, const char *dir, const char *accel, int redis_port,
			const char *disk)
{
	char chardev[600], com2[600], netdev[128] = "user,id=n0", drive[700];
	char *argv[] = { "qemu-system-x86_64",
			 "-accel",
			 (char *)accel,
			 "-m",
			 "256M",
			 "-display",
			 "none",
			 "-no-reboot",
			 "-device",
			 "isa-debug-exit,iobase=0xf4,iosize=0x04",
			 "-netdev",
			 netdev,
			 "-device",
			 "virtio-net-pci,netdev=n0",
			 "-chardev",
			 chardev,
			 "-serial",
			 "chardev:com1",
			 "-serial",
			 com2,
			 "-cdrom",
			 (char *)iso,
			 disk ? "-drive" : NULL,
			 drive,
			 "-device",
			 "virtio-blk-pci,drive=d0",
			 NULL };
	pid_t pid;

	if (redis_port > 0)
		snprintf(netdev, sizeof(netdev), "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:6379",
			 redis_port);
	snprintf(chardev, sizeof(chardev), "socket,id=com1,path=%s/com1.sock,server=on,wait=on",
		 dir);
	snprintf(com2, sizeof(com2), "file:%s/events.log", dir);
	snprintf(drive, sizeof(drive), "file=%s,format=raw,if=none,id=d0,cache=writeback",
		 disk ? disk : "");
	pid = fork();
	if (pid == 0) {
		char *qlog;
		int fd;

		if (asprintf(&qlog, "%s/qemu.log", dir) < 0)
			_exit(127);
		fd = open(qlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		setpgid(0, 0);
		execvp(getenv("VESTA_QEMU") ? getenv("VESTA_QEMU") : "qemu-system-x86_64", argv);
		_exit(127);
	}
	return pid;
}

/* A listening unix socket at path (a stale one is removed first). */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, MAX_CLIENTS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect to QEMU's COM1 socket; QEMU creates it a moment after it starts. */
static int connect_qemu(const char *path)
{
	for (int i = 0; i < 300; i++) {
		int fd = open_unix(path);
		int st;

		if (fd >= 0)
			return fd;
		if (waitpid(qemu_pid, &st, WNOHANG) == qemu_pid)
			return -1;
		usleep(100000);
	}
	return -1;
}

/* Copy what one side said to every other; the hub's loop. */
static int hub(int com1, int lsock)
{
	int cl[MAX_CLIENTS];
	int ncl = 0;
	bool ctrl_a = false, stdin_open = true;
	char buf[4096];

	for (;;) {
		struct pollfd p[MAX_CLIENTS + 3];
		int np = 0;
		ssize_t r;

		p[np++] = (struct pollfd){ .fd = com1, .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = lsock, .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = stdin_open ? 0 : -1, .events = POLLIN };
		for (int i = 0; i < ncl; i++)
			p[np++] = (struct pollfd){ .fd = cl[i], .events = POLLIN };
		if (poll(p, (nfds_t)np, 500) < 0 && errno != EINTR)
			return -1;
		if (waitpid(qemu_pid, NULL, WNOHANG) == qemu_pid)
			return 0;
		if (p[0].revents) {
			r = read(com1, buf, sizeof(buf));
			if (r <= 0)
				return 0;
			write_all(1, buf, (size_t)r);
			for (int i = 0; i < ncl; i++)
				if (write_all(cl[i], buf, (size_t)r))
					shutdown(cl[i], SHUT_RDWR);
		}
		if (p[1].revents & POLLIN) {
			int fd = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && ncl < MAX_CLIENTS)
				cl[ncl++] = fd;
			else if (fd >= 0)
				close(fd);
		}
		if (p[2].revents & POLLIN) {
			r = read(0, buf, sizeof(buf));
			for (ssize_t k = 0; k < r; k++) {
				if (ctrl_a && (buf[k] == 'x' || buf[k] == 'X'))
					return 0;
				ctrl_a = buf[k] == 0x01;
			}
			if (r > 0)
				write_all(com1, buf, (size_t)r);
			else
				stdin_open = false;
		}
		for (int i = 0; i < ncl; i++) {
			if (!p[3 + i].revents)
				continue;
			r = read(cl[i], buf, sizeof(buf));
			if (r > 0) {
				write_all(com1, buf, (size_t)r);
				continue;
			}
			close(cl[i]);
			cl[i] = cl[--ncl];
			p[3 + i] = p[3 + ncl]; /* keep p in step with cl */
			i--;
		}
	}
}

static int boot(const char *iso, const char *dir, const char *accel, int redis_port,
		const char *disk)
{
	char com1_path[512], hub_path[512], disk_path[512];
	int com1, lsock, rc;

	if (access(iso, R_OK)) {
		fprintf(stderr, "faultinj: %s: %s (build it with `make`)\n", iso, strerror(errno));
		return 2;
	}
	mkdir(dir, 0777);
	if (!disk) {
		snprintf(disk_path, sizeof(disk_path), "%s/disk.img", dir);
		disk = disk_path;
	} else if (!strcmp(disk, "none")) {
		disk = NULL;
	}
	if (disk && make_disk(disk) < 0) {
		fprintf(stderr, "faultinj: cannot make %s: %s\n", disk, strerror(errno));
		return 2;
	}
	snprintf(com1_path, sizeof(com1_path), "%s/com1.sock", dir);
	snprintf(hub_path, sizeof(hub_path), "%s/console.sock", dir);
	unlink(com1_path);
	lsock = listen_at(hub_path);
	if (lsock < 0) {
		fprintf(stderr, "faultinj: cannot listen on %s: %s\n", hub_path, strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	qemu_pid = start_qemu(iso, dir, accel, redis_port, disk);
	com1 = qemu_pid > 0 ? connect_qemu(com1_path) : -1;
	if (com1 < 0) {
		fprintf(stderr, "faultinj: QEMU did not start (see %s/qemu.log)\n", dir);
		if (qemu_pid > 0)
			kill(-qemu_pid, SIGKILL);
		return 2;
	}
	printf("Booting Vesta (%s): this terminal is COM1, the console; leave with Ctrl-A X.\n"
	       "COM2, the event log: %s/events.log (tail -f it).\n"
	       "Inject faults from another terminal: tools/faultinj --sock %s kv crash\n"
	       "  (or: tools/faultinj --sock %s random --kinds crash,hang,corrupt)\n"
	       "Attach another console: socat -,raw,echo=0 UNIX-CONNECT:%s\n",
	       accel, dir, hub_path, hub_path, hub_path);
	fflush(stdout);
	raw_tty();
	rc = hub(com1, lsock);
	restore_tty();
	kill(-qemu_pid, SIGTERM);
	waitpid(qemu_pid, NULL, 0);
	unlink(hub_path);
	printf("\nVesta stopped.\n");
	return rc < 0 ? 2 : 0;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	const char *sock = getenv("VESTA_CONSOLE"), *iso = NULL, *dir = DEFAULT_DIR;
	const char *accel = "tcg", *disk = NULL,
		   *kinds = "kill,exit," CRASH_KINDS ",hang,block,corrupt";
	int redis_port = 6379;
	const char *pos[4];
	uint64_t seed = 0;
	int npos = 0;
	char cmd[256];

	if (!sock || !*sock)
		sock = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (a[0] == '-' && a[1] == '-' && !v) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(a, "--sock"))
			sock = argv[++i];
		else if (!strcmp(a, "--boot"))
			iso = argv[++i];
		else if (!strcmp(a, "--dir"))
			dir = argv[++i];
		else if (!strcmp(a, "--accel"))
			accel = argv[++i];
		else if (!strcmp(a, "--disk"))
			disk = argv[++i];
		else if (!strcmp(a, "--redis-port"))
			redis_port = atoi(argv[++i]);
		else if (!strcmp(a, "--kinds"))
			kinds = argv[++i];
		else if (!strcmp(a, "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (npos < 4)
			pos[npos++] = a;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (iso)
		return boot(iso, dir, accel, redis_port, disk);
	if (!sock) {
		static char def[512];

		snprintf(def, sizeof(def), "%s/console.sock", dir);
		sock = def;
	}
	if (seed == 0)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (npos == 1 && !strcmp(pos[0], "random"))
		return inject_random(sock, kinds, seed);
	if (npos < 2) {
		usage(stderr);
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "fault %s %s %s %s", pos[0], pos[1], npos > 2 ? pos[2] : "0",
		 npos > 3 ? pos[3] : "");
	return inject(sock, cmd);
}
