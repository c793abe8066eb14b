//! The physical MMIO bus: devices behind the [`MmioDevice`] trait, mapped at physical
//! ranges, and interrupt lines ([`IrqLine`]) from devices into the interrupt controller.
//!
//! Each device sits behind its own `Mutex` so that vCPU threads and I/O threads can reach
//! it concurrently (the design's "one mutex per device"). Lock order: a device may raise a
//! line (taking the interrupt controller's lock) while its own lock is held; the interrupt
//! controller never calls back into devices, so the order device → controller is acyclic.
//!
//! An access that hits no mapping returns `None`/`false`: the caller (the memory slow
//! path) reports it as a synchronous external abort and logs it under `-d guest_errors`.

use std::cell::Cell;
use std::sync::{Arc, Mutex};

thread_local! {
    static CURRENT_CPU: Cell<usize> = const { Cell::new(0) };
}

/// Declares which vCPU this thread runs, for devices with per-CPU banked registers (the
/// GIC's SGI/PPI state and CPU interface). vCPU threads call it once at start.
pub fn set_current_cpu(cpu: usize) {
    CURRENT_CPU.with(|c| c.set(cpu));
}

/// The vCPU index this thread runs (0 unless [`set_current_cpu`] said otherwise).
pub fn current_cpu() -> usize {
    CURRENT_CPU.with(|c| c.get())
}

/// A memory-mapped device register block. `offset` is relative to the start of the
/// mapping; `size` is the access size in bytes (1, 2, 4 or 8). Reads of registers that do
/// not exist return what the hardware returns (usually 0, "RAZ"); writes to them are ignored
/// ("WI"). Devices must never panic on any offset, size or value.
pub trait MmioDevice: Send {
    fn read(&mut self, offset: u64, size: u8) -> u64;
    fn write(&mut self, offset: u64, size: u8, value: u64);
}

/// Something that receives numbered interrupt lines (the GIC: line = INTID of an SPI).
pub trait IrqSink: Send + Sync {
    /// Drives input `line` to `level` (true = asserted). Repeating a level is harmless.
    fn set_level(&self, line: u32, level: bool);
}

/// One interrupt line from a device into an [`IrqSink`].
#[derive(Clone)]
pub struct IrqLine {
    sink: Arc<dyn IrqSink>,
    line: u32,
}

impl IrqLine {
    pub fn new(sink: Arc<dyn IrqSink>, line: u32) -> Self {
        IrqLine { sink, line }
    }

    /// The line number in the sink's numbering (the GIC INTID).
    pub fn number(&self) -> u32 {
        self.line
    }

    pub fn set(&self, level: bool) {
        self.sink.set_level(self.line, level);
    }

    pub fn raise(&self) {
        self.set(true);
    }

    pub fn lower(&self) {
        self.set(false);
    }
}

/// A device shared between threads.
pub type SharedDevice = Arc<Mutex<dyn MmioDevice>>;

/// One mapped physical range.
#[derive(Clone)]
pub struct Region {
    pub base: u64,
    pub size: u64,
    pub name: &'static str,
    pub dev: SharedDevice,
}

/// Physical ranges → devices. Lookups are a binary search over sorted, disjoint regions.
#[derive(Default, Clone)]
pub struct Bus {
    regions: Vec<Region>,
}

impl Bus {
    pub fn new() -> Self {
        Bus::default()
    }

    /// Maps `dev` at `[base, base + size)`. Fails on an empty range, a range that wraps, or
    /// an overlap with an existing mapping.
    pub fn map(
        &mut self,
        base: u64,
        size: u64,
        name: &'static str,
        dev: SharedDevice,
    ) -> Result<(), String> {
        let end = base
            .checked_add(size)
            .filter(|_| size > 0)
            .ok_or_else(|| format!("bad MMIO range for {name}: {base:#x}+{size:#x}"))?;
        let at = self.regions.partition_point(|r| r.base < base);
        let clash = |r: &Region| r.base < end && base < r.base + r.size;
        if let Some(r) = [at.checked_sub(1), Some(at)]
            .into_iter()
            .flatten()
            .filter_map(|i| self.regions.get(i))
            .find(|r| clash(r))
        {
            return Err(format!(
                "MMIO range of {name} ({base:#x}+{size:#x}) overlaps {} ({:#x}+{:#x})",
                r.name, r.base, r.size
            ));
        }
        self.regions.insert(
            at,
            Region {
                base,
                size,
                name,
                dev,
            },
        );
        Ok(())
    }

    /// The region holding physical address `pa` and the offset of `pa` in it.
    pub fn find(&self, pa: u64) -> Option<(&Region, u64)> {
        let at = self.regions.partition_point(|r| r.base <= pa);
        let r = self.regions.get(at.checked_sub(1)?)?;
        let off = pa - r.base;
        (off < r.size).then_some((r, off))
    }

    /// Reads `size` bytes at `pa`; `None` when nothing is mapped there (external abort).
    pub fn read(&self, pa: u64, size: u8) -> Option<u64> {
        let (r, off) = self.find(pa)?;
        let v = lock(&r.dev).read(off, size);
        Some(truncate(v, size))
    }

    /// Writes `size` bytes at `pa`; `false` when nothing is mapped there (external abort).
    pub fn write(&self, pa: u64, size: u8, value: u64) -> bool {
        match self.find(pa) {
            Some((r, off)) => {
                lock(&r.dev).write(off, size, truncate(value, size));
                true
            }
            None => false,
        }
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }
}

/// Locks a device, ignoring poisoning (a panicking thread aborts the process anyway:
/// release builds use `panic = "abort"`).
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps the low `size` bytes of `v`.
pub fn truncate(v: u64, size: u8) -> u64 {
    if size >= 8 {
        v
    } else {
        v & ((1u64 << (size as u32 * 8)) - 1)
    }
}

/// Helper for 32-bit register files: the bytes `[offset, offset+size)` of a little-endian
/// register whose 4-byte-aligned value is `reg` (for byte/halfword reads of word registers).
pub fn sub_read(reg: u32, offset: u64, size: u8) -> u64 {
    truncate((reg as u64) >> ((offset & 3) * 8), size)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scratch {
        regs: [u64; 4],
        log: Vec<(u64, u8, u64)>,
    }

    impl MmioDevice for Scratch {
        fn read(&mut self, offset: u64, _size: u8) -> u64 {
            self.regs.get(offset as usize / 8).copied().unwrap_or(0)
        }
        fn write(&mut self, offset: u64, size: u8, value: u64) {
            self.log.push((offset, size, value));
            if let Some(r) = self.regs.get_mut(offset as usize / 8) {
                *r = value;
            }
        }
    }

    fn scratch() -> Arc<Mutex<Scratch>> {
        Arc::new(Mutex::new(Scratch {
            regs: [0; 4],
            log: vec![],
        }))
    }

    #[test]
    fn lookup_and_dispatch() {
        let mut bus = Bus::new();
        let a = scratch();
        let b = scratch();
        bus.map(0x0900_0000, 0x1000, "a", a.clone()).unwrap();
        bus.map(0x0800_0000, 0x1_0000, "b", b.clone()).unwrap();
        assert!(bus.write(0x0900_0008, 4, 0x1_2345_6789));
        assert_eq!(a.lock().unwrap().log, vec![(8, 4, 0x2345_6789)]);
        assert_eq!(bus.read(0x0900_0008, 8), Some(0x2345_6789));
        assert_eq!(bus.read(0x0900_0008, 1), Some(0x89));
        assert!(bus.write(0x0800_fff8, 8, 7));
        assert_eq!(b.lock().unwrap().log, vec![(0xfff8, 8, 7)]);
        // Unassigned: between, below, above and exactly at the end of a mapping.
        for pa in [0, 0x0801_0000, 0x0900_1000, 0x08ff_ffff, u64::MAX] {
            assert_eq!(bus.read(pa, 4), None, "{pa:#x}");
            assert!(!bus.write(pa, 4, 0), "{pa:#x}");
        }
        let (r, off) = bus.find(0x0900_0fff).unwrap();
        assert_eq!((r.name, off), ("a", 0xfff));
    }

    #[test]
    fn overlaps_rejected() {
        let mut bus = Bus::new();
        bus.map(0x1000, 0x1000, "a", scratch()).unwrap();
        assert!(bus.map(0x1800, 0x1000, "b", scratch()).is_err());
        assert!(bus.map(0x0800, 0x1000, "c", scratch()).is_err());
        assert!(bus.map(0x0, 0x10000, "d", scratch()).is_err());
        assert!(bus.map(0x2000, 0, "e", scratch()).is_err());
        assert!(bus.map(u64::MAX - 4, 0x10, "f", scratch()).is_err());
        bus.map(0x2000, 0x1000, "g", scratch()).unwrap();
        bus.map(0x0, 0x1000, "h", scratch()).unwrap();
        let names: Vec<_> = bus.regions().iter().map(|r| r.name).collect();
        assert_eq!(names, ["h", "a", "g"]);
    }

    struct Lines(Mutex<Vec<(u32, bool)>>);
    impl IrqSink for Lines {
        fn set_level(&self, line: u32, level: bool) {
            self.0.lock().unwrap().push((line, level));
        }
    }

    #[test]
    fn irq_lines_reach_the_sink() {
        let sink = Arc::new(Lines(Mutex::new(vec![])));
        let l = IrqLine::new(sink.clone(), 33);
        assert_eq!(l.number(), 33);
        l.raise();
        l.lower();
        l.set(true);
        assert_eq!(
            *sink.0.lock().unwrap(),
            [(33, true), (33, false), (33, true)]
        );
    }

    #[test]
    fn current_cpu_is_per_thread() {
        set_current_cpu(3);
        assert_eq!(current_cpu(), 3);
        assert_eq!(std::thread::spawn(current_cpu).join().unwrap(), 0);
        set_current_cpu(0);
    }

    #[test]
    fn sub_register_reads() {
        assert_eq!(sub_read(0x1122_3344, 0, 4), 0x1122_3344);
        assert_eq!(sub_read(0x1122_3344, 1, 1), 0x33);
        assert_eq!(sub_read(0x1122_3344, 2, 2), 0x1122);
        assert_eq!(truncate(u64::MAX, 2), 0xffff);
    }
}
