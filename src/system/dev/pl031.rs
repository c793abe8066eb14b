//! Arm PrimeCell PL031 real-time clock ("arm,pl031").
//!
//! RTCDR counts seconds: host wall-clock seconds plus an offset that an RTCLR write sets
//! (so the guest can set its clock without touching the host's). RTCMR is the match value:
//! when the count reaches it the alarm (RTCRIS bit 0) is raised, once per arming (a write
//! to RTCMR or RTCLR re-arms it; a match value equal to the count fires at once, one in the
//! past fires when the 32-bit count wraps round to it). The machine calls [`Pl031::poll`] at or after
//! [`Pl031::alarm_deadline`] to let the alarm fire. RTCCR's start bit reads as 1 (the clock
//! always runs) and cannot be cleared. Peripheral ID 0x00041031, cell ID 0xB105F00D.

use crate::system::bus::{IrqLine, MmioDevice};

const ID: [u8; 8] = [0x31, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/// Host wall-clock seconds since the Unix epoch.
pub fn host_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The PL031 model. See the module docs.
pub struct Pl031 {
    clock: Box<dyn Fn() -> u64 + Send>,
    irq: Option<IrqLine>,
    line_level: bool,
    /// RTCDR = host seconds + offset (mod 2^32).
    offset: u32,
    lr: u32,
    mr: u32,
    /// Host second at which the armed alarm fires.
    deadline: Option<u64>,
    imsc: u32,
    ris: u32,
}

impl Pl031 {
    /// An RTC reading the host wall clock.
    pub fn new(irq: Option<IrqLine>) -> Self {
        Self::with_clock(Box::new(host_seconds), irq)
    }

    /// An RTC whose time base is `clock` (seconds), for tests.
    pub fn with_clock(clock: Box<dyn Fn() -> u64 + Send>, irq: Option<IrqLine>) -> Self {
        Pl031 {
            clock,
            irq,
            line_level: false,
            offset: 0,
            lr: 0,
            mr: 0,
            deadline: None,
            imsc: 0,
            ris: 0,
        }
    }

    /// RTCDR now.
    pub fn count(&self) -> u32 {
        ((self.clock)() as u32).wrapping_add(self.offset)
    }

    /// The host wall-clock second (same base as the clock) at which the armed alarm fires,
    /// or `None` when it is not armed.
    pub fn alarm_deadline(&self) -> Option<u64> {
        self.deadline
    }

    fn arm(&mut self) {
        self.deadline = Some((self.clock)() + self.mr.wrapping_sub(self.count()) as u64);
    }

    /// Raises the alarm when its time has come.
    pub fn poll(&mut self) {
        if self.deadline.is_some_and(|d| (self.clock)() >= d) {
            self.deadline = None;
            self.ris = 1;
        }
        self.update();
    }

    /// Whether the interrupt line is asserted.
    pub fn irq_level(&self) -> bool {
        self.ris & self.imsc != 0
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
}

impl MmioDevice for Pl031 {
    fn read(&mut self, offset: u64, _size: u8) -> u64 {
        self.poll();
        (match offset {
            0x000 => self.count(),
            0x004 => self.mr,
            0x008 => self.lr,
            0x00c => 1,
            0x010 => self.imsc,
            0x014 => self.ris,
            0x018 => self.ris & self.imsc,
            0xfe0..=0xffc if offset & 3 == 0 => ID[((offset - 0xfe0) / 4) as usize] as u32,
            _ => 0,
        }) as u64
    }

    fn write(&mut self, offset: u64, _size: u8, value: u64) {
        let v = value as u32;
        match offset {
            0x004 => {
                self.mr = v;
                self.arm();
            }
            0x008 => {
                self.lr = v;
                self.offset = v.wrapping_sub((self.clock)() as u32);
                self.arm();
            }
            0x010 => self.imsc = v & 1,
            0x01c => self.ris &= !(v & 1),
            _ => {}
        }
        self.poll();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    fn rtc(start: u64) -> (Pl031, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(start));
        let n = now.clone();
        (
            Pl031::with_clock(Box::new(move || n.load(Ordering::Relaxed)), None),
            now,
        )
    }

    #[test]
    fn counts_host_seconds_and_loads() {
        let (mut r, now) = rtc(1_000_000);
        assert_eq!(r.read(0, 4), 1_000_000);
        now.store(1_000_005, Ordering::Relaxed);
        assert_eq!(r.read(0, 4), 1_000_005);
        r.write(0x008, 4, 42);
        assert_eq!(r.read(0x008, 4), 42);
        assert_eq!(r.read(0, 4), 42);
        now.store(1_000_010, Ordering::Relaxed);
        assert_eq!(r.read(0, 4), 47);
        r.write(0x000, 4, 7); // DR is read-only
        assert_eq!(r.read(0, 4), 47);
        assert_eq!(r.read(0x00c, 4), 1);
        r.write(0x00c, 4, 0);
        assert_eq!(r.read(0x00c, 4), 1);
        let id = |r: &mut Pl031, base: u64| {
            (0..4).fold(0u32, |acc, i| {
                acc | (r.read(base + 4 * i, 4) as u32) << (8 * i)
            })
        };
        assert_eq!(id(&mut r, 0xfe0), 0x0004_1031);
        assert_eq!(id(&mut r, 0xff0), 0xb105_f00d);
        // The real wall clock is after 2020.
        assert!(Pl031::new(None).count() > 1_577_836_800);
    }

    #[test]
    fn alarm_fires_once_and_masks() {
        let (mut r, now) = rtc(100);
        assert_eq!(r.alarm_deadline(), None);
        r.write(0x004, 4, 103);
        assert_eq!(r.alarm_deadline(), Some(103));
        r.write(0x010, 4, 1);
        now.store(102, Ordering::Relaxed);
        r.poll();
        assert!(!r.irq_level());
        now.store(103, Ordering::Relaxed);
        r.poll();
        assert!(r.irq_level());
        assert_eq!(r.read(0x014, 4), 1);
        assert_eq!(r.read(0x018, 4), 1);
        r.write(0x01c, 4, 1);
        assert_eq!(r.read(0x014, 4), 0);
        assert_eq!(r.alarm_deadline(), None);
        // Masked: raw status set, line low (MR equal to the count fires at once).
        r.write(0x010, 4, 0);
        r.write(0x004, 4, 103);
        assert_eq!(r.read(0x014, 4), 1);
        assert_eq!(r.read(0x018, 4), 0);
        assert!(!r.irq_level());
        // A late poll still fires; an LR write re-arms against the new count.
        r.write(0x01c, 4, 1);
        r.write(0x004, 4, 110);
        now.store(200, Ordering::Relaxed);
        r.poll();
        assert_eq!(r.read(0x014, 4), 1);
        r.write(0x01c, 4, 1);
        r.write(0x008, 4, 105); // count 105 at host 200: match 110 in 5 s
        assert_eq!(r.alarm_deadline(), Some(205));
    }
}
