; Multiboot2 entry: GRUB leaves us in 32-bit protected mode with paging off.
; We record the TSC (so boot time counts from the first instruction), build
; boot page tables that map the first 4 GiB three times (identity, the direct
; map at 0xffff800000000000, the kernel window at 0xffffffff80000000), enter
; long mode and jump to kmain in the higher half. kmain then builds the real
; tables (arch/x86_64/mmu.c) and the identity map is dropped.

bits 32

MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0
KERNEL_VMA      equ 0xffffffff80000000
DIRECT_MAP      equ 0xffff800000000000

section .multiboot2
align 8
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; module alignment tag: modules page-aligned
	align 8
	dw 6, 0
	dd 8
	; end tag
	align 8
	dw 0, 0
	dd 8
mb2_header_end:

section .boot.text
global _start
_start:
	cli
	cld                             ; multiboot2 leaves DF undefined: string ops run forward
	mov edi, eax                    ; multiboot2 magic
	mov esi, ebx                    ; physical address of the boot info
	rdtsc
	mov [boot_tsc0 - KERNEL_VMA], eax
	mov [boot_tsc0 - KERNEL_VMA + 4], edx

	mov esp, boot_stack_top - KERNEL_VMA

	; Is long mode there at all? (CPUID 0x80000001 EDX bit 29)
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode

	; PD: 4 page directories (2048 x 2 MiB = 4 GiB), present+write+PS.
	mov ecx, 0
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, 0x83
	mov [boot_pd - KERNEL_VMA + ecx * 8], eax
	mov eax, ecx
	shr eax, 11                     ; high dword of (ecx << 21)
	mov [boot_pd - KERNEL_VMA + ecx * 8 + 4], eax
	inc ecx
	cmp ecx, 2048
	jne .fill_pd

	; PDPT for the low and direct-map windows: 4 entries -> 4 PDs.
	mov ecx, 0
.fill_pdpt:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd - KERNEL_VMA
	or eax, 0x3
	mov [boot_pdpt_low - KERNEL_VMA + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jne .fill_pdpt
	; Kernel window: PDPT entries 510, 511 -> first two PDs (0..2 GiB).
	mov eax, boot_pd - KERNEL_VMA
	or eax, 0x3
	mov [boot_pdpt_high - KERNEL_VMA + 510 * 8], eax
	add eax, 4096
	mov [boot_pdpt_high - KERNEL_VMA + 511 * 8], eax

	mov eax, boot_pdpt_low - KERNEL_VMA
	or eax, 0x3
	mov [boot_pml4 - KERNEL_VMA], eax            ; identity
	mov [boot_pml4 - KERNEL_VMA + 256 * 8], eax  ; direct map
	mov eax, boot_pdpt_high - KERNEL_VMA
	or eax, 0x3
	mov [boot_pml4 - KERNEL_VMA + 511 * 8], eax  ; kernel window

	mov eax, boot_pml4 - KERNEL_VMA
	mov cr3, eax
	mov eax, (1 << 5)               ; PAE, and nothing firmware left (LA57
	mov cr4, eax                    ; above all: these tables are 4-level)
	mov ecx, 0xC0000080             ; EFER
	rdmsr
	or eax, (1 << 8)                ; LME
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16)   ; PG, WP
	mov cr0, eax

	lgdt [boot_gdtr]
	jmp 0x08:.long_mode

.no_long_mode:
	; Nothing to run on: say so on COM1 and stop.
	mov dx, 0x3f8
	mov esi, no_lm_msg
.putc:
	lodsb
	test al, al
	jz .stop
	out dx, al
	jmp .putc
.stop:
	hlt
	jmp .stop

bits 64
.long_mode:
	mov edi, edi                    ; zero-extend magic and info address
	mov esi, esi
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor ax, ax
	mov fs, ax
	mov gs, ax
	mov rax, .higher_half
	jmp rax

section .text
.higher_half:
	mov rsp, boot_stack_top
	xor ebp, ebp
	; rdi = magic, rsi = info physical address (zero-extended by the 32-bit movs)
	push qword 2                    ; rflags all clear (AC too: SMAP stays armed)
	popfq
	extern kmain
	call kmain
.hang:
	cli
	hlt
	jmp .hang

section .boot.data
align 16
boot_gdt:
	dq 0
	dq 0x00AF9A000000FFFF           ; 0x08 64-bit code
	dq 0x00CF92000000FFFF           ; 0x10 data
boot_gdt_end:
boot_gdtr:
	dw boot_gdt_end - boot_gdt - 1
	dq boot_gdt
no_lm_msg:
	db "vesta: this CPU has no long mode (x86-64); cannot boot", 13, 10, 0

section .bss
align 4096
global boot_pml4
boot_pml4:      resb 4096
boot_pdpt_low:  resb 4096
boot_pdpt_high: resb 4096
boot_pd:        resb 4096 * 4
global boot_stack_bottom
boot_stack_bottom:
	resb 16384
global boot_stack_top
boot_stack_top:
global boot_tsc0
boot_tsc0:      resq 1

section .note.GNU-stack noalloc noexec nowrite progbits
