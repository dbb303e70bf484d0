/*
 * Kernel output: the human log on COM1 (kprintf, klog) and the
 * machine-readable event log on COM2 (ev_* lines sent with ev_send), and
 * panic, which reports on both and stops the machine.
 */
#ifndef VESTA_KLOG_H
#define VESTA_KLOG_H

#include <stdint.h>

#include "evlog.h"

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line on COM1 prefixed with the time: "[   1.234567] ...". */
void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write raw bytes to the console (user processes' output). */
void kconsole_write(const char *s, uint64_t n);

/* Start an event line stamped with the current time. */
void ev_start(struct evlog_line *l, const char *ev);
/* Close the line and send it to COM2. */
void ev_send(struct evlog_line *l);

_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For trap.c: enter panic mode (interrupts off, nested-panic guard)... */
void panic_begin(void);
/* ...and finish: the panic event on COM2, then stop the CPU. */
_Noreturn void panic_end(const char *what, uint64_t vector, uint64_t rip, uint64_t addr);

#endif
