; Process entry for Vesta user programs.
;
; The kernel enters _start in ring 3 with rsp 16-byte aligned at the top of
; the user stack, rdi = the NUL-terminated argument string, rsi = the pid,
; and every other register zero. We keep both for the library, call
; main(args) and exit with its return value. A NULL argument pointer (a
; kernel bug) becomes "", so main can always read its arguments.

bits 64
default rel

extern main
extern ve_exit

section .text
global _start
_start:
	xor ebp, ebp                    ; the outermost frame, for debuggers
	test rdi, rdi                   ; main is promised a string, never NULL
	jnz .have_args
	lea rdi, [no_args]
.have_args:
	mov [ve_start_args], rdi
	mov [ve_start_pid], esi
	; rsp is 16-byte aligned here, as the SysV ABI wants before a call.
	call main
	mov edi, eax
	call ve_exit
	ud2                             ; ve_exit does not return

section .rodata
no_args:
	db 0

section .bss
align 8
global ve_start_args
ve_start_args:
	resq 1
global ve_start_pid
ve_start_pid:
	resd 1

section .note.GNU-stack noalloc noexec nowrite progbits
