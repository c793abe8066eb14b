//! A harness for per-instruction tests: run a few instruction words on a fresh engine
//! with a given CPU state and return the exit. The words are placed at guest address
//! [`CODE_BASE`] (fetched from the slice, not from memory) and followed by `BRK #0xf00`,
//! so a test normally ends with `Exit::Brk(0xf00)` and `cpu.pc` at that BRK. Memory
//! operands use real host addresses, so tests point registers at their own buffers.

use super::{Engine, Exit, Fetch};
use crate::arm64::cpu::Cpu;
use crate::arm64::lift::CpuFeatures;
use crate::x64::Identity;

/// Where the test words appear to live.
pub const CODE_BASE: u64 = 0x10_0000;
/// The immediate of the BRK appended after the test words.
pub const END_BRK: u16 = 0xf00;

struct Words<'a>(&'a [u32]);

impl Fetch for Words<'_> {
    fn fetch(&mut self, pc: u64) -> Option<u32> {
        let i = pc.checked_sub(CODE_BASE)? / 4;
        if !pc.is_multiple_of(4) {
            return None;
        }
        match (i as usize).cmp(&self.0.len()) {
            std::cmp::Ordering::Less => Some(self.0[i as usize]),
            std::cmp::Ordering::Equal => Some(0xd420_0000 | ((END_BRK as u32) << 5)),
            std::cmp::Ordering::Greater => None,
        }
    }
}

/// Run `words` from `CODE_BASE` on `cpu` (its `pc` is set here) until an exit.
pub fn run_with(words: &[u32], cpu: &mut Cpu, features: CpuFeatures) -> Exit {
    let engine = Engine::new(features, Box::new(Identity)).expect("engine");
    cpu.pc = CODE_BASE;
    engine.run(cpu, &mut Words(words))
}

/// An engine kept across runs, so that translations are reused (for tests that run the
/// same words many times). Different words must not share a runner: translations are
/// looked up by address.
pub struct Runner(Engine);

impl Runner {
    pub fn new() -> Runner {
        Runner(Engine::new(CpuFeatures::default(), Box::new(Identity)).expect("engine"))
    }

    /// Run `words` from `CODE_BASE` on `cpu` and assert they reach the final BRK.
    pub fn run_ok(&self, words: &[u32], cpu: &mut Cpu) {
        cpu.pc = CODE_BASE;
        let e = self.0.run(cpu, &mut Words(words));
        assert_eq!(e, Exit::Brk(END_BRK), "stopped early at pc {:#x}", cpu.pc);
    }
}

impl Default for Runner {
    fn default() -> Runner {
        Runner::new()
    }
}

/// [`run_with`] on the default (`max`) feature set.
pub fn run(words: &[u32], cpu: &mut Cpu) -> Exit {
    run_with(words, cpu, CpuFeatures::default())
}

/// Run `words` and assert they reach the final BRK.
pub fn run_ok(words: &[u32], cpu: &mut Cpu) {
    let e = run(words, cpu);
    assert_eq!(e, Exit::Brk(END_BRK), "stopped early at pc {:#x}", cpu.pc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_and_brk() {
        let mut cpu = Cpu::new();
        // b +8 ; brk #1 ; (target) nothing: falls into the final BRK
        run_ok(&[0x1400_0002, 0xd420_0020], &mut cpu);
        assert_eq!(cpu.pc, CODE_BASE + 8);
        // bl +4: x30 = return address
        let mut cpu = Cpu::new();
        run_ok(&[0x9400_0001], &mut cpu);
        assert_eq!(cpu.x[30], CODE_BASE + 4);
    }

    #[test]
    fn svc_and_undefined() {
        let mut cpu = Cpu::new();
        assert_eq!(run(&[0xd400_0001], &mut cpu), Exit::Svc(0));
        // The same exits as architectural exceptions (system mode's view).
        let e = Exit::Svc(5).exception().unwrap();
        use crate::arm64::cpu::ExceptionKind;
        assert_eq!((e.kind(), e.esr), (ExceptionKind::Svc, 0x5600_0005));
        let e = Exit::Brk(0xf00).exception().unwrap();
        assert_eq!((e.kind(), e.esr), (ExceptionKind::Brk, 0xf200_0f00));
        let e = Exit::Undefined(0).exception().unwrap();
        assert_eq!((e.kind(), e.esr), (ExceptionKind::Undefined, 0x0200_0000));
        let e = Exit::FetchFault(0x1000).exception().unwrap();
        assert_eq!(
            (e.kind(), e.esr, e.far),
            (ExceptionKind::InstructionAbort, 0x8200_0007, 0x1000)
        );
        let e = Exit::FetchFault(0x1002).exception().unwrap();
        assert_eq!((e.kind(), e.far), (ExceptionKind::PcAlignment, 0x1002));
        assert_eq!(Exit::Interrupt.exception(), None);
        assert_eq!(cpu.pc, CODE_BASE + 4);
        let mut cpu = Cpu::new();
        assert_eq!(run(&[0x0000_0000], &mut cpu), Exit::Undefined(0));
        assert_eq!(cpu.pc, CODE_BASE);
    }

    #[test]
    fn conditional_branch_on_flags() {
        // b.eq +8 with Z set: skips the brk #1
        let mut cpu = Cpu::new();
        cpu.nzcv = 0x4000_0000;
        run_ok(&[0x5400_0040, 0xd420_0020], &mut cpu);
        // with Z clear: hits brk #1
        let mut cpu = Cpu::new();
        assert_eq!(run(&[0x5400_0040, 0xd420_0020], &mut cpu), Exit::Brk(1));
    }
}

#[cfg(test)]
mod invalidation_tests {
    use super::*;
    use std::cell::RefCell;

    struct Code(RefCell<Vec<u32>>);

    impl Fetch for &Code {
        fn fetch(&mut self, pc: u64) -> Option<u32> {
            let i = (pc.checked_sub(CODE_BASE)? / 4) as usize;
            self.0.borrow().get(i).copied()
        }
    }

    /// Block A chains to block B; B is rewritten and invalidated: the chained jump
    /// must not reach the stale translation.
    #[test]
    fn invalidation_unlinks_chained_jumps() {
        let engine = Engine::new(CpuFeatures::default(), Box::new(Identity)).unwrap();
        let code = Code(RefCell::new(vec![
            0xd280_0021, // A: mov x1, #1
            0x1400_0002, //    b B
            0xd420_0020, //    brk #1 (not reached)
            0x8b01_0000, // B: add x0, x0, x1
            0xd420_0000 | ((END_BRK as u32) << 5),
        ]));
        let run = |x0: u64| {
            let mut cpu = Cpu::new();
            cpu.x[0] = x0;
            cpu.pc = CODE_BASE;
            let e = engine.run(&mut cpu, &mut &code);
            assert_eq!(e, Exit::Brk(END_BRK));
            cpu.x[0]
        };
        assert_eq!(run(0), 1);
        assert_eq!(run(5), 6); // now A→B is chained
        assert!(engine.stats().chains >= 1);
        code.0.borrow_mut()[3] = 0xcb01_0000; // B: sub x0, x0, x1
        engine.invalidate(CODE_BASE + 12, CODE_BASE + 16);
        assert_eq!(
            run(10),
            9,
            "stale translation of B ran through a chained jump"
        );
    }

    /// Code translated for a context whose PC says "context 1 from B on".
    struct CtxCode<'a>(&'a Code, u64);

    impl Fetch for CtxCode<'_> {
        fn fetch(&mut self, pc: u64) -> Option<u32> {
            (&*self.0).fetch(pc)
        }
        fn context(&mut self, pc: u64) -> crate::ir::Ctx {
            crate::ir::Ctx((pc >= self.1) as u32)
        }
    }

    /// Blocks are keyed by (PC, context): the same PC in another context is another
    /// translation, and a block never chains into a block of another context.
    #[test]
    fn blocks_are_keyed_by_context_and_chain_within_it() {
        let engine = Engine::new(CpuFeatures::default(), Box::new(Identity)).unwrap();
        let code = Code(RefCell::new(vec![
            0xd280_0021, // A: mov x1, #1
            0x1400_0002, //    b B
            0xd420_0020, //    brk #1 (not reached)
            0x8b01_0000, // B: add x0, x0, x1
            0xd420_0000 | ((END_BRK as u32) << 5),
        ]));
        let run = |x0: u64, switch_at: u64| {
            let mut cpu = Cpu::new();
            cpu.x[0] = x0;
            cpu.pc = CODE_BASE;
            let e = engine.run(&mut cpu, &mut CtxCode(&code, switch_at));
            assert_eq!(e, Exit::Brk(END_BRK));
            cpu.x[0]
        };
        // B in context 1: A's exit to it is never chained.
        assert_eq!(run(0, CODE_BASE + 12), 1);
        assert_eq!(run(5, CODE_BASE + 12), 6);
        assert_eq!(engine.stats().blocks, 2);
        assert_eq!(engine.stats().chains, 0);
        // All in context 0: the same A, a second translation of B, chained from A.
        assert_eq!(run(0, u64::MAX), 1);
        assert_eq!(run(7, u64::MAX), 8);
        assert_eq!(engine.stats().blocks, 3);
        assert_eq!(engine.stats().chains, 1);
    }
}
