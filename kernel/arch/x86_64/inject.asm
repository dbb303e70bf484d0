; Fault-injection trampolines: one page of user-mode code that the kernel
; maps read-only into a target and points its saved rip at, so an injected
; crash, hang or block happens in the target's own context, at ring 3, with
; its own registers and stack. The kernel copies this page into a frame at
; boot; offsets are exported for kernel/inject.c.

bits 64
SYS_WAIT_ANY equ 20
SYS_VM_ALLOC equ 6

section .rodata
align 4096
global inject_tramp
inject_tramp:

global inject_off_null
inject_off_null equ $ - inject_tramp
	mov dword [abs 0], 0            ; write through a null pointer
	ud2

global inject_off_wild
inject_off_wild equ $ - inject_tramp
	mov [rdi], rax                  ; rdi: an unmapped address the kernel chose
	ud2

global inject_off_ud
inject_off_ud equ $ - inject_tramp
	ud2

global inject_off_div
inject_off_div equ $ - inject_tramp
	xor ecx, ecx
	xor edx, edx
	div ecx
	ud2

global inject_off_stack
inject_off_stack equ $ - inject_tramp
.down:
	sub rsp, 4096                   ; recurse-like descent into the guard
	mov [rsp], rax
	jmp .down

global inject_off_hang
inject_off_hang equ $ - inject_tramp
.spin:
	pause
	jmp .spin

global inject_off_block
inject_off_block equ $ - inject_tramp
.wait:
	xor edi, edi                    ; no handles
	xor esi, esi                    ; n = 0
	xor edx, edx                    ; no timeout: forever
	lea r10, [rsp - 64]             ; the result, below the red zone
	mov eax, SYS_WAIT_ANY
	syscall
	jmp .wait

; leak: the target itself takes memory, 64 KiB a call, until the kernel
; refuses; every call is a syscall, so the rest of the system keeps running
; while it does. Then it spins, holding all it took, as a leaking service
; would: its heartbeat (or an operator) ends it, and the memory comes back.
global inject_off_leak
inject_off_leak equ $ - inject_tramp
.more:
	xor edi, edi                    ; anywhere
	mov esi, 65536
	mov edx, 3                      ; read + write
	mov eax, SYS_VM_ALLOC
	syscall
	test rax, rax
	jns .touch
	jmp .held
.touch:
	mov byte [rax], 1               ; really use it
	jmp .more
.held:
	pause
	jmp .held

align 4096
global inject_tramp_end
inject_tramp_end:

section .note.GNU-stack noalloc noexec nowrite progbits
