// M4: an interrupt end to end. The virtual timer fires while IRQs are masked; WFI
// wakes anyway and ISR_EL1.I shows the pending IRQ; clearing PSTATE.I takes it at
// VBAR+0x280 (current EL, SP_EL1, IRQ), where the handler acknowledges it at the GICv2
// CPU interface (INTID 27, the virtual timer's PPI), masks the timer and ends it.
#include "uart.inc"

#define GICD    0x08000000
#define GICC    0x08010000

main:
    movz x0, #0x4100, lsl #16
    mov sp, x0
    adr x0, vectors
    msr vbar_el1, x0
    isb
    movz x2, #(GICD >> 16), lsl #16
    mov w1, #1
    str w1, [x2, #0x000]                // GICD_CTLR: enable
    mov w1, #(1 << 27)
    str w1, [x2, #0x100]                // GICD_ISENABLER0: PPI 27
    movz x2, #(GICC >> 16), lsl #16
    mov w1, #0xff
    str w1, [x2, #0x004]                // GICC_PMR: everything
    mov w1, #1
    str w1, [x2, #0x000]                // GICC_CTLR: enable
    mrs x1, isr_el1
    SHOW "isr-before", x1
    mov x1, #1000
    msr cntv_tval_el0, x1               // fires in 16 us
    mov x1, #1
    msr cntv_ctl_el0, x1                // enabled, not masked
    isb
1:  wfi
    mrs x1, isr_el1
    tbz x1, #7, 1b
    SHOW "isr-pending", x1
    mrs x1, cntv_ctl_el0
    SHOW "cntv-ctl", x1                 // ENABLE | ISTATUS
    movz x21, #0
    msr daifclr, #2
    isb
2:  cbz x21, 2b
    SHOW "handled", x21
    mrs x1, isr_el1
    SHOW "isr-after", x1
    SAY "done\n"
    b poweroff

irq_handler:
    movz x2, #(GICC >> 16), lsl #16
    ldr w3, [x2, #0x00c]                // GICC_IAR
    mov x1, x3
    SHOW "iar", x1
    mrs x1, spsr_el1
    SHOW "spsr", x1
    mov x1, #2
    msr cntv_ctl_el0, x1                // masked
    isb
    movz x2, #(GICC >> 16), lsl #16
    str w3, [x2, #0x010]                // GICC_EOIR
    movz x21, #1
    eret

other_handler:
    SAY "unexpected exception\n"
    mrs x1, esr_el1
    SHOW "esr", x1
    b poweroff

    .balign 0x800
vectors:
    .rept 5
    .balign 0x80
    b other_handler
    .endr
    .balign 0x80                        // +0x280: current EL, SP_EL1, IRQ
    b irq_handler
    .rept 10
    .balign 0x80
    b other_handler
    .endr
