/*
 * The one header of svc/lib, the small library every Vesta user program
 * links: system-call wrappers, ve_printf, and a few helpers for reading the
 * argument string. It also brings in the ABI (vesta/abi.h) and the libc
 * subset shared with the kernel (string.h, fmt.h from kernel/lib).
 *
 * A program defines `int main(const char *args)`; crt0 calls it with the
 * process's argument string (never NULL, possibly "") and exits with its
 * return value.
 *
 * Every wrapper that can fail returns a negative -VE_* code (see abi.h);
 * ve_strerror() names one for printing.
 */
#ifndef VESTA_SVC_LIB_H
#define VESTA_SVC_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vesta/abi.h"
#include "fmt.h"
#include "string.h"

/* What crt0 was given at entry: the argument string and the pid. */
extern const char *ve_start_args;
extern int ve_start_pid;

/* The program's entry point, called by crt0. */
int main(const char *args);

/*
 * Raw system call: number nr with up to six arguments (unused ones are
 * ignored by the kernel). Returns the kernel's rax: >= 0 on success or a
 * negative -VE_* code. In syscall.asm.
 */
long ve_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* --- System-call wrappers (one per SYS_* in abi.h) --- */

/* End the process with code. Never returns. */
_Noreturn void ve_exit(int code);

/*
 * Write len bytes at buf to the console. Returns the number written.
 * Errors: -VE_FAULT (buf not readable), -VE_RANGE (len too large).
 */
long ve_write(const void *buf, size_t len);

/* Sleep at least ns nanoseconds. Returns 0. */
int ve_sleep_ns(uint64_t ns);

/*
 * Sleep at least ms milliseconds. Returns 0.
 * Errors: -VE_RANGE if ms in nanoseconds does not fit 64 bits.
 */
int ve_sleep_ms(uint64_t ms);

/* Give the CPU to another ready process. Returns 0. */
int ve_yield(void);

/* The caller's pid (> 0). */
int ve_getpid(void);

/* Monotonic nanoseconds since boot. */
uint64_t ve_clock_ns(void);

/*
 * Map len bytes (a multiple of 4096) of zeroed memory with prot (VE_PROT_*
 * bits) at addr, page aligned, or where the kernel chooses if addr is 0.
 * Returns the address.
 * Errors: -VE_INVAL (bad alignment, range or prot), -VE_NOMEM.
 */
long ve_vm_alloc(uint64_t addr, uint64_t len, unsigned prot);

/* Unmap [addr, addr + len). Returns 0. Errors: -VE_INVAL. */
int ve_vm_free(uint64_t addr, uint64_t len);

/* Fill *info with the kernel's frame counts. Returns 0. Errors: -VE_FAULT. */
int ve_meminfo(struct ve_meminfo *info);

/*
 * Start the boot image named image with the argument string args.
 * Returns the child's pid.
 * Errors: -VE_PERM (no spawn grant), -VE_NOENT (no such image),
 * -VE_FAULT, -VE_INVAL, -VE_NOMEM.
 */
int ve_spawn(const char *image, const char *args);

/*
 * Block until child pid has died and fill *ex with why. Returns 0.
 * Errors: -VE_CHILD (not a child of the caller), -VE_FAULT.
 */
int ve_wait(int pid, struct ve_exit *ex);

/* Stop the machine with code. Returns only on error: -VE_PERM. */
int ve_halt(int code);

/* --- Output --- */

/*
 * printf to the console (conversions as in fmt.h). The output goes out in
 * writes of at most 256 bytes, the last at the end of the call, so a line
 * printed by one call is not split by other processes' output unless it is
 * longer than that. Returns the number of bytes formatted.
 * Errors: the first error of ve_write (the rest of the output is dropped),
 * or fmt_vcallback's.
 */
int ve_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ve_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * The name of an error code, "VE_FAULT" for VE_FAULT or -VE_FAULT;
 * "VE_?" for a number that is none. Never NULL.
 */
const char *ve_strerror(long err);

/* --- Argument parsing --- */

/* s advanced past spaces and tabs. */
const char *ve_skip_space(const char *s);

/* Length of the word at s: up to the next space, tab or NUL. */
size_t ve_word_len(const char *s);

/* Whether the n bytes at word are exactly the string lit. */
bool ve_word_is(const char *word, size_t n, const char *lit);

/*
 * Read an unsigned number at *s after optional spaces: decimal, or hex with
 * a 0x prefix. On success stores it in *out and advances *s past it; it
 * must end at a space, tab or NUL. Returns 0.
 * Errors: -VE_INVAL (no number there, or junk after it), -VE_RANGE (more
 * than 64 bits); *s and *out are then unchanged.
 */
int ve_parse_u64(const char **s, uint64_t *out);

#endif
