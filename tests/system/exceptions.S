// M2: synchronous exceptions taken at EL1 (SP_EL1, vector VBAR+0x200): SVC, BRK, UDF,
// SMC (UNDEFINED without EL3), HVC with a function ID PSCI does not know, and the
// EL1-only register reads that work. The handler prints ESR, ELR and SPSR, steps over
// the instruction when ELR points at it, and returns with ERET.
#include "uart.inc"

main:
    movz x0, #0x4100, lsl #16       // stack at 0x41000000 (RAM)
    mov sp, x0
    adr x0, vectors
    msr vbar_el1, x0
    isb
    mrs x1, currentel
    SHOW "currentel", x1
    mrs x1, spsel
    SHOW "spsel", x1
    mrs x1, daif
    SHOW "daif", x1
    mrs x1, vbar_el1
    adr x2, vectors
    sub x1, x1, x2
    SHOW "vbar-vectors", x1
    SAY "svc\n"
    svc #0x12
    SAY "brk\n"
    brk #0x34
    SAY "udf\n"
    udf #0x56
    SAY "smc\n"
    smc #0
    SAY "hvc unknown\n"
    movz x0, #0x1234
    hvc #0x77
    SHOW "hvc-x0", x0
    SAY "psci version\n"
    movz w0, #0x8400, lsl #16
    hvc #0
    SHOW "psci-version", x0
    msr daifclr, #0xf
    mrs x1, daif
    SHOW "daifclr", x1
    msr daifset, #0x3
    mrs x1, daif
    SHOW "daifset", x1
    // NZCV survives the exception round trip.
    movz x1, #0
    cmp x1, #1                      // N=1, C=0
    svc #0
    mrs x1, nzcv
    SHOW "nzcv", x1
    SAY "done\n"
    b poweroff

sync_handler:
    stp x29, x30, [sp, #-16]!
    SAY "exception\n"
    mrs x1, esr_el1
    SHOW "esr", x1
    mrs x1, elr_el1
    adr x2, _start
    sub x1, x1, x2
    SHOW "elr-start", x1
    mrs x1, spsr_el1
    SHOW "spsr", x1
    mrs x1, currentel
    SHOW "el", x1
    // SVC and HVC return after themselves; step over the others.
    mrs x1, esr_el1
    lsr x1, x1, #26
    cmp x1, #0x15
    b.eq 1f
    cmp x1, #0x16
    b.eq 1f
    mrs x1, elr_el1
    add x1, x1, #4
    msr elr_el1, x1
1:  ldp x29, x30, [sp], #16
    eret

other_handler:
    SAY "unexpected exception\n"
    b poweroff

    .balign 0x800
vectors:
    .rept 4                         // +0x000..+0x180: current EL with SP_EL0
    .balign 0x80
    b other_handler
    .endr
    .balign 0x80                    // +0x200: current EL with SP_ELx, synchronous
    b sync_handler
    .rept 7
    .balign 0x80
    b other_handler
    .endr
