//! The arm64 Linux boot protocol (the kernel's `Documentation/arm64/booting.rst`), with
//! the placement QEMU 7.2's `virt` uses, so a guest sees the same addresses under both.
//!
//! - **Kernel**: an arm64 `Image` is recognised by its 64-byte header (magic `ARM\x64`
//!   at offset 56; `text_offset` at 8, `image_size` at 16, `flags` at 24: bit 0 big-endian,
//!   bits 1–2 page size, bit 3 "may be placed anywhere"). It is loaded `text_offset` bytes
//!   above a 2 MiB-aligned base; QEMU keeps the first 4 KiB of RAM for its boot stub, so an
//!   offset below 4 KiB moves the kernel up by 2 MiB: a modern Image (`text_offset` 0) lands
//!   at RAM + 2 MiB. A header with `image_size` 0 (pre-3.17 kernels) and a file with no
//!   header at all (a raw binary such as a kvm-unit-tests `.flat`) load at RAM + 0x80000.
//!   [measured with `qemu-system-aarch64 -d cpu` on synthetic Images]
//! - **initrd**: at RAM + min(RAM/2, 128 MiB), or after the kernel if the kernel reaches
//!   further, page-aligned. ferrite counts the kernel's whole `image_size` (its BSS
//!   included), where QEMU counts only the file; the two agree for every real kernel.
//! - **DTB**: at the next 2 MiB boundary after the initrd (or after where it would be);
//!   at most 2 MiB, as the protocol requires.
//! - **Entry** ([`ResetState`]): x0 = DTB address, x1–x3 = 0, PC = kernel entry, EL1 with
//!   SP_EL1 (EL1h), DAIF all masked, MMU and caches off, CNTFRQ_EL0 programmed. ferrite
//!   sets these registers directly instead of running a boot stub.
//!
//! Anything that cannot boot — a missing file, a PE file without the Image magic, a
//! big-endian or 16K/64K-page Image, an ELF/gzip/uImage file, a kernel, initrd or DTB that
//! does not fit in `-m` — is a one-line error.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::memory::{human_size, Ram, RAM_BASE};

/// "ARM\x64", little-endian, at offset 56 of an Image.
const IMAGE_MAGIC: u32 = 0x644d_5241;
/// Length of the Image header.
pub const HEADER_LEN: usize = 64;
/// Load offset of raw binaries and header-less Images (QEMU's `KERNEL64_LOAD_ADDR`).
pub const RAW_OFFSET: u64 = 0x8_0000;
/// QEMU keeps the bottom of RAM for its boot stub; Image offsets below this are moved
/// up by 2 MiB.
const STUB_AREA: u64 = 0x1000;
const SZ_2M: u64 = 2 << 20;
const PAGE: u64 = 0x1000;
/// The boot protocol's limit on the DTB size.
pub const MAX_DTB: u64 = 2 << 20;
/// The generic timer frequency ferrite programs into CNTFRQ_EL0 (62.5 MHz, as QEMU and
/// ferrite's user mode).
pub const CNTFRQ: u64 = 62_500_000;
/// PSTATE at entry: EL1h (M[3:0] = 0b0101) with D, A, I and F masked.
pub const RESET_PSTATE: u64 = 0x3c5;
/// SCTLR_EL1 at entry: M (MMU), C and I (caches) clear; the bits that are RES1 in
/// ARMv8.0 (11, 20, 22, 23, 28, 29) set.
pub const RESET_SCTLR_EL1: u64 = 0x30d0_0800;

/// The header of an arm64 `Image`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    pub text_offset: u64,
    /// Bytes the kernel occupies from its load address, BSS included; 0 on old kernels.
    pub image_size: u64,
    pub flags: u64,
}

impl ImageHeader {
    /// The header, if `head` (the first bytes of a file) carries the Image magic.
    pub fn parse(head: &[u8]) -> Option<ImageHeader> {
        let u64_at = |o: usize| u64::from_le_bytes(head[o..o + 8].try_into().unwrap());
        if head.len() < HEADER_LEN
            || u32::from_le_bytes(head[56..60].try_into().unwrap()) != IMAGE_MAGIC
        {
            return None;
        }
        Some(ImageHeader {
            text_offset: u64_at(8),
            image_size: u64_at(16),
            flags: u64_at(24),
        })
    }

    /// Flags bit 0: the kernel runs big-endian.
    pub fn big_endian(&self) -> bool {
        self.flags & 1 != 0
    }

    /// Flags bits 1–2: the kernel's page size, if it says.
    pub fn page_size(&self) -> Option<u64> {
        match (self.flags >> 1) & 3 {
            1 => Some(4 << 10),
            2 => Some(16 << 10),
            3 => Some(64 << 10),
            _ => None,
        }
    }

    /// Flags bit 3: the 2 MiB-aligned base may be anywhere in RAM (otherwise as low as
    /// possible; RAM + 2 MiB satisfies both).
    pub fn place_anywhere(&self) -> bool {
        self.flags & 8 != 0
    }
}

/// How `-kernel` is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelFormat {
    Image(ImageHeader),
    /// No header: bytes copied to RAM + [`RAW_OFFSET`] and entered at their start.
    Raw,
}

/// Recognise the kernel file from its first bytes (up to [`HEADER_LEN`]). The error
/// says what the file is instead, without the file name.
pub fn identify(head: &[u8]) -> Result<KernelFormat, String> {
    if let Some(h) = ImageHeader::parse(head) {
        if h.big_endian() {
            return Err(
                "is a big-endian arm64 Image; ferrite runs little-endian kernels only".into(),
            );
        }
        if let Some(ps) = h.page_size().filter(|&ps| ps != 4 << 10) {
            return Err(format!(
                "is an arm64 Image built for {}K pages; the emulated MMU has the 4K granule only",
                ps >> 10
            ));
        }
        if h.image_size != 0 && !h.text_offset.is_multiple_of(4) {
            return Err(format!(
                "is an arm64 Image with a misaligned text_offset {:#x}",
                h.text_offset
            ));
        }
        return Ok(KernelFormat::Image(h));
    }
    if head.starts_with(b"MZ") {
        return Err(format!(
            "is a PE/EFI executable without the arm64 Image magic \"ARM\\x64\" at offset 56 \
             (found {:02x?})",
            head.get(56..60).unwrap_or(&[])
        ));
    }
    if head.starts_with(b"\x7fELF") {
        return Err(
            "is an ELF file; ferrite boots arm64 Images (arch/arm64/boot/Image) and raw binaries"
                .into(),
        );
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Err(
            "is gzip-compressed; decompress it first (ferrite loads uncompressed Images)".into(),
        );
    }
    if head.starts_with(&0x2705_1956u32.to_be_bytes()) {
        return Err("is a U-Boot uImage; pass the Image inside it".into());
    }
    Ok(KernelFormat::Raw)
}

/// A range of guest physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub addr: u64,
    pub len: u64,
}

impl Span {
    pub fn end(&self) -> u64 {
        self.addr + self.len
    }
}

/// The CPU state the boot protocol requires at the kernel's first instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetState {
    /// x0 = DTB physical address; x1, x2, x3 = 0 (reserved).
    pub x: [u64; 4],
    pub pc: u64,
    /// [`RESET_PSTATE`]: EL1h, DAIF masked.
    pub pstate: u64,
    /// [`RESET_SCTLR_EL1`]: MMU off.
    pub sctlr_el1: u64,
    pub cntfrq_el0: u64,
}

/// What was placed where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Boot {
    pub format: KernelFormat,
    /// The kernel file's bytes.
    pub kernel: Span,
    /// The memory the kernel owns from its load address (`image_size`, at least the file).
    pub kernel_mem: Span,
    pub initrd: Option<Span>,
    pub dtb: Span,
    pub reset: ResetState,
}

/// The files to load.
pub struct BootFiles<'a> {
    pub kernel: &'a Path,
    pub initrd: Option<&'a Path>,
}

fn align_up(x: u64, a: u64) -> Option<u64> {
    Some(x.checked_add(a - 1)? & !(a - 1))
}

/// An error message from an I/O error, without Rust's " (os error N)" suffix.
pub(crate) fn io_msg(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Open `path` as a regular file and return it with its length.
fn open(what: &str, path: &Path) -> Result<(File, u64), String> {
    let f = File::open(path)
        .map_err(|e| format!("cannot open {what} '{}': {}", path.display(), io_msg(&e)))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("cannot read {what} '{}': {}", path.display(), io_msg(&e)))?;
    if !meta.is_file() {
        return Err(format!("{what} '{}' is not a regular file", path.display()));
    }
    Ok((f, meta.len()))
}

/// Copy the whole of `f` (`len` bytes) into RAM at `addr` (already checked to fit).
fn read_into(
    ram: &mut Ram,
    what: &str,
    path: &Path,
    f: &File,
    addr: u64,
    len: u64,
) -> Result<(), String> {
    let dst = ram
        .slice_mut(addr, len)
        .ok_or_else(|| format!("{what} '{}' does not fit in RAM", path.display()))?;
    f.read_exact_at(dst, 0)
        .map_err(|e| format!("cannot read {what} '{}': {}", path.display(), io_msg(&e)))
}

/// Where the kernel's file goes and how much memory it owns from there.
fn kernel_placement(format: KernelFormat, file_len: u64) -> (u64, u64) {
    match format {
        KernelFormat::Image(h) if h.image_size != 0 => {
            let offset = if h.text_offset < STUB_AREA {
                h.text_offset + SZ_2M
            } else {
                h.text_offset
            };
            (offset, h.image_size.max(file_len))
        }
        _ => (RAW_OFFSET, file_len),
    }
}

/// Load the kernel and initrd into `ram`, build the DTB with `make_dtb` (given where the
/// initrd went) and place it, and return the layout and entry state.
pub fn load(
    ram: &mut Ram,
    files: &BootFiles,
    make_dtb: impl FnOnce(Option<Span>) -> Result<Vec<u8>, String>,
) -> Result<Boot, String> {
    let ram_desc = format!("-m {} RAM ends at {:#x}", human_size(ram.size()), ram.end());

    // Kernel.
    let kpath = files.kernel;
    let (kfile, klen) = open("kernel", kpath)?;
    if klen == 0 {
        return Err(format!("kernel '{}' is empty", kpath.display()));
    }
    let mut head = vec![0u8; klen.min(HEADER_LEN as u64) as usize];
    kfile
        .read_exact_at(&mut head, 0)
        .map_err(|e| format!("cannot read kernel '{}': {}", kpath.display(), io_msg(&e)))?;
    let format = identify(&head).map_err(|why| format!("kernel '{}' {why}", kpath.display()))?;
    let (offset, mem_len) = kernel_placement(format, klen);
    let kaddr = RAM_BASE + offset;
    let kernel_mem = Span {
        addr: kaddr,
        len: mem_len,
    };
    if !ram.contains(kaddr, mem_len) {
        return Err(format!(
            "kernel '{}' needs {mem_len:#x} bytes at {kaddr:#x}, more than RAM has ({ram_desc})",
            kpath.display()
        ));
    }
    read_into(ram, "kernel", kpath, &kfile, kaddr, klen)?;

    // initrd.
    let default_start = RAM_BASE + (ram.size() / 2).min(128 << 20);
    let initrd_start =
        align_up(default_start.max(kernel_mem.end()), PAGE).ok_or("initrd address overflows")?;
    let initrd = match files.initrd {
        None => None,
        Some(ipath) => {
            let (ifile, ilen) = open("initrd", ipath)?;
            if !ram.contains(initrd_start, ilen) {
                return Err(format!(
                    "initrd '{}' ({ilen:#x} bytes at {initrd_start:#x}) does not fit in RAM after the kernel ({ram_desc})",
                    ipath.display()
                ));
            }
            read_into(ram, "initrd", ipath, &ifile, initrd_start, ilen)?;
            Some(Span {
                addr: initrd_start,
                len: ilen,
            })
        }
    };

    // Device tree.
    let blob = make_dtb(initrd)?;
    let after = initrd.map_or(initrd_start, |s| s.end());
    let dtb_addr = align_up(after, SZ_2M).ok_or("DTB address overflows")?;
    let dtb_len = blob.len() as u64;
    if dtb_len > MAX_DTB {
        return Err(format!(
            "device tree is {dtb_len} bytes; the arm64 boot protocol allows at most 2 MiB"
        ));
    }
    if !ram.contains(dtb_addr, dtb_len) {
        return Err(format!(
            "no room for the device tree ({dtb_len:#x} bytes at {dtb_addr:#x}) after the kernel and initrd ({ram_desc})"
        ));
    }
    ram.write(dtb_addr, &blob).map_err(|e| e.to_string())?;

    Ok(Boot {
        format,
        kernel: Span {
            addr: kaddr,
            len: klen,
        },
        kernel_mem,
        initrd,
        dtb: Span {
            addr: dtb_addr,
            len: dtb_len,
        },
        reset: ResetState {
            x: [dtb_addr, 0, 0, 0],
            pc: kaddr,
            pstate: RESET_PSTATE,
            sctlr_el1: RESET_SCTLR_EL1,
            cntfrq_el0: CNTFRQ,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A synthetic Image: `b .` as code0, then the header fields, padded to `len` bytes.
    fn image(text_offset: u64, image_size: u64, flags: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len.max(HEADER_LEN)];
        b[0..4].copy_from_slice(&0x1400_0000u32.to_le_bytes());
        b[8..16].copy_from_slice(&text_offset.to_le_bytes());
        b[16..24].copy_from_slice(&image_size.to_le_bytes());
        b[24..32].copy_from_slice(&flags.to_le_bytes());
        b[56..60].copy_from_slice(b"ARM\x64");
        b[len.max(HEADER_LEN) - 1] = 0xaa; // a marker at the end of the file
        b
    }

    struct Files {
        dir: PathBuf,
    }

    impl Files {
        fn new(tag: &str) -> Files {
            let dir =
                std::env::temp_dir().join(format!("ferrite-boot-{}-{tag}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Files { dir }
        }
        fn put(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let p = self.dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn dtb(len: usize) -> impl FnOnce(Option<Span>) -> Result<Vec<u8>, String> {
        move |_| Ok(vec![0xd0; len])
    }

    fn boot(ram_size: u64, kernel: &Path, initrd: Option<&Path>) -> Result<(Ram, Boot), String> {
        let mut ram = Ram::new(ram_size).unwrap();
        let b = load(&mut ram, &BootFiles { kernel, initrd }, dtb(0x2000))?;
        Ok((ram, b))
    }

    #[test]
    fn image_placed_as_qemu_virt() {
        // Addresses measured with qemu-system-aarch64 7.2 -M virt -d cpu (PC and X0 at
        // the first kernel instruction) on the same synthetic files.
        let f = Files::new("qemu");
        let k = f.put("Image", &image(0, 0x10_0000, 0xa, 0x1000));
        let (ram, b) = boot(1 << 30, &k, None).unwrap();
        assert_eq!(b.reset.pc, 0x4020_0000);
        assert_eq!(b.reset.x, [0x4800_0000, 0, 0, 0]);
        assert_eq!(b.initrd, None);
        assert_eq!(ram.slice(0x4020_0000, 4), Some(&[0, 0, 0, 0x14][..]));
        assert_eq!(ram.slice(0x4020_0fff, 1), Some(&[0xaa][..]));
        assert_eq!(ram.slice(0x4800_0000, 1), Some(&[0xd0][..]));

        let i = f.put("initrd", &vec![0x5a; 5_000_000]);
        let (ram, b) = boot(1 << 30, &k, Some(&i)).unwrap();
        assert_eq!(
            b.initrd,
            Some(Span {
                addr: 0x4800_0000,
                len: 5_000_000
            })
        );
        assert_eq!(b.dtb.addr, 0x4860_0000);
        assert_eq!(b.reset.x[0], 0x4860_0000);
        assert_eq!(ram.slice(0x4800_0000 + 4_999_999, 1), Some(&[0x5a][..]));

        // 128M: the initrd goes at RAM/2.
        let small = f.put("small", b"x");
        let (_, b) = boot(128 << 20, &k, Some(&small)).unwrap();
        assert_eq!(b.initrd.unwrap().addr, 0x4400_0000);
        assert_eq!(b.dtb.addr, 0x4420_0000);
    }

    #[test]
    fn text_offsets_and_raw_binaries() {
        let f = Files::new("offsets");
        for (text_offset, image_size, pc) in [
            (0x8_0000, 0x10_0000, 0x4008_0000), // pre-5.8 kernels
            (0x800, 0x10_0000, 0x4020_0800),    // below the stub area: +2 MiB
            (0x1000, 0x10_0000, 0x4000_1000),
            (0x8_0000, 0, 0x4008_0000), // image_size 0: text_offset is not valid
        ] {
            let k = f.put("k", &image(text_offset, image_size, 2, 0x1000));
            let (_, b) = boot(1 << 30, &k, None).unwrap();
            assert_eq!(b.reset.pc, pc, "text_offset {text_offset:#x}");
        }
        let raw = f.put("raw.flat", &[0, 0, 0, 0x14]);
        let (ram, b) = boot(1 << 30, &raw, None).unwrap();
        assert_eq!(b.format, KernelFormat::Raw);
        assert_eq!(b.reset.pc, 0x4008_0000);
        assert_eq!(
            b.kernel,
            Span {
                addr: 0x4008_0000,
                len: 4
            }
        );
        assert_eq!(ram.slice(0x4008_0000, 4), Some(&[0, 0, 0, 0x14][..]));
    }

    #[test]
    fn reset_state_follows_the_protocol() {
        let f = Files::new("reset");
        let k = f.put("Image", &image(0, 0x10_0000, 0xa, 0x100));
        let (_, b) = boot(1 << 30, &k, None).unwrap();
        let r = b.reset;
        assert_eq!(r.x[1..], [0, 0, 0]);
        assert_eq!(r.x[0] % 8, 0, "DTB 8-byte aligned");
        assert_eq!(r.pstate & 0xf, 0b0101, "EL1h");
        assert_eq!(r.pstate & 0x3c0, 0x3c0, "DAIF masked");
        assert_eq!(r.sctlr_el1 & 0b101, 0, "MMU and D-cache off");
        assert_eq!(r.sctlr_el1 & (1 << 12), 0, "I-cache off");
        assert_eq!(r.cntfrq_el0, 62_500_000);
        match b.format {
            KernelFormat::Image(h) => {
                assert!(h.place_anywhere());
                assert_eq!(h.page_size(), Some(4096));
            }
            KernelFormat::Raw => panic!("an Image"),
        }
    }

    #[test]
    fn kernel_bss_pushes_the_initrd_up() {
        // image_size (file + BSS) reaches past RAM + 128 MiB: the initrd must not overlap.
        let f = Files::new("bss");
        let k = f.put("Image", &image(0, 200 << 20, 0xa, 0x1000));
        let i = f.put("initrd", b"initrd");
        let (_, b) = boot(1 << 30, &k, Some(&i)).unwrap();
        assert_eq!(
            b.kernel_mem,
            Span {
                addr: 0x4020_0000,
                len: 200 << 20
            }
        );
        assert_eq!(b.initrd.unwrap().addr, 0x4020_0000 + (200 << 20));
        assert!(b.dtb.addr >= b.initrd.unwrap().end());
    }

    fn fails(ram_size: u64, kernel: &Path, initrd: Option<&Path>) -> String {
        let e = boot(ram_size, kernel, initrd).err().expect("should fail");
        assert!(!e.contains('\n'), "one line: {e}");
        e
    }

    #[test]
    fn bad_kernels() {
        let f = Files::new("bad");
        let missing = f.dir.join("nope");
        assert!(fails(1 << 30, &missing, None).contains("cannot open kernel"));
        assert!(fails(1 << 30, &f.dir, None).contains("is not a regular file"));
        let empty = f.put("empty", b"");
        assert!(fails(1 << 30, &empty, None).contains("is empty"));

        let mut pe = image(0, 0x10_0000, 0xa, 0x1000);
        pe[0..2].copy_from_slice(b"MZ");
        pe[56..60].copy_from_slice(b"ARM\x65");
        let pe = f.put("pe", &pe);
        assert!(fails(1 << 30, &pe, None).contains("without the arm64 Image magic"));

        let be = f.put("be", &image(0, 0x10_0000, 0xb, 0x1000));
        assert!(fails(1 << 30, &be, None).contains("big-endian"));
        let p16 = f.put("p16", &image(0, 0x10_0000, 0xc, 0x1000));
        assert!(fails(1 << 30, &p16, None).contains("16K pages"));
        let p64 = f.put("p64", &image(0, 0x10_0000, 0xe, 0x1000));
        assert!(fails(1 << 30, &p64, None).contains("64K pages"));
        let odd = f.put("odd", &image(0xfff, 0x10_0000, 0xa, 0x1000));
        assert!(fails(1 << 30, &odd, None).contains("misaligned text_offset"));

        let elf = f.put("elf", b"\x7fELF\x02\x01\x01\0");
        assert!(fails(1 << 30, &elf, None).contains("ELF"));
        let gz = f.put("gz", &[0x1f, 0x8b, 8, 0]);
        assert!(fails(1 << 30, &gz, None).contains("gzip"));
        let uimage = f.put("uimage", &[0x27, 0x05, 0x19, 0x56, 0, 0, 0, 0]);
        assert!(fails(1 << 30, &uimage, None).contains("uImage"));
    }

    #[test]
    fn things_that_do_not_fit() {
        let f = Files::new("fit");
        // image_size larger than RAM above the load address.
        let big = f.put("big", &image(0, 200 << 20, 0xa, 0x1000));
        let e = fails(128 << 20, &big, None);
        assert!(
            e.contains("more than RAM has (-m 128M RAM ends at 0x48000000)"),
            "{e}"
        );
        // A raw file larger than RAM.
        let raw = f.put("raw", &vec![1; 3 << 20]);
        assert!(fails(2 << 20, &raw, None).contains("more than RAM has"));
        // An initrd larger than the room after RAM/2.
        let k = f.put("Image", &image(0, 0x10_0000, 0xa, 0x1000));
        let i = f.put("initrd", &vec![0; (64 << 20) + 1]);
        let e = fails(128 << 20, &k, Some(&i));
        assert!(
            e.contains("initrd") && e.contains("does not fit in RAM after the kernel"),
            "{e}"
        );
        // The initrd fits but leaves no 2 MiB-aligned room for the DTB.
        let i = f.put("initrd2", &vec![0; (8 << 20) - 4096]);
        let e = fails(16 << 20, &k, Some(&i));
        assert!(e.contains("no room for the device tree"), "{e}");
        let missing = f.dir.join("missing-initrd");
        assert!(fails(1 << 30, &k, Some(&missing)).contains("cannot open initrd"));
    }

    #[test]
    fn dtb_limits() {
        let f = Files::new("dtb");
        let k = f.put("Image", &image(0, 0x10_0000, 0xa, 0x1000));
        let mut ram = Ram::new(1 << 30).unwrap();
        let files = BootFiles {
            kernel: &k,
            initrd: None,
        };
        let e = load(&mut ram, &files, dtb((2 << 20) + 1)).unwrap_err();
        assert!(e.contains("at most 2 MiB"), "{e}");
        let e = load(&mut ram, &files, |_| Err("bad dtb".to_string())).unwrap_err();
        assert_eq!(e, "bad dtb");
        // The builder learns where the initrd went.
        let i = f.put("initrd", b"12345");
        let mut seen = None;
        load(
            &mut ram,
            &BootFiles {
                kernel: &k,
                initrd: Some(&i),
            },
            |s| {
                seen = s;
                Ok(vec![0; 64])
            },
        )
        .unwrap();
        assert_eq!(
            seen,
            Some(Span {
                addr: 0x4800_0000,
                len: 5
            })
        );
    }
}
