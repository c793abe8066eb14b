//! The system memory lowering end to end, without the run loop: hand-encoded A64 words
//! run through an [`Engine`] built with [`SysLowering`], on a test vCPU shaped like
//! system mode's (`#[repr(C)] { cpu: Cpu, mmu: Mmu }`), with RAM holding page tables
//! and a recording device on the bus.
//!
//! The syndromes expected here were checked against qemu-system-aarch64 7.2 `-M virt
//! -cpu max`, running a bare-metal program that does the same accesses with the MMU on
//! and prints ESR_EL1/FAR_EL1 from its vector: a load crossing into a page with AF = 0
//! (0x9600000b, FAR = the second page's first byte), a store to a read-only page
//! (0x9600004f), a store crossing into one (FAR = that page's start), STTR at EL1 to
//! an EL1-only page (0x9600004f), a level-3 translation fault (0x96000007), a
//! misaligned LDXR (0x96000021), LDADD, CAS and DC ZVA on a read-only page (0x9600004f;
//! DC ZVA's FAR is its operand), loads from unassigned physical memory (0x96000010) and
//! fetches from it (0x86000010), and PAR_EL1 after AT (except SH for Device memory,
//! where QEMU 7.2 reports the descriptor's SH and the Arm ARM, followed here, 0b10).

use std::sync::{Arc, Mutex};

use super::lower::SysLowering;
use super::{Mmu, MmuReg, MMU_OFFSET, SCTLR_M};
use crate::arm64::cpu::{Cpu, Exception, VReg};
use crate::arm64::lift::CpuFeatures;
use crate::engine::{Engine, Exit, Fetch};
use crate::ir::Ctx;
use crate::system::bus::{Bus, MmioDevice};
use crate::system::memory::{Ram, RAM_BASE};

#[repr(C)]
struct TestCpu {
    cpu: Cpu,
    mmu: Mmu,
}

const CODE: u64 = 0xffff_0000_0800_0000;
const END_BRK: u32 = 0xd420_0000 | (0xf00 << 5);
const DEV: u64 = 0x0900_0000;

/// A device that logs writes and answers reads with `0x5a00 + offset` (per size).
#[derive(Default)]
struct Recorder {
    log: Vec<(u64, u8, u64)>,
}

impl MmioDevice for Recorder {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        self.log.push((offset, size, u64::MAX));
        0x5a00 + offset
    }
    fn write(&mut self, offset: u64, size: u8, value: u64) {
        self.log.push((offset, size, value));
    }
}

struct Words<'a> {
    words: &'a [u32],
    ctx: Ctx,
}

impl Fetch for Words<'_> {
    fn fetch(&mut self, pc: u64) -> Option<u32> {
        let i = (pc.checked_sub(CODE)? / 4) as usize;
        match i.cmp(&self.words.len()) {
            std::cmp::Ordering::Less => Some(self.words[i]),
            std::cmp::Ordering::Equal => Some(END_BRK),
            std::cmp::Ordering::Greater => None,
        }
    }
    fn context(&mut self, _pc: u64) -> Ctx {
        self.ctx
    }
}

/// Instruction fetch through the MMU, as system mode's run loop does it.
struct MemFetch {
    tc: *mut TestCpu,
    el: u8,
}

impl MemFetch {
    fn mmu(&mut self) -> &mut Mmu {
        // SAFETY: see `Machine::run_at`.
        unsafe { &mut (*self.tc).mmu }
    }
}

impl Fetch for MemFetch {
    fn fetch(&mut self, pc: u64) -> Option<u32> {
        self.mmu().fetch(pc).ok().map(|(_, w)| w)
    }
    fn context(&mut self, _pc: u64) -> Ctx {
        Ctx::default().with_el(self.el)
    }
    fn code_page(&mut self, pc: u64) -> u64 {
        self.mmu().code_page(pc)
    }
    fn icache_page(&mut self, va: u64) -> Option<u64> {
        Some(self.mmu().icache_page(va))
    }
}

// Descriptor bits.
const VALID_TABLE: u64 = 0b11;
const PAGE: u64 = 0b11 | AF | (3 << 8);
const AF: u64 = 1 << 10;
const NG: u64 = 1 << 11;
const AP_EL0: u64 = 1 << 6;
const AP_RO: u64 = 1 << 7;
const UXN: u64 = 1 << 54;
const PXN: u64 = 1 << 53;

/// 48-bit VAs in both halves, 4K granules, 48-bit IPS.
const TCR: u64 = 16 | (16 << 16) | (0b10 << 30) | (5 << 32);

/// Kernel and user VAs the tests map.
const K: u64 = 0xffff_0000_1000_0000;
const U: u64 = 0x0000_0000_0040_0000;

struct Machine {
    cpu: Box<TestCpu>,
    engine: Arc<Engine>,
    dev: Arc<Mutex<Recorder>>,
    /// Next free page for page tables.
    next_table: u64,
    root0: u64,
    root1: u64,
    ram: Ram,
}

impl Machine {
    fn new() -> Machine {
        assert_eq!(std::mem::offset_of!(TestCpu, mmu), MMU_OFFSET);
        let ram = Ram::new(16 << 20).unwrap();
        let dev = Arc::new(Mutex::new(Recorder::default()));
        let mut bus = Bus::new();
        bus.map(DEV, 0x1000, "recorder", dev.clone()).unwrap();
        // SAFETY: `ram` lives in the Machine as long as the Mmu (fields drop after use).
        let mmu = unsafe { Mmu::new(&ram, Arc::new(bus)) };
        let cpu = Box::new(TestCpu {
            cpu: *Cpu::new(),
            mmu,
        });
        let engine = Arc::new(Engine::new(CpuFeatures::default(), Box::new(SysLowering)).unwrap());
        let mut cpu = cpu;
        cpu.mmu.attach(engine.clone());
        let mut m = Machine {
            cpu,
            engine,
            dev,
            next_table: RAM_BASE + 0x80_0000,
            root0: 0,
            root1: 0,
            ram,
        };
        m.root0 = m.table();
        m.root1 = m.table();
        m
    }

    fn table(&mut self) -> u64 {
        let t = self.next_table;
        self.next_table += 0x1000;
        t
    }

    /// Maps the page of `va` to `desc` (a leaf descriptor with its output address),
    /// creating tables; returns the physical address of the leaf entry.
    fn map(&mut self, va: u64, desc: u64) -> u64 {
        let mut table = if va >> 63 != 0 {
            self.root1
        } else {
            self.root0
        };
        for level in 0..3 {
            let e = table + ((va >> (39 - 9 * level)) & 0x1ff) * 8;
            let d = self.ram.read_u64(e).unwrap();
            table = if d & 1 != 0 {
                d & 0x0000_ffff_ffff_f000
            } else {
                let t = self.table();
                self.ram.write_u64(e, t | VALID_TABLE).unwrap();
                t
            };
        }
        let e = table + ((va >> 12) & 0x1ff) * 8;
        self.ram.write_u64(e, desc).unwrap();
        e
    }

    /// MMU on with the test tables, ASID 0.
    fn mmu_on(&mut self) {
        let (r0, r1) = (self.root0, self.root1);
        let mmu = &mut self.cpu.mmu;
        mmu.write_reg(MmuReg::Tcr, TCR);
        mmu.write_reg(MmuReg::Ttbr0, r0);
        mmu.write_reg(MmuReg::Ttbr1, r1);
        mmu.write_reg(MmuReg::Sctlr, SCTLR_M);
    }

    fn run(&mut self, el: u8, words: &[u32]) -> Exit {
        self.cpu.mmu.el = el;
        self.engine.invalidate(0, u64::MAX);
        self.cpu.cpu.pc = CODE;
        let mut f = Words {
            words,
            ctx: Ctx::default().with_el(el),
        };
        self.engine.run(&mut self.cpu.cpu, &mut f)
    }

    /// Runs the code in guest memory at `pc` (fetched through the MMU, blocks keyed by
    /// code page, as the run loop does) until an exit.
    fn run_at(&mut self, el: u8, pc: u64) -> Exit {
        self.cpu.mmu.el = el;
        self.cpu.cpu.pc = pc;
        let tc: *mut TestCpu = &mut *self.cpu;
        let mut f = MemFetch { tc, el };
        // SAFETY: `tc` is the live test vCPU; the fetch callbacks touch its Mmu only
        // between blocks, while generated code is not running.
        self.engine.run(unsafe { &mut (*tc).cpu }, &mut f)
    }

    /// Writes instruction words to physical `pa` (as a loader would, not through the
    /// MMU).
    fn code(&mut self, pa: u64, words: &[u32]) {
        for (i, w) in words.iter().enumerate() {
            self.ram.write(pa + 4 * i as u64, &w.to_le_bytes()).unwrap();
        }
    }

    fn run_ok(&mut self, el: u8, words: &[u32]) {
        let e = self.run(el, words);
        assert_eq!(
            e,
            Exit::Brk(0xf00),
            "stopped early at pc {:#x}",
            self.cpu.cpu.pc
        );
    }

    /// Runs `words`, expecting a data abort at word `at`; returns it. Guest registers
    /// must be those before the faulting instruction (compared against `before`).
    fn run_fault(&mut self, el: u8, words: &[u32], at: usize) -> Exception {
        let e = self.run(el, words);
        let Exit::Exception(x) = e else {
            panic!(
                "expected an exception, got {e:?} at pc {:#x}",
                self.cpu.cpu.pc
            )
        };
        assert_eq!(self.cpu.cpu.pc, CODE + 4 * at as u64, "faulting pc");
        x
    }

    fn x(&self, r: usize) -> u64 {
        self.cpu.cpu.x[r]
    }

    fn set_x(&mut self, r: usize, v: u64) {
        self.cpu.cpu.x[r] = v;
    }
}

#[test]
fn layout() {
    assert_eq!(MMU_OFFSET, std::mem::size_of::<Cpu>());
    assert_eq!(std::mem::offset_of!(Mmu, tlb), 0);
}

/// Every access size and kind, MMU off (flat): RAM at its physical address.
#[test]
fn mmu_off_all_sizes() {
    let mut m = Machine::new();
    let a = RAM_BASE + 0x1_0000;
    m.set_x(1, a);
    m.set_x(0, 0x8182_8384_8586_8788);
    m.set_x(9, 0x1111_2222_3333_4444);
    m.cpu.cpu.v[0] = VReg([0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908]);
    m.run_ok(
        1,
        &[
            0x3900_0420, // strb w0, [x1, #1]
            0x7900_0420, // strh w0, [x1, #2]
            0xb900_0420, // str w0, [x1, #4]
            0xf900_0420, // str x0, [x1, #8]
            0x3940_0422, // ldrb w2, [x1, #1]
            0x3980_0423, // ldrsb x3, [x1, #1]
            0x7940_0424, // ldrh w4, [x1, #2]
            0x79c0_0425, // ldrsh w5, [x1, #2]
            0xb940_0426, // ldr w6, [x1, #4]
            0xb980_0427, // ldrsw x7, [x1, #4]
            0xf940_0428, // ldr x8, [x1, #8]
            0xa901_2420, // stp x0, x9, [x1, #16]
            0xa941_2c2a, // ldp x10, x11, [x1, #16]
            0x3d80_0820, // str q0, [x1, #32]
            0x3dc0_0821, // ldr q1, [x1, #32]
            0xfd40_0422, // ldr d2, [x1, #8]
            0xbd40_0423, // ldr s3, [x1, #4]
            0x7d40_0424, // ldr h4, [x1, #2]
            0x3d40_0425, // ldr b5, [x1, #1]
        ],
    );
    let c = &m.cpu.cpu;
    assert_eq!(c.x[2], 0x88);
    assert_eq!(c.x[3], 0xffff_ffff_ffff_ff88);
    assert_eq!(c.x[4], 0x8788);
    assert_eq!(c.x[5], 0xffff_8788, "ldrsh w: sign-extended to 32 bits");
    assert_eq!(c.x[6], 0x8586_8788);
    assert_eq!(c.x[7], 0xffff_ffff_8586_8788);
    assert_eq!(c.x[8], 0x8182_8384_8586_8788);
    assert_eq!((c.x[10], c.x[11]), (c.x[0], c.x[9]));
    assert_eq!(c.v[1], c.v[0]);
    assert_eq!(c.v[2], VReg([0x8182_8384_8586_8788, 0]));
    assert_eq!(c.v[3], VReg([0x8586_8788, 0]));
    assert_eq!(c.v[4], VReg([0x8788, 0]));
    assert_eq!(c.v[5], VReg([0x88, 0]));
    assert_eq!(m.ram.read_u64(a + 8), Ok(0x8182_8384_8586_8788));
    assert_eq!(m.ram.read_u64(a + 32), Ok(0x0706_0504_0302_0100));
}

/// Device accesses reach the bus with their size; an unassigned physical address is
/// a synchronous external abort (ESR 0x96000010 at EL1, as qemu-system-aarch64 -M virt
/// reports for a load from 0x0b000000) with the registers untouched.
#[test]
fn mmio_and_unassigned() {
    let mut m = Machine::new();
    m.set_x(1, DEV);
    m.set_x(0, 0xdead_beef_cafe_f00d);
    m.run_ok(
        1,
        &[
            0xb900_0420, // str w0, [x1, #4]
            0xb940_0822, // ldr w2, [x1, #8]
            0x3900_0420, // strb w0, [x1, #1]
            0xf900_0420, // str x0, [x1, #8]
            0x3dc0_0821, // ldr q1, [x1, #32]
        ],
    );
    assert_eq!(m.x(2), 0x5a08);
    assert_eq!(m.cpu.cpu.v[1], VReg([0x5a20, 0x5a28]));
    assert_eq!(
        m.dev.lock().unwrap().log,
        [
            (4, 4, 0xcafe_f00d),
            (8, 4, u64::MAX),
            (1, 1, 0x0d),
            (8, 8, 0xdead_beef_cafe_f00d),
            (32, 8, u64::MAX),
            (40, 8, u64::MAX)
        ]
    );
    // Unassigned: loads and stores, registers as before.
    m.set_x(1, 0x0b00_0000);
    m.set_x(2, 77);
    let e = m.run_fault(1, &[0xd280_0023, 0xf840_8422], 1); // mov x3, #1; ldr x2, [x1], #8
    assert_eq!((e.esr, e.far), (0x9600_0010, 0x0b00_0000));
    assert_eq!((m.x(1), m.x(2), m.x(3)), (0x0b00_0000, 77, 1));
    let e = m.run_fault(1, &[0xb900_0420], 0); // str w0, [x1, #4]
    assert_eq!((e.esr, e.far), (0x9600_0050, 0x0b00_0004));
    // From EL0: EC 0x24.
    let e = m.run_fault(0, &[0xb900_0420], 0);
    assert_eq!((e.esr, e.far), (0x9200_0050, 0x0b00_0004));
    // Beyond RAM and beyond the PA range (address-size fault, level 0).
    m.set_x(1, RAM_BASE + (16 << 20));
    let e = m.run_fault(1, &[0xf940_0022], 0); // ldr x2, [x1]
    assert_eq!(e.esr, 0x9600_0010);
    m.set_x(1, 1 << 48);
    let e = m.run_fault(1, &[0xf940_0022], 0);
    assert_eq!(e.esr, 0x9600_0000);
}

/// Physical pages the MMU-on tests map.
const P1: u64 = RAM_BASE + 0x20_0000;
const P2: u64 = RAM_BASE + 0x30_0000;
const P3: u64 = RAM_BASE + 0x40_0000;

/// MMU on at EL1: loads and stores through a kernel mapping, an EL0 mapping, and the
/// faults (translation by level, access flag, permission) with exact ESR and FAR and
/// the registers as before the instruction.
#[test]
fn mmu_on_el1_faults_are_precise() {
    let mut m = Machine::new();
    m.map(K, P1 | PAGE | UXN);
    m.map(K + 0x1000, P2 | PAGE | AP_RO | UXN);
    m.map(K + 0x2000, (P3 | PAGE) & !AF);
    m.map(U, P3 | PAGE | AP_EL0 | NG | PXN);
    m.mmu_on();
    m.set_x(1, K + 0x10);
    m.set_x(0, 0x0123_4567_89ab_cdef);
    m.run_ok(1, &[0xf900_0420, 0xf940_0428]); // str x0, [x1, #8]; ldr x8, [x1, #8]
    assert_eq!(m.x(8), 0x0123_4567_89ab_cdef);
    assert_eq!(m.ram.read_u64(P1 + 0x18), Ok(0x0123_4567_89ab_cdef));
    // Now cached: the same accesses complete inline, without the slow path.
    let (slow, walks) = (m.cpu.mmu.stats.slow, m.cpu.mmu.stats.walks);
    m.run_ok(1, &[0xf900_0420, 0xf940_0428, 0x3940_0422]);
    assert_eq!((m.cpu.mmu.stats.slow, m.cpu.mmu.stats.walks), (slow, walks));
    // A store to the read-only page: permission fault, level 3, WnR.
    m.set_x(1, K + 0x1008);
    let e = m.run_fault(1, &[0xd280_0023, 0xf900_0420], 1); // mov x3, #1; str x0, [x1, #8]
    assert_eq!((e.esr, e.far), (0x9600_004f, K + 0x1010));
    assert_eq!(m.x(3), 1, "instructions before the fault completed");
    // Reading it is fine.
    m.run_ok(1, &[0xf940_0428]);
    // Access flag clear: access-flag fault, level 3.
    m.set_x(1, K + 0x2000);
    m.set_x(2, 5);
    let e = m.run_fault(1, &[0xf840_8422], 0); // ldr x2, [x1], #8
    assert_eq!((e.esr, e.far), (0x9600_000b, K + 0x2000));
    assert_eq!((m.x(1), m.x(2)), (K + 0x2000, 5), "no writeback, no load");
    // Unmapped page in a present level-3 table: level-3 translation fault.
    m.set_x(1, K + 0x3000);
    let e = m.run_fault(1, &[0xf940_0022], 0);
    assert_eq!((e.esr, e.far), (0x9600_0007, K + 0x3000));
    // No level-1 table: level-1 translation fault (level 0 exists for the half).
    m.set_x(1, K + (1 << 39) * 3);
    let e = m.run_fault(1, &[0xf940_0022], 0);
    assert_eq!(e.esr, 0x9600_0004, "level-0 translation fault");
    m.set_x(1, K + (1 << 30));
    let e = m.run_fault(1, &[0xf940_0022], 0);
    assert_eq!(e.esr, 0x9600_0005, "level-1 translation fault");
    // A non-canonical address: level-0 translation fault.
    m.set_x(1, 0x00ff_0000_0000_0000);
    let e = m.run_fault(1, &[0xf900_0020], 0);
    assert_eq!((e.esr, e.far), (0x9600_0044, 0x00ff_0000_0000_0000));
    // The EL0 page from EL1 (no PAN): readable and writable.
    m.set_x(1, U);
    m.run_ok(1, &[0xf900_0020, 0xf940_0022]);
    assert_eq!(m.x(2), m.x(0));
}

/// Code at EL0: EL1-only pages fault with EC 0x24; EL0 pages work; the TLB keeps the
/// two indexes apart.
#[test]
fn el0_permissions() {
    let mut m = Machine::new();
    m.map(K, P1 | PAGE);
    m.map(U, P3 | PAGE | AP_EL0 | NG);
    m.map(U + 0x1000, P2 | PAGE | AP_EL0 | AP_RO | NG);
    m.mmu_on();
    m.set_x(0, 42);
    m.set_x(1, U);
    m.run_ok(0, &[0xf900_0020, 0xf940_0022]); // str x0, [x1]; ldr x2, [x1]
    assert_eq!(m.x(2), 42);
    m.set_x(1, K);
    let e = m.run_fault(0, &[0xf940_0022], 0);
    assert_eq!((e.esr, e.far), (0x9200_000f, K));
    m.run_ok(1, &[0xf940_0022]); // the same access at EL1 is allowed
    m.set_x(1, U + 0x1000);
    let e = m.run_fault(0, &[0xf900_0020], 0);
    assert_eq!((e.esr, e.far), (0x9200_004f, U + 0x1000));
    m.run_ok(0, &[0xf940_0022]);
}

/// Accesses that cross a page: both halves from their own physical pages; a fault in
/// the second page (FAR = its first byte) leaves the first untouched.
#[test]
fn page_crossing() {
    let mut m = Machine::new();
    m.map(K, P2 | PAGE);
    m.map(K + 0x1000, P1 | PAGE);
    m.map(K + 0x2000, (P3 | PAGE) & !AF);
    m.mmu_on();
    m.ram.write_u64(P2 + 0xff8, 0x1111_1111_4433_2211).unwrap();
    m.ram.write_u64(P1, 0x2222_2222_8877_6655).unwrap();
    m.set_x(1, K + 0x1000);
    m.run_ok(1, &[0xf85f_c022]); // ldur x2, [x1, #-4]
    assert_eq!(m.x(2), 0x8877_6655_1111_1111);
    m.set_x(0, 0xaabb_ccdd_eeff_0011);
    m.run_ok(1, &[0xf81f_c020]); // stur x0, [x1, #-4]
    assert_eq!(m.ram.read_u64(P2 + 0xff8), Ok(0xeeff_0011_4433_2211));
    assert_eq!(m.ram.read_u64(P1), Ok(0x2222_2222_aabb_ccdd));
    // Vector pair across the page.
    m.set_x(1, K + 0xff0);
    m.cpu.cpu.v[0] = VReg([1, 2]);
    m.cpu.cpu.v[1] = VReg([3, 4]);
    m.run_ok(1, &[0xad00_0420, 0xad40_1c26]); // stp q0, q1, [x1]; ldp q6, q7, [x1]
    assert_eq!(
        (m.cpu.cpu.v[6], m.cpu.cpu.v[7]),
        (VReg([1, 2]), VReg([3, 4]))
    );
    assert_eq!(m.ram.read_u64(P1 + 8), Ok(4));
    // Into the access-flag page: nothing is written.
    m.set_x(1, K + 0x2000);
    let before = m.ram.read_u64(P1 + 0xff8).unwrap();
    let e = m.run_fault(1, &[0xf81f_c020], 0); // stur x0, [x1, #-4]
    assert_eq!((e.esr, e.far), (0x9600_004b, K + 0x2000));
    assert_eq!(m.ram.read_u64(P1 + 0xff8), Ok(before));
}

/// The TLB caches translations until a TLBI (or a register change) drops them.
#[test]
fn tlb_refill_after_tlbi() {
    let mut m = Machine::new();
    let pte = m.map(K, P1 | PAGE);
    m.mmu_on();
    m.ram.write_u64(P1, 1).unwrap();
    m.ram.write_u64(P2, 2).unwrap();
    m.set_x(1, K);
    m.run_ok(1, &[0xf940_0022]);
    assert_eq!(m.x(2), 1);
    m.ram.write_u64(pte, P2 | PAGE).unwrap();
    m.run_ok(1, &[0xf940_0022]);
    assert_eq!(m.x(2), 1, "the stale translation is still cached");
    // TLBI VAAE1, Xt = VA[55:12]: op1 0, CRm 7, op2 3.
    assert!(m.cpu.mmu.tlbi(7 << 3 | 3, (K >> 12) & ((1 << 44) - 1)));
    m.run_ok(1, &[0xf940_0022]);
    assert_eq!(m.x(2), 2);
    // Unmapped: the next access walks and faults; a VMALLE1 after remapping refills.
    m.ram.write_u64(pte, 0).unwrap();
    assert!(m.cpu.mmu.tlbi(3 << 3, 0)); // TLBI VMALLE1IS
    assert_eq!(m.run_fault(1, &[0xf940_0022], 0).esr, 0x9600_0007);
    m.ram.write_u64(pte, P3 | PAGE).unwrap();
    m.ram.write_u64(P3, 3).unwrap();
    m.run_ok(1, &[0xf940_0022]);
    assert_eq!(m.x(2), 3, "faults are not cached");
    assert!(
        !m.cpu.mmu.tlbi(1 << 3, 0),
        "outer-shareable forms are not implemented"
    );
    // Turning the MMU off flushes: the VA is now a physical address (beyond the PA range).
    m.cpu.mmu.write_reg(MmuReg::Sctlr, 0);
    assert_eq!(m.run_fault(1, &[0xf940_0022], 0).esr, 0x9600_0000);
}

/// LDTR/STTR and their variants at EL1 use EL0 permissions (EC stays 0x25: the
/// exception is taken from EL1); at EL0 they are ordinary accesses.
#[test]
fn unprivileged_accesses() {
    let mut m = Machine::new();
    m.map(K, P1 | PAGE);
    m.map(U, P3 | PAGE | AP_EL0 | NG);
    m.map(U + 0x1000, P2 | PAGE | AP_EL0 | AP_RO | NG);
    m.mmu_on();
    m.set_x(0, 0x8765_4321);
    m.set_x(1, U);
    m.run_ok(
        1,
        &[
            0xf800_0820, // sttr x0, [x1]
            0x7800_0820, // sttrh w0, [x1]
            0x3840_0822, // ldtrb w2, [x1]
            0xb880_0823, // ldtrsw x3, [x1]
        ],
    );
    assert_eq!((m.x(2), m.x(3)), (0x21, 0xffff_ffff_8765_4321));
    m.set_x(1, K);
    m.set_x(2, 9);
    let e = m.run_fault(1, &[0xf840_0822], 0); // ldtr x2, [x1]
    assert_eq!((e.esr, e.far, m.x(2)), (0x9600_000f, K, 9));
    m.run_ok(1, &[0xf940_0022]); // ldr x2, [x1]: allowed at EL1
    m.set_x(1, U + 0x1000);
    let e = m.run_fault(1, &[0xf800_0820], 0); // sttr to the EL0 read-only page
    assert_eq!(e.esr, 0x9600_004f);
    m.run_ok(1, &[0xf840_0822]);
    // The same words at EL0.
    let e = m.run_fault(0, &[0xf800_0820], 0);
    assert_eq!(e.esr, 0x9200_004f);
}

/// Exclusives, atomics and DC ZVA translate through the same TLB and fault the same
/// way (the helpers' door).
#[test]
fn helpers_translate() {
    let mut m = Machine::new();
    m.map(K, P1 | PAGE);
    m.map(K + 0x1000, P2 | PAGE | AP_RO);
    m.map(K + 0x2000, DEV | PAGE);
    m.mmu_on();
    m.ram.write_u64(P1 + 0x40, 10).unwrap();
    m.set_x(1, K + 0x40);
    m.set_x(0, 5);
    m.run_ok(
        1,
        &[
            0xc85f_7c22, // ldxr x2, [x1]
            0xc803_7c20, // stxr w3, x0, [x1]
            0xf820_0025, // ldadd x0, x5, [x1]
        ],
    );
    assert_eq!((m.x(2), m.x(3), m.x(5)), (10, 0, 5));
    assert_eq!(m.ram.read_u64(P1 + 0x40), Ok(10));
    m.run_ok(1, &[0xd50b_7421]); // dc zva, x1
    assert_eq!(m.ram.read_u64(P1 + 0x40), Ok(0));
    // Read-only page: CAS and DC ZVA take a permission fault with WnR.
    m.set_x(1, K + 0x1008);
    let e = m.run_fault(1, &[0xc8e0_fc24], 0); // casal x0, x4, [x1]
    assert_eq!((e.esr, e.far), (0x9600_004f, K + 0x1008));
    let e = m.run_fault(1, &[0xd50b_7421], 0);
    assert_eq!(
        (e.esr, e.far),
        (0x9600_004f, K + 0x1008),
        "FAR: the operand"
    );
    m.run_ok(1, &[0xc85f_7c22]); // ldxr reads it
                                 // Misaligned: an alignment fault before any translation, by EL; the monitor is
                                 // cleared.
    m.set_x(1, K + 0x3004);
    let e = m.run_fault(1, &[0xc85f_7c22], 0); // ldxr x2, [x1]
    assert_eq!((e.esr, e.far), (0x9600_0021, K + 0x3004));
    let e = m.run_fault(0, &[0xf820_0025], 0); // ldadd x0, x5, [x1]
    assert_eq!((e.esr, e.far), (0x9200_0061, K + 0x3004));
    assert_eq!(m.cpu.cpu.monitor.addr, u64::MAX);
    // Atomics on a device: external abort.
    m.set_x(1, K + 0x2000);
    let e = m.run_fault(1, &[0xf820_0025], 0);
    assert_eq!(e.esr, 0x9600_0050);
}

/// Instruction fetch: exec permission by EL, instruction aborts.
#[test]
fn fetch_permissions() {
    let mut m = Machine::new();
    m.map(K, P1 | PAGE | UXN);
    m.map(U, P3 | PAGE | AP_EL0 | NG | PXN);
    m.map(K + 0x1000, P2 | PAGE | AP_EL0 | NG); // EL0-writable: implicitly PXN
    m.map(K + 0x2000, DEV | PAGE);
    m.mmu_on();
    m.ram.write(P1 + 8, &0xd503_201fu32.to_le_bytes()).unwrap();
    let mmu = &mut m.cpu.mmu;
    mmu.el = 1;
    assert_eq!(mmu.fetch(K + 8), Ok((P1 + 8, 0xd503_201f)));
    assert_eq!(mmu.fetch(U).unwrap_err(), Exception::new(0x21, 0x0f, U));
    assert_eq!(mmu.fetch(K + 0x1000).unwrap_err().esr, 0x8600_000f);
    assert_eq!(mmu.fetch(K + 0x3000).unwrap_err().esr, 0x8600_0007);
    assert_eq!(mmu.fetch(K + 0x2000).unwrap_err().esr, 0x8600_0010);
    mmu.el = 0;
    assert_eq!(mmu.fetch(U).map(|f| f.0), Ok(P3));
    assert_eq!(
        mmu.fetch(K + 8).unwrap_err(),
        Exception::new(0x20, 0x0f, K + 8)
    );
    // MMU off: flat, executable.
    mmu.write_reg(MmuReg::Sctlr, 0);
    mmu.el = 1;
    assert_eq!(mmu.fetch(P1 + 8), Ok((P1 + 8, 0xd503_201f)));
}

/// AT S1E1R/W and S1E0R/W give PAR_EL1: the PA with attributes, or the fault.
#[test]
fn address_translation_instructions() {
    let mut m = Machine::new();
    m.map(K, P1 | PAGE | (1 << 2)); // AttrIndx 1
    m.map(U, P3 | PAGE | AP_EL0 | AP_RO | NG);
    m.map(K + 0x1000, (P2 | PAGE) & !AF);
    m.mmu_on();
    m.cpu.mmu.write_reg(MmuReg::Mair, 0xff00); // attr 0: Device-nGnRnE, attr 1: Normal WB
    let at = |m: &mut Machine, op2: u32, va: u64| m.cpu.mmu.at(8 << 3 | op2, va).unwrap();
    assert_eq!(at(&mut m, 0, K + 0x123), 0xff00_0000_0000_0000 | P1 | 0xb80);
    assert_eq!(at(&mut m, 1, K), 0xff00_0000_0000_0000 | P1 | 0xb80);
    assert_eq!(
        at(&mut m, 2, K),
        0x800 | 1 | 0x0f << 1,
        "EL0 read of an EL1 page"
    );
    assert_eq!(
        at(&mut m, 2, U),
        P3 | 0xa00 | 0x100,
        "Device: SH reported as 0b10"
    );
    assert_eq!(
        at(&mut m, 3, U),
        0x800 | 1 | 0x0f << 1,
        "EL0 write of a read-only page"
    );
    assert_eq!(at(&mut m, 0, K + 0x1000), 0x800 | 1 | 0x0b << 1);
    assert_eq!(at(&mut m, 0, K + 0x2000), 0x800 | 1 | 0x07 << 1);
    assert_eq!(m.cpu.mmu.at(9 << 3, K), None, "S1E1RP needs PAN");
    m.cpu.mmu.write_reg(MmuReg::Sctlr, 0);
    assert_eq!(at(&mut m, 0, P2 + 8), P2 | 0xb00);
}

const MOV_X0_1: u32 = 0xd280_0020;
const MOV_X0_2: u32 = 0xd280_0040;
const MOV_X0_3: u32 = 0xd280_0060;
const STR_W5_X1: u32 = 0xb900_0025; // str w5, [x1]

/// A store into a page holding translated code drops its translations (no IC IVAU),
/// through the not-dirty write tags; later stores into it are inline again.
#[test]
fn stores_into_code_pages_invalidate() {
    let mut m = Machine::new();
    m.map(K, P1 | PAGE);
    m.map(K + 0x1000, P2 | PAGE);
    m.mmu_on();
    m.code(P1, &[MOV_X0_1, END_BRK]);
    m.code(P2, &[STR_W5_X1, END_BRK]);
    assert_eq!(m.run_at(1, K), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 1);
    assert_eq!(m.run_at(1, K), Exit::Brk(0xf00));
    let blocks = m.engine.stats().blocks;
    // Patch the first instruction through the MMU.
    m.set_x(1, K);
    m.set_x(5, MOV_X0_2 as u64);
    assert_eq!(m.run_at(1, K + 0x1000), Exit::Brk(0xf00));
    assert_eq!(m.cpu.mmu.stats.code_writes, 1);
    assert_eq!(m.run_at(1, K), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 2, "the old translation ran");
    assert_eq!(m.engine.stats().blocks, blocks + 2);
    // The page is code again (retranslated): the next store is caught too.
    m.set_x(5, MOV_X0_3 as u64);
    assert_eq!(m.run_at(1, K + 0x1000), Exit::Brk(0xf00));
    assert_eq!(m.run_at(1, K), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 3);
    assert_eq!(m.cpu.mmu.stats.code_writes, 2);
    // A store into the running block's own page is caught as well.
    m.set_x(1, K + 0x1000 + 8);
    assert_eq!(m.run_at(1, K + 0x1000), Exit::Brk(0xf00));
    assert_eq!(m.cpu.mmu.stats.code_writes, 3);
    // A data page: after the first (refilling) store, stores are inline.
    m.map(K + 0x2000, P3 | PAGE);
    m.set_x(1, K + 0x2000);
    assert_eq!(m.run_at(1, K + 0x1000), Exit::Brk(0xf00));
    let slow = m.cpu.mmu.stats.slow;
    assert_eq!(m.run_at(1, K + 0x1000), Exit::Brk(0xf00));
    assert_eq!(m.cpu.mmu.stats.slow, slow);
    assert_eq!(m.cpu.mmu.stats.code_writes, 3);
    let report = m.cpu.mmu.stats_report();
    assert!(report.contains(" 3 stores into code pages"), "{report}");
}

/// The kernel writes new code into a physical page through its own mapping (page-cache
/// reuse, module loading): the user mapping of that page sees it.
#[test]
fn code_written_through_an_alias() {
    let mut m = Machine::new();
    m.map(U, P1 | PAGE | AP_EL0 | AP_RO | NG);
    m.map(K, P1 | PAGE | UXN);
    m.map(K + 0x1000, P2 | PAGE);
    m.mmu_on();
    m.code(P1, &[MOV_X0_1, END_BRK]);
    m.code(P2, &[STR_W5_X1, END_BRK]);
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 1);
    m.set_x(1, K);
    m.set_x(5, MOV_X0_3 as u64);
    assert_eq!(m.run_at(1, K + 0x1000), Exit::Brk(0xf00));
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 3);
}

/// One VA, two physical pages over time (two processes' code at the same address):
/// each mapping runs its own code, and both translations stay cached.
#[test]
fn same_va_other_page() {
    let mut m = Machine::new();
    let pte = m.map(U, P1 | PAGE | AP_EL0 | AP_RO | NG);
    m.mmu_on();
    m.code(P1, &[MOV_X0_1, END_BRK]);
    m.code(P2, &[MOV_X0_2, END_BRK]);
    let tlbi_va = |m: &mut Machine| assert!(m.cpu.mmu.tlbi(3 << 3 | 3, U >> 12));
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 1);
    m.ram
        .write_u64(pte, P2 | PAGE | AP_EL0 | AP_RO | NG)
        .unwrap();
    tlbi_va(&mut m);
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 2);
    let blocks = m.engine.stats().blocks;
    m.ram
        .write_u64(pte, P1 | PAGE | AP_EL0 | AP_RO | NG)
        .unwrap();
    tlbi_va(&mut m);
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 1);
    assert_eq!(
        m.engine.stats().blocks,
        blocks,
        "P1's translation was reused"
    );
    // Unmapped: an instruction fetch fault, then mapped again: runs.
    m.ram.write_u64(pte, 0).unwrap();
    tlbi_va(&mut m);
    assert_eq!(m.run_at(0, U), Exit::FetchFault(U));
    m.ram
        .write_u64(pte, P2 | PAGE | AP_EL0 | AP_RO | NG)
        .unwrap();
    tlbi_va(&mut m);
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 2);
}

/// Direct branches chain only within a page; an indirect branch's table entry is
/// dropped by a TLB invalidation, so a remapped target page runs its new code.
#[test]
fn chaining_and_indirect_branches_respect_pages() {
    let mut m = Machine::new();
    m.map(U, P1 | PAGE | AP_EL0 | AP_RO | NG);
    let pte = m.map(U + 0x1000, P2 | PAGE | AP_EL0 | AP_RO | NG);
    m.mmu_on();
    m.code(P1, &[0x1400_0002, 0, 0x1400_0400]); // b .+8; (udf); b .+0x1000
    m.code(P2 + 8, &[MOV_X0_2, END_BRK]);
    m.code(P3 + 8, &[MOV_X0_3, END_BRK]);
    for _ in 0..3 {
        assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    }
    assert_eq!(m.x(0), 2);
    assert_eq!(
        m.engine.stats().chains,
        1,
        "only the branch within the page chains"
    );
    // br x3 to the second page, through the indirect-branch table once it is filled.
    m.code(P1 + 0x100, &[0xd61f_0060]);
    m.set_x(3, U + 0x1008);
    for _ in 0..3 {
        assert_eq!(m.run_at(0, U + 0x100), Exit::Brk(0xf00));
    }
    m.ram
        .write_u64(pte, P3 | PAGE | AP_EL0 | AP_RO | NG)
        .unwrap();
    assert!(m.cpu.mmu.tlbi(7 << 3 | 1, (U + 0x1000) >> 12)); // TLBI VAE1
    assert_eq!(m.run_at(0, U + 0x100), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 3);
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 3);
}

/// Translation-register writes: a context switch (new ASID, new TTBR0) drops the user
/// half but keeps the kernel's global entries; SCTLR.M and TCR drop everything.
#[test]
fn register_writes_flush_what_they_change() {
    // (K and U share a TLB slot; U1 does not.)
    const U1: u64 = U + 0x1000;
    let mut m = Machine::new();
    let kpte = m.map(K, P1 | PAGE);
    let upte = m.map(U1, P3 | PAGE | AP_EL0 | NG);
    m.mmu_on();
    m.ram.write_u64(P1, 1).unwrap();
    m.ram.write_u64(P3, 3).unwrap();
    let load = |m: &mut Machine, va: u64| {
        m.set_x(1, va);
        m.run_ok(1, &[0xf940_0022]); // ldr x2, [x1]
        m.x(2)
    };
    assert_eq!((load(&mut m, K), load(&mut m, U1)), (1, 3));
    // Remap both behind the TLB's back: cached entries still answer.
    m.ram.write_u64(kpte, P2 | PAGE).unwrap();
    m.ram.write_u64(upte, P2 | PAGE | AP_EL0 | NG).unwrap();
    m.ram.write_u64(P2, 2).unwrap();
    assert_eq!((load(&mut m, K), load(&mut m, U1)), (1, 3));
    // Same value again: nothing changes.
    let r0 = m.root0;
    m.cpu.mmu.write_reg(MmuReg::Ttbr0, r0);
    assert_eq!(load(&mut m, U1), 3);
    // A new ASID (in TTBR0, TCR.A1 = 0): the user entry goes, the kernel's stays.
    m.cpu.mmu.write_reg(MmuReg::Ttbr0, r0 | 5 << 48);
    assert_eq!((load(&mut m, K), load(&mut m, U1)), (1, 2));
    // Back to ASID 0 with the user page mapped to P3 again; a global user-half entry
    // (none here) would go with a new TTBR0 base.
    m.ram.write_u64(upte, P3 | PAGE | AP_EL0 | NG).unwrap();
    m.cpu.mmu.write_reg(MmuReg::Ttbr0, r0);
    assert_eq!((load(&mut m, K), load(&mut m, U1)), (1, 3));
    // TCR: everything.
    m.cpu.mmu.write_reg(MmuReg::Tcr, TCR | 1 << 37);
    assert_eq!(load(&mut m, K), 2);
    // A new TTBR1 base drops the kernel half: the new tables map nothing there.
    m.ram.write_u64(kpte, P1 | PAGE).unwrap();
    assert_eq!(load(&mut m, K), 2, "cached");
    let t = m.table();
    m.cpu.mmu.write_reg(MmuReg::Ttbr1, t);
    m.set_x(1, K);
    assert_eq!(m.run_fault(1, &[0xf940_0022], 0).esr, 0x9600_0004);
}

/// Code written behind the MMU (as device DMA would), then cleaned with IC IVAU through
/// the kernel's non-executable alias: the user mapping runs the new code.
#[test]
fn ic_ivau_through_an_alias() {
    let mut m = Machine::new();
    m.map(U, P1 | PAGE | AP_EL0 | AP_RO | NG);
    m.map(K, P1 | PAGE | UXN | PXN);
    m.map(K + 0x1000, P2 | PAGE);
    m.mmu_on();
    m.code(P1, &[MOV_X0_1, END_BRK]);
    m.code(P2, &[0xd50b_7521, END_BRK]); // ic ivau, x1
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 1);
    m.code(P1, &[MOV_X0_2]);
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(
        m.x(0),
        1,
        "no store went through the MMU: the old translation runs"
    );
    m.set_x(1, K + 0x40);
    assert_eq!(m.run_at(1, K + 0x1000), Exit::Brk(0xf00));
    assert_eq!(m.run_at(0, U), Exit::Brk(0xf00));
    assert_eq!(m.x(0), 2);
    // An unmapped line drops nothing and does not fault.
    m.set_x(1, K + 0x5000);
    assert_eq!(m.run_at(1, K + 0x1000), Exit::Brk(0xf00));
}

/// A hot loop of loads and stores at EL1 stays on the inline fast path: after the first
/// iteration refills the TLB, no access takes the slow path. With
/// `FERRITE_PROBE_BENCH=N` it runs N iterations and prints the time beside user mode's
/// for the same words (`cargo test --release --lib hot_loop -- --nocapture`).
#[test]
fn hot_loop_stays_inline() {
    const LOOP: [u32; 5] = [
        0xf940_0022, // ldr x2, [x1]
        0x8b02_0063, // add x3, x3, x2
        0xf900_0423, // str x3, [x1, #8]
        0xf100_0400, // subs x0, x0, #1
        0x54ff_ff81, // b.ne (the ldr)
    ];
    let bench: Option<u64> = std::env::var("FERRITE_PROBE_BENCH")
        .ok()
        .and_then(|v| v.parse().ok());
    let n = bench.unwrap_or(100_000);
    let mut m = Machine::new();
    m.map(K, P1 | PAGE);
    m.map(K + 0x10_0000, P2 | PAGE);
    m.mmu_on();
    m.code(P2, &LOOP);
    m.code(P2 + 20, &[END_BRK]);
    m.ram.write_u64(P1, 3).unwrap();
    m.set_x(0, n);
    m.set_x(1, K);
    let t = std::time::Instant::now();
    assert_eq!(m.run_at(1, K + 0x10_0000), Exit::Brk(0xf00));
    let sys = t.elapsed();
    assert_eq!(m.x(3), 3 * n);
    assert_eq!(m.ram.read_u64(P1 + 8), Ok(3 * n));
    assert_eq!(
        m.cpu.mmu.stats.slow, 1,
        "the first load refills the entry for both accesses"
    );
    if bench.is_some() {
        let mut buf = [3u64, 0];
        let mut cpu = Cpu::new();
        cpu.x[0] = n;
        cpu.x[1] = buf.as_mut_ptr() as u64;
        let t = std::time::Instant::now();
        crate::engine::testing::run_ok(&LOOP, &mut cpu);
        let user = t.elapsed();
        assert_eq!(buf[1], 3 * n);
        eprintln!("{n} iterations of ldr/add/str/subs/b.ne: system (EL1, MMU on) {sys:?}, user mode {user:?}");
    }
}
