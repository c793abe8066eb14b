// M2: EL0 and back. ERET from EL1 to EL0 (SPSR = EL0t, interrupts unmasked), then at
// EL0: an SVC (EL0 -> EL1 entry at VBAR+0x400, SP back to SP_EL1), a read of an EL1
// register (UNDEFINED, EC 0x00), an ID register read (trapped with EC 0x18 for the
// kernel to emulate: -cpu max has FEAT_IDST), MRS DAIF with SCTLR_EL1.UMA = 0 (EC
// 0x18), a BRK; the handler prints ESR, ELR, SPSR and the stack pointers each time.
// (Not MSR DAIFSet: QEMU 7.2 swaps Op1 and Op2 in that trap's ISS, where the Arm ARM
// has Op1 = 3, Op2 = 6; ferrite follows the Arm ARM, see sysreg.rs's unit tests.)
#include "uart.inc"

main:
    movz x0, #0x4100, lsl #16       // SP_EL1 = 0x41000000
    mov sp, x0
    adr x0, vectors
    msr vbar_el1, x0
    movz x0, #0x4200, lsl #16       // SP_EL0 = 0x42000000
    msr sp_el0, x0
    mrs x1, sp_el0
    SHOW "sp_el0", x1
    msr elr_el1, xzr
    adr x0, el0_code
    msr elr_el1, x0
    msr spsr_el1, xzr               // EL0t, DAIF clear, NZCV clear
    isb
    eret

el0_code:
    mov x1, sp
    SHOW "el0-sp", x1
    movz x20, #0x55
    svc #0x21
    SHOW "after-svc-x20", x20
    mrs x1, sctlr_el1               // UNDEFINED at EL0
    mrs x8, id_aa64mmfr0_el1        // EC 0x18
    mrs x3, daif                    // EC 0x18 (UMA = 0)
    mrs x1, tpidrro_el0
    SHOW "tpidrro", x1
    brk #0x9
    svc #0xff                       // done

lower_sync:
    // x19 keeps nothing across: the handler uses x1 x2 x13 and the print scratch.
    SAY "from-el0\n"
    mrs x1, esr_el1
    SHOW "esr", x1
    mrs x1, elr_el1
    adr x2, _start
    sub x1, x1, x2
    SHOW "elr-start", x1
    mrs x1, spsr_el1
    SHOW "spsr", x1
    mov x1, sp
    SHOW "sp", x1
    mrs x1, sp_el0
    SHOW "sp_el0", x1
    mrs x1, currentel
    SHOW "el", x1
    mrs x1, esr_el1
    and x2, x1, #0xffff
    lsr x1, x1, #26
    cmp x1, #0x15
    b.ne 1f
    cmp x2, #0xff
    b.eq poweroff
    // The first SVC: change x20 and tpidrro_el0 for EL0 to see.
    movz x20, #0x66
    movz x1, #0x77
    msr tpidrro_el0, x1
    eret
1:  mrs x1, elr_el1                 // not an SVC: step over the instruction
    add x1, x1, #4
    msr elr_el1, x1
    eret

other_handler:
    SAY "unexpected exception\n"
    mrs x1, esr_el1
    SHOW "esr", x1
    b poweroff

    .balign 0x800
vectors:
    .rept 8                         // +0x000..+0x380: current EL
    .balign 0x80
    b other_handler
    .endr
    .balign 0x80                    // +0x400: lower EL, AArch64, synchronous
    b lower_sync
    .rept 7
    .balign 0x80
    b other_handler
    .endr
