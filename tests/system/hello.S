// M1: bare metal with the MMU off. Writes "hello\n" to the PL011's data register at
// 0x09000000 (the virt board's UART), then powers off with PSCI SYSTEM_OFF over HVC.
    .text
    .globl _start
_start:
    movz x1, #0x0900, lsl #16       // PL011 UARTDR
    adr x2, msg
1:  ldrb w3, [x2], #1
    cbz w3, 2f
    strb w3, [x1]
    b 1b
2:  movz w0, #0x8400, lsl #16       // PSCI SYSTEM_OFF = 0x84000008
    movk w0, #0x0008
    hvc #0
3:  b 3b                            // not reached
msg:
    .asciz "hello\n"
