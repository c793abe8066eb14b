//! The software TLB: per MMU index, a direct-mapped table of [`TLB_SIZE`] entries indexed by
//! VA page number, filled from successful walks and flushed by the TLBI forms Linux uses.
//!
//! ## Entry layout and the intended inline probe
//! Each [`Entry`] is 32 bytes, `#[repr(C)]`: `read`, `write` and `exec` tags, then `addend`.
//! A tag is the page-aligned VA (all 64 bits, so a tagged pointer misses and the slow path
//! untags it) when that access is allowed at the table's MMU index, or a value with low
//! flag bits set ([`TLB_INVALID`], [`TLB_MMIO`], [`TLB_NOTDIRTY`]) that never equals a
//! page-aligned address, sending the access to the slow path. `addend` = host address of the
//! page − VA of the page, so host = VA + addend. The generated code will probe it like this
//! (design §3.3; `rax` = VA, tables at a fixed offset `T(idx)` from the CPU pointer `rbp`):
//!
//! ```text
//! lea rdx,[rax+size-1] ; and rdx,-4096          ; last byte's page (skipped for size 1)
//! mov r15,rax ; shr r15,12-5 ; and r15d,(N-1)<<5 ; entry offset = page index * 32
//! cmp rdx,[rbp+r15+T(idx)+tag]  ; jne slow       ; tag = 0 read, 8 write, 16 exec
//! add rax,[rbp+r15+T(idx)+24]                    ; host address
//! ```
//! Comparing the *last* byte's page catches accesses that cross a page. The entry array is
//! the first field of [`Tlb`], so `T(idx)` = offset of the `Tlb` in the CPU + `idx` *
//! [`TABLE_BYTES`]. The information the probe does not need (PA, ASID, global) lives in a
//! parallel array.
//!
//! ## Flushes
//! Entries remember their ASID and whether they are global, so every TLBI form is exact or
//! errs on the side of invalidating more, which the architecture allows:
//! VMALLE1(IS) all; VAE1(IS)/VALE1(IS) the page for that ASID plus global entries (only
//! leaf entries are cached, so "last level" changes nothing); VAAE1(IS)/VAALE1(IS) the page
//! for any ASID; ASIDE1(IS) the non-global entries of that ASID. A mapping larger than a
//! page is cached page by page; a by-VA flush that falls in a range where such a mapping
//! was cached flushes the whole index (as the block's other pages may be cached).
//!
//! The probe does not compare ASIDs: the owner must call [`Tlb::flush_non_global`] (or
//! [`Tlb::flush_all`]) when the current ASID changes, so only the current ASID's and global
//! entries are ever present. The IS forms also need broadcasting to other vCPUs (SMP).

use super::walk::{Perms, Translation};

/// Entries per MMU index (a power of two).
pub const TLB_SIZE: usize = 1024;
/// MMU indexes: EL0 (also LDTR/STTR at EL1) and EL1. (A PAN index will come with FEAT_PAN.)
pub const NUM_MMU_IDX: usize = 2;
/// Bytes of one MMU index's table.
pub const TABLE_BYTES: usize = TLB_SIZE * std::mem::size_of::<Entry>();

/// Tag flag: the entry is not valid for this access.
pub const TLB_INVALID: u64 = 1 << 0;
/// Tag flag: the page is MMIO (slow path dispatches to the bus).
pub const TLB_MMIO: u64 = 1 << 1;
/// Tag flag: the page holds translated code; writes go through the slow path.
pub const TLB_NOTDIRTY: u64 = 1 << 2;

const PAGE_MASK: u64 = !0xfff;
/// VA bits 55:12 — what TLBI operands name (bits 63:56 are the tag/sign byte).
const VA_MATCH: u64 = 0x00ff_ffff_ffff_f000;

/// An MMU index: which permissions an access is checked with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
pub enum MmuIdx {
    El0 = 0,
    El1 = 1,
}

/// One probed TLB entry (see the module docs for the probe).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(32))]
pub struct Entry {
    pub read: u64,
    pub write: u64,
    pub exec: u64,
    pub addend: u64,
}

impl Entry {
    pub const INVALID: Entry = Entry {
        read: TLB_INVALID,
        write: TLB_INVALID,
        exec: TLB_INVALID,
        addend: 0,
    };
    /// Byte offsets of the fields, for the code generator.
    pub const READ_OFFSET: usize = 0;
    pub const WRITE_OFFSET: usize = 8;
    pub const EXEC_OFFSET: usize = 16;
    pub const ADDEND_OFFSET: usize = 24;
}

/// What the slow path needs about an entry and the flushes need to match it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntryInfo {
    /// Physical address of the page.
    pub pa_page: u64,
    pub asid: u16,
    pub global: bool,
    /// MAIR attribute index of the mapping (None: MMU off).
    pub attr_index: Option<u8>,
}

/// How the filled page is backed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// RAM at this host address (of the page start); `notdirty`: the page holds translated
    /// code, so writes take the slow path.
    Ram { host_page: u64, notdirty: bool },
    /// A device (or nothing): every access takes the slow path.
    Mmio,
}

/// The kind of access for a probe.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Probe {
    Read,
    Write,
    Exec,
}

/// The TLBI operations of the EL1&0 regime that Linux issues.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tlbi {
    Vmalle1,
    Vae1,
    Aside1,
    Vaae1,
    Vale1,
    Vaale1,
}

impl Tlbi {
    /// Decodes `SYS #op1, C8, Cm, #op2` (CRn = 8): the operation and whether it is an
    /// Inner Shareable (broadcast) form. `None` for forms this CPU does not implement
    /// (outer-shareable, range, EL2/EL3), which are UNDEFINED.
    pub fn decode(op1: u32, crm: u32, op2: u32) -> Option<(Tlbi, bool)> {
        if op1 != 0 {
            return None;
        }
        let is = match crm {
            3 => true,
            7 => false,
            _ => return None,
        };
        let op = match op2 {
            0 => Tlbi::Vmalle1,
            1 => Tlbi::Vae1,
            2 => Tlbi::Aside1,
            3 => Tlbi::Vaae1,
            5 => Tlbi::Vale1,
            7 => Tlbi::Vaale1,
            _ => return None,
        };
        Some((op, is))
    }
}

/// The TLB of one vCPU. See the module docs.
#[repr(C)]
pub struct Tlb {
    /// Probed by generated code: must stay the first field.
    pub tables: [[Entry; TLB_SIZE]; NUM_MMU_IDX],
    info: [[EntryInfo; TLB_SIZE]; NUM_MMU_IDX],
    /// Per MMU index: (base, mask) of a VA range covering every mapping larger than a page
    /// cached there (a VA is in it when `(va ^ base) & mask == 0`).
    large: [Option<(u64, u64)>; NUM_MMU_IDX],
    /// Fills since creation, for `-d stats`.
    pub fills: u64,
    /// Flushes of a whole MMU index, for `-d stats`.
    pub full_flushes: u64,
}

fn slot(va: u64) -> usize {
    ((va >> 12) as usize) & (TLB_SIZE - 1)
}

impl Tlb {
    /// An empty TLB (96 KB: it lives inside the boxed vCPU, see `Mmu`).
    pub fn empty() -> Tlb {
        Tlb {
            tables: [[Entry::INVALID; TLB_SIZE]; NUM_MMU_IDX],
            info: [[EntryInfo::default(); TLB_SIZE]; NUM_MMU_IDX],
            large: [None; NUM_MMU_IDX],
            fills: 0,
            full_flushes: 0,
        }
    }

    /// An empty TLB on the heap.
    pub fn new() -> Box<Tlb> {
        Box::new(Tlb::empty())
    }

    /// Byte offset of MMU index `idx`'s table inside a `Tlb`.
    pub const fn table_offset(idx: MmuIdx) -> usize {
        idx as usize * TABLE_BYTES
    }

    /// Installs the translation of `va` for MMU index `idx`: tags for the accesses
    /// `t.perms` allow at that index, the addend for RAM. `va` should be untagged (the slow
    /// path strips a TBI tag before walking).
    pub fn fill(&mut self, idx: MmuIdx, va: u64, t: &Translation, backing: Backing) {
        let page = va & PAGE_MASK;
        let pa_page = t.pa & PAGE_MASK;
        let Perms {
            el0_read,
            el0_write,
            el0_exec,
            el1_read,
            el1_write,
            el1_exec,
        } = t.perms;
        let (r, w, x) = match idx {
            MmuIdx::El0 => (el0_read, el0_write, el0_exec),
            MmuIdx::El1 => (el1_read, el1_write, el1_exec),
        };
        let (flags, write_flags, addend) = match backing {
            Backing::Ram {
                host_page,
                notdirty,
            } => (
                0,
                if notdirty { TLB_NOTDIRTY } else { 0 },
                host_page.wrapping_sub(page),
            ),
            Backing::Mmio => (TLB_MMIO, TLB_MMIO, 0),
        };
        let tag = |ok: bool, extra: u64| if ok { page | extra } else { TLB_INVALID };
        let i = idx as usize;
        let s = slot(va);
        self.tables[i][s] = Entry {
            read: tag(r, flags),
            write: tag(w, write_flags),
            exec: tag(x, flags),
            addend,
        };
        self.info[i][s] = EntryInfo {
            pa_page,
            asid: t.asid,
            global: t.global,
            attr_index: t.attr_index,
        };
        if t.size_log2 > 12 {
            let mask = !t.offset_mask();
            // Grow the range until it covers both the old range and this mapping.
            let m = match self.large[i] {
                None => mask,
                Some((base, old)) => {
                    let mut m = old & mask;
                    while (base ^ va) & m != 0 {
                        m <<= 1;
                    }
                    m
                }
            };
            self.large[i] = Some((va & m, m));
        }
        self.fills += 1;
    }

    /// The host address for an access of `size` bytes at `va`, exactly as the inline probe
    /// computes it (`None`: the slow path must handle it).
    pub fn probe(&self, idx: MmuIdx, va: u64, size: u64, kind: Probe) -> Option<u64> {
        let e = &self.tables[idx as usize][slot(va)];
        let tag = match kind {
            Probe::Read => e.read,
            Probe::Write => e.write,
            Probe::Exec => e.exec,
        };
        let last_page = va.wrapping_add(size.max(1) - 1) & PAGE_MASK;
        (tag == last_page).then(|| va.wrapping_add(e.addend))
    }

    /// The entry and its information for `va`, if the slot holds that page in any form
    /// (including MMIO and not-dirty pages), for the slow path.
    pub fn entry(&self, idx: MmuIdx, va: u64) -> Option<(Entry, EntryInfo)> {
        let i = idx as usize;
        let s = slot(va);
        let e = self.tables[i][s];
        let page = va & PAGE_MASK;
        [e.read, e.write, e.exec]
            .iter()
            .any(|&t| t != TLB_INVALID && t & PAGE_MASK == page)
            .then_some((e, self.info[i][s]))
    }

    fn flush_index(&mut self, i: usize) {
        self.tables[i] = [Entry::INVALID; TLB_SIZE];
        self.large[i] = None;
        self.full_flushes += 1;
    }

    /// Marks (`code` = true) or unmarks the cached mappings of physical page `pa_page` as
    /// holding translated code: their write tags get [`TLB_NOTDIRTY`], so stores take the
    /// slow path, which invalidates the page's blocks and then calls this with `false`.
    pub fn set_notdirty(&mut self, pa_page: u64, code: bool) {
        for i in 0..NUM_MMU_IDX {
            for s in 0..TLB_SIZE {
                let w = &mut self.tables[i][s].write;
                if self.info[i][s].pa_page == pa_page && *w != TLB_INVALID && *w & TLB_MMIO == 0 {
                    *w = if code {
                        *w | TLB_NOTDIRTY
                    } else {
                        *w & !TLB_NOTDIRTY
                    };
                }
            }
        }
    }

    /// Drops every entry (TLBI VMALLE1(IS); SCTLR.M, TCR or TTBR changes).
    pub fn flush_all(&mut self) {
        for i in 0..NUM_MMU_IDX {
            self.flush_index(i);
        }
    }

    /// Drops every non-global entry (an ASID switch).
    pub fn flush_non_global(&mut self) {
        self.flush_where(|info| !info.global);
    }

    /// Drops the entries of one VA half: the TTBR1 half (VA bit 55 set, `upper`) or the
    /// TTBR0 half (a translation-table base change).
    pub fn flush_half(&mut self, upper: bool) {
        for i in 0..NUM_MMU_IDX {
            for s in 0..TLB_SIZE {
                let e = &mut self.tables[i][s];
                let page = [e.read, e.write, e.exec]
                    .into_iter()
                    .find(|&t| t != TLB_INVALID);
                if page.is_some_and(|t| (t >> 55 & 1 != 0) == upper) {
                    *e = Entry::INVALID;
                }
            }
        }
    }

    /// Drops the non-global entries of `asid` (TLBI ASIDE1(IS)).
    pub fn flush_asid(&mut self, asid: u16) {
        self.flush_where(|info| !info.global && info.asid == asid);
    }

    fn flush_where(&mut self, pred: impl Fn(&EntryInfo) -> bool) {
        for i in 0..NUM_MMU_IDX {
            for s in 0..TLB_SIZE {
                if self.tables[i][s] != Entry::INVALID && pred(&self.info[i][s]) {
                    self.tables[i][s] = Entry::INVALID;
                }
            }
        }
    }

    /// Drops the translation of the page holding `va` (bits 55:12 compared) in every MMU
    /// index: for `asid` and global entries, or for every ASID when `asid` is `None`.
    pub fn flush_va(&mut self, va: u64, asid: Option<u16>) {
        let s = slot(va);
        for i in 0..NUM_MMU_IDX {
            if self.large[i].is_some_and(|(base, mask)| (va ^ base) & mask & VA_MATCH == 0) {
                self.flush_index(i);
                continue;
            }
            let e = self.tables[i][s];
            let info = self.info[i][s];
            let hit = [e.read, e.write, e.exec]
                .iter()
                .any(|&t| t != TLB_INVALID && (t ^ va) & VA_MATCH == 0);
            if hit && (asid.is_none() || info.global || Some(info.asid) == asid) {
                self.tables[i][s] = Entry::INVALID;
            }
        }
    }

    /// Performs a TLBI with operand `xt` (ASID in bits 63:48, `VA[55:12]` in bits 43:0).
    /// `asid16`: TCR_EL1.AS (otherwise only 8 ASID bits count).
    pub fn tlbi(&mut self, op: Tlbi, xt: u64, asid16: bool) {
        let asid = (xt >> 48) as u16 & if asid16 { 0xffff } else { 0xff };
        // VA[55:12] from bits 43:0, sign-extended from bit 55.
        let va = (((xt << 20) as i64) >> 8) as u64 & !0xfff;
        match op {
            Tlbi::Vmalle1 => self.flush_all(),
            Tlbi::Aside1 => self.flush_asid(asid),
            Tlbi::Vae1 | Tlbi::Vale1 => self.flush_va(va, Some(asid)),
            Tlbi::Vaae1 | Tlbi::Vaale1 => self.flush_va(va, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::mmu::walk::{flat, Perms};

    fn tr(pa: u64, perms: Perms, global: bool, asid: u16, size_log2: u8) -> Translation {
        Translation {
            pa,
            size_log2,
            perms,
            attr_index: Some(0),
            sh: 3,
            global,
            asid,
            level: 3,
        }
    }

    const RW_EL1: Perms = Perms {
        el0_read: false,
        el0_write: false,
        el0_exec: false,
        el1_read: true,
        el1_write: true,
        el1_exec: false,
    };
    const USER_RX: Perms = Perms {
        el0_read: true,
        el0_write: false,
        el0_exec: true,
        el1_read: true,
        el1_write: false,
        el1_exec: true,
    };

    fn ram(host: u64) -> Backing {
        Backing::Ram {
            host_page: host,
            notdirty: false,
        }
    }

    const K: u64 = 0xffff_8000_0010_0000;
    const U: u64 = 0x0000_aaaa_0000_3000;

    #[test]
    fn layout_for_the_inline_probe() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert_eq!(std::mem::offset_of!(Entry, write), Entry::WRITE_OFFSET);
        assert_eq!(std::mem::offset_of!(Entry, exec), Entry::EXEC_OFFSET);
        assert_eq!(std::mem::offset_of!(Entry, addend), Entry::ADDEND_OFFSET);
        assert_eq!(std::mem::offset_of!(Tlb, tables), 0);
        assert_eq!(Tlb::table_offset(MmuIdx::El1), 32 * 1024);
        let t = Tlb::new();
        let base = &*t as *const Tlb as usize;
        let e = &t.tables[1][5] as *const Entry as usize;
        assert_eq!(e - base, Tlb::table_offset(MmuIdx::El1) + 5 * 32);
    }

    #[test]
    fn fill_and_probe_per_index() {
        let mut t = Tlb::new();
        assert_eq!(t.probe(MmuIdx::El1, K, 8, Probe::Read), None);
        t.fill(
            MmuIdx::El1,
            K + 0x10,
            &tr(0x4100_0000, RW_EL1, true, 0, 12),
            ram(0x7f00_0000_0000),
        );
        assert_eq!(
            t.probe(MmuIdx::El1, K + 0x18, 8, Probe::Read),
            Some(0x7f00_0000_0018)
        );
        assert_eq!(
            t.probe(MmuIdx::El1, K + 0xff8, 8, Probe::Write),
            Some(0x7f00_0000_0ff8)
        );
        assert_eq!(t.probe(MmuIdx::El1, K, 4, Probe::Exec), None); // not executable
        assert_eq!(t.probe(MmuIdx::El0, K, 4, Probe::Read), None); // other index
                                                                   // Crossing into the next page misses; a one-byte access at the end hits.
        assert_eq!(t.probe(MmuIdx::El1, K + 0xffc, 8, Probe::Read), None);
        assert!(t.probe(MmuIdx::El1, K + 0xfff, 1, Probe::Read).is_some());
        // A tagged pointer or another page in the same slot misses.
        assert_eq!(t.probe(MmuIdx::El1, K ^ (1 << 56), 8, Probe::Read), None);
        assert_eq!(
            t.probe(MmuIdx::El1, K + (TLB_SIZE as u64) * 4096, 8, Probe::Read),
            None
        );
        let (e, info) = t.entry(MmuIdx::El1, K + 0x123).unwrap();
        assert_eq!(info.pa_page, 0x4100_0000);
        assert_eq!(e.exec, TLB_INVALID);
        assert!(t.entry(MmuIdx::El0, K).is_none());
        // EL0 permissions: the same translation gives different tags per index.
        t.fill(
            MmuIdx::El0,
            U,
            &tr(0x5000, USER_RX, false, 3, 12),
            ram(0x1000_0000),
        );
        t.fill(
            MmuIdx::El1,
            U,
            &tr(0x5000, USER_RX, false, 3, 12),
            ram(0x1000_0000),
        );
        assert!(t.probe(MmuIdx::El0, U, 4, Probe::Exec).is_some());
        assert!(t.probe(MmuIdx::El0, U, 4, Probe::Write).is_none());
        assert!(t.probe(MmuIdx::El1, U, 4, Probe::Read).is_some());
        assert_eq!(t.fills, 3);
    }

    #[test]
    fn mmio_and_notdirty_force_the_slow_path() {
        let mut t = Tlb::new();
        let f = flat(0x0900_0000).unwrap();
        t.fill(MmuIdx::El1, 0x0900_0000, &f, Backing::Mmio);
        for k in [Probe::Read, Probe::Write, Probe::Exec] {
            assert_eq!(t.probe(MmuIdx::El1, 0x0900_0000, 4, k), None);
        }
        let (e, info) = t.entry(MmuIdx::El1, 0x0900_0018).unwrap();
        assert_eq!(e.read, 0x0900_0000 | TLB_MMIO);
        assert_eq!((info.pa_page, info.attr_index), (0x0900_0000, None));
        let code = Backing::Ram {
            host_page: 0x7000_0000,
            notdirty: true,
        };
        t.fill(MmuIdx::El1, 0x4000_0000, &flat(0x4000_0000).unwrap(), code);
        assert!(t.probe(MmuIdx::El1, 0x4000_0000, 4, Probe::Read).is_some());
        assert!(t.probe(MmuIdx::El1, 0x4000_0000, 4, Probe::Exec).is_some());
        assert_eq!(t.probe(MmuIdx::El1, 0x4000_0000, 4, Probe::Write), None);
        assert_eq!(
            t.entry(MmuIdx::El1, 0x4000_0000).unwrap().0.write & 0xfff,
            TLB_NOTDIRTY
        );
    }

    #[test]
    fn code_pages_toggle_notdirty() {
        let mut t = Tlb::new();
        let rw = Perms {
            el0_read: true,
            el0_write: true,
            ..RW_EL1
        };
        t.fill(MmuIdx::El0, U, &tr(0x7000, rw, false, 1, 12), ram(0x1000));
        t.fill(
            MmuIdx::El1,
            K,
            &tr(0x7000, RW_EL1, true, 0, 12),
            ram(0x1000),
        );
        t.fill(
            MmuIdx::El1,
            K + 0x1000,
            &tr(0x8000, RW_EL1, true, 0, 12),
            ram(0x2000),
        );
        t.fill(
            MmuIdx::El1,
            0x0900_0000,
            &flat(0x0900_0000).unwrap(),
            Backing::Mmio,
        );
        t.set_notdirty(0x7000, true);
        assert_eq!(t.probe(MmuIdx::El0, U, 4, Probe::Write), None);
        assert_eq!(t.probe(MmuIdx::El1, K, 4, Probe::Write), None);
        assert!(t.probe(MmuIdx::El1, K, 4, Probe::Read).is_some());
        assert!(t.probe(MmuIdx::El1, K + 0x1000, 4, Probe::Write).is_some());
        t.set_notdirty(0x0900_0000, true); // MMIO entries keep their tags
        assert_eq!(
            t.entry(MmuIdx::El1, 0x0900_0000).unwrap().0.write & 0xfff,
            TLB_MMIO
        );
        t.set_notdirty(0x7000, false);
        assert!(t.probe(MmuIdx::El0, U, 4, Probe::Write).is_some());
        assert!(t.probe(MmuIdx::El1, K, 4, Probe::Write).is_some());
        // A flushed entry is not brought back.
        t.flush_all();
        t.set_notdirty(0x7000, false);
        assert!(t.entry(MmuIdx::El1, K).is_none());
    }

    /// A TLB with, in both indexes: K (global), U (ASID 3), U2 (ASID 4, another slot).
    fn populated() -> Box<Tlb> {
        let mut t = Tlb::new();
        for idx in [MmuIdx::El0, MmuIdx::El1] {
            t.fill(idx, K, &tr(0x4000_0000, USER_RX, true, 0, 12), ram(0x1000));
            t.fill(idx, U, &tr(0x5000, USER_RX, false, 3, 12), ram(0x2000));
            t.fill(
                idx,
                U + 0x1000,
                &tr(0x6000, USER_RX, false, 4, 12),
                ram(0x3000),
            );
        }
        t
    }

    fn present(t: &Tlb, va: u64) -> [bool; 2] {
        [MmuIdx::El0, MmuIdx::El1].map(|i| t.probe(i, va, 1, Probe::Read).is_some())
    }

    #[test]
    fn tlbi_vmalle1_and_aside1() {
        let mut t = populated();
        t.tlbi(Tlbi::Vmalle1, 0, true);
        for va in [K, U, U + 0x1000] {
            assert_eq!(present(&t, va), [false, false]);
        }
        let mut t = populated();
        t.tlbi(Tlbi::Aside1, 3 << 48, true);
        assert_eq!(present(&t, U), [false, false]);
        assert_eq!(present(&t, U + 0x1000), [true, true]);
        assert_eq!(present(&t, K), [true, true]); // global survives
                                                  // 8-bit ASIDs: the upper operand bits are ignored.
        t.tlbi(Tlbi::Aside1, 0x0104 << 48, false);
        assert_eq!(present(&t, U + 0x1000), [false, false]);
        let mut t = populated();
        t.flush_non_global();
        assert_eq!(present(&t, K), [true, true]);
        assert_eq!(present(&t, U), [false, false]);
        assert_eq!(present(&t, U + 0x1000), [false, false]);
    }

    #[test]
    fn tlbi_by_va() {
        let op = |va: u64, asid: u64| (asid << 48) | ((va >> 12) & ((1 << 44) - 1));
        for form in [Tlbi::Vae1, Tlbi::Vale1] {
            let mut t = populated();
            t.tlbi(form, op(U, 4), true); // wrong ASID: stays
            assert_eq!(present(&t, U), [true, true]);
            t.tlbi(form, op(U + 0x10, 3), true);
            assert_eq!(present(&t, U), [false, false]);
            assert_eq!(present(&t, U + 0x1000), [true, true]);
            // Global entries go whatever the ASID; the high half is sign-extended from bit 55.
            t.tlbi(form, op(K, 9), true);
            assert_eq!(present(&t, K), [false, false]);
        }
        for form in [Tlbi::Vaae1, Tlbi::Vaale1] {
            let mut t = populated();
            t.tlbi(form, op(U, 0x77), true);
            assert_eq!(present(&t, U), [false, false]);
            t.tlbi(form, op(K, 0), true);
            assert_eq!(present(&t, K), [false, false]);
            assert_eq!(present(&t, U + 0x1000), [true, true]);
        }
        // A page of another VA that shares the slot is not touched.
        let mut t = populated();
        t.tlbi(Tlbi::Vaae1, op(U + TLB_SIZE as u64 * 4096, 0), true);
        assert_eq!(present(&t, U), [true, true]);
    }

    #[test]
    fn by_va_flush_covers_cached_blocks() {
        let mut t = Tlb::new();
        let block = 0xffff_0000_4000_0000u64; // a 2 MB block cached page by page
        let b = tr(0x8000_0000, RW_EL1, true, 0, 21);
        t.fill(MmuIdx::El1, block + 0x3000, &b, ram(0x10_0000));
        t.fill(MmuIdx::El1, block + 0x1f_f000, &b, ram(0x20_0000));
        t.fill(
            MmuIdx::El1,
            K,
            &tr(0x4000_0000, RW_EL1, true, 0, 12),
            ram(0x1000),
        );
        t.fill(
            MmuIdx::El0,
            U,
            &tr(0x5000, USER_RX, false, 3, 12),
            ram(0x2000),
        );
        // Invalidating another page of the block must drop the cached pages of it.
        t.tlbi(
            Tlbi::Vaae1,
            (block + 0x10_0000) >> 12 & ((1 << 44) - 1),
            true,
        );
        assert_eq!(t.probe(MmuIdx::El1, block + 0x3000, 1, Probe::Read), None);
        assert_eq!(
            t.probe(MmuIdx::El1, block + 0x1f_f000, 1, Probe::Read),
            None
        );
        assert!(t.probe(MmuIdx::El0, U, 1, Probe::Read).is_some()); // other index: no block
                                                                    // Outside any cached block a by-VA flush stays precise.
        let mut t = Tlb::new();
        t.fill(MmuIdx::El1, block, &b, ram(0x10_0000));
        t.fill(
            MmuIdx::El1,
            K,
            &tr(0x4000_0000, RW_EL1, true, 0, 12),
            ram(0x1000),
        );
        t.tlbi(Tlbi::Vaae1, (U >> 12) & ((1 << 44) - 1), true);
        assert!(t.probe(MmuIdx::El1, block, 1, Probe::Read).is_some());
        assert!(t.probe(MmuIdx::El1, K, 1, Probe::Read).is_some());
        // Two blocks far apart: the tracked range grows to cover both.
        t.fill(MmuIdx::El1, 0x20_0000, &b, ram(0x30_0000));
        t.tlbi(Tlbi::Vaae1, block >> 12 & ((1 << 44) - 1), true);
        assert_eq!(t.probe(MmuIdx::El1, 0x20_0000, 1, Probe::Read), None);
        assert_eq!(t.full_flushes, 1);
    }

    #[test]
    fn flush_one_half() {
        let mut t = populated();
        t.flush_half(false);
        assert_eq!(present(&t, K), [true, true]);
        assert_eq!(present(&t, U), [false, false]);
        assert_eq!(present(&t, U + 0x1000), [false, false]);
        let mut t = populated();
        t.flush_half(true);
        assert_eq!(present(&t, K), [false, false]);
        assert_eq!(present(&t, U), [true, true]);
    }

    #[test]
    fn decode_tlbi() {
        assert_eq!(Tlbi::decode(0, 3, 0), Some((Tlbi::Vmalle1, true)));
        assert_eq!(Tlbi::decode(0, 7, 0), Some((Tlbi::Vmalle1, false)));
        assert_eq!(Tlbi::decode(0, 3, 1), Some((Tlbi::Vae1, true)));
        assert_eq!(Tlbi::decode(0, 3, 2), Some((Tlbi::Aside1, true)));
        assert_eq!(Tlbi::decode(0, 3, 3), Some((Tlbi::Vaae1, true)));
        assert_eq!(Tlbi::decode(0, 3, 5), Some((Tlbi::Vale1, true)));
        assert_eq!(Tlbi::decode(0, 3, 7), Some((Tlbi::Vaale1, true)));
        assert_eq!(Tlbi::decode(0, 7, 7), Some((Tlbi::Vaale1, false)));
        assert_eq!(Tlbi::decode(0, 1, 0), None); // outer shareable: not implemented
        assert_eq!(Tlbi::decode(4, 7, 0), None); // EL2
        assert_eq!(Tlbi::decode(0, 7, 4), None);
    }
}
