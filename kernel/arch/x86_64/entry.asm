; Kernel entry and exit paths: exception/interrupt stubs, the syscall entry,
; the context switch and the FPU helpers. Every path from ring 3 does swapgs
; on the way in and on the way out; paths from ring 0 never do. The per-CPU
; block at GS holds the kernel stack top (gs:0) and a scratch slot for the
; user rsp during syscall entry (gs:8).

bits 64
default rel

TRAP_SYSCALL equ 0x100
TRAP_COMPAT  equ 0x101
SEL_UCODE    equ 0x23
SEL_UDATA    equ 0x1b

extern trap_dispatch
extern syscall_dispatch
extern syscall_compat_dispatch

%macro PUSH_REGS 0
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
%endmacro

%macro POP_REGS 0
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
%endmacro

section .text

; One stub per vector. Vectors where the CPU pushes an error code skip the
; dummy push so the frame has the same shape for all.
%macro ISR 1
isr_%1:
%if (%1 = 8) || (%1 = 10) || (%1 = 11) || (%1 = 12) || (%1 = 13) || (%1 = 14) || (%1 = 17) || (%1 = 21) || (%1 = 29) || (%1 = 30)
%else
	push 0
%endif
	push %1
	jmp trap_common
%endmacro

%assign i 0
%rep 256
ISR i
%assign i i+1
%endrep

section .rodata
global isr_table
isr_table:
%assign i 0
%rep 256
	dq isr_ %+ i
%assign i i+1
%endrep

section .text
trap_common:
	; An interrupt gate clears IF, TF and NT but keeps the rest of the
	; interrupted rflags: AC (which would switch SMAP off) and DF. The
	; kernel runs with all of them clear.
	push qword 2
	popfq
	test qword [rsp + 24], 3        ; frame cs (after vector, err, rip)
	jz .from_kernel
	swapgs
.from_kernel:
	PUSH_REGS
	mov rdi, rsp
	cld
	call trap_dispatch
global trap_return
trap_return:
	POP_REGS
	add rsp, 16                     ; vector, err
	test qword [rsp + 8], 3         ; cs
	jz .to_kernel
	swapgs
.to_kernel:
	iretq

; syscall: rcx = user rip, r11 = user rflags, rsp = user rsp (not trusted,
; never dereferenced). SFMASK has cleared IF, TF, DF, NT and AC. Builds a
; trap frame on the kernel stack marked with vector %1.
%macro SYSCALL_FRAME 1
	swapgs
	mov [gs:8], rsp
	mov rsp, [gs:0]
	push SEL_UDATA
	push qword [gs:8]
	push r11
	push SEL_UCODE
	push rcx
	push 0
	push %1
	PUSH_REGS
	mov rdi, rsp
	cld
%endmacro

global syscall_entry
syscall_entry:
	SYSCALL_FRAME TRAP_SYSCALL
	call syscall_dispatch
	; syscall_dispatch has checked that frame rip is canonical; a frame that
	; is no longer a plain syscall frame leaves through iretq.
	cmp qword [rsp + 15 * 8], TRAP_SYSCALL
	jne trap_return
	POP_REGS
	add rsp, 16
	mov rcx, [rsp]                  ; rip
	mov r11, [rsp + 16]             ; rflags
	mov rsp, [rsp + 24]             ; user rsp
	swapgs
	o64 sysret

; syscall from 32-bit (compatibility-mode) code, through MSR_CSTAR. Vesta
; runs no 32-bit code, so this is a process that got out of 64-bit mode:
; syscall_compat_dispatch kills it and never returns.
global syscall_compat_entry
syscall_compat_entry:
	SYSCALL_FRAME TRAP_COMPAT
	call syscall_compat_dispatch
	ud2

; void arch_switch(uint64_t *save_rsp, uint64_t load_rsp)
global arch_switch
arch_switch:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov [rdi], rsp
	mov rsp, rsi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

; A new process's kernel stack ends in a trap frame; arch_switch "returns"
; here and we leave through the ordinary trap exit.
global arch_first_entry
arch_first_entry:
	jmp trap_return

global arch_fpu_save
arch_fpu_save:
	fxsave64 [rdi]
	ret

global arch_fpu_restore
arch_fpu_restore:
	fxrstor64 [rdi]
	ret

global arch_read_cr2
arch_read_cr2:
	mov rax, cr2
	ret

global arch_read_cr3
arch_read_cr3:
	mov rax, cr3
	ret

global arch_switch_pml4
arch_switch_pml4:
	mov rax, cr3
	cmp rax, rdi
	je .same
	mov cr3, rdi
.same:
	ret

global arch_invlpg
arch_invlpg:
	invlpg [rdi]
	ret

global arch_irq_enable_and_wait
arch_irq_enable_and_wait:
	sti
	hlt
	cli
	ret

global arch_irq_disable
arch_irq_disable:
	cli
	ret

global arch_rdtsc
arch_rdtsc:
	rdtsc
	shl rdx, 32
	or rax, rdx
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
