//! VMSAv8-64 stage-1 translation for the EL1&0 regime with the 4 KB granule.
//!
//! [`walk`] turns a virtual address into a [`Translation`] (output address, permissions for
//! EL0 and EL1, memory attributes, size of the mapping, global/ASID) or a [`Fault`] that
//! carries what an abort needs (kind, level, the DFSC/IFSC code). [`check`] then decides
//! whether one access is allowed. Descriptors are read through a closure returning the
//! little-endian u64 at a physical address, or `None` when the address is not RAM (a
//! synchronous external abort on the walk).
//!
//! What is implemented (Arm ARM, "The AArch64 Virtual Memory System Architecture"):
//! - Region selection by VA bit 55, with the bits above the input size required to equal it
//!   (bits 63:56 are ignored when TCR.TBIx applies: data accesses always, instruction
//!   fetches unless TCR.TBIDx); otherwise a level-0 translation fault.
//! - T0SZ/T1SZ clamped to 16..=39 (48 down to 25 bits), giving a start level of 0..=2;
//!   EPD0/EPD1 → level-0 translation fault. TG0/TG1 other than 4 KB: this CPU implements
//!   only the 4 KB granule (ID_AA64MMFR0), and such a walk gives a level-0 translation
//!   fault rather than guessing a granule.
//! - IPS limited to the implemented 48-bit PA range; output addresses (TTBR base, next
//!   table, block, page) above it give an address-size fault at the level that holds them.
//! - Table, 1 GB / 2 MB block and page descriptors; APTable/UXNTable/PXNTable accumulate
//!   down the walk; `AP[2:1]`, UXN, PXN, implicit PXN for EL0-writable pages, SCTLR.WXN.
//! - AF = 0 → access-flag fault (no FEAT_HAFDBS: software manages AF and dirty state).
//! - nG → the entry is tagged with the ASID of TTBR0, or of TTBR1 when TCR.A1 = 1 (8 bits
//!   unless TCR.AS = 1).
//!
//! Fault priority follows the architecture: translation and address-size faults during
//! the walk, then access flag, then permission (the latter in [`check`]).

/// A physical-memory reader for descriptors: the u64 at a physical address, or `None`.
pub type PhysRead<'a> = dyn FnMut(u64) -> Option<u64> + 'a;

/// Implemented physical address size (ID_AA64MMFR0.PARange = 0b0101).
pub const PA_BITS: u32 = 48;

// TCR_EL1 fields.
const TCR_EPD0: u64 = 1 << 7;
const TCR_EPD1: u64 = 1 << 23;
const TCR_A1: u64 = 1 << 22;
const TCR_AS: u64 = 1 << 36;
const TCR_TBI0: u64 = 1 << 37;
const TCR_TBI1: u64 = 1 << 38;
const TCR_TBID0: u64 = 1 << 51;
const TCR_TBID1: u64 = 1 << 52;

/// The translation registers of the EL1&0 regime.
#[derive(Clone, Copy, Debug, Default)]
pub struct Regime {
    pub tcr: u64,
    pub ttbr0: u64,
    pub ttbr1: u64,
    /// SCTLR_EL1.WXN: writable memory is never executable.
    pub wxn: bool,
}

impl Regime {
    /// The current ASID (from TTBR1 when TCR.A1 = 1), 8 or 16 bits per TCR.AS.
    pub fn asid(&self) -> u16 {
        let ttbr = if self.tcr & TCR_A1 != 0 {
            self.ttbr1
        } else {
            self.ttbr0
        };
        let asid = (ttbr >> 48) as u16;
        if self.tcr & TCR_AS != 0 {
            asid
        } else {
            asid & 0xff
        }
    }

    /// Whether top-byte-ignore applies to `va` for this kind of access.
    pub fn tbi(&self, va: u64, exec: bool) -> bool {
        let (tbi, tbid) = if va >> 55 & 1 != 0 {
            (TCR_TBI1, TCR_TBID1)
        } else {
            (TCR_TBI0, TCR_TBID0)
        };
        self.tcr & tbi != 0 && !(exec && self.tcr & tbid != 0)
    }
}

/// What kind of fault a walk or check produced.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultKind {
    AddressSize,
    Translation,
    AccessFlag,
    Permission,
    /// Synchronous external abort on a translation table walk (descriptor not in RAM).
    WalkExternalAbort,
}

/// A stage-1 fault: its kind and the lookup level it was found at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fault {
    pub kind: FaultKind,
    pub level: u8,
}

impl Fault {
    fn new(kind: FaultKind, level: u32) -> Self {
        Fault {
            kind,
            level: level as u8,
        }
    }

    /// The DFSC/IFSC field of ESR_EL1 (bits 5:0) for this fault.
    pub fn status_code(&self) -> u32 {
        let base = match self.kind {
            FaultKind::AddressSize => 0b00_0000,
            FaultKind::Translation => 0b00_0100,
            FaultKind::AccessFlag => 0b00_1000,
            FaultKind::Permission => 0b00_1100,
            FaultKind::WalkExternalAbort => 0b01_0100,
        };
        base | (self.level as u32 & 3)
    }
}

/// Access permissions of a mapping, after all table-level restrictions.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Perms {
    pub el0_read: bool,
    pub el0_write: bool,
    pub el0_exec: bool,
    pub el1_read: bool,
    pub el1_write: bool,
    pub el1_exec: bool,
}

/// A successful stage-1 translation of one VA.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Translation {
    /// The physical address the VA maps to.
    pub pa: u64,
    /// log2 of the mapping's size: 12 (page), 21 (2 MB block), 30 (1 GB block); 64 with
    /// the MMU off.
    pub size_log2: u8,
    pub perms: Perms,
    /// MAIR_EL1 attribute index (AttrIndx), or `None` with the MMU off (Device-nGnRnE for
    /// data, Normal for instruction fetches).
    pub attr_index: Option<u8>,
    /// Shareability (`SH[1:0]`).
    pub sh: u8,
    /// nG = 0: valid for every ASID.
    pub global: bool,
    /// The ASID the entry belongs to when not global.
    pub asid: u16,
    /// The level of the leaf descriptor (1, 2 or 3).
    pub level: u8,
}

impl Translation {
    /// The VA range this translation covers, as a mask of the offset bits.
    pub fn offset_mask(&self) -> u64 {
        if self.size_log2 >= 64 {
            u64::MAX
        } else {
            (1u64 << self.size_log2) - 1
        }
    }
}

/// What an access does, for [`check`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AccessKind {
    Read,
    Write,
    Exec,
}

/// One access: its kind, whether it is checked with EL0 permissions (EL0, or LDTR/STTR at
/// EL1), and PSTATE.PAN for EL1 data accesses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Access {
    pub kind: AccessKind,
    pub el0: bool,
    pub pan: bool,
}

/// The IPS field as a number of bits, limited to the implemented PA size.
fn output_bits(tcr: u64) -> u32 {
    let ips = match (tcr >> 32) & 7 {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        _ => 48,
    };
    ips.min(PA_BITS)
}

/// Bits [47:bits] of `addr` (an output address field) are not all zero.
fn too_big(addr: u64, bits: u32) -> bool {
    bits < 48 && (addr & ((1u64 << 48) - 1)) >> bits != 0
}

/// Translates `va` with the MMU off: a flat map, address-size fault above the PA range.
pub fn flat(va: u64) -> Result<Translation, Fault> {
    if va >> PA_BITS != 0 {
        return Err(Fault::new(FaultKind::AddressSize, 0));
    }
    let all = Perms {
        el0_read: true,
        el0_write: true,
        el0_exec: true,
        el1_read: true,
        el1_write: true,
        el1_exec: true,
    };
    Ok(Translation {
        pa: va,
        size_log2: 64,
        perms: all,
        attr_index: None,
        sh: 0b10,
        global: true,
        asid: 0,
        level: 0,
    })
}

/// Walks the EL1&0 stage-1 tables for `va` (`exec`: an instruction fetch, which matters
/// for TBID). See the module docs.
pub fn walk(
    regime: &Regime,
    va: u64,
    exec: bool,
    read: &mut PhysRead<'_>,
) -> Result<Translation, Fault> {
    let tcr = regime.tcr;
    let upper = va >> 55 & 1 != 0;
    let (tsz, epd, tg_ok, ttbr) = if upper {
        (
            (tcr >> 16) & 0x3f,
            tcr & TCR_EPD1 != 0,
            (tcr >> 30) & 3 == 0b10,
            regime.ttbr1,
        )
    } else {
        (
            tcr & 0x3f,
            tcr & TCR_EPD0 != 0,
            (tcr >> 14) & 3 == 0b00,
            regime.ttbr0,
        )
    };
    let tsz = tsz.clamp(16, 39) as u32;
    let input_bits = 64 - tsz;
    // Bits [top:input_bits] must all equal bit 55.
    let top = if regime.tbi(va, exec) { 55 } else { 63 };
    let high = (va << (63 - top)) >> (63 - top + input_bits);
    let expect = if upper {
        (1u64 << (top + 1 - input_bits)) - 1
    } else {
        0
    };
    if high != expect || epd || !tg_ok {
        return Err(Fault::new(FaultKind::Translation, 0));
    }
    let obits = output_bits(tcr);
    // Levels needed to resolve input_bits - 12 bits, 9 per level.
    let start = 4 - (input_bits - 12).div_ceil(9);
    let start_bits = input_bits - 12 - 9 * (3 - start);
    let base = ttbr & 0x0000_ffff_ffff_fffe;
    if too_big(base, obits) {
        return Err(Fault::new(FaultKind::AddressSize, start));
    }
    let mut table = base & !((8u64 << start_bits) - 1);
    let mut level = start;
    let mut index_bits = start_bits;
    // Restrictions from table descriptors.
    let mut no_el0 = false;
    let mut ro = false;
    let mut uxn = false;
    let mut pxn = false;
    loop {
        let shift = 12 + 9 * (3 - level);
        let index = (va >> shift) & ((1u64 << index_bits) - 1);
        let desc = read(table + index * 8)
            .ok_or_else(|| Fault::new(FaultKind::WalkExternalAbort, level))?;
        if desc & 1 == 0 {
            return Err(Fault::new(FaultKind::Translation, level));
        }
        let is_table = desc & 2 != 0;
        if level < 3 && is_table {
            let next = desc & 0x0000_ffff_ffff_f000;
            if too_big(next, obits) {
                return Err(Fault::new(FaultKind::AddressSize, level));
            }
            pxn |= desc >> 59 & 1 != 0;
            uxn |= desc >> 60 & 1 != 0;
            no_el0 |= desc >> 61 & 1 != 0;
            ro |= desc >> 62 & 1 != 0;
            table = next;
            level += 1;
            index_bits = 9;
            continue;
        }
        // Block at level 0, or 0b01 at level 3: reserved → translation fault.
        if level == 0 || (level == 3 && !is_table) {
            return Err(Fault::new(FaultKind::Translation, level));
        }
        let size_log2 = shift;
        let oa = desc & 0x0000_ffff_ffff_f000 & !((1u64 << size_log2) - 1);
        if too_big(oa, obits) {
            return Err(Fault::new(FaultKind::AddressSize, level));
        }
        if desc >> 10 & 1 == 0 {
            return Err(Fault::new(FaultKind::AccessFlag, level));
        }
        let ap = (desc >> 6) & 3;
        let el0 = ap & 1 != 0 && !no_el0;
        let write = ap & 2 == 0 && !ro;
        let el0_write = el0 && write;
        let mut perms = Perms {
            el0_read: el0,
            el0_write,
            el0_exec: !(uxn || desc >> 54 & 1 != 0),
            el1_read: true,
            el1_write: write,
            // Implicit PXN for memory writable at EL0.
            el1_exec: !(pxn || desc >> 53 & 1 != 0 || el0_write),
        };
        if regime.wxn {
            perms.el0_exec &= !el0_write;
            perms.el1_exec &= !write;
        }
        let global = desc >> 11 & 1 == 0;
        return Ok(Translation {
            pa: oa | (va & ((1u64 << size_log2) - 1)),
            size_log2: size_log2 as u8,
            perms,
            attr_index: Some(((desc >> 2) & 7) as u8),
            sh: ((desc >> 8) & 3) as u8,
            global,
            asid: if global { 0 } else { regime.asid() },
            level: level as u8,
        });
    }
}

/// Whether `perms` allow `access`.
pub fn allowed(perms: &Perms, access: Access) -> bool {
    match (access.kind, access.el0) {
        (AccessKind::Read, true) => perms.el0_read,
        (AccessKind::Write, true) => perms.el0_write,
        (AccessKind::Exec, true) => perms.el0_exec,
        (AccessKind::Exec, false) => perms.el1_exec,
        // PAN: privileged data accesses to memory that EL0 can reach fault.
        _ if access.pan && perms.el0_read => false,
        (AccessKind::Read, false) => perms.el1_read,
        (AccessKind::Write, false) => perms.el1_write,
    }
}

/// Checks `access` against a translation: a permission fault at its leaf level, or Ok.
pub fn check(t: &Translation, access: Access) -> Result<(), Fault> {
    if allowed(&t.perms, access) {
        Ok(())
    } else {
        Err(Fault {
            kind: FaultKind::Permission,
            level: t.level,
        })
    }
}

/// Walk and check in one step.
pub fn translate(
    regime: &Regime,
    va: u64,
    access: Access,
    read: &mut PhysRead<'_>,
) -> Result<Translation, Fault> {
    let t = walk(regime, va, access.kind == AccessKind::Exec, read)?;
    check(&t, access)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Physical memory for tests: sparse u64 words; RAM is [0, 1 GB).
    #[derive(Default)]
    struct Mem(HashMap<u64, u64>);

    const RAM_END: u64 = 0x4000_0000;

    impl Mem {
        fn set(&mut self, table: u64, index: u64, desc: u64) {
            self.0.insert(table + index * 8, desc);
        }
        fn reader(&self) -> impl FnMut(u64) -> Option<u64> + '_ {
            |pa| (pa < RAM_END).then(|| self.0.get(&pa).copied().unwrap_or(0))
        }
    }

    const TABLE: u64 = 0b11;
    const PAGE: u64 = 0b11 | AF;
    const BLOCK: u64 = 0b01 | AF;
    const AF: u64 = 1 << 10;
    const NG: u64 = 1 << 11;
    const AP_EL0: u64 = 1 << 6;
    const AP_RO: u64 = 1 << 7;
    const PXN: u64 = 1 << 53;
    const UXN: u64 = 1 << 54;

    /// 48-bit VAs both halves, 4K granules, 48-bit IPS, A1 = 1, AS = 1, TBI0.
    const TCR: u64 = 16 | (16 << 16) | (0b10 << 30) | (5 << 32) | TCR_A1 | TCR_AS | TCR_TBI0;

    fn regime() -> Regime {
        Regime {
            tcr: TCR,
            ttbr0: 0x1000 | (7 << 48),
            ttbr1: 0x2000 | (9 << 48),
            wxn: false,
        }
    }

    fn idx(va: u64, level: u32) -> u64 {
        (va >> (12 + 9 * (3 - level))) & 0x1ff
    }

    /// Maps `va` with a 4-level walk under `root` through tables at 0x10000 + n * 0x1000.
    fn map4(m: &mut Mem, root: u64, va: u64, leaf: u64, tables: u64) {
        let l1 = 0x10000 + tables * 0x3000;
        let l2 = l1 + 0x1000;
        let l3 = l2 + 0x1000;
        m.set(root, idx(va, 0), l1 | TABLE);
        m.set(l1, idx(va, 1), l2 | TABLE);
        m.set(l2, idx(va, 2), l3 | TABLE);
        m.set(l3, idx(va, 3), leaf);
    }

    const R: Access = Access {
        kind: AccessKind::Read,
        el0: false,
        pan: false,
    };

    fn acc(kind: AccessKind, el0: bool) -> Access {
        Access {
            kind,
            el0,
            pan: false,
        }
    }

    #[test]
    fn four_level_page_both_halves() {
        let mut m = Mem::default();
        let lo = 0x0000_7fff_1234_5678u64;
        let hi = 0xffff_8000_0020_1abcu64;
        map4(
            &mut m,
            0x1000,
            lo,
            0x3456_7000 | PAGE | AP_EL0 | NG | (3 << 2),
            0,
        );
        map4(&mut m, 0x2000, hi, 0x0080_0000 | PAGE | UXN, 1);
        let t = walk(&regime(), lo, false, &mut m.reader()).unwrap();
        assert_eq!(t.pa, 0x3456_7678);
        assert_eq!((t.size_log2, t.level, t.attr_index), (12, 3, Some(3)));
        assert!(!t.global);
        assert_eq!(t.asid, 9); // A1: the ASID comes from TTBR1
        assert_eq!(
            t.perms,
            Perms {
                el0_read: true,
                el0_write: true,
                el0_exec: true,
                el1_read: true,
                el1_write: true,
                el1_exec: false, // implicit PXN: writable at EL0
            }
        );
        let t = walk(&regime(), hi, false, &mut m.reader()).unwrap();
        assert_eq!(t.pa, 0x0080_0abc);
        assert!(t.global);
        assert_eq!(t.asid, 0);
        assert!(!t.perms.el0_read && t.perms.el1_write && t.perms.el1_exec);
        assert!(!t.perms.el0_exec);
        // TBI0: a tagged low-half pointer translates; the high half has no TBI1.
        let t = walk(&regime(), lo | (0x5a << 56), false, &mut m.reader()).unwrap();
        assert_eq!(t.pa, 0x3456_7678);
        let e = walk(&regime(), hi & !(0xa5 << 56), false, &mut m.reader()).unwrap_err();
        assert_eq!(e, Fault::new(FaultKind::Translation, 0));
        // TBID0 removes TBI for instruction fetches.
        let mut r = regime();
        r.tcr |= TCR_TBID0;
        assert!(walk(&r, lo | (1 << 56), false, &mut m.reader()).is_ok());
        let e = walk(&r, lo | (1 << 56), true, &mut m.reader()).unwrap_err();
        assert_eq!(e.status_code(), 0x04);
    }

    #[test]
    fn blocks_1g_and_2m() {
        let mut m = Mem::default();
        let va1 = 0xffff_0000_4000_0000u64 | 0x1234_5678;
        let va2 = 0xffff_0000_8060_0000u64 | 0x1_2345;
        let l1 = 0x30000;
        let l2 = 0x31000;
        m.set(0x2000, idx(va1, 0), l1 | TABLE);
        m.set(l1, idx(va1, 1), 0x8000_0000 | BLOCK | AP_RO);
        m.set(l1, idx(va2, 1), l2 | TABLE);
        m.set(l2, idx(va2, 2), 0x1_2340_0000 | BLOCK | (5 << 2) | (3 << 8));
        let t = walk(&regime(), va1, false, &mut m.reader()).unwrap();
        assert_eq!((t.pa, t.size_log2, t.level), (0x9234_5678, 30, 1));
        assert_eq!(t.offset_mask(), 0x3fff_ffff);
        assert!(!t.perms.el1_write && t.perms.el1_read);
        let t = walk(&regime(), va2, false, &mut m.reader()).unwrap();
        assert_eq!((t.pa, t.size_log2, t.level), (0x1_2341_2345, 21, 2));
        assert_eq!((t.attr_index, t.sh), (Some(5), 3));
        // Output address bits below the block size are ignored.
        m.set(l2, idx(va2, 2), 0x1_2340_0000 | 0x1f_f000 | BLOCK);
        assert_eq!(
            walk(&regime(), va2, false, &mut m.reader()).unwrap().pa,
            0x1_2341_2345
        );
        // A block descriptor at level 0 and 0b01 at level 3 are translation faults.
        m.set(0x2000, idx(va1, 0), BLOCK);
        let e = walk(&regime(), va1, false, &mut m.reader()).unwrap_err();
        assert_eq!(e, Fault::new(FaultKind::Translation, 0));
        let va = 0x1000_0000u64;
        map4(&mut m, 0x1000, va, 0x5000 | BLOCK, 3);
        let e = walk(&regime(), va, false, &mut m.reader()).unwrap_err();
        assert_eq!(
            (e.kind, e.level, e.status_code()),
            (FaultKind::Translation, 3, 0x07)
        );
    }

    #[test]
    fn translation_faults_per_level() {
        let mut m = Mem::default();
        let va = 0x0000_1234_5678_9000u64;
        for level in 0..4u32 {
            let mut m2 = Mem::default();
            map4(&mut m2, 0x1000, va, 0x7000 | PAGE, 0);
            // Knock out the descriptor at `level`.
            let table = [0x1000, 0x10000, 0x11000, 0x12000][level as usize];
            m2.set(table, idx(va, level), 0);
            let e = walk(&regime(), va, false, &mut m2.reader()).unwrap_err();
            assert_eq!(e, Fault::new(FaultKind::Translation, level));
            assert_eq!(e.status_code(), 4 + level);
        }
        // Non-canonical addresses (bits 63:48 neither all 0 nor all 1) fault at level 0.
        map4(&mut m, 0x1000, va, 0x7000 | PAGE, 0);
        for bad in [
            0x0001_0000_0000_0000u64,
            0xfffe_8000_0000_0000,
            0x8000_0000_0000_0000,
        ] {
            let e = walk(&regime(), bad, false, &mut m.reader()).unwrap_err();
            assert_eq!(e, Fault::new(FaultKind::Translation, 0), "{bad:#x}");
        }
        // EPD0 / EPD1.
        let mut r = regime();
        r.tcr |= TCR_EPD0;
        assert_eq!(
            walk(&r, va, false, &mut m.reader()).unwrap_err(),
            Fault::new(FaultKind::Translation, 0)
        );
        r.tcr = TCR | TCR_EPD1;
        assert!(walk(&r, va, false, &mut m.reader()).is_ok());
        assert!(walk(&r, !0xfff, false, &mut m.reader()).is_err());
        // A 16 KB or 64 KB granule is not implemented.
        for tg0 in [1u64, 2] {
            r.tcr = TCR | (tg0 << 14);
            assert_eq!(
                walk(&r, va, false, &mut m.reader()).unwrap_err(),
                Fault::new(FaultKind::Translation, 0)
            );
        }
        r.tcr = (TCR & !(3 << 30)) | (0b01 << 30);
        assert!(walk(&r, !0xfff, false, &mut m.reader()).is_err());
    }

    #[test]
    fn t0sz_variants_start_levels() {
        // T0SZ = 25 (39-bit): start at level 1 with a 512-entry table.
        let mut m = Mem::default();
        let va = 0x0000_0040_2030_4567u64;
        let mut r = regime();
        r.tcr = (TCR & !0x3f) | 25;
        m.set(0x1000, idx(va, 1), 0x20000 | TABLE);
        m.set(0x20000, idx(va, 2), 0x21000 | TABLE);
        m.set(0x21000, idx(va, 3), 0xabc000 | PAGE);
        assert_eq!(walk(&r, va, false, &mut m.reader()).unwrap().pa, 0xabc567);
        // Bit 39 set is outside the 39-bit range.
        assert_eq!(
            walk(&r, va | (1 << 39), false, &mut m.reader()).unwrap_err(),
            Fault::new(FaultKind::Translation, 0)
        );
        // T0SZ = 20 (44-bit): level 0 with a 32-entry table (TTBR aligned to 256 bytes).
        r.tcr = (TCR & !0x3f) | 20;
        r.ttbr0 = 0x1100;
        let va = 0x0000_0fff_ffe0_0000u64;
        m.set(0x1100, idx(va, 0) & 0x1f, 0x40000 | TABLE);
        m.set(0x40000, idx(va, 1), 0x41000 | TABLE);
        m.set(0x41000, idx(va, 2), 0x20_0000 | BLOCK);
        assert_eq!(idx(va, 0), 0x1f);
        assert_eq!(walk(&r, va, false, &mut m.reader()).unwrap().pa, 0x20_0000);
        // T0SZ = 39 (25-bit): start at level 2, 16 entries.
        r.tcr = (TCR & !0x3f) | 39;
        r.ttbr0 = 0x5000;
        let va = 0x1ff_f000u64;
        m.set(0x5000, 0xf, 0x6000 | TABLE);
        m.set(0x6000, 0x1ff, 0x9000 | PAGE);
        assert_eq!(
            walk(&r, va | 0x10, false, &mut m.reader()).unwrap().pa,
            0x9010
        );
        // Out-of-range T0SZ values are clamped (here 63 → 39).
        r.tcr = (TCR & !0x3f) | 63;
        assert_eq!(walk(&r, va, false, &mut m.reader()).unwrap().pa, 0x9000);
    }

    #[test]
    fn address_size_faults() {
        let mut m = Mem::default();
        let va = 0x4000_0000u64;
        map4(&mut m, 0x1000, va, 0x1_0000_0000 | PAGE, 0);
        // IPS = 32 bits: a 4 GB output address is too big, at the leaf level.
        let mut r = regime();
        r.tcr = TCR & !(7 << 32);
        assert_eq!(
            walk(&r, va, false, &mut m.reader()).unwrap_err(),
            Fault::new(FaultKind::AddressSize, 3)
        );
        // IPS = 36 bits: fine.
        r.tcr = (TCR & !(7 << 32)) | (1 << 32);
        assert!(walk(&r, va, false, &mut m.reader()).is_ok());
        // A next-level table address beyond IPS faults at the table descriptor's level.
        m.set(0x10000, idx(va, 1), 0x10_0000_0000 | TABLE);
        assert_eq!(
            walk(&r, va, false, &mut m.reader()).unwrap_err(),
            Fault::new(FaultKind::AddressSize, 1)
        );
        // A TTBR base beyond IPS faults at the start level.
        r.ttbr0 = 0x10_0000_1000;
        let e = walk(&r, va, false, &mut m.reader()).unwrap_err();
        assert_eq!(
            (e.kind, e.level, e.status_code()),
            (FaultKind::AddressSize, 0, 0)
        );
        // IPS values above the implemented 48 bits act as 48.
        r.tcr = TCR | (7 << 32);
        r.ttbr0 = 0x1000;
        m.set(0x10000, idx(va, 1), 0x11000 | TABLE);
        map4(&mut m, 0x1000, va, 0xffff_ffff_f000 | PAGE, 0);
        assert_eq!(
            walk(&r, va, false, &mut m.reader()).unwrap().pa,
            0xffff_ffff_f000
        );
        // MMU off: flat, with an address-size fault above 48 bits.
        assert_eq!(flat(0x0900_0000).unwrap().pa, 0x0900_0000);
        assert_eq!(
            flat(1 << 48).unwrap_err(),
            Fault::new(FaultKind::AddressSize, 0)
        );
    }

    #[test]
    fn walk_outside_ram_is_an_external_abort() {
        let mut m = Mem::default();
        let va = 0x1000u64;
        m.set(0x1000, 0, 0x10000 | TABLE);
        m.set(0x10000, 0, 0x8000_0000 | TABLE); // beyond RAM in the test reader
        let e = walk(&regime(), va, false, &mut m.reader()).unwrap_err();
        assert_eq!(e, Fault::new(FaultKind::WalkExternalAbort, 2));
        assert_eq!(e.status_code(), 0x16);
    }

    #[test]
    fn access_flag_fault_before_permission() {
        let mut m = Mem::default();
        let va = 0x7000_0000u64;
        map4(&mut m, 0x1000, va, 0x9000 | 0b11 | AP_RO, 0); // AF = 0, read-only
        let w = acc(AccessKind::Write, false);
        let e = translate(&regime(), va, w, &mut m.reader()).unwrap_err();
        assert_eq!(
            (e.kind, e.level, e.status_code()),
            (FaultKind::AccessFlag, 3, 0x0b)
        );
        // Block with AF = 0: level 2.
        let mut m = Mem::default();
        m.set(0x2000, 0x1ff, 0x30000 | TABLE);
        m.set(0x30000, 0x1ff, 0x31000 | TABLE);
        m.set(0x31000, 0x1ff, 0x20_0000 | 0b01);
        let e = walk(&regime(), !0u64, false, &mut m.reader()).unwrap_err();
        assert_eq!(e.status_code(), 0x0a);
        // With AF set, the write is a permission fault at level 3.
        let mut m = Mem::default();
        map4(&mut m, 0x1000, va, 0x9000 | PAGE | AP_RO, 0);
        let e = translate(&regime(), va, w, &mut m.reader()).unwrap_err();
        assert_eq!(
            (e.kind, e.level, e.status_code()),
            (FaultKind::Permission, 3, 0x0f)
        );
        assert!(translate(&regime(), va, R, &mut m.reader()).is_ok());
    }

    #[test]
    fn ap_and_xn_permissions() {
        use AccessKind::*;
        let page = |ap: u64, xn: u64| {
            let mut m = Mem::default();
            map4(&mut m, 0x1000, 0x1000, 0x9000 | PAGE | (ap << 6) | xn, 0);
            let t = walk(&regime(), 0x1000, false, &mut m.reader());
            t.unwrap()
        };
        // (AP, EL1 R/W, EL0 R/W)
        for (ap, el1, el0) in [
            (0b00, (true, true), (false, false)),
            (0b01, (true, true), (true, true)),
            (0b10, (true, false), (false, false)),
            (0b11, (true, false), (true, false)),
        ] {
            let t = page(ap, 0);
            for (kind, el0_acc, want) in [
                (Read, false, el1.0),
                (Write, false, el1.1),
                (Read, true, el0.0),
                (Write, true, el0.1),
            ] {
                assert_eq!(
                    check(&t, acc(kind, el0_acc)).is_ok(),
                    want,
                    "AP={ap:02b} {kind:?} el0={el0_acc}"
                );
            }
        }
        // UXN/PXN and implicit PXN.
        let t = page(0b10, PXN);
        assert!(check(&t, acc(Exec, false)).is_err());
        assert!(check(&t, acc(Exec, true)).is_ok());
        let t = page(0b10, UXN);
        assert!(check(&t, acc(Exec, false)).is_ok());
        assert!(check(&t, acc(Exec, true)).is_err());
        let t = page(0b01, 0);
        assert!(check(&t, acc(Exec, false)).is_err()); // EL0-writable → PXN
        assert!(check(&t, acc(Exec, true)).is_ok());
        let t = page(0b11, 0);
        assert!(check(&t, acc(Exec, false)).is_ok());
        // PAN: EL1 data accesses to EL0-accessible pages fault; fetches and EL1-only pages do not.
        let pan = |kind| Access {
            kind,
            el0: false,
            pan: true,
        };
        assert!(check(&t, pan(Read)).is_err());
        assert!(check(&t, pan(Exec)).is_ok());
        assert!(check(&page(0b00, 0), pan(Write)).is_ok());
        let e = check(&page(0b10, 0), acc(Write, false)).unwrap_err();
        assert_eq!(e.status_code(), 0x0f);
    }

    #[test]
    fn table_level_restrictions_and_wxn() {
        let va = 0x4020_3000u64;
        let walk_with = |table_bits: u64, leaf_ap: u64, wxn: bool| {
            let mut m = Mem::default();
            map4(&mut m, 0x1000, va, 0x9000 | PAGE | (leaf_ap << 6), 0);
            let l2 = 0x10000 + 0x1000;
            m.set(0x10000, idx(va, 1), l2 | TABLE | table_bits);
            let mut r = regime();
            r.wxn = wxn;
            let t = walk(&r, va, false, &mut m.reader());
            t.unwrap().perms
        };
        let p = walk_with(1 << 61, 0b01, false); // APTable[0]: no EL0 access
        assert!(!p.el0_read && !p.el0_write && p.el1_write);
        assert!(p.el1_exec); // no longer EL0-writable: no implicit PXN
        let p = walk_with(1 << 62, 0b01, false); // APTable[1]: read-only everywhere
        assert!(p.el0_read && !p.el0_write && !p.el1_write);
        let p = walk_with(1 << 60, 0b00, false); // UXNTable
        assert!(!p.el0_exec && p.el1_exec);
        let p = walk_with(1 << 59, 0b11, false); // PXNTable
        assert!(p.el0_exec && !p.el1_exec);
        let p = walk_with(0, 0b00, true); // WXN: EL1-writable is not executable
        assert!(!p.el1_exec && p.el0_exec);
        let p = walk_with(0, 0b10, true);
        assert!(p.el1_exec);
    }

    #[test]
    fn asids() {
        let mut r = regime();
        assert_eq!(r.asid(), 9);
        r.tcr &= !TCR_A1;
        assert_eq!(r.asid(), 7);
        r.ttbr0 |= 0xab00 << 48;
        assert_eq!(r.asid(), 0xab07);
        r.tcr &= !TCR_AS;
        assert_eq!(r.asid(), 0x07); // 8-bit ASIDs
        let mut m = Mem::default();
        map4(&mut m, 0x1000, 0x5000, 0x9000 | PAGE | NG, 0);
        let t = walk(&r, 0x5000, false, &mut m.reader()).unwrap();
        assert_eq!((t.global, t.asid), (false, 7));
    }
}
