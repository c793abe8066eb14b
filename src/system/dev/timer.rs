//! The Arm generic timer of one vCPU: the system counter and the EL1 virtual (CNTV_*) and
//! non-secure physical (CNTP_*) timers, plus CNTKCTL_EL1.
//!
//! - The counter is host `CLOCK_MONOTONIC` nanoseconds / 16 (62.5 MHz), the same time base
//!   user mode gives CNTVCT_EL0. With no EL2, CNTVOFF is 0: virtual count = physical count.
//! - CTL: ENABLE (bit 0) and IMASK (bit 1) are stored; ISTATUS (bit 2) is computed on read
//!   (condition met: count ≥ CVAL, reported only while enabled). TVAL reads
//!   `(CVAL − count)[31:0]` and a write sets `CVAL = count + SignExtend(TVAL[31:0])`.
//! - A timer's output (its PPI: [`VIRT_PPI`] 27, [`PHYS_PPI`] 30) is ENABLE ∧ ISTATUS ∧ ¬IMASK.
//!   The run loop asks [`GenericTimer::deadline`] for the next count at which an output rises
//!   and re-evaluates [`GenericTimer::outputs`] at that time and after every write.
//! - CNTKCTL_EL1's EL0 access bits are plain state here; the system-register code checks
//!   them for EL0 accesses.
//!
//! All methods take the current count `now` so that tests and the run loop control time;
//! [`counter`] reads the real one.

use crate::arm64::lift::system::CNTFRQ;

/// INTID of the virtual timer's PPI.
pub const VIRT_PPI: u32 = 27;
/// INTID of the non-secure EL1 physical timer's PPI.
pub const PHYS_PPI: u32 = 30;
/// Nanoseconds per counter tick.
pub const NS_PER_TICK: u64 = 1_000_000_000 / CNTFRQ;

const CTL_ENABLE: u64 = 1;
const CTL_IMASK: u64 = 2;
const CTL_ISTATUS: u64 = 4;
const CNTKCTL_MASK: u64 = 0x3ff;

/// The system counter now: host CLOCK_MONOTONIC in 16 ns ticks.
pub fn counter() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64) / NS_PER_TICK
}

/// Which of the two EL1 timers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimerKind {
    Virtual,
    Physical,
}

impl TimerKind {
    /// The timer's PPI.
    pub fn ppi(self) -> u32 {
        match self {
            TimerKind::Virtual => VIRT_PPI,
            TimerKind::Physical => PHYS_PPI,
        }
    }
}

#[derive(Clone, Copy, Default, Debug)]
struct Channel {
    ctl: u64,
    cval: u64,
}

impl Channel {
    fn condition(&self, now: u64) -> bool {
        now >= self.cval
    }

    fn output(&self, now: u64) -> bool {
        self.ctl & CTL_ENABLE != 0 && self.ctl & CTL_IMASK == 0 && self.condition(now)
    }
}

/// One vCPU's generic timer. See the module docs.
#[derive(Clone, Default, Debug)]
pub struct GenericTimer {
    virt: Channel,
    phys: Channel,
    cntkctl: u64,
}

impl GenericTimer {
    pub fn new() -> Self {
        Self::default()
    }

    fn ch(&self, k: TimerKind) -> &Channel {
        match k {
            TimerKind::Virtual => &self.virt,
            TimerKind::Physical => &self.phys,
        }
    }

    fn ch_mut(&mut self, k: TimerKind) -> &mut Channel {
        match k {
            TimerKind::Virtual => &mut self.virt,
            TimerKind::Physical => &mut self.phys,
        }
    }

    /// CNTx_CTL_EL0 with ISTATUS computed at count `now`.
    pub fn ctl(&self, k: TimerKind, now: u64) -> u64 {
        let c = self.ch(k);
        let istatus = if c.ctl & CTL_ENABLE != 0 && c.condition(now) {
            CTL_ISTATUS
        } else {
            0
        };
        c.ctl | istatus
    }

    pub fn set_ctl(&mut self, k: TimerKind, v: u64) {
        self.ch_mut(k).ctl = v & (CTL_ENABLE | CTL_IMASK);
    }

    pub fn cval(&self, k: TimerKind) -> u64 {
        self.ch(k).cval
    }

    pub fn set_cval(&mut self, k: TimerKind, v: u64) {
        self.ch_mut(k).cval = v;
    }

    /// CNTx_TVAL_EL0 at count `now`: the low 32 bits of CVAL − count.
    pub fn tval(&self, k: TimerKind, now: u64) -> u64 {
        self.ch(k).cval.wrapping_sub(now) & 0xffff_ffff
    }

    /// A CNTx_TVAL_EL0 write at count `now`.
    pub fn set_tval(&mut self, k: TimerKind, now: u64, v: u64) {
        self.ch_mut(k).cval = now.wrapping_add(v as u32 as i32 as i64 as u64);
    }

    pub fn cntkctl(&self) -> u64 {
        self.cntkctl
    }

    pub fn set_cntkctl(&mut self, v: u64) {
        self.cntkctl = v & CNTKCTL_MASK;
    }

    /// The level of timer `k`'s PPI at count `now`.
    pub fn output(&self, k: TimerKind, now: u64) -> bool {
        self.ch(k).output(now)
    }

    /// (virtual, physical) PPI levels at count `now`.
    pub fn outputs(&self, now: u64) -> (bool, bool) {
        (self.virt.output(now), self.phys.output(now))
    }

    /// The earliest count after `now` at which an output that is low now will rise (an
    /// enabled, unmasked timer whose CVAL lies in the future), or `None`.
    pub fn deadline(&self, now: u64) -> Option<u64> {
        [self.virt, self.phys]
            .iter()
            .filter(|c| c.ctl & CTL_ENABLE != 0 && c.ctl & CTL_IMASK == 0 && c.cval > now)
            .map(|c| c.cval)
            .min()
    }

    /// Host nanoseconds from count `now` until count `deadline` (0 if already past).
    pub fn ns_until(now: u64, deadline: u64) -> u64 {
        deadline.saturating_sub(now).saturating_mul(NS_PER_TICK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TimerKind::*;

    #[test]
    fn counter_is_62_5_mhz_and_monotonic() {
        assert_eq!(NS_PER_TICK, 16);
        let a = counter();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = counter();
        assert!(b - a >= 2_000_000 / 16, "{a} {b}");
    }

    #[test]
    fn ctl_istatus_and_output() {
        let mut t = GenericTimer::new();
        assert_eq!(t.ctl(Virtual, 100), 0);
        t.set_cval(Virtual, 1000);
        t.set_ctl(Virtual, 0xffff_ffff);
        assert_eq!(t.ctl(Virtual, 999), CTL_ENABLE | CTL_IMASK);
        assert_eq!(t.ctl(Virtual, 1000), 7);
        assert!(!t.output(Virtual, 1000)); // masked
        t.set_ctl(Virtual, CTL_ENABLE);
        assert!(!t.output(Virtual, 999));
        assert!(t.output(Virtual, 1000));
        assert_eq!(t.outputs(2000), (true, false));
        // Disabled: no ISTATUS, no output.
        t.set_ctl(Virtual, 0);
        assert_eq!(t.ctl(Virtual, 2000), 0);
        assert!(!t.output(Virtual, 2000));
        // The physical timer is independent.
        t.set_cval(Physical, 50);
        t.set_ctl(Physical, CTL_ENABLE);
        assert_eq!(t.outputs(60), (false, true));
        assert_eq!(t.cval(Virtual), 1000);
        assert_eq!(Physical.ppi(), 30);
        assert_eq!(Virtual.ppi(), 27);
    }

    #[test]
    fn tval_is_signed_32_bit() {
        let mut t = GenericTimer::new();
        t.set_tval(Virtual, 1_000_000, 500);
        assert_eq!(t.cval(Virtual), 1_000_500);
        assert_eq!(t.tval(Virtual, 1_000_100), 400);
        assert_eq!(t.tval(Virtual, 1_000_600), 0xffff_ff9c); // -100
        t.set_tval(Virtual, 1_000_000, 0xffff_ffff_ffff_fff6); // -10: only bits 31:0 count
        assert_eq!(t.cval(Virtual), 999_990);
        t.set_tval(Physical, 10, 0x1_8000_0000);
        assert_eq!(t.cval(Physical), 10u64.wrapping_sub(0x8000_0000));
    }

    #[test]
    fn deadlines() {
        let mut t = GenericTimer::new();
        assert_eq!(t.deadline(0), None);
        t.set_cval(Virtual, 500);
        t.set_cval(Physical, 300);
        t.set_ctl(Virtual, CTL_ENABLE);
        assert_eq!(t.deadline(100), Some(500));
        t.set_ctl(Physical, CTL_ENABLE | CTL_IMASK);
        assert_eq!(t.deadline(100), Some(500));
        t.set_ctl(Physical, CTL_ENABLE);
        assert_eq!(t.deadline(100), Some(300));
        // Already fired timers are not future deadlines.
        assert_eq!(t.deadline(400), Some(500));
        assert_eq!(t.deadline(600), None);
        assert_eq!(GenericTimer::ns_until(100, 300), 3200);
        assert_eq!(GenericTimer::ns_until(400, 300), 0);
    }

    #[test]
    fn cntkctl_plain_state() {
        let mut t = GenericTimer::new();
        t.set_cntkctl(u64::MAX);
        assert_eq!(t.cntkctl(), 0x3ff);
        t.set_cntkctl(0b11);
        assert_eq!(t.cntkctl(), 0b11);
    }
}
