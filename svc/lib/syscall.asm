; The one system-call stub of svc/lib.
;
; long ve_syscall(long nr, long a0, long a1, long a2, long a3, long a4,
;                 long a5)
;
; Moves the SysV C arguments into the Vesta syscall registers (abi.h):
; rax = nr, then rdi rsi rdx r10 r8 r9. The kernel clobbers only rcx and
; r11, which the C convention lets us clobber anyway, and returns in rax.

bits 64
default rel

section .text
global ve_syscall
ve_syscall:
	mov rax, rdi                    ; nr
	mov rdi, rsi                    ; a0
	mov rsi, rdx                    ; a1
	mov rdx, rcx                    ; a2
	mov r10, r8                     ; a3 (rcx is taken by syscall)
	mov r8, r9                      ; a4
	mov r9, [rsp + 8]               ; a5, the 7th C argument
	syscall
	ret

; long ve_syscall_reply_recv(long h, long id, long buf, long lens,
;                            long timeout_ns, uint64_t out[4])
;
; SYS_CHAN_REPLY_RECV, whose header comes back in registers (abi.h):
; stores rdx, rsi, rdi and r8 into out[0..4). r9 (out) survives the call.
global ve_syscall_reply_recv
ve_syscall_reply_recv:
	mov eax, 38                     ; SYS_CHAN_REPLY_RECV
	mov r10, rcx                    ; lens
	syscall
	mov [r9], rdx
	mov [r9 + 8], rsi
	mov [r9 + 16], rdi
	mov [r9 + 24], r8
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
