//! Arm PrimeCell PL011 UART (the `virt` console, "arm,pl011").
//!
//! - TX: every DR write goes straight to the output sink, whatever UARTCR's enable bits say
//!   (the FIFO drains at once, as QEMU's model does, so bare-metal code that never enables
//!   the UART still prints). In loopback mode (UARTCR.LBE) the character goes to the RX
//!   FIFO instead and nothing is output, as on the hardware. FR.TXFE is always set and FR.TXFF/BUSY never; TXRIS is therefore always
//!   set (the TX FIFO is always at or below its trigger level), so the TX interrupt is
//!   pending whenever UARTIMSC.TXIM is set.
//! - RX: [`Pl011::push_input`] feeds a FIFO of 16 entries (1 when UARTLCR_H.FEN is clear).
//!   [`Pl011::queue_input`] is the host side's flow control: bytes that do not fit wait in a
//!   backlog and enter the FIFO as the guest reads it, so no input is lost while the guest
//!   is slow (a real line would overrun; QEMU stops reading its backend instead).
//!   RXRIS is set when the fill level reaches the UARTIFLS trigger, and RTRIS (receive
//!   timeout) when characters are waiting and no more have arrived: both are raised when
//!   input is pushed, cleared by UARTICR, and dropped as reads empty the FIFO (below the
//!   trigger for RX, empty for RT).
//! - The interrupt line is high while UARTMIS = UARTRIS & UARTIMSC is non-zero.
//! - PrimeCell IDs at 0xFE0..0x1000: peripheral ID 0x00141011 (PL011 r1), cell ID 0xB105F00D.
//!
//! Line settings (IBRD/FBRD/LCR_H), DMACR and IFLS are stored and read back only.

use crate::system::bus::{IrqLine, MmioDevice};
use std::collections::VecDeque;
use std::io::Write;

const FIFO_DEPTH: usize = 16;

const FR_RXFE: u32 = 1 << 4;
const FR_RXFF: u32 = 1 << 6;
const FR_TXFE: u32 = 1 << 7;

/// UARTRIS/UARTIMSC bits.
pub const INT_RX: u32 = 1 << 4;
pub const INT_TX: u32 = 1 << 5;
pub const INT_RT: u32 = 1 << 6;
const INT_MASK: u32 = 0x7ff;

const LCRH_FEN: u32 = 1 << 4;
const CR_LBE: u32 = 1 << 7;

const ID: [u8; 8] = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/// The PL011 model. See the module docs.
pub struct Pl011 {
    out: Box<dyn Write + Send>,
    irq: Option<IrqLine>,
    line_level: bool,
    rx: VecDeque<u8>,
    /// Input waiting for FIFO space ([`Pl011::queue_input`]).
    backlog: VecDeque<u8>,
    /// RXRIS, RTRIS and the error bits; TXRIS is computed.
    ris: u32,
    imsc: u32,
    ibrd: u32,
    fbrd: u32,
    lcr_h: u32,
    cr: u32,
    ifls: u32,
    dmacr: u32,
    ilpr: u32,
}

impl Pl011 {
    /// A UART in its reset state writing to `out` and raising `irq`.
    pub fn new(out: Box<dyn Write + Send>, irq: Option<IrqLine>) -> Self {
        let mut u = Pl011 {
            out,
            irq,
            line_level: false,
            rx: VecDeque::with_capacity(FIFO_DEPTH),
            backlog: VecDeque::new(),
            ris: 0,
            imsc: 0,
            ibrd: 0,
            fbrd: 0,
            lcr_h: 0,
            cr: 0x300,
            ifls: 0x12,
            dmacr: 0,
            ilpr: 0,
        };
        u.update();
        u
    }

    fn capacity(&self) -> usize {
        if self.lcr_h & LCRH_FEN != 0 {
            FIFO_DEPTH
        } else {
            1
        }
    }

    /// The RX fill level that raises RXRIS (UARTIFLS.RXIFLSEL: 1/8, 1/4, 1/2, 3/4, 7/8).
    fn rx_trigger(&self) -> usize {
        if self.lcr_h & LCRH_FEN == 0 {
            return 1;
        }
        match (self.ifls >> 3) & 7 {
            0 => 2,
            1 => 4,
            2 => 8,
            3 => 12,
            _ => 14,
        }
    }

    /// Free RX FIFO entries.
    pub fn rx_space(&self) -> usize {
        self.capacity().saturating_sub(self.rx.len())
    }

    /// Queues received bytes; returns how many fit (the caller keeps the rest for later).
    pub fn push_input(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.rx_space());
        self.rx.extend(&bytes[..n]);
        if n > 0 {
            if self.rx.len() >= self.rx_trigger() {
                self.ris |= INT_RX;
            }
            self.ris |= INT_RT;
            self.update();
        }
        n
    }

    /// Queues received bytes behind any earlier backlog: as many as fit enter the FIFO now,
    /// the rest as the guest reads.
    pub fn queue_input(&mut self, bytes: &[u8]) {
        self.backlog.extend(bytes);
        self.refill();
    }

    /// Bytes waiting for FIFO space.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    fn refill(&mut self) {
        while !self.backlog.is_empty() && self.rx_space() > 0 {
            let n = self.rx_space().min(self.backlog.len());
            let chunk: Vec<u8> = self.backlog.drain(..n).collect();
            self.push_input(&chunk);
        }
    }

    /// UARTRIS.
    pub fn raw_interrupts(&self) -> u32 {
        self.ris | INT_TX
    }

    /// Whether the interrupt line is asserted.
    pub fn irq_level(&self) -> bool {
        self.raw_interrupts() & self.imsc != 0
    }

    fn update(&mut self) {
        let level = self.irq_level();
        if level != self.line_level {
            self.line_level = level;
            if let Some(l) = &self.irq {
                l.set(level);
            }
        }
    }

    fn flags(&self) -> u32 {
        let mut fr = FR_TXFE;
        if self.rx.is_empty() {
            fr |= FR_RXFE;
        }
        if self.rx.len() >= self.capacity() {
            fr |= FR_RXFF;
        }
        fr
    }

    fn read_data(&mut self) -> u32 {
        let c = self.rx.pop_front().unwrap_or(0) as u32;
        if self.rx.len() < self.rx_trigger() {
            self.ris &= !INT_RX;
        }
        if self.rx.is_empty() {
            self.ris &= !INT_RT;
        }
        self.refill();
        self.update();
        c
    }

    fn transmit(&mut self, c: u8) {
        if self.cr & CR_LBE != 0 {
            // A full FIFO loses the character (an overrun, whose error bit is not modelled).
            self.push_input(&[c]);
            return;
        }
        // A console that cannot be written (closed pipe) loses output, as a UART whose
        // cable is unplugged would; the guest must not stop.
        let _ = self.out.write_all(&[c]);
        let _ = self.out.flush();
    }
}

impl MmioDevice for Pl011 {
    fn read(&mut self, offset: u64, _size: u8) -> u64 {
        (match offset {
            0x000 => self.read_data(),
            0x004 => 0, // no receive errors are ever recorded
            0x018 => self.flags(),
            0x020 => self.ilpr,
            0x024 => self.ibrd,
            0x028 => self.fbrd,
            0x02c => self.lcr_h,
            0x030 => self.cr,
            0x034 => self.ifls,
            0x038 => self.imsc,
            0x03c => self.raw_interrupts(),
            0x040 => self.raw_interrupts() & self.imsc,
            0x048 => self.dmacr,
            0xfe0..=0xffc if offset & 3 == 0 => ID[((offset - 0xfe0) / 4) as usize] as u32,
            _ => 0,
        }) as u64
    }

    fn write(&mut self, offset: u64, _size: u8, value: u64) {
        let v = value as u32;
        match offset {
            0x000 => self.transmit(v as u8),
            0x004 => {} // ECR: clears the (never set) error bits
            0x020 => self.ilpr = v & 0xff,
            0x024 => self.ibrd = v & 0xffff,
            0x028 => self.fbrd = v & 0x3f,
            0x02c => {
                self.lcr_h = v & 0xff;
                // Shrinking the FIFO to one entry keeps only the oldest character.
                self.rx.truncate(self.capacity());
            }
            0x030 => self.cr = v & 0xff87,
            0x034 => self.ifls = v & 0x3f,
            0x038 => self.imsc = v & INT_MASK,
            0x044 => self.ris &= !v,
            0x048 => self.dmacr = v & 7,
            _ => {}
        }
        self.update();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::system::bus::IrqSink;
    use std::sync::{Arc, Mutex};

    /// A console output that records what the UART sends (shared with the board's tests).
    #[derive(Clone, Default)]
    pub(crate) struct Sink(pub(crate) Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[derive(Default)]
    struct Level(Mutex<Vec<bool>>);
    impl IrqSink for Level {
        fn set_level(&self, line: u32, level: bool) {
            assert_eq!(line, 33);
            self.0.lock().unwrap().push(level);
        }
    }

    fn uart() -> (Pl011, Sink, Arc<Level>) {
        let sink = Sink::default();
        let lvl = Arc::new(Level::default());
        let u = Pl011::new(Box::new(sink.clone()), Some(IrqLine::new(lvl.clone(), 33)));
        (u, sink, lvl)
    }

    #[test]
    fn reset_values_and_ids() {
        let (mut u, _, lvl) = uart();
        assert_eq!(u.read(0x018, 4), 0x90); // TXFE | RXFE
        assert_eq!(u.read(0x030, 4), 0x300);
        assert_eq!(u.read(0x034, 4), 0x12);
        assert_eq!(u.read(0x03c, 4), INT_TX as u64);
        assert_eq!(u.read(0x040, 4), 0);
        let id = |u: &mut Pl011, base: u64| {
            (0..4).fold(0u32, |acc, i| {
                acc | (u.read(base + 4 * i, 4) as u32) << (8 * i)
            })
        };
        assert_eq!(id(&mut u, 0xfe0), 0x0014_1011);
        assert_eq!(id(&mut u, 0xff0), 0xb105_f00d);
        assert_eq!(u.read(0x800, 4), 0);
        assert!(lvl.0.lock().unwrap().is_empty());
    }

    #[test]
    fn transmit_and_tx_interrupt() {
        let (mut u, sink, lvl) = uart();
        for c in b"hi\n" {
            u.write(0, 4, *c as u64);
        }
        assert_eq!(*sink.0.lock().unwrap(), b"hi\n");
        u.write(0x038, 4, INT_TX as u64);
        assert_eq!(u.read(0x040, 4), INT_TX as u64);
        assert!(u.irq_level());
        u.write(0x044, 4, INT_TX as u64); // the FIFO is still empty: stays pending
        assert!(u.irq_level());
        u.write(0x038, 4, 0);
        assert!(!u.irq_level());
        assert_eq!(*lvl.0.lock().unwrap(), [true, false]);
    }

    #[test]
    fn receive_fifo_and_interrupts() {
        let (mut u, _, lvl) = uart();
        u.write(0x02c, 4, 0x70); // 8N1, FIFO on
        u.write(0x038, 4, (INT_RX | INT_RT) as u64);
        assert_eq!(u.push_input(b"a"), 1);
        // One character: below the 1/2 trigger (8), so only the receive timeout.
        assert_eq!(u.read(0x040, 4), INT_RT as u64);
        assert!(u.irq_level());
        assert_eq!(u.read(0x018, 4) & FR_RXFE as u64, 0);
        assert_eq!(u.read(0, 4), b'a' as u64);
        assert_eq!(u.read(0x018, 4) & FR_RXFE as u64, FR_RXFE as u64);
        assert!(!u.irq_level());
        // Fill: 20 offered, 16 accepted, FIFO full, RX raised.
        assert_eq!(u.push_input(&[b'x'; 20]), 16);
        assert_eq!(u.rx_space(), 0);
        assert_eq!(u.read(0x018, 4) & FR_RXFF as u64, FR_RXFF as u64);
        assert_eq!(u.read(0x03c, 4) as u32 & (INT_RX | INT_RT), INT_RX | INT_RT);
        // ICR clears both; reads below the trigger keep RX low.
        u.write(0x044, 4, (INT_RX | INT_RT) as u64);
        assert!(!u.irq_level());
        for _ in 0..16 {
            assert_eq!(u.read(0, 4), b'x' as u64);
        }
        assert_eq!(u.read(0, 4), 0); // empty FIFO reads 0
        assert_eq!(*lvl.0.lock().unwrap(), [true, false, true, false]);
    }

    #[test]
    fn fifo_disabled_holds_one() {
        let (mut u, _, _) = uart();
        u.write(0x038, 4, INT_RX as u64);
        assert_eq!(u.push_input(b"ab"), 1);
        assert!(u.irq_level()); // trigger is 1 without FIFO
        assert_eq!(u.read(0x018, 4) & FR_RXFF as u64, FR_RXFF as u64);
        assert_eq!(u.read(0, 4), b'a' as u64);
        assert!(!u.irq_level());
        // Enabling then disabling the FIFO keeps only the oldest character.
        u.write(0x02c, 4, LCRH_FEN as u64);
        assert_eq!(u.push_input(b"cde"), 3);
        u.write(0x02c, 4, 0);
        assert_eq!(u.read(0, 4), b'c' as u64);
        assert_eq!(u.read(0x018, 4) & FR_RXFE as u64, FR_RXFE as u64);
    }

    #[test]
    fn loopback_goes_to_rx() {
        let (mut u, sink, _) = uart();
        u.write(0x030, 4, 0x381); // UARTEN | TXE | RXE | LBE
        u.write(0, 4, b'z' as u64);
        assert!(sink.0.lock().unwrap().is_empty());
        assert_eq!(u.read(0, 4), b'z' as u64);
        u.write(0x030, 4, 0x301);
        u.write(0, 4, b'y' as u64);
        assert_eq!(*sink.0.lock().unwrap(), b"y");
    }

    #[test]
    fn backlog_refills_the_fifo_as_the_guest_reads() {
        let (mut u, _, _) = uart();
        u.write(0x02c, 4, 0x70); // FIFO on
        u.write(0x038, 4, INT_RT as u64);
        let input: Vec<u8> = (0..40).collect();
        u.queue_input(&input[..30]);
        u.queue_input(&input[30..]);
        assert_eq!(u.rx_space(), 0);
        assert_eq!(u.backlog_len(), 24);
        let mut got = vec![];
        while u.read(0x018, 4) & FR_RXFE as u64 == 0 {
            assert!(u.irq_level()); // characters wait: the timeout stays raised
            got.push(u.read(0, 4) as u8);
        }
        assert_eq!(got, input);
        assert_eq!(u.backlog_len(), 0);
        assert!(!u.irq_level());
        // Without the FIFO, one character at a time.
        u.write(0x02c, 4, 0);
        u.queue_input(b"xyz");
        assert_eq!((u.rx_space(), u.backlog_len()), (0, 2));
        assert_eq!(u.read(0, 4), b'x' as u64);
        assert_eq!(u.read(0, 4), b'y' as u64);
        assert_eq!(u.read(0, 4), b'z' as u64);
    }

    #[test]
    fn plain_registers_read_back() {
        let (mut u, _, _) = uart();
        for (off, v, mask) in [
            (0x024u64, 0x1_2345u64, 0xffffu64),
            (0x028, 0xff, 0x3f),
            (0x02c, 0x1ff, 0xff),
            (0x030, 0xffff, 0xff87),
            (0x034, 0xff, 0x3f),
            (0x048, 0xff, 7),
            (0x038, 0xffff, 0x7ff),
        ] {
            u.write(off, 4, v);
            assert_eq!(u.read(off, 4), v & mask, "{off:#x}");
        }
        assert_eq!(u.read(0x004, 4), 0);
        // IFLS 0b100 = 7/8 → 14 entries.
        u.write(0x034, 4, 4 << 3);
        u.write(0x038, 4, INT_RX as u64);
        u.push_input(&[0; 13]);
        assert_eq!(u.read(0x03c, 4) as u32 & INT_RX, 0);
        u.push_input(&[0]);
        assert_eq!(u.read(0x03c, 4) as u32 & INT_RX, INT_RX);
    }
}
