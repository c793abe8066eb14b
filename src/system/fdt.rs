//! The device tree the kernel gets in x0: generated for the `virt` machine, or read
//! from `-dtb` and patched; blobs are written with the `vm-fdt` crate.
//!
//! The generated tree mirrors what QEMU 7.2 gives a `virt` guest (node names, phandle
//! numbers, property values and even the order of nodes and properties in the blob, so
//! `dtc -I dtb -O dts` output of both can be diffed), restricted to what ferrite models:
//! memory, one `cpu@N` per CPU with `cpu-map`, PSCI over HVC, the generic timer, the
//! GICv2 `intc`, PL011 with its `apb-pclk` clock, PL031, 32 virtio-mmio transports and
//! `/chosen`. QEMU's PCIe host and GICv2m frame, flash, fw-cfg, PL061 + gpio-keys,
//! platform bus and PMU are left out: ferrite has none of those devices (and reports no
//! PMU in ID_AA64DFR0_EL1). One deliberate difference: `kaslr-seed` is only passed with
//! `-machine dtb-randomness=on` (see [`DtbRandomness::Default`]).
//!
//! With `-dtb FILE` the user's tree is used instead; as QEMU does, its memory nodes are
//! replaced by one describing `-m`, and `/chosen` gets `bootargs` and the initrd range.
//! Existing `rng-seed`/`kaslr-seed` properties get fresh random bytes (QEMU refreshes
//! them on every reset).

use super::boot::Span;
use super::cli::{CpuModel, DtbRandomness};
use super::memory::{
    GIC_CPU, GIC_DIST, RAM_BASE, RTC, RTC_SPI, UART, UART_SPI, VIRTIO, VIRTIO_COUNT,
    VIRTIO_SPI_BASE, VIRTIO_STRIDE,
};

/// One node: its name (with unit address), properties in order, and children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub props: Vec<(String, Vec<u8>)>,
    pub children: Vec<Node>,
}

impl Node {
    pub fn new(name: &str) -> Node {
        Node {
            name: name.to_string(),
            props: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Set a property (replacing its value in place if it exists).
    pub fn set(&mut self, name: &str, value: Vec<u8>) {
        match self.props.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 = value,
            None => self.props.push((name.to_string(), value)),
        }
    }

    fn null(mut self, name: &str) -> Node {
        self.set(name, Vec::new());
        self
    }

    fn cells(mut self, name: &str, cells: &[u32]) -> Node {
        self.set(name, cells.iter().flat_map(|c| c.to_be_bytes()).collect());
        self
    }

    fn str(self, name: &str, s: &str) -> Node {
        self.strs(name, &[s])
    }

    fn strs(mut self, name: &str, list: &[&str]) -> Node {
        let mut v = Vec::new();
        for s in list {
            v.extend_from_slice(s.as_bytes());
            v.push(0);
        }
        self.set(name, v);
        self
    }

    fn child(mut self, c: Node) -> Node {
        self.children.push(c);
        self
    }

    pub fn prop(&self, name: &str) -> Option<&[u8]> {
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// A property holding one 32-bit cell.
    pub fn prop_u32(&self, name: &str) -> Option<u32> {
        Some(u32::from_be_bytes(self.prop(name)?.try_into().ok()?))
    }

    /// The node at `path` ("/a/b"; "/" is this node). A path component without a unit
    /// address matches a child whose name has one, as libfdt does (`memory` finds
    /// `memory@40000000`).
    pub fn find(&self, path: &str) -> Option<&Node> {
        let mut n = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = n.children.iter().find(|c| name_matches(&c.name, part))?;
        }
        Some(n)
    }

    pub fn find_mut(&mut self, path: &str) -> Option<&mut Node> {
        let mut n = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = n
                .children
                .iter_mut()
                .find(|c| name_matches(&c.name, part))?;
        }
        Some(n)
    }
}

fn name_matches(name: &str, want: &str) -> bool {
    name == want || (!want.contains('@') && name.split('@').next() == Some(want))
}

/// A whole device tree: the root node, the memory reservation block and the boot CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fdt {
    pub root: Node,
    pub reserve: Vec<(u64, u64)>,
    pub boot_cpuid: u32,
}

/// What the generated tree describes.
#[derive(Clone, Debug)]
pub struct VirtParams {
    pub ram_size: u64,
    pub cpu: CpuModel,
    pub smp: u32,
    /// `-append`; an empty command line gives no `bootargs`, as in QEMU.
    pub bootargs: Option<String>,
    pub initrd: Option<Span>,
    pub randomness: DtbRandomness,
}

/// Phandles, allocated in QEMU's order: the clock first, then the CPUs (the last CPU
/// gets the lowest), then the GIC.
const PHANDLE_CLOCK: u32 = 0x8000;

fn phandle_cpu(smp: u32, cpu: u32) -> u32 {
    PHANDLE_CLOCK + smp - cpu
}

fn phandle_gic(smp: u32) -> u32 {
    PHANDLE_CLOCK + smp + 1
}

/// GIC interrupt specifier types and flags (the `arm,gic` binding).
const GIC_SPI: u32 = 0;
const GIC_PPI: u32 = 1;
const IRQ_EDGE_RISING: u32 = 1;
const IRQ_LEVEL_HIGH: u32 = 4;
/// Generic timer PPIs: secure physical, non-secure physical, virtual, hypervisor.
const TIMER_PPIS: [u32; 4] = [13, 14, 11, 10];

/// The `compatible` of the `/cpus/cpu@N` nodes. QEMU 7.2's `max` reports itself as
/// a Cortex-A57 there; ferrite says the same so that the tree is identical (Linux
/// identifies arm64 CPUs by MIDR_EL1, not by this string).
fn cpu_compatible(cpu: CpuModel) -> &'static str {
    match cpu {
        CpuModel::Max | CpuModel::CortexA57 => "arm,cortex-a57",
        CpuModel::CortexA72 => "arm,cortex-a72",
        CpuModel::CortexA53 => "arm,cortex-a53",
    }
}

fn reg(base: u64, size: u64) -> Vec<u32> {
    vec![
        (base >> 32) as u32,
        base as u32,
        (size >> 32) as u32,
        size as u32,
    ]
}

/// `count` random bytes from the host kernel's CSPRNG, or `None` if it cannot give them
/// (then the seed property is left out: the guest kernel may credit `rng-seed` as
/// entropy, so it must never get anything weaker).
fn random_bytes(count: usize) -> Option<Vec<u8>> {
    let mut v = vec![0u8; count];
    let mut filled = 0;
    while filled < count {
        // SAFETY: writes at most `count - filled` bytes into `v`'s initialised buffer.
        let n = unsafe { libc::getrandom(v[filled..].as_mut_ptr().cast(), count - filled, 0) };
        if n > 0 {
            filled += n as usize;
        } else if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return None;
        }
    }
    Some(v)
}

/// Set `linux,initrd-start`/`-end`: one cell when the address fits (QEMU's form), two
/// otherwise (Linux reads either).
fn set_initrd(chosen: &mut Node, initrd: Span) {
    for (name, v) in [
        ("linux,initrd-end", initrd.end()),
        ("linux,initrd-start", initrd.addr),
    ] {
        let bytes = match u32::try_from(v) {
            Ok(c) => c.to_be_bytes().to_vec(),
            Err(_) => v.to_be_bytes().to_vec(),
        };
        chosen.set(name, bytes);
    }
}

/// The device tree of ferrite's `virt` machine.
pub fn virt(p: &VirtParams) -> Fdt {
    let smp = p.smp.max(1);
    let gic = phandle_gic(smp);
    let ppi_flags = (((1u32 << smp.min(8)) - 1) << 8) | IRQ_LEVEL_HIGH;

    let psci = Node::new("psci")
        .cells("migrate", &[0xc400_0005])
        .cells("cpu_on", &[0xc400_0003])
        .cells("cpu_off", &[0x8400_0002])
        .cells("cpu_suspend", &[0xc400_0001])
        .str("method", "hvc")
        .strs("compatible", &["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]);

    let memory = Node::new(&format!("memory@{RAM_BASE:x}"))
        .cells("reg", &reg(RAM_BASE, p.ram_size))
        .str("device_type", "memory");

    let primecell = |name: &str, base: u64, spi: u32, compat: &str, clocks: &[&str]| {
        Node::new(&format!("{name}@{base:x}"))
            .strs("clock-names", clocks)
            .cells("clocks", &vec![PHANDLE_CLOCK; clocks.len()])
            .cells("interrupts", &[GIC_SPI, spi, IRQ_LEVEL_HIGH])
            .cells("reg", &reg(base, 0x1000))
            .strs("compatible", &[compat, "arm,primecell"])
    };

    let intc = Node::new(&format!("intc@{:x}", GIC_DIST.base))
        .cells("phandle", &[gic])
        .cells(
            "reg",
            &[
                reg(GIC_DIST.base, GIC_DIST.size),
                reg(GIC_CPU.base, GIC_CPU.size),
            ]
            .concat(),
        )
        .str("compatible", "arm,cortex-a15-gic")
        .null("ranges")
        .cells("#size-cells", &[2])
        .cells("#address-cells", &[2])
        .null("interrupt-controller")
        .cells("#interrupt-cells", &[3]);

    let mut cluster = Node::new("cluster0");
    for c in 0..smp {
        cluster =
            cluster.child(Node::new(&format!("core{c}")).cells("cpu", &[phandle_cpu(smp, c)]));
    }
    let mut cpus = Node::new("cpus")
        .cells("#size-cells", &[0])
        .cells("#address-cells", &[1])
        .child(Node::new("cpu-map").child(Node::new("socket0").child(cluster)));
    for c in 0..smp {
        let mut cpu = Node::new(&format!("cpu@{c:x}"))
            .cells("phandle", &[phandle_cpu(smp, c)])
            .cells("reg", &[c]);
        if smp > 1 {
            cpu = cpu.str("enable-method", "psci");
        }
        cpus = cpus.child(
            cpu.str("compatible", cpu_compatible(p.cpu))
                .str("device_type", "cpu"),
        );
    }

    let timer = Node::new("timer")
        .cells(
            "interrupts",
            &TIMER_PPIS
                .iter()
                .flat_map(|&ppi| [GIC_PPI, ppi, ppi_flags])
                .collect::<Vec<_>>(),
        )
        .null("always-on")
        .strs("compatible", &["arm,armv8-timer", "arm,armv7-timer"]);

    let clock = Node::new("apb-pclk")
        .cells("phandle", &[PHANDLE_CLOCK])
        .str("clock-output-names", "clk24mhz")
        .cells("clock-frequency", &[24_000_000])
        .cells("#clock-cells", &[0])
        .str("compatible", "fixed-clock");

    let mut chosen = Node::new("chosen");
    if let Some(initrd) = p.initrd {
        set_initrd(&mut chosen, initrd);
    }
    if let Some(args) = p.bootargs.as_deref().filter(|a| !a.is_empty()) {
        chosen = chosen.str("bootargs", args);
    }
    chosen = chosen.str("stdout-path", &format!("/pl011@{:x}", UART.base));
    if p.randomness != DtbRandomness::Off {
        if let Some(seed) = random_bytes(32) {
            chosen.set("rng-seed", seed);
        }
    }
    if p.randomness == DtbRandomness::On {
        if let Some(seed) = random_bytes(8) {
            chosen.set("kaslr-seed", seed);
        }
    }

    let mut root = Node::new("")
        .cells("interrupt-parent", &[gic])
        .str("model", "linux,dummy-virt")
        .cells("#size-cells", &[2])
        .cells("#address-cells", &[2])
        .str("compatible", "linux,dummy-virt")
        .child(psci)
        .child(memory);
    for n in 0..VIRTIO_COUNT {
        let base = VIRTIO.base + n as u64 * VIRTIO_STRIDE;
        root = root.child(
            Node::new(&format!("virtio_mmio@{base:x}"))
                .null("dma-coherent")
                .cells(
                    "interrupts",
                    &[GIC_SPI, VIRTIO_SPI_BASE + n, IRQ_EDGE_RISING],
                )
                .cells("reg", &reg(base, VIRTIO.size))
                .str("compatible", "virtio,mmio"),
        );
    }
    root = root
        .child(primecell(
            "pl031",
            RTC.base,
            RTC_SPI,
            "arm,pl031",
            &["apb_pclk"],
        ))
        .child(primecell(
            "pl011",
            UART.base,
            UART_SPI,
            "arm,pl011",
            &["uartclk", "apb_pclk"],
        ))
        .child(intc)
        .child(cpus)
        .child(timer)
        .child(clock)
        .child(chosen);

    Fdt {
        root,
        reserve: Vec::new(),
        boot_cpuid: 0,
    }
}

/// Adapt a user's `-dtb` to this machine, as QEMU does: replace its memory nodes with
/// one for `-m`, set `/chosen` `bootargs` and the initrd range, refresh random seeds.
pub fn patch_user(fdt: &mut Fdt, p: &VirtParams) -> Result<(), String> {
    let acells = fdt.root.prop_u32("#address-cells").unwrap_or(0);
    let scells = fdt.root.prop_u32("#size-cells").unwrap_or(0);
    let encode = |v: u64, cells: u32, what: &str| -> Result<Vec<u8>, String> {
        match cells {
            1 => u32::try_from(v)
                .map(|c| c.to_be_bytes().to_vec())
                .map_err(|_| format!("the root #{what}-cells is 1, too small for {v:#x}")),
            2 => Ok(v.to_be_bytes().to_vec()),
            _ => Err(format!(
                "the root node needs #address-cells and #size-cells of 1 or 2 (has {acells} and {scells})"
            )),
        }
    };
    let mut reg = encode(RAM_BASE, acells, "address")?;
    reg.extend(encode(p.ram_size, scells, "size")?);

    let root = &mut fdt.root;
    root.children
        .retain(|c| !(c.name == "memory" || c.name.starts_with("memory@")));
    let mut memory = Node::new(&format!("memory@{RAM_BASE:x}"));
    memory.set("reg", reg);
    memory.set("device_type", b"memory\0".to_vec());
    root.children.insert(0, memory);

    if root.find("chosen").is_none() {
        root.children.push(Node::new("chosen"));
    }
    let chosen = root.find_mut("chosen").expect("just ensured");
    if let Some(args) = p.bootargs.as_deref().filter(|a| !a.is_empty()) {
        let mut v = args.as_bytes().to_vec();
        v.push(0);
        chosen.set("bootargs", v);
    }
    if let Some(initrd) = p.initrd {
        set_initrd(chosen, initrd);
    }
    for seed in ["rng-seed", "kaslr-seed"] {
        if let Some(len) = chosen.prop(seed).map(<[u8]>::len) {
            match random_bytes(len) {
                Some(fresh) => chosen.set(seed, fresh),
                None => chosen.props.retain(|(n, _)| n != seed),
            }
        }
    }
    Ok(())
}

impl Fdt {
    /// The blob, written with `vm-fdt`.
    pub fn to_blob(&self) -> Result<Vec<u8>, String> {
        let err = |e: vm_fdt::Error| format!("cannot write the device tree: {e}");
        let reserve = self
            .reserve
            .iter()
            .map(|&(a, s)| vm_fdt::FdtReserveEntry::new(a, s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        let mut w = vm_fdt::FdtWriter::new_with_mem_reserv(&reserve).map_err(err)?;
        w.set_boot_cpuid_phys(self.boot_cpuid);
        fn emit(w: &mut vm_fdt::FdtWriter, n: &Node) -> Result<(), vm_fdt::Error> {
            let h = w.begin_node(&n.name)?;
            for (name, value) in &n.props {
                w.property(name, value)?;
            }
            for c in &n.children {
                emit(w, c)?;
            }
            w.end_node(h)
        }
        emit(&mut w, &self.root).map_err(|e| {
            format!("cannot write the device tree: {e} (in a node or property name)")
        })?;
        w.finish().map_err(err)
    }

    /// Read a flattened device tree blob (version 16 or 17).
    pub fn parse(blob: &[u8]) -> Result<Fdt, String> {
        const BEGIN_NODE: u32 = 1;
        const END_NODE: u32 = 2;
        const PROP: u32 = 3;
        const NOP: u32 = 4;
        const END: u32 = 9;
        let be32 = |off: usize| -> Result<u32, String> {
            blob.get(off..off.checked_add(4).ok_or("offset overflow")?)
                .map(|b| u32::from_be_bytes(b.try_into().unwrap()))
                .ok_or_else(|| format!("truncated at offset {off:#x}"))
        };
        if blob.len() < 40 || be32(0)? != 0xd00d_feed {
            return Err("not a flattened device tree (no 0xd00dfeed magic)".into());
        }
        let total = be32(4)? as usize;
        if total > blob.len() {
            return Err(format!(
                "header says {total} bytes, the file has {}",
                blob.len()
            ));
        }
        let blob = &blob[..total];
        let off_struct = be32(8)? as usize;
        let off_strings = be32(12)? as usize;
        let off_rsv = be32(16)? as usize;
        let version = be32(20)?;
        let last_comp = be32(24)?;
        if version < 16 || last_comp > 17 {
            return Err(format!(
                "unsupported version {version} (compatible with {last_comp})"
            ));
        }
        let boot_cpuid = be32(28)?;
        let strings_len = be32(32)? as usize;
        let strings = blob
            .get(off_strings..off_strings.saturating_add(strings_len))
            .ok_or("strings block outside the blob")?;

        let mut reserve = Vec::new();
        let mut off = off_rsv;
        loop {
            let hi = |o: usize| -> Result<u64, String> {
                Ok(((be32(o)? as u64) << 32) | be32(o + 4)? as u64)
            };
            let (addr, size) = (hi(off)?, hi(off + 8)?);
            off += 16;
            if addr == 0 && size == 0 {
                break;
            }
            reserve.push((addr, size));
        }

        let cstr = |b: &[u8], what: &str| -> Result<String, String> {
            let end = b
                .iter()
                .position(|&c| c == 0)
                .ok_or_else(|| format!("unterminated {what}"))?;
            String::from_utf8(b[..end].to_vec()).map_err(|_| format!("{what} is not UTF-8"))
        };
        let mut stack: Vec<Node> = Vec::new();
        let mut root: Option<Node> = None;
        let mut off = off_struct;
        loop {
            let token = be32(off)?;
            off += 4;
            match token {
                BEGIN_NODE => {
                    if root.is_some() {
                        return Err("more than one root node".into());
                    }
                    let name = cstr(blob.get(off..).unwrap_or(&[]), "node name")?;
                    off = (off + name.len() + 1 + 3) & !3;
                    if stack.len() >= 64 {
                        return Err("nodes nested too deep".into());
                    }
                    stack.push(Node::new(&name));
                }
                END_NODE => {
                    let n = stack.pop().ok_or("unbalanced end of node")?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(n),
                        None => root = Some(n),
                    }
                }
                PROP => {
                    let len = be32(off)? as usize;
                    let name_off = be32(off + 4)? as usize;
                    off += 8;
                    let value = blob
                        .get(off..off.saturating_add(len))
                        .ok_or("property value outside the blob")?
                        .to_vec();
                    off = (off + len + 3) & !3;
                    let name = cstr(strings.get(name_off..).unwrap_or(&[]), "property name")?;
                    let node = stack.last_mut().ok_or("property outside a node")?;
                    node.props.push((name, value));
                }
                NOP => {}
                END => break,
                t => return Err(format!("unknown token {t:#x} at offset {:#x}", off - 4)),
            }
        }
        if !stack.is_empty() {
            return Err("unterminated node".into());
        }
        let root = root.ok_or("no root node")?;
        Ok(Fdt {
            root,
            reserve,
            boot_cpuid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> VirtParams {
        VirtParams {
            ram_size: 1 << 30,
            cpu: CpuModel::CortexA57,
            smp: 1,
            bootargs: None,
            initrd: None,
            randomness: DtbRandomness::Default,
        }
    }

    fn cells(v: &[u8]) -> Vec<u32> {
        v.chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn round_trip_through_vm_fdt() {
        let mut f = virt(&params());
        f.reserve.push((0x4400_0000, 0x1000));
        f.boot_cpuid = 0;
        let blob = f.to_blob().unwrap();
        assert_eq!(&blob[..4], &[0xd0, 0x0d, 0xfe, 0xed]);
        assert_eq!(Fdt::parse(&blob).unwrap(), f);
        assert!(blob.len() < 16 << 10, "a packed blob: {} bytes", blob.len());
    }

    #[test]
    fn virt_nodes() {
        let f = virt(&params());
        let r = &f.root;
        assert_eq!(cells(r.prop("interrupt-parent").unwrap()), [0x8002]);
        let mem = r.find("memory@40000000").unwrap();
        assert_eq!(
            cells(mem.prop("reg").unwrap()),
            [0, 0x4000_0000, 0, 0x4000_0000]
        );
        let intc = r.find("intc@8000000").unwrap();
        assert_eq!(intc.prop_u32("phandle"), Some(0x8002));
        assert_eq!(
            cells(intc.prop("reg").unwrap()),
            [0, 0x0800_0000, 0, 0x1_0000, 0, 0x0801_0000, 0, 0x1_0000]
        );
        let uart = r.find("pl011@9000000").unwrap();
        assert_eq!(cells(uart.prop("interrupts").unwrap()), [0, 1, 4]);
        assert_eq!(cells(uart.prop("clocks").unwrap()), [0x8000, 0x8000]);
        assert_eq!(
            cells(r.find("pl031@9010000").unwrap().prop("interrupts").unwrap()),
            [0, 2, 4]
        );
        let last = r.find("virtio_mmio@a003e00").unwrap();
        assert_eq!(cells(last.prop("interrupts").unwrap()), [0, 47, 1]);
        assert_eq!(
            r.children
                .iter()
                .filter(|c| c.name.starts_with("virtio_mmio@"))
                .count(),
            32
        );
        let timer = r.find("timer").unwrap();
        assert_eq!(
            cells(timer.prop("interrupts").unwrap()),
            [1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104]
        );
        let cpu = r.find("cpus/cpu@0").unwrap();
        assert_eq!(cpu.prop("compatible"), Some(&b"arm,cortex-a57\0"[..]));
        assert!(cpu.prop("enable-method").is_none(), "only with smp > 1");
        assert_eq!(
            r.find("cpus/cpu-map/socket0/cluster0/core0")
                .unwrap()
                .prop_u32("cpu"),
            Some(0x8001)
        );
        for absent in [
            "pcie",
            "v2m",
            "flash",
            "fw-cfg",
            "pl061",
            "gpio-keys",
            "platform-bus",
            "pmu",
        ] {
            assert!(
                r.find(absent).is_none() && r.find(&format!("intc/{absent}")).is_none(),
                "{absent}"
            );
        }
        let chosen = r.find("chosen").unwrap();
        assert_eq!(chosen.prop("stdout-path"), Some(&b"/pl011@9000000\0"[..]));
        assert_eq!(chosen.prop("rng-seed").map(<[u8]>::len), Some(32));
        assert!(
            chosen.prop("kaslr-seed").is_none(),
            "no kaslr-seed by default"
        );
        assert!(chosen.prop("bootargs").is_none());
        assert!(chosen.prop("linux,initrd-start").is_none());
    }

    #[test]
    fn chosen_follows_the_command_line() {
        let mut p = params();
        p.bootargs = Some("console=ttyAMA0".into());
        p.initrd = Some(Span {
            addr: 0x4800_0000,
            len: 5_000_000,
        });
        p.randomness = DtbRandomness::On;
        let f = virt(&p);
        let chosen = f.root.find("chosen").unwrap();
        assert_eq!(chosen.prop("bootargs"), Some(&b"console=ttyAMA0\0"[..]));
        assert_eq!(chosen.prop_u32("linux,initrd-start"), Some(0x4800_0000));
        assert_eq!(chosen.prop_u32("linux,initrd-end"), Some(0x484c_4b40));
        assert_eq!(chosen.prop("kaslr-seed").map(<[u8]>::len), Some(8));
        assert_ne!(
            virt(&p).root.find("chosen").unwrap().prop("rng-seed"),
            chosen.prop("rng-seed")
        );
        p.randomness = DtbRandomness::Off;
        p.bootargs = Some(String::new());
        let f = virt(&p);
        let chosen = f.root.find("chosen").unwrap();
        assert!(chosen.prop("rng-seed").is_none() && chosen.prop("kaslr-seed").is_none());
        assert!(
            chosen.prop("bootargs").is_none(),
            "empty -append gives no bootargs"
        );
        // An initrd above 4 GiB takes two cells.
        p.initrd = Some(Span {
            addr: 0x1_0000_0000,
            len: 16,
        });
        let f = virt(&p);
        let start = f
            .root
            .find("chosen")
            .unwrap()
            .prop("linux,initrd-start")
            .unwrap();
        assert_eq!(start, &0x1_0000_0000u64.to_be_bytes());
    }

    #[test]
    fn smp_layout_as_qemu() {
        // QEMU 7.2 -smp 4: cpu@N has phandle 0x8000 + 4 - N, the GIC 0x8005, the timer
        // PPIs target CPUs 0-3 (0xf04), and every CPU is started by PSCI.
        let mut p = params();
        p.smp = 4;
        let f = virt(&p);
        assert_eq!(
            f.root.find("intc").unwrap().prop_u32("phandle"),
            Some(0x8005)
        );
        assert_eq!(f.root.prop_u32("interrupt-parent"), Some(0x8005));
        for c in 0..4 {
            let cpu = f.root.find(&format!("cpus/cpu@{c}")).unwrap();
            assert_eq!(cpu.prop_u32("phandle"), Some(0x8004 - c));
            assert_eq!(cpu.prop("enable-method"), Some(&b"psci\0"[..]));
            let core = f
                .root
                .find(&format!("cpus/cpu-map/socket0/cluster0/core{c}"))
                .unwrap();
            assert_eq!(core.prop_u32("cpu"), Some(0x8004 - c));
        }
        assert_eq!(
            cells(f.root.find("timer").unwrap().prop("interrupts").unwrap())[2],
            0xf04
        );
    }

    #[test]
    fn cpu_compatibles() {
        for (cpu, want) in [
            (CpuModel::Max, "arm,cortex-a57"),
            (CpuModel::CortexA72, "arm,cortex-a72"),
            (CpuModel::CortexA53, "arm,cortex-a53"),
        ] {
            let mut p = params();
            p.cpu = cpu;
            let f = virt(&p);
            let c = f
                .root
                .find("cpus/cpu@0")
                .unwrap()
                .prop("compatible")
                .unwrap();
            assert_eq!(&c[..c.len() - 1], want.as_bytes());
        }
    }

    #[test]
    fn user_dtb_is_patched_as_qemu_does() {
        let mut user = Node::new("")
            .cells("#address-cells", &[2])
            .cells("#size-cells", &[1])
            .child(Node::new("memory@80000000").cells("reg", &[0, 0x8000_0000, 0x1000]))
            .child(Node::new("memory@90000000").cells("reg", &[0, 0x9000_0000, 0x1000]))
            .child(Node::new("chosen").cells("rng-seed", &[1, 2, 3, 4]));
        user.props.push(("model".into(), b"mine\0".to_vec()));
        let mut f = Fdt {
            root: user,
            reserve: vec![(0x4100_0000, 0x1000)],
            boot_cpuid: 0,
        };
        let mut p = params();
        p.ram_size = 512 << 20;
        p.bootargs = Some("quiet".into());
        p.initrd = Some(Span {
            addr: 0x4800_0000,
            len: 16,
        });
        patch_user(&mut f, &p).unwrap();
        let mems: Vec<_> = f
            .root
            .children
            .iter()
            .filter(|c| c.name.starts_with("memory"))
            .collect();
        assert_eq!(mems.len(), 1);
        assert_eq!(mems[0].name, "memory@40000000");
        assert_eq!(
            cells(mems[0].prop("reg").unwrap()),
            [0, 0x4000_0000, 0x2000_0000]
        );
        let chosen = f.root.find("chosen").unwrap();
        assert_eq!(chosen.prop("bootargs"), Some(&b"quiet\0"[..]));
        assert_eq!(chosen.prop_u32("linux,initrd-end"), Some(0x4800_0010));
        let seed = chosen.prop("rng-seed").unwrap();
        assert_eq!(seed.len(), 16);
        assert_ne!(cells(seed), [1, 2, 3, 4], "seeds are refreshed");
        assert_eq!(f.root.prop("model"), Some(&b"mine\0"[..]));
        // Round trip keeps the reservation.
        let back = Fdt::parse(&f.to_blob().unwrap()).unwrap();
        assert_eq!(back.reserve, vec![(0x4100_0000, 0x1000)]);

        // No /chosen: created. Missing cell sizes: an error, as in QEMU.
        let mut f = Fdt {
            root: Node::new("")
                .cells("#address-cells", &[1])
                .cells("#size-cells", &[1]),
            reserve: vec![],
            boot_cpuid: 0,
        };
        patch_user(&mut f, &p).unwrap();
        assert!(f.root.find("chosen").is_some());
        p.ram_size = 8 << 30;
        assert!(patch_user(&mut f, &p).unwrap_err().contains("too small"));
        let mut f = Fdt {
            root: Node::new(""),
            reserve: vec![],
            boot_cpuid: 0,
        };
        assert!(patch_user(&mut f, &p)
            .unwrap_err()
            .contains("#address-cells"));
    }

    #[test]
    fn bad_blobs_are_errors() {
        let good = virt(&params()).to_blob().unwrap();
        assert!(Fdt::parse(b"hello").unwrap_err().contains("magic"));
        assert!(Fdt::parse(&good[..good.len() - 8])
            .unwrap_err()
            .contains("header says"));
        // Every truncation of the struct block or corruption of a byte is an error or a
        // different tree, never a panic.
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0xff;
            let _ = Fdt::parse(&b);
        }
        let mut b = good.clone();
        b[4..8].copy_from_slice(&100u32.to_be_bytes());
        assert!(Fdt::parse(&b).is_err());
    }
}
