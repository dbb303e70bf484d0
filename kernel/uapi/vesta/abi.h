/*
 * The Vesta system-call ABI, shared by the kernel and svc/lib.
 *
 * Calling convention (x86-64 `syscall`): the call number goes in rax, the
 * arguments in rdi, rsi, rdx, r10, r8, r9; the result comes back in rax.
 * rcx and r11 are clobbered, every other register is preserved.
 * A result >= 0 is success; a negative result is one of the VE_* errors
 * below, negated (so a call returns -VE_FAULT for a bad pointer).
 *
 * This header is freestanding: it includes only <stdint.h>.
 */
#ifndef VESTA_ABI_H
#define VESTA_ABI_H

#include <stdint.h>

#define VESTA_ABI_VERSION 1

/* Error codes, returned negated. Never renumber: they are ABI. */
enum ve_err {
	VE_OK = 0,
	VE_BADCALL = 1,	  /* no system call with that number */
	VE_FAULT = 2,	  /* a pointer argument is not a mapped user address
			    with the needed rights */
	VE_INVAL = 3,	  /* an argument is out of its allowed range */
	VE_NOMEM = 4,	  /* out of memory (frames, address space or heap) */
	VE_PERM = 5,	  /* the caller was not granted this */
	VE_NOENT = 6,	  /* no such name, image or process */
	VE_AGAIN = 7,	  /* would block; try again */
	VE_TIMEOUT = 8,	  /* the deadline passed */
	VE_BADHANDLE = 9, /* not a handle of the calling process */
	VE_RANGE = 10,	  /* a length or size is too large */
	VE_CHILD = 11,	  /* not a child of the caller */
	VE_BUSY = 12,	  /* the channel already has a live server */
	VE_POISON = 13,	  /* the service died on this request max_redeliveries
			     times in a row; it is now a dead letter */
	VE_NERR
};

/* System call numbers: the index into the kernel's one table. */
enum ve_sys {
	SYS_EXIT = 0,	      /* exit(code): never returns */
	SYS_WRITE = 1,	      /* write(buf, len) -> bytes written, to the console */
	SYS_SLEEP = 2,	      /* sleep(ns) -> 0 */
	SYS_YIELD = 3,	      /* yield() -> 0 */
	SYS_GETPID = 4,	      /* getpid() -> pid */
	SYS_CLOCK = 5,	      /* clock() -> monotonic ns since boot */
	SYS_VM_ALLOC = 6,     /* vm_alloc(addr, len, prot) -> address */
	SYS_VM_FREE = 7,      /* vm_free(addr, len) -> 0: only vm_alloc memory */
	SYS_MEMINFO = 8,      /* meminfo(struct ve_meminfo *) -> 0 */
	SYS_SPAWN = 9,	      /* spawn(name, args) -> pid (needs the spawn grant) */
	SYS_WAIT = 10,	      /* wait(pid, struct ve_exit *) -> 0, blocks */
	SYS_HALT = 11,	      /* halt(code): stops the machine (needs halt grant) */
	SYS_KILL = 12,	      /* kill(pid, reason): a child of the caller -> 0 */
	SYS_CHAN_SERVE = 13,  /* serve(name) -> handle */
	SYS_CHAN_OPEN = 14,   /* open(name) -> handle */
	SYS_CHAN_CALL = 15,   /* call(h, req, len, rep, cap, timeout_ns) -> reply length */
	SYS_CHAN_CAST = 16,   /* cast(h, buf, len, flags) -> 0 */
	SYS_CHAN_RECV = 17,   /* recv(h, struct ve_msg *, buf, cap) -> payload length */
	SYS_CHAN_REPLY = 18,  /* reply(h, id, buf, len) -> 0, or VE_REPLY_DISCARDED */
	SYS_CHAN_ACK = 19,    /* ack(h, id) -> 0 */
	SYS_WAIT_ANY = 20,    /* wait_any(handles, n, timeout_ns, struct ve_wait_result *) */
	SYS_IRQ_ACK = 21,     /* irq_ack(irq) -> 0: unmask a granted IRQ line */
	SYS_EVENT = 22,	      /* event(ev, kv, n): one line on the event log -> 0 */
	SYS_REAP = 23,	      /* reap(struct ve_exit *) -> pid of a dead child, non-blocking */
	SYS_STASH = 24,	      /* stash(size, flags) -> address of the caller's stash */
	SYS_STASH_DROP = 25,  /* stash_drop(name) -> 0: discard a service's stash */
	SYS_PS = 26,	      /* ps(struct ve_procinfo *, n) -> processes listed */
	SYS_CHAN_INFO = 27,   /* chan_info(index, struct ve_chaninfo *) -> 0 */
	SYS_SPAWN_SPEC = 28,  /* spawn_spec(const struct ve_spawn *) -> pid */
	SYS_BUNDLE_READ = 29, /* bundle_read(name, buf, cap) -> size of a data file */
	SYS_INJECT = 30,      /* inject(pid, kind, arg, seed) -> 0: a fault (grant inject) */
	SYS_CHAN_NEXT = 31,   /* next(h, id, buf, len, struct ve_next *): answer, wait, recv */
	SYS_PCI_INFO = 32, /* pci_info(index, struct ve_pciinfo *) -> 0: a function found at boot */
	SYS_DEV_INFO = 33, /* dev_info(dev, struct ve_pciinfo *) -> 0: a granted device */
	SYS_DEV_CFG_READ = 34,	/* dev_cfg_read(dev, off, width) -> value */
	SYS_DEV_CFG_WRITE = 35, /* dev_cfg_write(dev, off, width, value) -> 0 */
	SYS_DEV_MAP = 36,	/* dev_map(dev, bar) -> address of the BAR, uncached */
	SYS_DMA_ALLOC = 37,	/* dma_alloc(len, uint64_t *phys) -> address: pinned, contiguous */
	SYS_CHAN_REPLY_RECV = 38, /* reply_recv(h, id, buf, len | cap << 32, timeout_ns): next on h
				     alone, the header in registers (below) */
	SYS_CHAN_CASTV = 39,	  /* castv(h, buf, lens, n, flags) -> casts queued (below) */
	SYS_CHAN_RECVV = 40,	  /* recvv(h, struct ve_batch *) -> messages received (below) */
	SYS_NCALLS
};

/* reply() succeeded, but nobody took the reply: its caller died or gave up
 * on the call (timed out) before it was answered. */
#define VE_REPLY_DISCARDED 1

/* vm_alloc protection bits. */
#define VE_PROT_READ 0x1u
#define VE_PROT_WRITE 0x2u
#define VE_PROT_EXEC 0x4u

/* User address space: [VE_USER_LO, VE_USER_HI). The top of the lower half
 * (0x0000800000000000) is excluded by one page so no user code can sit at the
 * canonical boundary. */
#define VE_USER_LO 0x0000000000001000ull
#define VE_USER_HI 0x00007ffffffff000ull
#define VE_PAGE_SIZE 4096ull

#define VE_NAME_MAX 32	  /* process names, including the NUL */
#define VE_ARGS_MAX 96	  /* the argument string, including the NUL */
#define VE_WRITE_MAX 4096 /* most bytes one write() takes */

/* Why a process died. Numbers are ABI; names are in the event log. */
enum ve_reason {
	VE_R_EXIT = 0,	     /* called exit(code) */
	VE_R_KILLED = 1,     /* killed by another process or the kernel */
	VE_R_PAGE_FAULT = 2, /* page fault on an unmapped or protected address */
	VE_R_STACK = 3,	     /* page fault in its stack guard page */
	VE_R_GP = 4,	     /* general protection (includes an ungranted port) */
	VE_R_PRIV = 5,	     /* a privileged instruction (hlt, cli, lgdt, ...) */
	VE_R_UD = 6,	     /* invalid opcode */
	VE_R_DE = 7,	     /* divide error */
	VE_R_FAULT = 8,	     /* any other CPU exception; see vector */
	/* 9 is no reason: it was `nomem`, which no kernel gave. Nothing is
	 * mapped on demand, so no fault needs memory; a call that cannot get
	 * memory returns -VE_NOMEM and changes nothing. Never reused. */
	VE_R_HUNG = 10, /* killed by its supervisor for missing its heartbeat */
	VE_NREASONS
};

/* The name of each reason, as the event log writes it: an initializer for
 * `static const char *const names[VE_NREASONS]`, one list for the kernel
 * and svc/lib (NULL for the unused 9). */
#define VE_REASON_NAMES                                                                            \
	{                                                                                          \
		[VE_R_EXIT] = "exit", [VE_R_KILLED] = "killed", [VE_R_PAGE_FAULT] = "page_fault",  \
		[VE_R_STACK] = "stack_overflow", [VE_R_GP] = "gp", [VE_R_PRIV] = "priv",           \
		[VE_R_UD] = "ud", [VE_R_DE] = "de", [VE_R_FAULT] = "fault", [VE_R_HUNG] = "hung",  \
	}

/* The exit code of a process that found its own code or constants changed
 * under it (svc/lib checks its image before each heartbeat). Its
 * supervisor restarts it like any failure, but does not hold it against
 * the service's kept stash: the image came from the boot bundle, not from
 * the stash. */
#define VE_EXIT_IMAGE_CORRUPT 70

/* Scheduling classes, highest first: a runnable process of a higher class
 * always runs before one of a lower. Numbers are ABI (struct ve_spawn,
 * struct ve_procinfo, the boot table); names are the policy language's and
 * the event log's. */
enum ve_prio { VE_PRIO_DRIVER = 0, VE_PRIO_SERVICE = 1, VE_PRIO_BESTEFFORT = 2, VE_NPRIO };
#define VE_PRIO_NAMES                                                                              \
	{                                                                                          \
		[VE_PRIO_DRIVER] = "driver", [VE_PRIO_SERVICE] = "service",                        \
		[VE_PRIO_BESTEFFORT] = "besteffort",                                               \
	}

/* What wait() reports about a dead child. */
struct ve_exit {
	int32_t pid;
	uint32_t reason; /* enum ve_reason */
	int64_t code;	 /* exit code, for VE_R_EXIT */
	uint32_t vector; /* CPU exception vector, for faults */
	uint32_t pad;
	uint64_t rip;  /* where it was when it died */
	uint64_t addr; /* faulting address (cr2) for page faults */
};

/* Channels. svc/lib/vesta.h documents each call, its results and errors. */
#define VE_MSG_MAX 2048	  /* most payload bytes in one message */
#define VE_HANDLES_MAX 16 /* channel handles per process */
#define VE_NONBLOCK 0x1u  /* cast flag: -VE_AGAIN instead of blocking */
#define VE_TIMEOUT_NONE 0 /* call/wait_any timeout: wait forever */
#define VE_MSG_CALL 1u
#define VE_MSG_CAST 2u

/*
 * Limits on a channel, as the boot table, a policy and spawn_spec give them;
 * 0 stands for the kernel's default. A bound of 4096 messages held (queued
 * and in flight together) or 16 MiB queued is already far more than one
 * appliance service should let pile up; 1000 redeliveries is beyond any
 * useful retry policy and only bounds the counter.
 */
#define VE_CHAN_QUEUE_MAX 4096u
#define VE_CHAN_QBYTES_MAX (16u * 1024u * 1024u)
#define VE_CHAN_REDELIVERIES_MAX 1000u

/*
 * IRQ lines a process can be granted: bit n for ISA line n. Line 0 is the
 * timer the kernel keeps and line 2 the cascade to the second PIC, which
 * never raises an interrupt of its own.
 */
#define VE_IRQS_VALID 0xfffau

/* What recv() fills in besides the payload. */
struct ve_msg {
	uint64_t id;	      /* stable across redelivery: use it for idempotence */
	int32_t sender;	      /* pid of the client that sent it */
	uint32_t kind;	      /* VE_MSG_CALL (reply to it) or VE_MSG_CAST (ack it) */
	uint32_t len;	      /* payload bytes */
	uint32_t redelivered; /* 0, or how many times it was handed out again
				 after a server died with it in flight */
};

/* What wait_any() reports: a handle with a message waiting (-1 if none),
 * and the granted IRQ lines that fired (bit n = IRQ n; masked until acked). */
struct ve_wait_result {
	int32_t handle;
	uint32_t exited; /* nonzero: a child died; reap() it */
	uint64_t irqs;
};

/*
 * A server loop's one system call, SYS_CHAN_NEXT(h, id, buf, len, next):
 * first, if id is not 0, answer the in-flight message id on handle h (a
 * call is replied with buf[0..len), a cast is acked); then wait as
 * wait_any on handles[0..n) for up to timeout_ns, and receive the head of
 * the first handle with a message into buf[0..cap) and msg, as recv.
 * Returns the payload length with result.handle >= 0; or 0 with
 * result.handle = -1 when it woke for result.irqs or result.exited; or an
 * error, with nothing received. answered says whether the answer was made,
 * whatever the return: an answer's own error leaves it VE_NEXT_NONE and
 * nothing is waited for; an error after it (-VE_RANGE: the message is
 * longer than cap, result.handle names the handle, msg.len the length, it
 * stays queued; -VE_TIMEOUT; wait_any's and recv's errors) comes with
 * VE_NEXT_ANSWERED or VE_NEXT_DISCARDED, so the answer must not be
 * repeated. A discarded reply (its caller is gone) is not an error. buf
 * serves both: the answer is taken from it before the next message is
 * written into it. Only a bad next pointer (-VE_FAULT) leaves next as it
 * was.
 */
enum ve_next_answer {
	VE_NEXT_NONE = 0,      /* id was 0, or the answer failed */
	VE_NEXT_ANSWERED = 1,  /* replied or acked */
	VE_NEXT_DISCARDED = 2, /* a reply nobody waits for any more: discarded */
};
struct ve_next {
	const int32_t *handles;	      /* in: the handles to wait on */
	uint32_t n;		      /* in: how many */
	uint32_t cap;		      /* in: bytes buf can take */
	uint64_t timeout_ns;	      /* in: VE_TIMEOUT_NONE: wait forever */
	struct ve_msg msg;	      /* out: the message received */
	struct ve_wait_result result; /* out: what woke it */
	uint32_t waited;	      /* out: 1 if it blocked (nothing was ready), else 0 */
	uint32_t answered;	      /* out: enum ve_next_answer */
};

/*
 * The one-channel form of next, SYS_CHAN_REPLY_RECV(h, id, buf,
 * len | cap << 32, timeout_ns): answer id on h as next does, then wait for
 * a message on h alone (IRQs and dead children do not end the wait; they
 * stay pending for wait_any) and receive it into buf[0..cap). Returns and
 * errors as next's. Nothing crosses through memory but the payloads: the
 * header comes back in registers, rdx = msg.id, rsi = msg.sender |
 * msg.kind << 32, rdi = msg.len | msg.redelivered << 32, r8 = answered |
 * waited << 32 (all 0 where next leaves them 0); the other registers are
 * preserved.
 */

/*
 * Batches: several messages per system call, for a stream of casts.
 *
 * SYS_CHAN_CASTV(h, buf, lens, n, flags) casts n messages on client handle
 * h, in order: message i is the lens[i] bytes of buf that follow message
 * i - 1 (back to back, from buf[0]). The whole batch is checked first (n
 * in 1..VE_BATCH_MAX, every lens[i] at most VE_MSG_MAX and the channel's
 * byte bound, lens and buf readable); a bad batch queues nothing. Then it
 * waits, as a single cast does, until the first message fits (VE_NONBLOCK:
 * -VE_AGAIN at once instead), and queues messages while they fit, without
 * waiting again. Returns how many were queued, 1..n: the first k of the
 * batch, each a cast of its own with its own id, acked on its own; the
 * rest were not sent, and the caller sends them again. A refusal of the
 * share after k > 0 (-VE_NOMEM) ends the batch at k as well; with k = 0 it
 * is the result.
 *
 * SYS_CHAN_RECVV(h, batch): a server's step over a stream of casts. First
 * it acks acks[0..nacks) on server handle h, in order, each as ack() does;
 * the first that fails ends the call with its error, acked telling how many
 * went before it (nothing is waited for then). Then it waits up to
 * timeout_ns for a message on h (as reply_recv: IRQs and dead children do
 * not end the wait), and receives from the head of the queue while fewer
 * than max are taken and the next message's payload fits in what is left
 * of buf[0..cap): message i's header goes to msgs[i], its payload back to
 * back after message i - 1's, from buf[0]. Every message received is in
 * flight, exactly as recv() leaves it: a cast is acked (by the next recvv,
 * or ack()), a call replied (reply()). If the server dies holding a batch,
 * all of it goes back to the front of the queue in its order, with the
 * same ids, as any in-flight messages do. Returns how many were received,
 * 1..max. Errors: -VE_BADHANDLE, -VE_PERM (a client handle), -VE_FAULT (a
 * bad batch, acks, msgs[0..max) or buf: checked before any ack; of buf,
 * the first cap bytes, or max * VE_MSG_MAX if fewer: all a batch can take), -VE_INVAL (max 0,
 * or pad not 0; on these checks' errors nothing is acked and the batch
 * is not written, acked included),
 * -VE_RANGE (max or nacks above VE_BATCH_MAX; or the head's payload is
 * longer than cap: it stays queued and msgs[0].len says how long), the
 * acks' (-VE_NOENT, -VE_INVAL for a call), -VE_TIMEOUT.
 */
#define VE_BATCH_MAX 64 /* most messages one castv or recvv takes */
struct ve_batch {
	const uint64_t *acks; /* in: in-flight casts on h to ack first */
	uint32_t nacks;	      /* in: 0..VE_BATCH_MAX */
	uint32_t max;	      /* in: most messages to receive, 1..VE_BATCH_MAX */
	struct ve_msg *msgs;  /* in: room for max headers */
	void *buf;	      /* in: the payloads, back to back */
	uint32_t cap;	      /* in: bytes buf can take */
	uint32_t pad;	      /* 0 */
	uint64_t timeout_ns;  /* in: VE_TIMEOUT_NONE: wait forever */
	uint32_t acked;	      /* out: how many of acks[] were acked */
	uint32_t waited;      /* out: 1 if it blocked (nothing was queued), else 0 */
};

/* One field of a user event: a string if str is non-NULL, else num. */
struct ve_kv {
	const char *key; /* [a-z0-9_]{1,23} */
	const char *str; /* NUL-terminated, at most VE_EVENT_STR_MAX bytes */
	int64_t num;
};
#define VE_EVENT_FIELDS_MAX 8
#define VE_EVENT_STR_MAX 128

/* Stash: one memory region per service name that outlives the process.
 * stash(size) maps it at VE_STASH_BASE in the caller: the region the
 * previous process of the same name left, or a new zeroed one. A process
 * with the spawn grant (the supervisor) discards one with stash_drop(name). */
/* Below 2 GiB: a program built for the small code model (every Vesta
 * program) can link its data segment there (user-stash.ld). Images load
 * below it, vm_alloc and device mappings far above. */
#define VE_STASH_BASE 0x0000000040000000ull
#define VE_STASH_MAX (16ull << 20)
/*
 * stash(size, flags). VE_STASH_WINDOWS gives the stash recovery windows:
 * the stash a new incarnation maps is, byte for byte, the stash as it was
 * at the dying one's last *commit*; what it wrote after that is rolled
 * back. A commit happens at the start of every system call by which
 * something leaves the process for another one or a received message is
 * finished: call, cast, castv, reply, ack, reply_recv and next when they
 * answer, recvv when it acks, exit, and the supervisor's spawn, kill,
 * inject and stash_drop. Console writes and events are observations, not
 * commits: a log line in the middle of a request does not split it, and a
 * replayed request may log again. Device registers are outside the
 * window. A stash keeps the flags it was made with (another flag gets
 * -VE_INVAL).
 *
 * A program may also link its data segment into the stash window (a
 * PT_LOAD segment at VE_STASH_BASE, svc/lib/user-stash.ld): the kernel maps
 * a windowed stash of the segment's size there at spawn, and loads the
 * segment's initial bytes into it when it is new. The program must not
 * call stash() then with another size.
 */
#define VE_STASH_WINDOWS 0x1u

/* A process as ps() shows it. Names are the shell's `ps`. */
enum ve_ps_state {
	VE_PS_RUNNING = 0, /* running or runnable */
	VE_PS_BLOCKED = 1, /* waiting in a system call */
	VE_PS_DEAD = 2,	   /* dead, not yet reaped by its parent */
	VE_NPS_STATES
};
#define VE_PS_STATE_NAMES                                                                          \
	{                                                                                          \
		[VE_PS_RUNNING] = "run", [VE_PS_BLOCKED] = "blocked", [VE_PS_DEAD] = "dead",       \
	}

/* One line of ps(). */
struct ve_procinfo {
	int32_t pid;
	int32_t parent; /* 0 for none */
	uint32_t state; /* enum ve_ps_state */
	uint32_t prio;	/* enum ve_prio */
	char name[VE_NAME_MAX];
	uint64_t frames; /* user frames it holds */
};

/* What chan_info() reports about channel number `index` (0, 1, ...). */
struct ve_chaninfo {
	char name[32];
	int32_t server; /* pid, or 0 when nobody serves it */
	uint32_t queued, inflight, queued_bytes;
	uint64_t sent, replied, acked, poisoned, cancelled, discarded, redelivered;
	uint32_t max_msgs, max_bytes, max_redeliveries, deadletters;
};

/*
 * PCI devices. The kernel enumerates every PCI function at boot;
 * pci_info(index) lists them, with the pid that holds each. A process is
 * granted devices by its policy or boot table (`device VVVV:DDDD`, with
 * `index N` or `at BB:DD.F` where several match); its k-th grant is device
 * number k (`dev`) in the calls below. A granted device's I/O BARs are among
 * its ports, its interrupt line among its IRQs (wait_any, irq_ack), and its
 * memory BARs can be mapped with dev_map(). Its configuration space is
 * reachable only through dev_cfg_read/dev_cfg_write, and only its own:
 * writes that would move a BAR or the expansion ROM are refused (-VE_PERM).
 * dma_alloc() gives a process granted a device pinned, physically
 * contiguous, zeroed memory and its bus address, counted against its
 * memory share. When the process
 * dies, the kernel clears the device's bus-master bit before any of its DMA
 * memory is freed, so a device never writes into memory given to another.
 */
#define VE_SPAWN_DEVS 2	   /* devices one process can be granted */
#define VE_DEVSEL_AT 0x1u  /* ve_devsel.flags: select by bus address */
#define VE_PCI_NOIRQ 0xffu /* ve_pciinfo.irq: no interrupt line */
#define VE_PCI_BARS 6
#define VE_PCI_CFG_SIZE 256 /* configuration bytes a driver can reach */

/* Which device a grant names: vendor:device and the index-th match in bus
 * order, or (VE_DEVSEL_AT) the function at bus:devfn, which must have that
 * vendor:device. vendor 0 marks an unused slot; unused slots come last. */
struct ve_devsel {
	uint16_t vendor;
	uint16_t device;
	uint8_t index; /* 0 = the first match; 0 with VE_DEVSEL_AT */
	uint8_t bus;   /* with VE_DEVSEL_AT */
	uint8_t devfn; /* with VE_DEVSEL_AT: slot << 3 | function */
	uint8_t flags; /* VE_DEVSEL_* */
};

/* Whether a and b (used, well formed) name the same function on every
 * machine: the same vendor:device and index, or the same bus address. An
 * index and an address may name the same function on one machine and not
 * on another: not the same here. The kernel refuses a grant list, and
 * polcheck and bundle_open two grants, that name one function twice. */
static inline int ve_devsel_same(const struct ve_devsel *a, const struct ve_devsel *b)
{
	int a_at = (a->flags & VE_DEVSEL_AT) != 0, b_at = (b->flags & VE_DEVSEL_AT) != 0;
	if (a_at || b_at)
		return a_at && b_at && a->bus == b->bus && a->devfn == b->devfn;
	return a->vendor == b->vendor && a->device == b->device && a->index == b->index;
}

enum ve_bar_kind { VE_BAR_NONE = 0, VE_BAR_IO = 1, VE_BAR_MEM32 = 2, VE_BAR_MEM64 = 3 };
struct ve_bar {
	uint64_t base; /* port or physical address */
	uint64_t size; /* bytes (ports for VE_BAR_IO) */
	uint32_t kind; /* enum ve_bar_kind; a 64-bit BAR's upper half is NONE */
	uint32_t prefetchable;
};

/* One PCI function as pci_info() and dev_info() report it. */
struct ve_pciinfo {
	uint8_t bus, devfn; /* devfn = slot << 3 | function */
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if;
	uint8_t irq; /* ISA interrupt line, or VE_PCI_NOIRQ */
	uint8_t pad[2];
	int32_t holder; /* pid of the process granted it, 0 if none */
	struct ve_bar bar[VE_PCI_BARS];
};

/* spawn_spec(): start `image` as process `name` with exactly these grants.
 * Needs the spawn grant, and can grant only what the boot table allows the
 * caller to hand out (the supervisor: anything). */
#define VE_SPAWN_CHANS 4
#define VE_SPAWN_PORTS 8
struct ve_spawn {
	char name[VE_NAME_MAX];
	char image[VE_NAME_MAX];
	char args[VE_ARGS_MAX];
	uint32_t prio;	 /* enum ve_prio */
	uint32_t grants; /* VE_GRANT_* */
	uint16_t irqs;	 /* bit n = IRQ n */
	uint16_t nports;
	struct {
		uint16_t first, last;
	} ports[VE_SPAWN_PORTS];
	char serve[VE_SPAWN_CHANS][32]; /* "" = unused */
	char open[VE_SPAWN_CHANS][32];
	uint32_t queue, qbytes, redeliveries; /* for channels it creates by serving */
	struct ve_devsel devs[VE_SPAWN_DEVS]; /* PCI devices; vendor 0 = unused */
};

/* Grants other than hardware ones: bits of ve_spawn.grants, of the boot
 * table's and of a policy's `grants`. */
#define VE_GRANT_SPAWN 0x1u /* may call spawn() and spawn_spec(): the power to grant */
#define VE_GRANT_HALT 0x2u  /* may call halt() */
#define VE_GRANT_KILL 0x4u  /* may kill any process, not only its children */
#define VE_GRANT_SUPERVISOR                                                                        \
	0x8u		      /* boot table only: the root supervisor, which the
				    kernel restarts; spawn_spec cannot give it */
#define VE_GRANT_INJECT 0x10u /* may inject faults (SYS_INJECT) */
#define VE_NGRANT_BITS 5
#define VE_GRANTS_KNOWN ((1u << VE_NGRANT_BITS) - 1)
/* The name of grant bit n, as manifests and policies write it. */
#define VE_GRANT_NAMES                                                                             \
	{                                                                                          \
		[0] = "spawn", [1] = "halt", [2] = "kill", [3] = "supervisor", [4] = "inject",     \
	}

/* Fault kinds for inject(pid, kind, arg, seed). The fault happens to the
 * target as if it were its own doing: crash kinds fault in its own context
 * (its next instruction in ring 3 is the faulting one), hang spins in ring 3,
 * block waits forever; corrupt flips arg (default 1) random bits in its
 * data, heap, stack or code pages; leak maps memory into it until refused;
 * garbage sends arg (default 16) malformed messages to the channels it
 * serves; slow stalls it for arg ns. An arg past its kind's maximum below
 * gets -VE_INVAL. seed drives every random choice, so a run can be
 * repeated. A process may fault itself. The root supervisor
 * takes only the kinds that end it or pass (kill, exit, the crashes,
 * garbage, slow; the kernel restarts it): hang, block, leak and corrupt
 * get -VE_BUSY, since nothing would catch it stuck. */
enum ve_inject {
	VE_INJ_KILL = 1,
	VE_INJ_EXIT = 2,	/* arg: the exit code */
	VE_INJ_CRASH_NULL = 3,	/* write through a null pointer */
	VE_INJ_CRASH_WILD = 4,	/* write to a random unmapped address */
	VE_INJ_CRASH_UD = 5,	/* ud2 */
	VE_INJ_CRASH_DIV = 6,	/* divide by zero */
	VE_INJ_CRASH_STACK = 7, /* recurse past the stack guard */
	VE_INJ_HANG = 8,
	VE_INJ_BLOCK = 9,
	VE_INJ_CORRUPT = 10,
	VE_INJ_LEAK = 11,
	VE_INJ_GARBAGE = 12,
	VE_INJ_SLOW = 13,
	VE_INJ_STEP = 14, /* arg n: die n user instructions after a commit */
	VE_NINJECT
};
/* The largest arg each kind takes; more gets -VE_INVAL. They bound the
 * work one inject call does in the kernel, which is not preemptible. */
#define VE_INJ_CORRUPT_MAX 4096		    /* bits flipped */
#define VE_INJ_GARBAGE_MAX 1024		    /* messages per channel (16 default queues) */
#define VE_INJ_SLOW_MAX_NS 3600000000000ull /* an hour */
#define VE_INJ_STEP_MAX (1ull << 32)	    /* user instructions */

/* The largest arg inject() takes for kind: one of the three above, or
 * UINT64_MAX for the kinds that take any (exit's code) or ignore it. */
static inline uint64_t ve_inject_arg_max(uint64_t kind)
{
	return kind == VE_INJ_CORRUPT	? VE_INJ_CORRUPT_MAX
	       : kind == VE_INJ_GARBAGE ? VE_INJ_GARBAGE_MAX
	       : kind == VE_INJ_SLOW	? VE_INJ_SLOW_MAX_NS
	       : kind == VE_INJ_STEP	? VE_INJ_STEP_MAX
					: UINT64_MAX;
}
#define VE_INJECT_NAMES                                                                            \
	{                                                                                          \
		[VE_INJ_KILL] = "kill", [VE_INJ_EXIT] = "exit", [VE_INJ_CRASH_NULL] = "null",      \
		[VE_INJ_CRASH_WILD] = "wild", [VE_INJ_CRASH_UD] = "ud2",                           \
		[VE_INJ_CRASH_DIV] = "div0", [VE_INJ_CRASH_STACK] = "stack",                       \
		[VE_INJ_HANG] = "hang", [VE_INJ_BLOCK] = "block", [VE_INJ_CORRUPT] = "corrupt",    \
		[VE_INJ_LEAK] = "leak", [VE_INJ_GARBAGE] = "garbage", [VE_INJ_SLOW] = "slow",      \
		[VE_INJ_STEP] = "step",                                                            \
	}

/* What meminfo() reports. */
struct ve_meminfo {
	uint64_t total_frames; /* usable 4 KiB frames the kernel manages */
	uint64_t free_frames;  /* of those, free now */
};

#endif
