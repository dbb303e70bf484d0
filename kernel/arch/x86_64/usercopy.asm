; User memory through the MMU. vm.c checks that a range lies in the user
; half; these routines then touch it with ordinary loads and stores in the
; current address space, and a page fault (or #GP) on one of their marked
; instructions does not panic: trap.c (arch_user_fixup) finds the faulting
; rip in user_fixups below and resumes at user_fault, which returns
; -VE_FAULT from the routine (none has pushed anything on the stack).
; Under SMAP the kernel may touch a user page only with rflags.AC set: each
; routine sets it (stac) for exactly its own accesses, and on every way out
; clears it again (clac). stac/clac exist only on CPUs with SMAP (#UD
; elsewhere), so they run only when cpu.c switched SMAP on.

bits 64
default rel

VE_FAULT equ 2

global arch_smap_on
global arch_user_copy
global arch_user_touch
global arch_user_strcpy
global user_fixups
global user_fixups_end

section .data
arch_smap_on: db 0                      ; set by cpu.c with CR4.SMAP

%macro STAC 0
	test byte [arch_smap_on], 1
	jz %%off
	stac
%%off:
%endmacro

%macro CLAC 0
	test byte [arch_smap_on], 1
	jz %%off
	clac
%%off:
%endmacro

section .text

; long arch_user_copy(void *dst, const void *src, uint64_t n)
; One side is user memory, range-checked by the caller. 0, or -VE_FAULT
; (some bytes may have been copied then).
arch_user_copy:
	STAC
	mov rcx, rdx
	shr rcx, 3
.words:	rep movsq
	mov rcx, rdx
	and rcx, 7
.bytes:	rep movsb
	CLAC
	xor eax, eax
	ret

; long arch_user_touch(uint64_t uaddr, int write)
; Read the byte at uaddr, or (write != 0) rewrite it unchanged with a
; locked read-modify-write, so a read-only page faults. 0, or -VE_FAULT.
arch_user_touch:
	STAC
	test esi, esi
	jnz .write
.read:	mov al, [rdi]
	jmp .done
.write:	lock or byte [rdi], 0
.done:
	CLAC
	xor eax, eax
	ret

; long arch_user_strcpy(char *dst, const char *usrc, uint64_t max)
; Copy a NUL-terminated string of at most max bytes (NUL included): its
; length, -1 when no NUL within max, or -VE_FAULT. The caller checked that
; [usrc, usrc + max) lies in the user half.
arch_user_strcpy:
	STAC
	xor eax, eax
.next:	cmp rax, rdx
	jae .long
.load:	mov cl, [rsi + rax]
	mov [rdi + rax], cl
	test cl, cl
	jz .done
	inc rax
	jmp .next
.long:	mov rax, -1
.done:
	CLAC
	ret

; Where a fault in any of the three resumes: their return, with -VE_FAULT.
user_fault:
	CLAC
	mov rax, -VE_FAULT
	ret

section .rodata
; (faulting rip, where to resume) pairs.
align 8
user_fixups:
	dq arch_user_copy.words, user_fault
	dq arch_user_copy.bytes, user_fault
	dq arch_user_touch.read, user_fault
	dq arch_user_touch.write, user_fault
	dq arch_user_strcpy.load, user_fault
user_fixups_end:
