//! CPU models selectable with `-cpu`: each fixes MIDR_EL1 and the optional features
//! the translator implements for it (which decide HWCAPs and ID register values).

use super::lift::CpuFeatures;

/// A `-cpu` model.
pub struct CpuModel {
    pub name: &'static str,
    pub description: &'static str,
    pub features: CpuFeatures,
}

/// The models, default first.
pub const MODELS: &[CpuModel] = &[
    CpuModel {
        name: "max",
        description: "all features ferrite implements (default)",
        features: CpuFeatures {
            lse: true,
            crc32: true,
            rcpc: true,
            cpuid: true,
            // Implementer 0 (software), as QEMU's `max` reports.
            midr: 0x000f_0510,
        },
    },
    CpuModel {
        name: "cortex-a72",
        description: "ARMv8.0-A: no LSE atomics, no RCpc",
        features: CpuFeatures {
            lse: false,
            crc32: true,
            rcpc: false,
            cpuid: true,
            midr: 0x410f_d083,
        },
    },
    CpuModel {
        name: "cortex-a53",
        description: "ARMv8.0-A: no LSE atomics, no RCpc",
        features: CpuFeatures {
            lse: false,
            crc32: true,
            rcpc: false,
            cpuid: true,
            midr: 0x410f_d034,
        },
    },
];

/// Find a model by name (`any` is an alias of `max`, as in QEMU).
pub fn find(name: &str) -> Option<&'static CpuModel> {
    let name = if name == "any" { "max" } else { name };
    MODELS.iter().find(|m| m.name == name)
}
