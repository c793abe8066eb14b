// M2: the MMU. 4 KB granule, 39-bit VAs (T0SZ = T1SZ = 25, level-1 tables of 1 GB
// blocks): TTBR0 maps the devices (block 0, Device-nGnRnE) and RAM (block 1) 1:1, an
// unmapped block 2, a read-only alias of RAM (block 3), an alias EL0 may access (block
// 4) and one with the access flag clear (block 5); TTBR1 maps RAM at the bottom of the
// upper range (0xffffff8000000000). The program turns the MMU on, jumps to the upper
// alias, then takes data aborts (translation, permission, access flag), runs LDTR/STTR
// against EL0 permissions, maps block 2 with a TLBI, takes an instruction abort, and
// reads AT results; the handler prints ESR, FAR and ELR for each abort.
#include "uart.inc"

#define L1_0    0x40100000              // TTBR0's level-1 table
#define L1_1    0x40101000              // TTBR1's level-1 table
#define DATA    0x40200000              // a test word, at offset 0x200000 of RAM
#define HIGH    0xffffff8000000000      // where TTBR1 maps RAM (PA 0x40000000)

    .macro LOAD64 reg, val
    movz \reg, #((\val) & 0xffff)
    movk \reg, #(((\val) >> 16) & 0xffff), lsl #16
    movk \reg, #(((\val) >> 32) & 0xffff), lsl #32
    movk \reg, #(((\val) >> 48) & 0xffff), lsl #48
    .endm

main:
    movz x0, #0x4100, lsl #16
    mov sp, x0
    adr x0, vectors
    msr vbar_el1, x0
    SAY "mmu off\n"
    LOAD64 x20, DATA
    LOAD64 x1, 0x1122334455667788
    str x1, [x20]
    // Level-1 descriptors: block (0b01), AttrIndx in 4:2, AP in 7:6, SH in 9:8, AF 10.
    LOAD64 x2, L1_0
    LOAD64 x1, 0x0000000000000401       // devices, AttrIndx 0, AF
    str x1, [x2, #0]
    LOAD64 x1, 0x0000000040000705       // RAM, Normal (AttrIndx 1), inner shareable
    str x1, [x2, #8]
    str xzr, [x2, #16]                  // block 2: invalid
    LOAD64 x1, 0x0000000040000785       // AP = 0b10: read-only at EL1, none at EL0
    str x1, [x2, #24]
    LOAD64 x1, 0x0000000040000745       // AP = 0b01: read/write at EL1 and EL0
    str x1, [x2, #32]
    LOAD64 x1, 0x0000000040000305       // AF clear
    str x1, [x2, #40]
    str xzr, [x2, #48]                  // block 6: invalid
    LOAD64 x2, L1_1
    LOAD64 x1, 0x0000000040000705
    str x1, [x2, #0]
    dsb sy
    LOAD64 x1, 0xff00                   // attr 0: Device-nGnRnE, attr 1: Normal WB
    msr mair_el1, x1
    // T0SZ 25, IRGN0/ORGN0 WB, SH0 inner, TG0 4K; T1SZ 25, same, TG1 4K (0b10);
    // IPS 48 bits.
    LOAD64 x1, 0x00000005B5193519
    msr tcr_el1, x1
    LOAD64 x1, L1_0
    msr ttbr0_el1, x1
    LOAD64 x1, L1_1
    msr ttbr1_el1, x1
    isb
    mrs x1, sctlr_el1
    orr x1, x1, #1                      // M
    orr x1, x1, #(1 << 2)               // C
    orr x1, x1, #(1 << 12)              // I
    msr sctlr_el1, x1
    isb
    SAY "mmu on\n"
    // Continue in the upper range.
    LOAD64 x1, (HIGH - 0x40000000)
    adr x0, 1f
    add x0, x0, x1
    br x0
1:  adr x0, 1b
    SHOW "high-pc", x0
    adr x0, vectors
    msr vbar_el1, x0
    isb
    ldr x1, [x20]
    SHOW "identity", x1
    LOAD64 x2, (HIGH + 0x200000)
    ldr x1, [x2]
    SHOW "upper", x1
    LOAD64 x2, (0xC0000000 + 0x200000)
    ldr x1, [x2]
    SHOW "read-only-alias", x1
    SAY "load from an unmapped block\n"
    LOAD64 x2, 0x80000010
    ldr x1, [x2]
    SAY "store to the read-only alias\n"
    LOAD64 x2, (0xC0000000 + 0x200000)
    str x1, [x2]
    SAY "load with the access flag clear\n"
    LOAD64 x2, (0x140000000 + 0x200008)
    ldr x1, [x2]
    SAY "ldtr from an EL1-only page\n"
    ldtr x1, [x20]
    SAY "ldtr from an EL0 page\n"
    LOAD64 x2, (0x100000000 + 0x200000)
    movz x1, #0
    ldtr x1, [x2]
    SHOW "ldtr", x1
    SAY "sttr to an EL0 page\n"
    LOAD64 x3, 0x0102030405060708
    sttr x3, [x2]
    ldr x1, [x20]
    SHOW "after-sttr", x1
    SAY "sttr to a page EL0 may not write\n"
    LOAD64 x2, (0xC0000000 + 0x200000)
    sttr x3, [x2]
    SAY "map block 2, tlbi\n"
    LOAD64 x2, (L1_0 + 16)
    LOAD64 x1, 0x0000000040000705
    str x1, [x2]
    dsb ishst
    tlbi vmalle1
    dsb ish
    isb
    LOAD64 x2, (0x80000000 + 0x200000)
    ldr x1, [x2]
    SHOW "block-2", x1
    SAY "at s1e1r\n"
    at s1e1r, x2
    isb
    mrs x1, par_el1
    LOAD64 x2, 0xfffffffff001           // PA and F
    and x1, x1, x2
    SHOW "par", x1
    LOAD64 x2, 0x180000000
    at s1e1r, x2
    isb
    mrs x1, par_el1
    and x1, x1, #0x7f                   // F and FST
    SHOW "par-fault", x1
    SAY "branch to an unmapped block\n"
    LOAD64 x2, 0x180000000
    blr x2
    SAY "done\n"
    b poweroff

sync_handler:
    stp x29, x30, [sp, #-16]!
    mrs x1, esr_el1
    SHOW "esr", x1
    mrs x1, far_el1
    SHOW "far", x1
    mrs x1, elr_el1
    SHOW "elr", x1
    ldp x29, x30, [sp], #16
    mrs x1, esr_el1
    lsr x1, x1, #26
    cmp x1, #0x21                       // instruction abort: return to the caller
    b.ne 1f
    msr elr_el1, x30
    eret
1:  mrs x1, elr_el1
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
    .rept 4
    .balign 0x80
    b other_handler
    .endr
    .balign 0x80                        // +0x200: current EL, SP_EL1, synchronous
    b sync_handler
    .rept 11
    .balign 0x80
    b other_handler
    .endr
