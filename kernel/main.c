/*
 * kmain: bring the machine up in order (console, CPU tables, memory, time),
 * announce it on the event log, unpack the boot bundle, start every process
 * in its table, then hand the CPU to the scheduler for good.
 */
#include "arch.h"
#include "bundle.h"
#include "inject.h"
#include "ipc.h"
#include "klog.h"
#include "lib/string.h"
#include "mb2.h"
#include "mem.h"
#include "pci.h"
#include "proc.h"
#include "sched.h"
#include "syscall.h"
#include "unlz4.h"

#define VESTA_VERSION "0.1.0"
#define MB2_BOOT_MAGIC 0x36d76289u
#define EVLOG_SCHEMA 1 /* kernel/EVENTS.md; bump on an incompatible change */

static struct mb2_info mb; /* ~3.5 KiB: too big for the boot stack frame */
static struct bundle bundle;

/* Does the command line hold this exact space-separated word? */
static bool has_word(const char *line, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = line; *p; p++)
		if ((p == line || p[-1] == ' ') && strncmp(p, word, n) == 0 &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

/* Boot option selftest=panic: fault in kernel mode on purpose, so the boot
 * tests can check what a kernel panic reports. Nothing maps 0xdead0000 in the
 * kernel's address space. */
static void selftest_panic(void)
{
	klog("selftest=panic: writing to 0xdead0000 in kernel mode");
	*(volatile uint64_t *)(uintptr_t)0xdead0000ull = 1;
}

static void emit_boot(uint64_t top)
{
	struct ve_meminfo mi;
	struct evlog_line l;
	mem_info(&mi);
	ev_start(&l, "boot");
	ev_u64(&l, "schema", EVLOG_SCHEMA);
	ev_str(&l, "version", VESTA_VERSION);
	ev_u64(&l, "abi", VESTA_ABI_VERSION);
	ev_str(&l, "firmware", mb.efi ? "uefi" : "bios");
	ev_u64(&l, "mem_kib", mi.total_frames * 4);
	ev_u64(&l, "free_kib", mi.free_frames * 4);
	ev_hex(&l, "top", top);
	ev_u64(&l, "tsc_hz", arch_tsc_hz());
	struct arch_protections prot;
	arch_cpu_protections(&prot);
	ev_bool(&l, "smep", prot.smep);
	ev_bool(&l, "smap", prot.smap);
	ev_bool(&l, "umip", prot.umip);
	ev_bool(&l, "nx", prot.nx);
	ev_bool(&l, "wp", prot.wp);
	ev_send(&l);
}

static int unpack_bundle(const char **why)
{
	const struct mb2_module *m = NULL;
	size_t raw;
	uint64_t buf;

	for (unsigned i = 0; i < mb.nmods && !m; i++)
		if (strcmp(mb.mod[i].cmdline, "bundle") == 0 || mb.nmods == 1)
			m = &mb.mod[i];
	if (!m) {
		*why = "no boot module named 'bundle'";
		return -VE_NOENT;
	}
	const void *mod = phys_to_virt(m->start);
	size_t len = m->end - m->start;
	int err = bundle_peek(mod, len, &raw, why);
	if (err)
		return err;
	if (mem_frames_alloc((raw + PAGE_SIZE - 1) / PAGE_SIZE, &buf)) {
		*why = "no memory to unpack the bundle";
		return -VE_NOMEM;
	}
	return bundle_open(mod, len, phys_to_virt(buf), raw, lz4_decompress, &bundle, why);
}

static unsigned start_boot_processes(void)
{
	unsigned started = 0;
	for (uint32_t i = 0; i < bundle.nprocs; i++) {
		const struct bundle_proc *bp = &bundle.procs[i];
		if (bp->flags & BUNDLE_PROC_SPAWN_ONLY)
			continue; /* a template for spawn() */
		struct proc_spec spec;
		struct proc_chans pc;
		proc_spec_from_bundle(&bundle, bp, &spec, &pc);
		const char *why;
		int pid;
		if (proc_create(&spec, NULL, &pid, &why)) {
			klog("cannot start %s: %s", bp->name, why);
			continue;
		}
		klog("started %s (pid %d)", bp->name, pid);
		started++;
	}
	return started;
}

void kmain(uint64_t magic, uint64_t info_phys)
{
	const char *why = "";
	uint64_t top;

	arch_serial_init();
	arch_cpu_init();
	kprintf("\nVesta " VESTA_VERSION " - a microkernel for appliances that keep serving\n");
	if (magic != MB2_BOOT_MAGIC)
		panic("not started by a multiboot2 loader (magic %#llx)",
		      (unsigned long long)magic);
	if (mb2_parse(phys_to_virt(info_phys), 1u << 20, &mb, &why))
		panic("bad multiboot2 boot information: %s", why);
	if (mem_init(&mb, info_phys, &top, &why))
		panic("memory: %s", why);
	arch_time_init();
	emit_boot(top);
	pci_init();

	struct ve_meminfo mi;
	mem_info(&mi);
	klog("%s boot, %llu MiB usable, TSC %llu MHz", mb.efi ? "UEFI" : "BIOS",
	     (unsigned long long)(mi.total_frames / 256),
	     (unsigned long long)(arch_tsc_hz() / 1000000));
	if (unpack_bundle(&why))
		panic("boot bundle: %s", why);
	syscall_set_bundle(&bundle);
	proc_boot_bundle = &bundle;
	if (ipc_init(&bundle, &why))
		panic("channels: %s", why);
	if (inject_init())
		panic("no memory for the fault-injection page");
	unsigned n = start_boot_processes();

	struct evlog_line l;
	ev_start(&l, "ready");
	ev_u64(&l, "boot_ns", arch_now_ns());
	ev_u64(&l, "procs", n);
	ev_send(&l);
	klog("ready: %u boot process%s started", n, n == 1 ? "" : "es");
	if (mb.cmdline && has_word(mb.cmdline, "selftest=panic"))
		selftest_panic();
	sched_run();
}
