//! GICv2 interrupt controller (distributor + CPU interfaces), without the Security
//! Extensions, as the `virt` machine's "arm,cortex-a15-gic" node describes it.
//!
//! - 288 interrupt IDs: SGIs 0–15 and PPIs 16–31 are banked per CPU, SPIs 32–287 are shared.
//! - Up to [`MAX_CPUS`] CPU interfaces; the number present is fixed at creation.
//! - 5 priority bits (mask 0xF8, as Arm's GIC-400), so the minimum binary point is 2 for
//!   Group 0 and 3 for Group 1 (GICC_ABPR), and GICC_APR0 holds one bit per group priority
//!   (32 levels); APR1–3 are RAZ/WI.
//! - Interrupts reset to Group 0, which is signalled as IRQ unless GICC_CTLR.FIQEn is set.
//!   Group 1 is signalled as IRQ; with AckCtl=0 an IAR read that finds Group 1 pending
//!   returns 1022.
//! - GICD_ITARGETSR: for SGIs/PPIs each byte reads as the reading CPU's own bit and writes
//!   are ignored; for SPIs only the bits of CPUs that exist are writable, the others are
//!   RAZ/WI.
//! - Level-sensitive interrupts are pending while their line is high, or while a software
//!   pending latch (GICD_ISPENDR) is set; acknowledging clears the latch. Edge-triggered
//!   interrupts latch pending on a rising edge.
//!
//! The device occupies one [`MMIO_SIZE`] window: the distributor at +0 and the CPU interface
//! at +[`CPU_IFACE_OFFSET`] (the `virt` map: 0x0800_0000 and 0x0801_0000). Banked registers
//! use the accessing CPU from [`bus::current_cpu`]; the
//! explicit `dist_*`/`cpu_*` methods take it as an argument.
//!
//! After every change the IRQ/FIQ outputs of every CPU interface are recomputed; a changed
//! output calls that CPU's [`IrqOutput`] (with the GIC's lock held: it must only set a flag
//! and wake the vCPU).

use crate::system::bus::{self, IrqSink, MmioDevice};
use std::sync::Mutex;

/// Interrupt IDs implemented (GICD_TYPER.ITLinesNumber = 8).
pub const NUM_IRQS: usize = 288;
/// CPU interfaces the register layout supports (GICv2's limit).
pub const MAX_CPUS: usize = 8;
/// The ID an acknowledge returns when nothing can be taken.
pub const SPURIOUS: u32 = 1023;
/// The window the GIC occupies on the bus.
pub const MMIO_SIZE: u64 = 0x2_0000;
/// Offset of the CPU interface in that window.
pub const CPU_IFACE_OFFSET: u64 = 0x1_0000;

const PRIO_MASK: u8 = 0xf8;
const MIN_BPR: u32 = 2;
const IDLE_PRIORITY: u32 = 0xff;
const GICD_IIDR: u32 = 0x0200_143b;
const GICC_IIDR: u32 = 0x0202_143b;
/// Peripheral/component ID bytes at 0xFD0..0x1000 (ArchRev 2 in PIDR2).
const ID_REGS: [u32; 12] = [
    0x04, 0x00, 0x00, 0x00, 0x90, 0xb4, 0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1,
];

// GICC_CTLR bits (layout of a GIC without Security Extensions).
const CTLR_ENABLE_GRP0: u32 = 1 << 0;
const CTLR_ENABLE_GRP1: u32 = 1 << 1;
const CTLR_ACKCTL: u32 = 1 << 2;
const CTLR_FIQEN: u32 = 1 << 3;
const CTLR_CBPR: u32 = 1 << 4;
const CTLR_EOIMODE_GRP0: u32 = 1 << 9;
const CTLR_EOIMODE_GRP1: u32 = 1 << 10;
const CTLR_MASK: u32 = 0x7ff;

/// Called with (irq, fiq) when a CPU interface's outputs change.
pub type IrqOutput = Box<dyn Fn(bool, bool) + Send>;

/// The state of one interrupt (for SGIs/PPIs: of one CPU's banked copy).
#[derive(Clone, Copy, Debug, Default)]
struct Irq {
    enabled: bool,
    /// Pending latch: edge seen, or software-set (GICD_ISPENDR).
    latch: bool,
    active: bool,
    /// The input line (PPIs and SPIs).
    level: bool,
    group1: bool,
    edge: bool,
    priority: u8,
}

#[derive(Clone, Copy, Default)]
struct CpuIface {
    ctlr: u32,
    pmr: u8,
    bpr: u32,
    abpr: u32,
    /// One bit per active group priority (priority >> 3).
    apr: u32,
    irq: bool,
    fiq: bool,
}

/// The GICv2 model. See the module docs.
pub struct Gic {
    ncpus: usize,
    dist_ctlr: u32,
    /// Per CPU: SGIs and PPIs.
    banked: Vec<[Irq; 32]>,
    /// Per CPU, per SGI: one bit per source CPU with that SGI pending.
    sgi_sources: Vec<[u8; 16]>,
    spis: Vec<Irq>,
    targets: Vec<u8>,
    cpus: Vec<CpuIface>,
    outputs: Vec<Option<IrqOutput>>,
}

fn bit(v: u32, n: u32) -> bool {
    (v >> n) & 1 != 0
}

impl Gic {
    /// A GIC with `ncpus` CPU interfaces (clamped to 1..=8), in its reset state.
    pub fn new(ncpus: usize) -> Self {
        let ncpus = ncpus.clamp(1, MAX_CPUS);
        let mut sgi_ppi = [Irq::default(); 32];
        for irq in sgi_ppi.iter_mut().take(16) {
            irq.edge = true;
        }
        Gic {
            ncpus,
            dist_ctlr: 0,
            banked: vec![sgi_ppi; ncpus],
            sgi_sources: vec![[0; 16]; ncpus],
            spis: vec![Irq::default(); NUM_IRQS - 32],
            targets: vec![0; NUM_IRQS - 32],
            cpus: vec![
                CpuIface {
                    bpr: MIN_BPR,
                    abpr: MIN_BPR + 1,
                    ..Default::default()
                };
                ncpus
            ],
            outputs: (0..ncpus).map(|_| None).collect(),
        }
    }

    pub fn num_cpus(&self) -> usize {
        self.ncpus
    }

    /// Installs the callback that receives CPU `cpu`'s (irq, fiq) outputs; it is called at
    /// once with the current state.
    pub fn connect_cpu(&mut self, cpu: usize, out: IrqOutput) {
        if cpu < self.ncpus {
            let c = self.cpus[cpu];
            out(c.irq, c.fiq);
            self.outputs[cpu] = Some(out);
        }
    }

    /// Whether CPU `cpu`'s IRQ output is asserted.
    pub fn irq_asserted(&self, cpu: usize) -> bool {
        self.cpus.get(cpu).is_some_and(|c| c.irq)
    }

    /// Whether CPU `cpu`'s FIQ output is asserted.
    pub fn fiq_asserted(&self, cpu: usize) -> bool {
        self.cpus.get(cpu).is_some_and(|c| c.fiq)
    }

    /// Drives SPI input `intid` (32..288); other IDs are ignored.
    pub fn set_spi_level(&mut self, intid: u32, level: bool) {
        if (32..NUM_IRQS as u32).contains(&intid) {
            let irq = &mut self.spis[intid as usize - 32];
            Self::drive(irq, level);
            self.update();
        }
    }

    /// Drives CPU `cpu`'s PPI input `intid` (16..32); other IDs are ignored.
    pub fn set_ppi_level(&mut self, cpu: usize, intid: u32, level: bool) {
        if (16..32).contains(&intid) && cpu < self.ncpus {
            let irq = &mut self.banked[cpu][intid as usize];
            Self::drive(irq, level);
            self.update();
        }
    }

    fn drive(irq: &mut Irq, level: bool) {
        if irq.edge && level && !irq.level {
            irq.latch = true;
        }
        irq.level = level;
    }

    fn irq(&self, cpu: usize, id: usize) -> &Irq {
        if id < 32 {
            &self.banked[cpu][id]
        } else {
            &self.spis[id - 32]
        }
    }

    fn irq_mut(&mut self, cpu: usize, id: usize) -> &mut Irq {
        if id < 32 {
            &mut self.banked[cpu][id]
        } else {
            &mut self.spis[id - 32]
        }
    }

    fn is_pending(&self, cpu: usize, id: usize) -> bool {
        if id < 16 {
            return self.sgi_sources[cpu][id] != 0;
        }
        let irq = self.irq(cpu, id);
        irq.latch || (!irq.edge && irq.level)
    }

    fn cpu_mask(&self) -> u8 {
        ((1u32 << self.ncpus) - 1) as u8
    }

    /// The highest-priority interrupt that the distributor forwards to `cpu`: pending,
    /// enabled, not active, its group enabled in GICD_CTLR, and (SPIs) targeting `cpu`.
    /// Ties go to the lowest ID.
    fn best_pending(&self, cpu: usize) -> Option<(usize, u8)> {
        let mut best: Option<(usize, u8)> = None;
        for id in 0..NUM_IRQS {
            let irq = self.irq(cpu, id);
            if !irq.enabled || irq.active || !self.is_pending(cpu, id) {
                continue;
            }
            if !bit(self.dist_ctlr, irq.group1 as u32) {
                continue;
            }
            if id >= 32 && self.targets[id - 32] & (1 << cpu) == 0 {
                continue;
            }
            if best.is_none_or(|(_, p)| irq.priority < p) {
                best = Some((id, irq.priority));
            }
        }
        best
    }

    fn group_priority_mask(&self, cpu: usize, group1: bool) -> u8 {
        let c = &self.cpus[cpu];
        let bpr = if group1 && c.ctlr & CTLR_CBPR == 0 {
            c.abpr - 1
        } else {
            c.bpr
        };
        (0xffu32 << (bpr + 1)) as u8
    }

    fn running_priority(&self, cpu: usize) -> u32 {
        let apr = self.cpus[cpu].apr;
        if apr == 0 {
            IDLE_PRIORITY
        } else {
            apr.trailing_zeros() << 3
        }
    }

    /// The interrupt the CPU interface would hand out now, if it can preempt: its group
    /// enabled at the CPU interface, priority above PMR and its group priority above the
    /// running priority.
    fn signalled(&self, cpu: usize) -> Option<(usize, u8)> {
        let (id, prio) = self.best_pending(cpu)?;
        let group1 = self.irq(cpu, id).group1;
        let c = &self.cpus[cpu];
        let enable = if group1 {
            CTLR_ENABLE_GRP1
        } else {
            CTLR_ENABLE_GRP0
        };
        let enabled = c.ctlr & enable != 0;
        let gp = (prio & self.group_priority_mask(cpu, group1)) as u32;
        (enabled && prio < c.pmr && gp < self.running_priority(cpu)).then_some((id, prio))
    }

    /// Recomputes every CPU interface's outputs and reports changes.
    fn update(&mut self) {
        for cpu in 0..self.ncpus {
            let (irq, fiq) = match self.signalled(cpu) {
                Some((id, _)) => {
                    let fiq = !self.irq(cpu, id).group1 && self.cpus[cpu].ctlr & CTLR_FIQEN != 0;
                    (!fiq, fiq)
                }
                None => (false, false),
            };
            let c = &mut self.cpus[cpu];
            if (c.irq, c.fiq) != (irq, fiq) {
                c.irq = irq;
                c.fiq = fiq;
                if let Some(out) = &self.outputs[cpu] {
                    out(irq, fiq);
                }
            }
        }
    }

    /// The lowest source CPU with SGI `id` pending for `cpu`.
    fn sgi_source(&self, cpu: usize, id: usize) -> u32 {
        self.sgi_sources[cpu][id].trailing_zeros()
    }

    // ---- Distributor ----

    /// A distributor read by CPU `cpu`.
    pub fn dist_read(&self, cpu: usize, offset: u64, size: u8) -> u64 {
        let cpu = cpu.min(self.ncpus - 1);
        if size >= 8 {
            return self.dist_read(cpu, offset, 4) | (self.dist_read(cpu, offset + 4, 4) << 32);
        }
        if byte_register(offset) {
            let mut v = 0u64;
            for i in 0..size as u64 {
                v |= (self.dist_read_byte(cpu, offset + i) as u64) << (8 * i);
            }
            return v;
        }
        bus::sub_read(self.dist_read_word(cpu, offset & !3), offset, size)
    }

    /// A distributor write by CPU `cpu`.
    pub fn dist_write(&mut self, cpu: usize, offset: u64, size: u8, value: u64) {
        let cpu = cpu.min(self.ncpus - 1);
        if size >= 8 {
            self.dist_write(cpu, offset, 4, value & 0xffff_ffff);
            self.dist_write(cpu, offset + 4, 4, value >> 32);
            return;
        }
        if byte_register(offset) {
            for i in 0..size as u64 {
                self.dist_write_byte(cpu, offset + i, (value >> (8 * i)) as u8);
            }
        } else {
            let word = offset & !3;
            let shift = (offset & 3) * 8;
            let lanes = (bus::truncate(u64::MAX, size) << shift) as u32;
            let value = ((value << shift) as u32) & lanes;
            if (0x100..0x400).contains(&word) {
                // Set/clear registers: zero lanes change nothing.
                self.dist_write_word(cpu, word, value);
            } else {
                let old = self.dist_read_word(cpu, word);
                self.dist_write_word(cpu, word, (old & !lanes) | value);
            }
        }
        self.update();
    }

    fn dist_read_word(&self, cpu: usize, off: u64) -> u32 {
        let n = ((off & 0x7f) / 4) as usize; // register index in a bank
        let bits = |f: &dyn Fn(usize) -> bool| -> u32 {
            (0..32)
                .filter(|&i| {
                    let id = n * 32 + i;
                    id < NUM_IRQS && f(id)
                })
                .fold(0, |acc, i| acc | (1 << i))
        };
        match off {
            0x000 => self.dist_ctlr,
            0x004 => (NUM_IRQS as u32 / 32 - 1) | ((self.ncpus as u32 - 1) << 5),
            0x008 => GICD_IIDR,
            0x080..=0x0bc => bits(&|id| self.irq(cpu, id).group1),
            0x100..=0x1bc => bits(&|id| self.irq(cpu, id).enabled),
            0x200..=0x2bc => bits(&|id| self.is_pending(cpu, id)),
            0x300..=0x3bc => bits(&|id| self.irq(cpu, id).active),
            0xc00..=0xcfc => {
                let first = ((off - 0xc00) / 4 * 16) as usize;
                (0..16)
                    .filter(|&i| first + i < NUM_IRQS && self.irq(cpu, first + i).edge)
                    .fold(0, |acc, i| acc | (2 << (2 * i)))
            }
            0xfd0..=0xffc => ID_REGS[((off - 0xfd0) / 4) as usize],
            _ => 0,
        }
    }

    fn dist_write_word(&mut self, cpu: usize, off: u64, v: u32) {
        let n = ((off & 0x7f) / 4) as usize;
        let ids = move |v: u32| {
            (0..32usize)
                .filter(move |&i| v & (1 << i) != 0)
                .map(move |i| n * 32 + i)
                .filter(|&id| id < NUM_IRQS)
        };
        match off {
            0x000 => self.dist_ctlr = v & 3,
            0x080..=0x0bc => {
                for i in 0..32 {
                    let id = n * 32 + i;
                    if id < NUM_IRQS {
                        self.irq_mut(cpu, id).group1 = v & (1 << i) != 0;
                    }
                }
            }
            0x100..=0x13c => ids(v).for_each(|id| self.irq_mut(cpu, id).enabled = true),
            0x180..=0x1bc => ids(v).for_each(|id| self.irq_mut(cpu, id).enabled = false),
            // SGI pending state is set/cleared through GICD_SPENDSGIR/CPENDSGIR only.
            0x200..=0x23c => ids(v)
                .filter(|&id| id >= 16)
                .for_each(|id| self.irq_mut(cpu, id).latch = true),
            0x280..=0x2bc => ids(v)
                .filter(|&id| id >= 16)
                .for_each(|id| self.irq_mut(cpu, id).latch = false),
            0x300..=0x33c => ids(v).for_each(|id| self.irq_mut(cpu, id).active = true),
            0x380..=0x3bc => ids(v).for_each(|id| self.irq_mut(cpu, id).active = false),
            0xc00..=0xcfc => {
                let first = ((off - 0xc00) / 4 * 16) as usize;
                // SGIs are always edge-triggered; PPIs and SPIs are programmable.
                for i in 0..16 {
                    let id = first + i;
                    if (16..NUM_IRQS).contains(&id) {
                        self.irq_mut(cpu, id).edge = v & (2 << (2 * i)) != 0;
                    }
                }
            }
            0xf00 => self.send_sgi(cpu, v),
            _ => {}
        }
    }

    fn send_sgi(&mut self, src: usize, v: u32) {
        let id = (v & 0xf) as usize;
        let targets = match (v >> 24) & 3 {
            0 => (v >> 16) as u8,
            1 => self.cpu_mask() & !(1 << src),
            2 => 1 << src,
            _ => 0,
        } & self.cpu_mask();
        for t in 0..self.ncpus {
            if targets & (1 << t) != 0 {
                self.sgi_sources[t][id] |= 1 << src;
            }
        }
    }

    fn dist_read_byte(&self, cpu: usize, off: u64) -> u8 {
        match off {
            0x400..=0x7ff => {
                let id = (off - 0x400) as usize;
                if id < NUM_IRQS {
                    self.irq(cpu, id).priority
                } else {
                    0
                }
            }
            0x800..=0xbff => {
                let id = (off - 0x800) as usize;
                match id {
                    0..=31 => 1 << cpu,
                    _ if id < NUM_IRQS => self.targets[id - 32],
                    _ => 0,
                }
            }
            0xf10..=0xf1f => self.sgi_sources[cpu][(off - 0xf10) as usize],
            0xf20..=0xf2f => self.sgi_sources[cpu][(off - 0xf20) as usize],
            _ => 0,
        }
    }

    fn dist_write_byte(&mut self, cpu: usize, off: u64, v: u8) {
        match off {
            0x400..=0x7ff => {
                let id = (off - 0x400) as usize;
                if id < NUM_IRQS {
                    self.irq_mut(cpu, id).priority = v & PRIO_MASK;
                }
            }
            0x800..=0xbff => {
                let id = (off - 0x800) as usize;
                if (32..NUM_IRQS).contains(&id) {
                    self.targets[id - 32] = v & self.cpu_mask();
                }
            }
            0xf10..=0xf1f => self.sgi_sources[cpu][(off - 0xf10) as usize] &= !v,
            0xf20..=0xf2f => {
                let m = self.cpu_mask();
                self.sgi_sources[cpu][(off - 0xf20) as usize] |= v & m;
            }
            _ => {}
        }
    }

    // ---- CPU interface ----

    /// A CPU-interface read by CPU `cpu` (offset relative to the CPU interface). Reading
    /// GICC_IAR acknowledges, hence `&mut self`.
    pub fn cpu_read(&mut self, cpu: usize, offset: u64, size: u8) -> u64 {
        let cpu = cpu.min(self.ncpus - 1);
        if offset & 3 != 0 || size < 4 {
            // The CPU interface is word-accessed only; narrower reads see the word's bytes
            // without side effects.
            if offset & !3 == 0x0c {
                return 0;
            }
            let word = self.cpu_read_word(cpu, offset & !3, false);
            return bus::sub_read(word, offset, size);
        }
        let v = self.cpu_read_word(cpu, offset, true) as u64;
        if size >= 8 {
            v | ((self.cpu_read_word(cpu, offset + 4, true) as u64) << 32)
        } else {
            v
        }
    }

    /// A CPU-interface write by CPU `cpu`.
    pub fn cpu_write(&mut self, cpu: usize, offset: u64, size: u8, value: u64) {
        let cpu = cpu.min(self.ncpus - 1);
        if offset & 3 != 0 || size < 4 {
            return;
        }
        self.cpu_write_word(cpu, offset, value as u32);
        if size >= 8 {
            self.cpu_write_word(cpu, offset + 4, (value >> 32) as u32);
        }
        self.update();
    }

    fn cpu_read_word(&mut self, cpu: usize, off: u64, side_effects: bool) -> u32 {
        let c = self.cpus[cpu];
        match off {
            0x00 => c.ctlr,
            0x04 => c.pmr as u32,
            0x08 => c.bpr,
            0x0c if side_effects => self.acknowledge(cpu),
            0x14 => self.running_priority(cpu),
            0x18 => self.highest_pending_id(cpu),
            0x1c => c.abpr,
            // Aliased Group 1 registers: not provided.
            0x20 | 0x28 => SPURIOUS,
            0xd0 => c.apr,
            0xfc => GICC_IIDR,
            _ => 0,
        }
    }

    fn cpu_write_word(&mut self, cpu: usize, off: u64, v: u32) {
        let c = &mut self.cpus[cpu];
        match off {
            0x00 => c.ctlr = v & CTLR_MASK,
            0x04 => c.pmr = v as u8 & PRIO_MASK,
            0x08 => c.bpr = (v & 7).max(MIN_BPR),
            0x10 => self.end_of_interrupt(cpu, v),
            0x1c => c.abpr = (v & 7).max(MIN_BPR + 1),
            0xd0 => c.apr = v,
            0x1000 => self.deactivate(cpu, v),
            _ => {}
        }
    }

    /// GICC_HPPIR: the highest-priority pending interrupt for this CPU regardless of PMR and
    /// running priority (with the source CPU in bits 12:10 for an SGI).
    fn highest_pending_id(&self, cpu: usize) -> u32 {
        match self.best_pending(cpu) {
            None => SPURIOUS,
            Some((id, _)) => {
                if self.irq(cpu, id).group1 && self.cpus[cpu].ctlr & CTLR_ACKCTL == 0 {
                    1022
                } else if id < 16 {
                    id as u32 | (self.sgi_source(cpu, id) << 10)
                } else {
                    id as u32
                }
            }
        }
    }

    /// GICC_IAR read: takes the signalled interrupt (pending → active, or active and
    /// pending for a level line still high or an SGI with more sources) and raises the
    /// running priority. 1023 when nothing can be taken.
    fn acknowledge(&mut self, cpu: usize) -> u32 {
        let Some((id, prio)) = self.signalled(cpu) else {
            return SPURIOUS;
        };
        let group1 = self.irq(cpu, id).group1;
        if group1 && self.cpus[cpu].ctlr & CTLR_ACKCTL == 0 {
            return 1022;
        }
        let mut result = id as u32;
        if id < 16 {
            let src = self.sgi_source(cpu, id);
            self.sgi_sources[cpu][id] &= !(1 << src);
            result |= src << 10;
        }
        let irq = self.irq_mut(cpu, id);
        irq.latch = false;
        irq.active = true;
        let gp = prio & self.group_priority_mask(cpu, group1);
        self.cpus[cpu].apr |= 1 << (gp >> 3);
        self.update();
        result
    }

    /// GICC_EOIR write: drops the running priority and, with EOImode 0 for the interrupt's
    /// group, deactivates it.
    fn end_of_interrupt(&mut self, cpu: usize, v: u32) {
        let id = (v & 0x3ff) as usize;
        if id >= NUM_IRQS {
            return;
        }
        let c = &mut self.cpus[cpu];
        c.apr &= c.apr.wrapping_sub(1); // clear the lowest set bit: the highest active priority
        let eoimode = if self.irq(cpu, id).group1 {
            CTLR_EOIMODE_GRP1
        } else {
            CTLR_EOIMODE_GRP0
        };
        if self.cpus[cpu].ctlr & eoimode == 0 {
            self.irq_mut(cpu, id).active = false;
        }
    }

    /// GICC_DIR write: deactivates the interrupt.
    fn deactivate(&mut self, cpu: usize, v: u32) {
        let id = (v & 0x3ff) as usize;
        if id < NUM_IRQS {
            self.irq_mut(cpu, id).active = false;
        }
    }
}

/// Distributor registers that are byte-accessible (IPRIORITYR, ITARGETSR, C/SPENDSGIR).
fn byte_register(off: u64) -> bool {
    matches!(off, 0x400..=0xbff | 0xf10..=0xf2f)
}

impl MmioDevice for Gic {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        let cpu = bus::current_cpu();
        if offset < CPU_IFACE_OFFSET {
            self.dist_read(cpu, offset, size)
        } else {
            self.cpu_read(cpu, offset - CPU_IFACE_OFFSET, size)
        }
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) {
        let cpu = bus::current_cpu();
        if offset < CPU_IFACE_OFFSET {
            self.dist_write(cpu, offset, size, value)
        } else {
            self.cpu_write(cpu, offset - CPU_IFACE_OFFSET, size, value)
        }
    }
}

/// Devices raise SPIs through an [`IrqLine`](crate::system::bus::IrqLine) whose number is
/// the INTID (32..288). PPIs are per CPU: use [`Gic::set_ppi_level`].
impl IrqSink for Mutex<Gic> {
    fn set_level(&self, line: u32, level: bool) {
        bus::lock(self).set_spi_level(line, level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const C: u64 = CPU_IFACE_OFFSET;

    /// A GIC with the distributor and CPU 0's interface enabled for Group 0, PMR open.
    fn gic() -> Gic {
        let mut g = Gic::new(1);
        g.write(0x000, 4, 1);
        g.write(C, 4, 1);
        g.write(C + 4, 4, 0xff);
        g
    }

    fn enable(g: &mut Gic, id: u32, prio: u8) {
        g.write(0x100 + (id as u64 / 32) * 4, 4, 1 << (id % 32));
        g.write(0x400 + id as u64, 1, prio as u64);
        if id >= 32 {
            g.write(0x800 + id as u64, 1, 1);
        }
    }

    fn iar(g: &mut Gic) -> u32 {
        g.read(C + 0x0c, 4) as u32
    }

    fn eoi(g: &mut Gic, v: u32) {
        g.write(C + 0x10, 4, v as u64);
    }

    #[test]
    fn id_and_type_registers() {
        let mut g = Gic::new(1);
        assert_eq!(g.read(0x004, 4), 8); // ITLinesNumber 8 → 288 IDs, 1 CPU
        assert_eq!(Gic::new(4).read(0x004, 4), 8 | (3 << 5));
        assert_eq!(g.read(0x008, 4), 0x0200_143b);
        assert_eq!(g.read(C + 0xfc, 4), 0x0202_143b);
        assert_eq!(g.read(0xfe8, 4) >> 4 & 0xf, 2); // PIDR2.ArchRev
                                                    // Registers are read-only and reserved space is RAZ/WI.
        g.write(0x004, 4, 0);
        g.write(0x008, 4, 0);
        assert_eq!(g.read(0x004, 4), 8);
        g.write(0x040, 4, 0xffff_ffff);
        assert_eq!(g.read(0x040, 4), 0);
        assert_eq!(g.read(0xd00, 4), 0);
        assert_eq!(g.read(C + 0x40, 4), 0);
        // ICFGR0: SGIs read as edge and cannot be changed.
        assert_eq!(g.read(0xc00, 4), 0xaaaa_aaaa);
        g.write(0xc00, 4, 0);
        assert_eq!(g.read(0xc00, 4), 0xaaaa_aaaa);
        // Enable bits beyond the last implemented ID are RAZ/WI.
        g.write(0x124, 4, 0xffff_ffff);
        assert_eq!(g.read(0x124, 4), 0);
        assert_eq!(g.read(0x120, 4), 0);
    }

    #[test]
    fn spi_level_ack_eoi() {
        let mut g = gic();
        enable(&mut g, 33, 0xa0);
        assert!(!g.irq_asserted(0));
        assert_eq!(iar(&mut g), SPURIOUS);
        g.set_spi_level(33, true);
        assert!(g.irq_asserted(0));
        assert_eq!(g.read(C + 0x18, 4), 33); // HPPIR
        assert_eq!(g.read(0x204, 4), 1 << 1); // ISPENDR1
        assert_eq!(iar(&mut g), 33);
        // Active and still pending (line high): not signalled again, running priority 0xa0.
        assert!(!g.irq_asserted(0));
        assert_eq!(g.read(0x304, 4), 1 << 1);
        assert_eq!(g.read(0x204, 4), 1 << 1);
        assert_eq!(g.read(C + 0x14, 4), 0xa0);
        assert_eq!(g.read(C + 0xd0, 4), 1 << (0xa0 >> 3));
        g.set_spi_level(33, false);
        assert_eq!(g.read(0x204, 4), 0);
        eoi(&mut g, 33);
        assert_eq!(g.read(0x304, 4), 0);
        assert_eq!(g.read(C + 0x14, 4), 0xff);
        assert!(!g.irq_asserted(0));
        assert_eq!(iar(&mut g), SPURIOUS);
        // A level interrupt still high at EOI is taken again.
        g.set_spi_level(33, true);
        assert_eq!(iar(&mut g), 33);
        eoi(&mut g, 33);
        assert!(g.irq_asserted(0));
        assert_eq!(iar(&mut g), 33);
    }

    #[test]
    fn edge_latches_once() {
        let mut g = gic();
        enable(&mut g, 40, 0x80);
        g.write(0xc08, 4, 2 << (2 * 8)); // ICFGR2: ID 40 edge
        assert_eq!(g.read(0xc08, 4), 2 << 16);
        g.set_spi_level(40, true);
        g.set_spi_level(40, false);
        assert!(g.irq_asserted(0));
        assert_eq!(iar(&mut g), 40);
        assert_eq!(g.read(0x204, 4), 0); // the edge latch is consumed
                                         // A new edge while active: active and pending, not signalled until deactivated.
        g.set_spi_level(40, true);
        assert!(!g.irq_asserted(0));
        assert_eq!(g.read(0x204, 4), 1 << 8);
        eoi(&mut g, 40);
        assert!(g.irq_asserted(0));
        assert_eq!(iar(&mut g), 40);
        eoi(&mut g, 40);
        // Holding the line high is not another edge.
        g.set_spi_level(40, true);
        assert_eq!(iar(&mut g), SPURIOUS);
    }

    #[test]
    fn software_pending_and_clear() {
        let mut g = gic();
        enable(&mut g, 50, 0x10);
        g.write(0x204, 4, 1 << 18); // ISPENDR1: ID 50
        assert!(g.irq_asserted(0));
        g.write(0x284, 4, 1 << 18); // ICPENDR1
        assert!(!g.irq_asserted(0));
        // Level line high: clearing the latch does not clear the pending state.
        g.set_spi_level(50, true);
        g.write(0x284, 4, 1 << 18);
        assert_eq!(g.read(0x204, 4), 1 << 18);
        g.set_spi_level(50, false);
        // Software-set pending on a level interrupt is consumed by the acknowledge.
        g.write(0x204, 4, 1 << 18);
        assert_eq!(iar(&mut g), 50);
        eoi(&mut g, 50);
        assert_eq!(g.read(0x204, 4), 0);
        // ISACTIVER / ICACTIVER.
        g.write(0x304, 4, 1 << 18);
        assert_eq!(g.read(0x384, 4), 1 << 18);
        g.write(0x384, 4, 1 << 18);
        assert_eq!(g.read(0x304, 4), 0);
    }

    #[test]
    fn enable_and_distributor_gating() {
        let mut g = gic();
        g.write(0x400 + 34, 1, 0x20);
        g.write(0x800 + 34, 1, 1);
        g.set_spi_level(34, true);
        assert!(!g.irq_asserted(0)); // not enabled
        g.write(0x104, 4, 1 << 2);
        assert_eq!(g.read(0x104, 4), 1 << 2);
        assert_eq!(g.read(0x184, 4), 1 << 2);
        assert!(g.irq_asserted(0));
        g.write(0x184, 4, 1 << 2);
        assert!(!g.irq_asserted(0));
        g.write(0x104, 4, 1 << 2);
        g.write(0x000, 4, 0); // distributor off
        assert!(!g.irq_asserted(0));
        assert_eq!(g.read(C + 0x18, 4), SPURIOUS as u64);
        g.write(0x000, 4, 1);
        g.write(C, 4, 0); // CPU interface off: HPPIR still sees it, IAR does not
        assert!(!g.irq_asserted(0));
        assert_eq!(g.read(C + 0x18, 4), 34);
        assert_eq!(iar(&mut g), SPURIOUS);
        g.write(C, 4, 1);
        // Target list without this CPU: not forwarded.
        g.write(0x800 + 34, 1, 0);
        assert!(!g.irq_asserted(0));
    }

    #[test]
    fn priority_pmr_and_preemption() {
        let mut g = gic();
        enable(&mut g, 32, 0x80);
        enable(&mut g, 33, 0x40);
        enable(&mut g, 34, 0x40);
        // Priority registers keep the top 5 bits; word access sees four IDs.
        g.write(0x400 + 35, 1, 0xff);
        assert_eq!(g.read(0x400 + 35, 1), 0xf8);
        assert_eq!(g.read(0x420, 4), 0xf840_4080);
        g.write(0x424, 4, 0x0102_0304);
        assert_eq!(g.read(0x424, 4), 0);
        g.set_spi_level(32, true);
        g.set_spi_level(34, true);
        g.set_spi_level(33, true);
        // PMR masks priorities equal to or lower than it.
        g.write(C + 4, 4, 0x40);
        assert_eq!(g.read(C + 4, 4), 0x40);
        assert!(!g.irq_asserted(0));
        assert_eq!(iar(&mut g), SPURIOUS);
        g.write(C + 4, 4, 0x48);
        // Equal priority: lowest ID first.
        assert_eq!(iar(&mut g), 33);
        // Same group priority as the running one cannot preempt; nor can a lower one.
        g.write(C + 4, 4, 0xff);
        assert!(!g.irq_asserted(0));
        assert_eq!(iar(&mut g), SPURIOUS);
        // A higher priority preempts.
        enable(&mut g, 36, 0x00);
        g.set_spi_level(36, true);
        assert!(g.irq_asserted(0));
        assert_eq!(iar(&mut g), 36);
        assert_eq!(g.read(C + 0x14, 4), 0x00);
        assert_eq!(g.read(C + 0xd0, 4), 1 | 1 << 8);
        g.set_spi_level(36, false);
        eoi(&mut g, 36);
        assert_eq!(g.read(C + 0x14, 4), 0x40);
        g.set_spi_level(33, false);
        eoi(&mut g, 33);
        assert_eq!(iar(&mut g), 34);
        g.set_spi_level(34, false);
        eoi(&mut g, 34);
        assert_eq!(iar(&mut g), 32);
    }

    #[test]
    fn binary_point_groups_priorities() {
        let mut g = gic();
        g.write(C + 8, 4, 0);
        assert_eq!(g.read(C + 8, 4), 2); // clamped to the minimum
        g.write(C + 8, 4, 5); // group priority = bits [7:6]
        enable(&mut g, 32, 0x40);
        enable(&mut g, 33, 0x08);
        g.set_spi_level(32, true);
        assert_eq!(iar(&mut g), 32);
        g.set_spi_level(33, true);
        // 0x08 has group priority 0x00 < 0x40: preempts.
        assert_eq!(iar(&mut g), 33);
        eoi(&mut g, 33);
        eoi(&mut g, 32);
        enable(&mut g, 34, 0x50);
        g.set_spi_level(32, false);
        g.set_spi_level(33, false);
        g.set_spi_level(34, true);
        assert_eq!(iar(&mut g), 34);
        g.set_spi_level(32, true);
        // 0x40 and 0x50 share group priority 0x40: no preemption.
        assert_eq!(iar(&mut g), SPURIOUS);
    }

    #[test]
    fn eoi_order_and_spurious_eoi() {
        let mut g = gic();
        enable(&mut g, 40, 0x80);
        enable(&mut g, 41, 0x20);
        g.set_spi_level(40, true);
        assert_eq!(iar(&mut g), 40);
        g.set_spi_level(41, true);
        assert_eq!(iar(&mut g), 41);
        // Writing 1023 (spurious) to EOIR changes nothing.
        eoi(&mut g, SPURIOUS);
        assert_eq!(g.read(C + 0x14, 4), 0x20);
        g.set_spi_level(41, false);
        eoi(&mut g, 41);
        assert_eq!(g.read(C + 0x14, 4), 0x80);
        assert_eq!(g.read(0x304, 4), 1 << 8);
        g.set_spi_level(40, false);
        eoi(&mut g, 40);
        assert_eq!(g.read(C + 0x14, 4), 0xff);
        assert_eq!(g.read(0x304, 4), 0);
    }

    #[test]
    fn eoimode_split_and_dir() {
        let mut g = gic();
        g.write(C, 4, 1 | CTLR_EOIMODE_GRP0 as u64);
        enable(&mut g, 45, 0x80);
        g.set_spi_level(45, true);
        assert_eq!(iar(&mut g), 45);
        g.set_spi_level(45, false);
        eoi(&mut g, 45);
        // Priority dropped but still active until GICC_DIR.
        assert_eq!(g.read(C + 0x14, 4), 0xff);
        assert_eq!(g.read(0x304, 4), 1 << 13);
        g.write(C + 0x1000, 4, 45);
        assert_eq!(g.read(0x304, 4), 0);
    }

    #[test]
    fn sgis_with_sources() {
        let mut g = Gic::new(2);
        for cpu in 0..2 {
            g.dist_write(cpu, 0x000, 4, 1);
            g.cpu_write(cpu, 0x00, 4, 1);
            g.cpu_write(cpu, 0x04, 4, 0xff);
            g.dist_write(cpu, 0x100, 4, 0xffff);
        }
        // CPU 1 sends SGI 3 to the list {0}; CPU 0 sends SGI 3 to itself.
        g.dist_write(1, 0xf00, 4, (1 << 16) | 3);
        g.dist_write(0, 0xf00, 4, (2 << 24) | 3);
        assert!(g.irq_asserted(0) && !g.irq_asserted(1));
        assert_eq!(g.dist_read(0, 0xf23, 1), 0b11); // SPENDSGIR: sources 0 and 1
        assert_eq!(g.dist_read(0, 0x200, 4), 1 << 3);
        assert_eq!(g.cpu_read(0, 0x0c, 4), 3); // source 0 first
        assert_eq!(g.dist_read(0, 0xf23, 1), 0b10);
        g.cpu_write(0, 0x10, 4, 3);
        assert_eq!(g.cpu_read(0, 0x0c, 4), 3 | (1 << 10));
        g.cpu_write(0, 0x10, 4, 3 | (1 << 10));
        assert!(!g.irq_asserted(0));
        // "All but self" from CPU 0 reaches CPU 1 only.
        g.dist_write(0, 0xf00, 4, (1 << 24) | 5);
        assert!(!g.irq_asserted(0) && g.irq_asserted(1));
        assert_eq!(g.cpu_read(1, 0x18, 4), 5);
        // CPENDSGIR clears it; SPENDSGIR sets it; bits of absent CPUs are ignored.
        g.dist_write(1, 0xf15, 1, 0xff);
        assert!(!g.irq_asserted(1));
        g.dist_write(1, 0xf27, 1, 0xff);
        assert_eq!(g.dist_read(1, 0xf24, 4), 0x0300_0000);
        // ISPENDR/ICPENDR bits of SGIs are WI.
        g.dist_write(1, 0x280, 4, 0xffff);
        assert_eq!(g.dist_read(1, 0x200, 4), 1 << 7);
        g.dist_write(0, 0x200, 4, 0xffff);
        assert_eq!(g.dist_read(0, 0x200, 4), 0);
    }

    #[test]
    fn banked_ppis() {
        let mut g = Gic::new(2);
        for cpu in 0..2 {
            g.dist_write(cpu, 0x000, 4, 1);
            g.cpu_write(cpu, 0x00, 4, 1);
            g.cpu_write(cpu, 0x04, 4, 0xf0);
        }
        g.dist_write(1, 0x100, 4, 1 << 27);
        g.dist_write(1, 0x400 + 27, 1, 0xa0);
        assert_eq!(g.dist_read(0, 0x100, 4), 0);
        assert_eq!(g.dist_read(1, 0x100, 4), 1 << 27);
        assert_eq!(g.dist_read(0, 0x41b, 1), 0);
        g.set_ppi_level(0, 27, true);
        assert!(!g.irq_asserted(0) && !g.irq_asserted(1)); // disabled on CPU 0
        g.set_ppi_level(1, 27, true);
        assert!(g.irq_asserted(1));
        assert_eq!(g.cpu_read(1, 0x0c, 4), 27);
        g.set_ppi_level(1, 27, false);
        g.cpu_write(1, 0x10, 4, 27);
        assert!(!g.irq_asserted(1));
    }

    #[test]
    fn itargetsr() {
        let mut g = Gic::new(1);
        // SGI/PPI bytes read as the reader's bit and ignore writes.
        assert_eq!(g.read(0x800, 4), 0x0101_0101);
        assert_eq!(g.read(0x81c, 4), 0x0101_0101);
        g.write(0x800, 4, 0);
        assert_eq!(g.read(0x800, 1), 1);
        // SPIs: only existing CPUs' bits stick; byte and word access agree.
        g.write(0x820, 4, 0xffff_ffff);
        assert_eq!(g.read(0x820, 4), 0x0101_0101);
        g.write(0x821, 1, 0);
        assert_eq!(g.read(0x820, 4), 0x0101_0001);
        assert_eq!(g.read(0x823, 1), 1);
        let g3 = &mut Gic::new(3);
        g3.dist_write(0, 0x830, 4, 0xffff_ffff);
        assert_eq!(g3.dist_read(0, 0x830, 4), 0x0707_0707);
        assert_eq!(g3.dist_read(2, 0x804, 4), 0x0404_0404);
        // Beyond ID 287: RAZ/WI.
        g.write(0x920, 4, 0xffff_ffff);
        assert_eq!(g.read(0x920, 4), 0);
    }

    #[test]
    fn groups_fiq_and_ackctl() {
        let mut g = gic();
        enable(&mut g, 60, 0x40);
        g.write(0x084, 4, 1 << 28); // IGROUPR1: ID 60 in Group 1
        assert_eq!(g.read(0x084, 4), 1 << 28);
        g.set_spi_level(60, true);
        assert!(!g.irq_asserted(0)); // Group 1 disabled in GICD_CTLR
        g.write(0x000, 4, 3);
        assert!(!g.irq_asserted(0)); // ... and at the CPU interface
        g.write(C, 4, 3);
        assert!(g.irq_asserted(0));
        assert_eq!(iar(&mut g), 1022); // AckCtl = 0
        assert_eq!(g.read(C + 0x18, 4), 1022);
        g.write(C, 4, 3 | CTLR_ACKCTL as u64);
        assert_eq!(iar(&mut g), 60);
        g.set_spi_level(60, false);
        eoi(&mut g, 60);
        // Group 0 with FIQEn goes to the FIQ output.
        g.write(C, 4, 3 | CTLR_FIQEN as u64);
        enable(&mut g, 61, 0x40);
        g.set_spi_level(61, true);
        assert!(g.fiq_asserted(0) && !g.irq_asserted(0));
    }

    #[test]
    fn outputs_and_irq_sink() {
        let g = Arc::new(Mutex::new(gic()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        bus::lock(&g).connect_cpu(
            0,
            Box::new(move |irq, fiq| s.lock().unwrap().push((irq, fiq))),
        );
        enable(&mut bus::lock(&g), 33, 0x80);
        let line = bus::IrqLine::new(g.clone(), 33);
        line.raise();
        line.raise();
        let id = bus::lock(&g).read(C + 0x0c, 4);
        assert_eq!(id, 33);
        line.lower();
        bus::lock(&g).write(C + 0x10, 4, id);
        assert_eq!(
            *seen.lock().unwrap(),
            [(false, false), (true, false), (false, false)]
        );
        // PPIs and SGIs cannot be driven through the SPI sink.
        g.set_level(27, true);
        g.set_level(5000, true);
        assert!(!bus::lock(&g).irq_asserted(0));
    }

    #[test]
    fn byte_and_odd_accesses_never_panic() {
        let mut g = Gic::new(1);
        for off in (0..MMIO_SIZE).step_by(0x3f) {
            for size in [1u8, 2, 4, 8] {
                g.write(off, size, 0x5a5a_5a5a_5a5a_5a5a);
                g.read(off, size);
            }
        }
        // Sub-word writes of set/enable registers only touch their lanes.
        let mut g = Gic::new(1);
        g.write(0x105, 1, 0x01);
        assert_eq!(g.read(0x104, 4), 1 << 8);
        g.write(0x084, 2, 0xffff);
        assert_eq!(g.read(0x084, 4), 0xffff);
    }
}
