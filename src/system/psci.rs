//! PSCI 1.1 and SMCCC 1.1 firmware calls (the `virt` machine's `psci` node, method "hvc").
//!
//! [`Psci::call`] dispatches on the function ID in W0 (the 32-bit SMC32 and 64-bit SMC64
//! forms both), returns the value for X0 and an [`Action`] for the machine: power off,
//! reset, stop this CPU, start another, or wait for an interrupt (CPU_SUSPEND standby).
//! Unknown function IDs return NOT_SUPPORTED (-1), as SMCCC requires.
//!
//! CPU power state is tracked per CPU (MPIDR affinity 0 = CPU index): CPU_ON of a CPU that
//! is on returns ALREADY_ON, of one that does not exist INVALID_PARAMETERS, and of one that
//! is off returns SUCCESS with [`Action::CpuOn`] (the machine starts it; until SMP exists
//! the machine has one CPU, which is always on). CPU_OFF of the last CPU that is on returns
//! DENIED instead of leaving a machine with no running CPU (SYSTEM_OFF stops the machine).

/// PSCI return codes.
pub const SUCCESS: i64 = 0;
pub const NOT_SUPPORTED: i64 = -1;
pub const INVALID_PARAMETERS: i64 = -2;
pub const DENIED: i64 = -3;
pub const ALREADY_ON: i64 = -4;

/// Function IDs (32-bit forms; the SMC64 forms have bit 30 set).
pub const PSCI_VERSION: u32 = 0x8400_0000;
pub const CPU_SUSPEND: u32 = 0x8400_0001;
pub const CPU_OFF: u32 = 0x8400_0002;
pub const CPU_ON: u32 = 0x8400_0003;
pub const AFFINITY_INFO: u32 = 0x8400_0004;
pub const MIGRATE: u32 = 0x8400_0005;
pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
pub const MIGRATE_INFO_UP_CPU: u32 = 0x8400_0007;
pub const SYSTEM_OFF: u32 = 0x8400_0008;
pub const SYSTEM_RESET: u32 = 0x8400_0009;
pub const PSCI_FEATURES: u32 = 0x8400_000a;
pub const SMCCC_VERSION: u32 = 0x8000_0000;
pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;

const SMC64: u32 = 1 << 30;

/// What the machine must do after the call returns (X0 is written in every case except
/// CPU_OFF, SYSTEM_OFF and SYSTEM_RESET, which do not return on success).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Write X0 and continue.
    None,
    /// Wait for an interrupt (like WFI), then continue with X0 = SUCCESS.
    Standby,
    /// This CPU powers down.
    CpuOff,
    /// Start CPU `cpu` at `entry` (EL1, MMU off) with X0 = `context`.
    CpuOn {
        cpu: usize,
        entry: u64,
        context: u64,
    },
    /// Power the machine off (ferrite exits 0).
    SystemOff,
    /// Reset the machine (with `-no-reboot`: exit 0).
    SystemReset,
}

/// Result of one call: the X0 value and the machine action.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Outcome {
    pub x0: u64,
    pub action: Action,
}

impl Outcome {
    fn ret(v: i64) -> Self {
        Outcome {
            x0: v as u64,
            action: Action::None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Power {
    On,
    Off,
    OnPending,
}

/// PSCI firmware state for the machine's CPUs.
pub struct Psci {
    cpus: Vec<Power>,
}

impl Psci {
    /// `ncpus` CPUs; CPU 0 is on, the others off (secondaries wait for CPU_ON).
    pub fn new(ncpus: usize) -> Self {
        let mut cpus = vec![Power::Off; ncpus.max(1)];
        cpus[0] = Power::On;
        Psci { cpus }
    }

    /// The machine reports that a CPU started by [`Action::CpuOn`] runs, or that one stopped.
    pub fn set_cpu_on(&mut self, cpu: usize, on: bool) {
        if let Some(p) = self.cpus.get_mut(cpu) {
            *p = if on { Power::On } else { Power::Off };
        }
    }

    /// The CPU index that an MPIDR value names (Aff0 = index, other affinity fields 0).
    fn cpu_of(&self, mpidr: u64) -> Option<usize> {
        let mpidr = mpidr & 0xff_00ff_ffff; // Aff3..Aff0
        (mpidr < self.cpus.len() as u64).then_some(mpidr as usize)
    }

    /// Handles the call with function ID `x[0]` and arguments `x[1..4]` made by CPU `cpu`.
    pub fn call(&mut self, cpu: usize, x: [u64; 4]) -> Outcome {
        let fid = x[0] as u32;
        let is64 = fid & SMC64 != 0;
        match fid & !SMC64 {
            PSCI_VERSION if !is64 => Outcome::ret(0x0001_0001),
            CPU_SUSPEND => {
                // Original power_state format: bit 16 = powerdown. Only standby states are
                // offered (the DT has no idle-states), so a powerdown request is invalid.
                if x[1] & (1 << 16) != 0 {
                    Outcome::ret(INVALID_PARAMETERS)
                } else {
                    Outcome {
                        x0: SUCCESS as u64,
                        action: Action::Standby,
                    }
                }
            }
            CPU_OFF if !is64 => {
                if self.cpus.iter().filter(|&&p| p != Power::Off).count() <= 1 {
                    // The last CPU may not go off: SYSTEM_OFF is the way to stop.
                    Outcome::ret(DENIED)
                } else {
                    self.set_cpu_on(cpu, false);
                    Outcome {
                        x0: DENIED as u64,
                        action: Action::CpuOff,
                    }
                }
            }
            CPU_ON => {
                let target = if is64 { x[1] } else { x[1] & 0xffff_ffff };
                match self.cpu_of(target) {
                    None => Outcome::ret(INVALID_PARAMETERS),
                    Some(t) => match self.cpus[t] {
                        Power::On => Outcome::ret(ALREADY_ON),
                        Power::OnPending => Outcome::ret(-5), // ON_PENDING
                        Power::Off => {
                            self.cpus[t] = Power::OnPending;
                            let (entry, context) = if is64 {
                                (x[2], x[3])
                            } else {
                                (x[2] & 0xffff_ffff, x[3] & 0xffff_ffff)
                            };
                            Outcome {
                                x0: SUCCESS as u64,
                                action: Action::CpuOn {
                                    cpu: t,
                                    entry,
                                    context,
                                },
                            }
                        }
                    },
                }
            }
            AFFINITY_INFO => {
                let target = if is64 { x[1] } else { x[1] & 0xffff_ffff };
                if x[2] != 0 {
                    return Outcome::ret(INVALID_PARAMETERS);
                }
                match self.cpu_of(target) {
                    None => Outcome::ret(INVALID_PARAMETERS),
                    Some(t) => Outcome::ret(match self.cpus[t] {
                        Power::On => 0,
                        Power::Off => 1,
                        Power::OnPending => 2,
                    }),
                }
            }
            // No Trusted OS: migration is not needed.
            MIGRATE_INFO_TYPE if !is64 => Outcome::ret(2),
            SYSTEM_OFF if !is64 => Outcome {
                x0: SUCCESS as u64,
                action: Action::SystemOff,
            },
            SYSTEM_RESET if !is64 => Outcome {
                x0: SUCCESS as u64,
                action: Action::SystemReset,
            },
            PSCI_FEATURES if !is64 => Outcome::ret(if Self::implemented(x[1] as u32) {
                SUCCESS
            } else {
                NOT_SUPPORTED
            }),
            SMCCC_VERSION if !is64 => Outcome::ret(0x0001_0001),
            // No SMCCC_ARCH_WORKAROUND_* is offered: the CPU advertises CSV2/CSV3.
            SMCCC_ARCH_FEATURES if !is64 => Outcome::ret(if x[1] as u32 == SMCCC_ARCH_FEATURES {
                SUCCESS
            } else {
                NOT_SUPPORTED
            }),
            _ => Outcome::ret(NOT_SUPPORTED),
        }
    }

    /// Whether PSCI_FEATURES reports `fid` as implemented (0; CPU_SUSPEND's feature flags
    /// are 0 too: original power_state format, platform-coordinated mode).
    fn implemented(fid: u32) -> bool {
        matches!(
            fid,
            PSCI_VERSION
                | CPU_OFF
                | MIGRATE_INFO_TYPE
                | SYSTEM_OFF
                | SYSTEM_RESET
                | PSCI_FEATURES
                | SMCCC_VERSION
        ) || matches!(fid & !SMC64, CPU_SUSPEND | CPU_ON | AFFINITY_INFO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(p: &mut Psci, fid: u32, a: u64, b: u64, c: u64) -> Outcome {
        p.call(0, [fid as u64, a, b, c])
    }

    fn x0(p: &mut Psci, fid: u32, a: u64) -> i64 {
        call(p, fid, a, 0, 0).x0 as i64
    }

    #[test]
    fn versions_and_features() {
        let mut p = Psci::new(1);
        assert_eq!(x0(&mut p, PSCI_VERSION, 0), 0x10001);
        assert_eq!(x0(&mut p, SMCCC_VERSION, 0), 0x10001);
        assert_eq!(x0(&mut p, MIGRATE_INFO_TYPE, 0), 2);
        for f in [
            PSCI_VERSION,
            CPU_SUSPEND,
            CPU_SUSPEND | SMC64,
            CPU_OFF,
            CPU_ON,
            CPU_ON | SMC64,
            AFFINITY_INFO | SMC64,
            SYSTEM_OFF,
            SYSTEM_RESET,
            PSCI_FEATURES,
            SMCCC_VERSION,
        ] {
            assert_eq!(x0(&mut p, PSCI_FEATURES, f as u64), SUCCESS, "{f:#x}");
        }
        for f in [MIGRATE, MIGRATE_INFO_UP_CPU, 0x8400_000b, 0xc400_0008, 0] {
            assert_eq!(x0(&mut p, PSCI_FEATURES, f as u64), NOT_SUPPORTED, "{f:#x}");
        }
        // ARCH_WORKAROUND_1/2/3 are not offered.
        for f in [0x8000_8000u64, 0x8000_7fff, 0x8000_3fff] {
            assert_eq!(x0(&mut p, SMCCC_ARCH_FEATURES, f), NOT_SUPPORTED);
        }
        assert_eq!(
            x0(&mut p, SMCCC_ARCH_FEATURES, SMCCC_ARCH_FEATURES as u64),
            0
        );
    }

    #[test]
    fn unknown_functions_are_not_supported() {
        let mut p = Psci::new(1);
        for f in [
            0u32,
            0x8400_0100,
            0xc400_0000,
            0xc400_0008,
            0x8600_0000,
            MIGRATE,
        ] {
            let o = call(&mut p, f, 0, 0, 0);
            assert_eq!(o, Outcome::ret(NOT_SUPPORTED), "{f:#x}");
            assert_eq!(o.x0, u64::MAX);
        }
        // Only W0 names the function.
        assert_eq!(x0(&mut p, 0, 0), NOT_SUPPORTED,);
        assert_eq!(p.call(0, [0xffff_ffff_8400_0000, 0, 0, 0]).x0, 0x10001);
    }

    #[test]
    fn system_off_reset_and_suspend() {
        let mut p = Psci::new(1);
        assert_eq!(call(&mut p, SYSTEM_OFF, 0, 0, 0).action, Action::SystemOff);
        assert_eq!(
            call(&mut p, SYSTEM_RESET, 0, 0, 0).action,
            Action::SystemReset
        );
        let o = call(&mut p, CPU_SUSPEND | SMC64, 0, 0x4000_0000, 0);
        assert_eq!((o.x0, o.action), (0, Action::Standby));
        assert_eq!(x0(&mut p, CPU_SUSPEND, 1 << 16), INVALID_PARAMETERS);
    }

    #[test]
    fn one_cpu() {
        let mut p = Psci::new(1);
        assert_eq!(x0(&mut p, CPU_ON | SMC64, 0), ALREADY_ON);
        assert_eq!(x0(&mut p, CPU_ON, 0x8000_0000), ALREADY_ON); // MPIDR with RES1 bit 31
        assert_eq!(x0(&mut p, CPU_ON | SMC64, 1), INVALID_PARAMETERS);
        assert_eq!(x0(&mut p, CPU_ON | SMC64, 0x100), INVALID_PARAMETERS);
        assert_eq!(x0(&mut p, AFFINITY_INFO | SMC64, 0), 0);
        assert_eq!(x0(&mut p, AFFINITY_INFO, 1), INVALID_PARAMETERS);
        assert_eq!(
            call(&mut p, AFFINITY_INFO, 0, 1, 0).x0 as i64,
            INVALID_PARAMETERS
        );
        // The only CPU may not switch itself off.
        assert_eq!(call(&mut p, CPU_OFF, 0, 0, 0), Outcome::ret(DENIED));
    }

    #[test]
    fn secondary_cpus() {
        let mut p = Psci::new(2);
        assert_eq!(x0(&mut p, AFFINITY_INFO | SMC64, 1), 1);
        let o = call(&mut p, CPU_ON | SMC64, 1, 0x4008_0000, 0xdead_beef_0000);
        assert_eq!(o.x0, 0);
        assert_eq!(
            o.action,
            Action::CpuOn {
                cpu: 1,
                entry: 0x4008_0000,
                context: 0xdead_beef_0000
            }
        );
        assert_eq!(x0(&mut p, AFFINITY_INFO | SMC64, 1), 2);
        assert_eq!(x0(&mut p, CPU_ON | SMC64, 1), -5);
        p.set_cpu_on(1, true);
        assert_eq!(x0(&mut p, CPU_ON | SMC64, 1), ALREADY_ON);
        let o = p.call(1, [CPU_OFF as u64, 0, 0, 0]);
        assert_eq!(o.action, Action::CpuOff);
        assert_eq!(x0(&mut p, AFFINITY_INFO | SMC64, 1), 1);
        // The SMC32 CPU_ON truncates its arguments to 32 bits.
        let o = call(&mut p, CPU_ON, 0xffff_ffff_0000_0001, 0x1_4000_0000, 7);
        assert_eq!(
            o.action,
            Action::CpuOn {
                cpu: 1,
                entry: 0x4000_0000,
                context: 7
            }
        );
    }
}
