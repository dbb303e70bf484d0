/*
 * Kernel log, event log and panic. Output is polled serial, so all of this
 * works with interrupts off and from any context, panics included.
 */
#include <stdarg.h>

#include "arch.h"
#include "klog.h"
#include "lib/fmt.h"

static int panic_depth;

static void emit_com1(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	arch_serial_write(COM1, s, n);
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vcallback(emit_com1, NULL, fmt, ap);
	va_end(ap);
	return n;
}

void klog(const char *fmt, ...)
{
	uint64_t ns = arch_now_ns();
	va_list ap;

	kprintf("[%4llu.%06llu] ", (unsigned long long)(ns / 1000000000ull),
		(unsigned long long)(ns / 1000ull % 1000000ull));
	va_start(ap, fmt);
	fmt_vcallback(emit_com1, NULL, fmt, ap);
	va_end(ap);
	arch_serial_write(COM1, "\n", 1);
}

void kconsole_write(const char *s, uint64_t n)
{
	arch_serial_write(COM1, s, n);
}

void ev_start(struct evlog_line *l, const char *ev)
{
	ev_begin(l, ev, arch_now_ns());
}

void ev_send(struct evlog_line *l)
{
	size_t n = ev_end(l);
	arch_serial_write(COM2, l->buf, n);
}

void panic_begin(void)
{
	arch_irq_disable();
	if (++panic_depth > 1) {
		/* A fault while panicking: print nothing more, just stop. */
		arch_serial_write(COM1, "\nnested panic\n", 14);
		arch_halt_machine(1);
	}
}

_Noreturn void panic_end(const char *what, uint64_t vector, uint64_t rip, uint64_t addr)
{
	struct evlog_line l;
	ev_start(&l, "panic");
	ev_str(&l, "what", what);
	ev_u64(&l, "vector", vector);
	ev_hex(&l, "rip", rip);
	ev_hex(&l, "addr", addr);
	ev_send(&l);
	kprintf("system halted.\n");
	arch_idle_forever();
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;
	panic_begin();
	kprintf("\nKERNEL PANIC: ");
	va_start(ap, fmt);
	fmt_vcallback(emit_com1, NULL, fmt, ap);
	va_end(ap);
	kprintf("\n");
	arch_stack_trace((uint64_t)(uintptr_t)__builtin_frame_address(0),
			 (uint64_t)(uintptr_t)__builtin_return_address(0));
	panic_end("panic", 0, (uint64_t)(uintptr_t)__builtin_return_address(0), 0);
}
