//! Guest physical memory of the `virt` machine: RAM, and the map of what lives at each
//! physical address (RAM, a device's MMIO window, or nothing).
//!
//! RAM is one anonymous private mapping of `-m` bytes (reserved lazily, so a large `-m`
//! costs only the pages the guest touches), seen by the guest at [`RAM_BASE`]. Every
//! accessor here is bounds-checked; the translated code will later reach RAM through the
//! TLB with `host_base() + (pa - RAM_BASE)`.
//!
//! The MMIO windows are QEMU 7.2's `virt` addresses for the devices ferrite models:
//! GICv2 distributor and CPU interface, PL011, PL031 and 32
//! virtio-mmio transports. Any other address below RAM is unassigned.

use std::ptr::NonNull;

/// Guest physical address where RAM starts.
pub const RAM_BASE: u64 = 0x4000_0000;
/// The end of the RAM window of `virt` (with `highmem`): RAM may reach 256 GiB.
pub const RAM_LIMIT: u64 = 256 << 30;
/// The largest `-m` the window holds (255 GiB).
pub const MAX_RAM: u64 = RAM_LIMIT - RAM_BASE;

/// A device's MMIO window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub base: u64,
    pub size: u64,
}

impl Window {
    pub const fn end(self) -> u64 {
        self.base + self.size
    }
}

/// GICv2 distributor.
pub const GIC_DIST: Window = Window {
    base: 0x0800_0000,
    size: 0x1_0000,
};
/// GICv2 CPU interface.
pub const GIC_CPU: Window = Window {
    base: 0x0801_0000,
    size: 0x1_0000,
};
/// PL011 UART.
pub const UART: Window = Window {
    base: 0x0900_0000,
    size: 0x1000,
};
/// PL031 real-time clock.
pub const RTC: Window = Window {
    base: 0x0901_0000,
    size: 0x1000,
};
/// The first virtio-mmio transport; transport `n` is at `base + n * VIRTIO_STRIDE`.
pub const VIRTIO: Window = Window {
    base: 0x0a00_0000,
    size: 0x200,
};
pub const VIRTIO_STRIDE: u64 = 0x200;
/// Number of virtio-mmio transports, as on QEMU's `virt`.
pub const VIRTIO_COUNT: u32 = 32;

/// Shared peripheral interrupt numbers (GIC INTID = SPI + 32).
pub const UART_SPI: u32 = 1;
pub const RTC_SPI: u32 = 2;
/// Transport `n` uses SPI `VIRTIO_SPI_BASE + n`.
pub const VIRTIO_SPI_BASE: u32 = 16;

/// A device behind an MMIO window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    GicDistributor,
    GicCpuInterface,
    Uart,
    Rtc,
    /// virtio-mmio transport 0..32.
    VirtioMmio(u32),
}

/// What a guest physical address is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// RAM, at this offset from [`RAM_BASE`].
    Ram { offset: u64 },
    /// A device register window, at this offset into the window.
    Mmio { device: Device, offset: u64 },
    /// Nothing: reads and writes are bus errors (or ignored, as the model decides).
    Unassigned,
}

/// The MMIO windows, in address order.
pub fn mmio_windows() -> impl Iterator<Item = (Device, Window)> {
    let fixed = [
        (Device::GicDistributor, GIC_DIST),
        (Device::GicCpuInterface, GIC_CPU),
        (Device::Uart, UART),
        (Device::Rtc, RTC),
    ];
    fixed.into_iter().chain((0..VIRTIO_COUNT).map(|n| {
        (
            Device::VirtioMmio(n),
            Window {
                base: VIRTIO.base + n as u64 * VIRTIO_STRIDE,
                size: VIRTIO.size,
            },
        )
    }))
}

/// Classify a physical address on a machine with `ram_size` bytes of RAM.
pub fn region(pa: u64, ram_size: u64) -> Region {
    if pa >= RAM_BASE && pa - RAM_BASE < ram_size {
        return Region::Ram {
            offset: pa - RAM_BASE,
        };
    }
    if pa >= VIRTIO.base && pa < VIRTIO.base + VIRTIO_COUNT as u64 * VIRTIO_STRIDE {
        let n = (pa - VIRTIO.base) / VIRTIO_STRIDE;
        return Region::Mmio {
            device: Device::VirtioMmio(n as u32),
            offset: (pa - VIRTIO.base) % VIRTIO_STRIDE,
        };
    }
    for (device, w) in mmio_windows().take(4) {
        if pa >= w.base && pa < w.end() {
            return Region::Mmio {
                device,
                offset: pa - w.base,
            };
        }
    }
    Region::Unassigned
}

/// An access outside RAM.
#[derive(Debug, PartialEq, Eq)]
pub struct OutOfRam {
    pub pa: u64,
    pub len: u64,
}

impl std::fmt::Display for OutOfRam {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{} bytes at physical address {:#x} are not all in RAM",
            self.len, self.pa
        )
    }
}

/// Guest RAM: `size` bytes seen at [`RAM_BASE`].
pub struct Ram {
    host: NonNull<u8>,
    size: u64,
}

// SAFETY: `Ram` owns its mapping exclusively (like a `Box<[u8]>`); moving it to another
// thread moves that ownership. Shared access goes through `&self` (reads) and writes need
// `&mut self`, so the usual borrow rules keep accesses race-free.
unsafe impl Send for Ram {}

impl Ram {
    /// Map `size` bytes of zeroed RAM. `size` must be non-zero.
    pub fn new(size: u64) -> Result<Ram, String> {
        if size == 0 || size > MAX_RAM {
            return Err(format!("invalid RAM size {size:#x}"));
        }
        let len = usize::try_from(size).map_err(|_| format!("invalid RAM size {size:#x}"))?;
        // SAFETY: a fresh anonymous mapping; no existing memory is affected. The result is
        // checked for MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!(
                "cannot allocate {} of guest RAM: {}",
                human_size(size),
                std::io::Error::last_os_error()
            ));
        }
        let host = NonNull::new(p.cast::<u8>()).ok_or("mmap returned a null mapping")?;
        Ok(Ram { host, size })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// One past the last RAM address.
    pub fn end(&self) -> u64 {
        RAM_BASE + self.size
    }

    /// The host address of guest physical [`RAM_BASE`].
    pub fn host_base(&self) -> *mut u8 {
        self.host.as_ptr()
    }

    /// Whether `[pa, pa + len)` lies entirely in RAM.
    pub fn contains(&self, pa: u64, len: u64) -> bool {
        self.offset(pa, len).is_some()
    }

    fn offset(&self, pa: u64, len: u64) -> Option<usize> {
        let off = pa.checked_sub(RAM_BASE)?;
        let end = off.checked_add(len)?;
        (end <= self.size).then_some(off as usize)
    }

    /// `len` bytes of RAM at `pa`, if all of them are RAM.
    pub fn slice(&self, pa: u64, len: u64) -> Option<&[u8]> {
        let off = self.offset(pa, len)?;
        // SAFETY: [off, off + len) lies inside the mapping (checked by `offset`), which
        // lives as long as `self`; `&self` forbids concurrent writes through this `Ram`.
        Some(unsafe { std::slice::from_raw_parts(self.host.as_ptr().add(off), len as usize) })
    }

    /// Mutable `len` bytes of RAM at `pa`, if all of them are RAM.
    pub fn slice_mut(&mut self, pa: u64, len: u64) -> Option<&mut [u8]> {
        let off = self.offset(pa, len)?;
        // SAFETY: as in `slice`; `&mut self` makes this the only access.
        Some(unsafe { std::slice::from_raw_parts_mut(self.host.as_ptr().add(off), len as usize) })
    }

    pub fn read(&self, pa: u64, buf: &mut [u8]) -> Result<(), OutOfRam> {
        let len = buf.len() as u64;
        buf.copy_from_slice(self.slice(pa, len).ok_or(OutOfRam { pa, len })?);
        Ok(())
    }

    pub fn write(&mut self, pa: u64, data: &[u8]) -> Result<(), OutOfRam> {
        let len = data.len() as u64;
        self.slice_mut(pa, len)
            .ok_or(OutOfRam { pa, len })?
            .copy_from_slice(data);
        Ok(())
    }

    /// Little-endian 64-bit read (the guest's byte order).
    pub fn read_u64(&self, pa: u64) -> Result<u64, OutOfRam> {
        let mut b = [0; 8];
        self.read(pa, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn write_u64(&mut self, pa: u64, v: u64) -> Result<(), OutOfRam> {
        self.write(pa, &v.to_le_bytes())
    }
}

impl Drop for Ram {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `new`, which nothing else owns;
        // no slice borrowed from `self` can outlive this call.
        unsafe {
            libc::munmap(self.host.as_ptr().cast(), self.size as usize);
        }
    }
}

/// One bit per page of RAM: the page holds code that has been translated (design
/// §3.5). A set bit makes the MMU give the page's TLB write tags the not-dirty flag, so
/// every store into it takes the slow path, which drops the page's translations and
/// clears the bit. Shared by the vCPUs (atomic bits); addresses outside RAM are never
/// code pages.
pub struct CodePages {
    bits: Box<[std::sync::atomic::AtomicU64]>,
}

impl CodePages {
    pub fn new(ram_size: u64) -> CodePages {
        let pages = ram_size.div_ceil(4096) as usize;
        CodePages {
            bits: (0..pages.div_ceil(64))
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        }
    }

    /// The word and bit of the page holding `pa`, if it is RAM.
    fn at(&self, pa: u64) -> Option<(&std::sync::atomic::AtomicU64, u64)> {
        let page = (pa.checked_sub(RAM_BASE)? >> 12) as usize;
        Some((self.bits.get(page / 64)?, 1 << (page % 64)))
    }

    pub fn contains(&self, pa: u64) -> bool {
        self.at(pa)
            .is_some_and(|(w, b)| w.load(std::sync::atomic::Ordering::Relaxed) & b != 0)
    }

    /// Marks the page of `pa`; true if it was not marked before.
    pub fn insert(&self, pa: u64) -> bool {
        self.at(pa)
            .is_some_and(|(w, b)| w.fetch_or(b, std::sync::atomic::Ordering::SeqCst) & b == 0)
    }

    /// Unmarks the page of `pa`; true if it was marked.
    pub fn remove(&self, pa: u64) -> bool {
        self.at(pa)
            .is_some_and(|(w, b)| w.fetch_and(!b, std::sync::atomic::Ordering::SeqCst) & b != 0)
    }
}

/// A size as `-m` would spell it: `1G`, `128M`, `1008K` or bytes.
pub fn human_size(bytes: u64) -> String {
    for (shift, suffix) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_bounds() {
        let mut ram = Ram::new(64 << 10).unwrap();
        assert_eq!(ram.end(), RAM_BASE + (64 << 10));
        assert!(ram.contains(RAM_BASE, 64 << 10));
        assert!(!ram.contains(RAM_BASE - 1, 1));
        assert!(!ram.contains(RAM_BASE + (64 << 10) - 3, 4));
        assert!(ram.contains(ram.end(), 0));
        assert!(!ram.contains(u64::MAX, 2), "pa + len must not wrap");
        assert!(ram.slice(0, 1).is_none());
        ram.write_u64(RAM_BASE + 8, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(ram.read_u64(RAM_BASE + 8), Ok(0x1122_3344_5566_7788));
        assert_eq!(ram.slice(RAM_BASE + 8, 1), Some(&[0x88u8][..]));
        assert_eq!(ram.read_u64(RAM_BASE), Ok(0), "fresh RAM reads zero");
        let end = ram.end();
        assert_eq!(
            ram.write(end - 4, &[0; 8]),
            Err(OutOfRam {
                pa: end - 4,
                len: 8
            })
        );
        assert_eq!(
            ram.read_u64(end - 4),
            Err(OutOfRam {
                pa: end - 4,
                len: 8
            })
        );
    }

    #[test]
    fn big_ram_is_reserved_lazily() {
        // 64 GiB of address space; only touched pages cost memory.
        let mut ram = Ram::new(64 << 30).unwrap();
        let last = ram.end() - 8;
        ram.write_u64(last, 7).unwrap();
        assert_eq!(ram.read_u64(last), Ok(7));
        assert!(Ram::new(0).is_err());
        assert!(Ram::new(MAX_RAM + (8 << 10)).is_err());
    }

    #[test]
    fn machine_map() {
        let ram = 1 << 30;
        assert_eq!(region(RAM_BASE, ram), Region::Ram { offset: 0 });
        assert_eq!(
            region(RAM_BASE + ram - 1, ram),
            Region::Ram { offset: ram - 1 }
        );
        assert_eq!(region(RAM_BASE + ram, ram), Region::Unassigned);
        assert_eq!(region(0, ram), Region::Unassigned);
        assert_eq!(
            region(0x0800_0004, ram),
            Region::Mmio {
                device: Device::GicDistributor,
                offset: 4
            }
        );
        assert_eq!(
            region(0x0801_0000, ram),
            Region::Mmio {
                device: Device::GicCpuInterface,
                offset: 0
            }
        );
        // The v2m MSI frame of QEMU is not modelled.
        assert_eq!(region(0x0802_0000, ram), Region::Unassigned);
        assert_eq!(
            region(0x0900_0fe0, ram),
            Region::Mmio {
                device: Device::Uart,
                offset: 0xfe0
            }
        );
        assert_eq!(
            region(0x0901_0000, ram),
            Region::Mmio {
                device: Device::Rtc,
                offset: 0
            }
        );
        // fw-cfg and GPIO are not modelled.
        assert_eq!(region(0x0902_0000, ram), Region::Unassigned);
        assert_eq!(region(0x0903_0000, ram), Region::Unassigned);
        assert_eq!(
            region(0x0a00_0000, ram),
            Region::Mmio {
                device: Device::VirtioMmio(0),
                offset: 0
            }
        );
        assert_eq!(
            region(0x0a00_3e70, ram),
            Region::Mmio {
                device: Device::VirtioMmio(31),
                offset: 0x70
            }
        );
        assert_eq!(region(0x0a00_4000, ram), Region::Unassigned);
        let windows: Vec<_> = mmio_windows().collect();
        assert_eq!(windows.len(), 4 + 32);
        for pair in windows.windows(2) {
            assert!(pair[0].1.end() <= pair[1].1.base, "sorted, disjoint");
        }
    }

    #[test]
    fn code_page_bits() {
        let c = CodePages::new(1 << 20);
        assert!(!c.contains(RAM_BASE));
        assert!(c.insert(RAM_BASE + 0x1234));
        assert!(!c.insert(RAM_BASE + 0x1000), "same page");
        assert!(c.contains(RAM_BASE + 0x1fff));
        assert!(!c.contains(RAM_BASE + 0x2000));
        assert!(!c.insert(RAM_BASE + (1 << 20)), "outside RAM");
        assert!(!c.insert(0x0900_0000));
        assert!(c.insert(RAM_BASE + (1 << 20) - 1));
        assert!(c.remove(RAM_BASE + 0x1000));
        assert!(!c.remove(RAM_BASE + 0x1000));
        assert!(!c.contains(RAM_BASE + 0x1234));
    }

    #[test]
    fn sizes_print_as_m_would() {
        assert_eq!(human_size(1 << 30), "1G");
        assert_eq!(human_size(128 << 20), "128M");
        assert_eq!(human_size(1008 << 10), "1008K");
        assert_eq!(human_size(1536 << 20), "1536M");
        assert_eq!(human_size(100), "100B");
    }
}
