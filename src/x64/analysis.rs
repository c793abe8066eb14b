//! Analysis of an IR block before emission: liveness (each value's last reader),
//! flag fusion (flag computations redone by their readers instead of materialised, and
//! a compare fused with the terminating branch) and address folding (address arithmetic
//! folded into the one memory access that reads it).

use super::{x86_cond, Loc};
use crate::ir::{BinOp, Block, Op, Order, Term, Val, W};

/// Per-value vectors of [`compile`], kept between blocks by each thread (allocating
/// them for every block showed in start-up profiles).
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) last_use: Vec<u32>,
    readers: Vec<u32>,
    flag_readers_only: Vec<bool>,
    pub(super) fused: Vec<bool>,
    pub(super) addr_fused: Vec<bool>,
    pub(super) loc: Vec<Loc>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// The vector kept in `v` (taken out), now `n` copies of `x`.
pub(super) fn refill<T: Clone>(v: &mut Vec<T>, n: usize, x: T) -> Vec<T> {
    let mut v = std::mem::take(v);
    v.clear();
    v.resize(n, x);
    v
}

impl Scratch {
    /// This thread's kept vectors (empty the first time).
    pub(super) fn take() -> Scratch {
        SCRATCH.with(|s| s.take())
    }

    /// Keep the vectors for this thread's next block.
    pub(super) fn put_back(self) {
        SCRATCH.with(|s| s.set(self));
    }
}

/// What [`analyse`] decided for one block.
pub(super) struct Analysis {
    /// Per value: the index of its last reader (the block length for the terminator).
    pub(super) last_use: Vec<u32>,
    /// `Flags` values that are never materialised: their only readers (SetNzcv and
    /// Cond) redo the x86 flag operation on the original operands.
    pub(super) fused: Vec<bool>,
    /// Address arithmetic folded into the one memory access that reads it.
    pub(super) addr_fused: Vec<bool>,
    /// The `Cond` value folded into the terminating branch (`cmp` + `jcc`).
    pub(super) branch_cond: Option<usize>,
    /// A `SetNzcv` of the branch's flags done at the exits instead.
    pub(super) nzcv_at_exit: Option<usize>,
}

/// Liveness and fusion decisions for `block`, in vectors kept in `sc`.
pub(super) fn analyse(block: &Block, sc: &mut Scratch) -> Analysis {
    let n = block.insts.len();
    let mut last_use = refill(&mut sc.last_use, n, 0);
    for (i, inst) in block.insts.iter().enumerate() {
        inst.op.for_each_arg(|a| last_use[a.0 as usize] = i as u32);
    }
    let term_use = n as u32;
    match &block.term {
        Term::Branch { cond, .. } => last_use[cond.0 as usize] = term_use,
        Term::Indirect(v, _) => last_use[v.0 as usize] = term_use,
        _ => {}
    }
    // Flag fusion: find Flags values read only by SetNzcv/Cond, and a Cond read only by
    // the terminating branch; keep their operands alive until those readers.
    // Per value: readers among the instructions, and whether all of them are
    // SetNzcv/Cond (the last reader is `last_use`). No per-value lists: this runs for
    // every block translated.
    let mut readers = refill(&mut sc.readers, n, 0);
    let mut flag_readers_only = refill(&mut sc.flag_readers_only, n, true);
    for inst in &block.insts {
        let flag_reader = matches!(inst.op, Op::SetNzcv(_) | Op::Cond(..));
        inst.op.for_each_arg(|a| {
            readers[a.0 as usize] += 1;
            flag_readers_only[a.0 as usize] &= flag_reader;
        });
    }
    let mut fused = refill(&mut sc.fused, n, false);
    for (i, inst) in block.insts.iter().enumerate() {
        if let Op::Flags(..) = inst.op {
            // Read, only by SetNzcv/Cond instructions (not by the terminator).
            if readers[i] > 0 && flag_readers_only[i] && last_use[i] < term_use {
                fused[i] = true;
                let end = last_use[i];
                inst.op.for_each_arg(|a| {
                    let l = &mut last_use[a.0 as usize];
                    *l = (*l).max(end);
                });
            }
        }
    }
    let mut addr_fused = std::mem::take(&mut sc.addr_fused);
    fuse_addresses(block, &readers, &mut last_use, &mut addr_fused);
    let mut branch_cond = None;
    if let Term::Branch { cond, .. } = &block.term {
        let k = cond.0 as usize;
        if let Op::Cond(cc, f) = block.insts[k].op {
            if let Op::Flags(fop, ..) = block.insts[f.0 as usize].op {
                // The Cond is read by the terminator alone.
                if fused[f.0 as usize] && readers[k] == 0 && x86_cond(fop, cc).is_some() {
                    branch_cond = Some(k);
                    block.insts[f.0 as usize].op.for_each_arg(|a| {
                        last_use[a.0 as usize] = term_use;
                    });
                }
            }
        }
    }
    let nzcv_at_exit = nzcv_at_exit(block, branch_cond);
    (sc.readers, sc.flag_readers_only) = (readers, flag_readers_only);
    Analysis {
        last_use,
        fused,
        addr_fused,
        branch_cond,
        nzcv_at_exit,
    }
}

/// Address fusion: a 64-bit `Add` read only as the address of one memory access the
/// direct path emits (any load, a plain store) is not computed on its own; the access
/// builds it with one `lea` (base + index * scale + displacement), taking a `Shl` by
/// 1..=3 read only by that `Add` as the scaled index. The operands of fused ops live
/// until the access (`last_use` is extended). Sets `fused` to which ops are fused.
pub(super) fn fuse_addresses(
    block: &Block,
    readers: &[u32],
    last_use: &mut [u32],
    fused: &mut Vec<bool>,
) {
    let n = block.insts.len();
    fused.clear();
    fused.resize(n, false);
    for (j, inst) in block.insts.iter().enumerate() {
        let addr = match inst.op {
            Op::Load { addr, .. } => addr,
            Op::Store {
                addr,
                order: Order::Plain,
                ..
            } => addr,
            _ => continue,
        };
        let k = addr.0 as usize;
        if readers[k] != 1 || last_use[k] != j as u32 {
            continue;
        }
        let Op::Bin(BinOp::Add, W::W64, x, y) = block.insts[k].op else {
            continue;
        };
        fused[k] = true;
        let extend = |last_use: &mut [u32], v: Val| {
            let l = &mut last_use[v.0 as usize];
            *l = (*l).max(j as u32);
        };
        // At most one scaled index (checked before any lifetime is extended).
        let shl = [y, x].into_iter().find(|v| {
            let m = v.0 as usize;
            matches!(block.insts[m].op, Op::Bin(BinOp::Shl, W::W64, _, c)
                if readers[m] == 1
                    && last_use[m] == k as u32
                    && matches!(block.const_of(c), Some(1..=3)))
        });
        extend(last_use, x);
        extend(last_use, y);
        if let Some(v) = shl {
            fused[v.0 as usize] = true;
            if let Op::Bin(_, _, idx, _) = block.insts[v.0 as usize].op {
                extend(last_use, idx);
            }
        }
    }
}

/// The `SetNzcv` that can move to the exits of a block whose branch is fused with a
/// compare (`branch_cond`): one of the same flags value with nothing emitted between it
/// and the terminator, so that nothing can observe NZCV in between.
pub(super) fn nzcv_at_exit(block: &Block, branch_cond: Option<usize>) -> Option<usize> {
    let k = branch_cond?;
    let Op::Cond(_, f) = block.insts[k].op else {
        return None;
    };
    for j in (0..block.insts.len()).rev() {
        match block.insts[j].op {
            Op::InsnStart(_) | Op::Const(_) => {}
            _ if j == k || j == f.0 as usize => {}
            Op::SetNzcv(g) if g == f => return Some(j),
            _ => return None,
        }
    }
    None
}

/// A block that branches back to its own start, compiled as a host loop (see
/// [`self_loop`]).
pub(super) struct SelfLoop {
    /// Per carried guest register: the `GetReg` that reads it (hoisted above the loop
    /// head) and the value the block leaves in it (moved into the `GetReg`'s location on
    /// the back edge).
    pub(super) carried: Vec<(usize, Val)>,
    /// The block's last `SetNzcv`, when nothing in the block can observe NZCV before
    /// the first `SetNzcv` or after the last (no loads, no `GetNzcv`): the back edge
    /// then need not store NZCV, only the exits and the interrupt exit do.
    pub(super) nzcv_deferred: Option<usize>,
}

/// Whether `block` is a loop of its own that can run without leaving its code: one of
/// its exits goes back to its first instruction, and it neither stores to memory nor
/// calls helpers (a store may rewrite the block's own code, which must then stop running
/// at the next iteration; a helper may read guest registers from the CPU state).
///
/// Guest registers the block reads (once, before writing them) and writes are carried
/// in host registers from one iteration to the next instead of through the CPU state:
/// their `GetReg` is emitted once before the loop head and the back edge moves the
/// written values into its location. Every `SetReg` is still stored where it is, so the
/// CPU state stays exact at every fault and at the interrupt check on the back edge.
/// Carried values live past the terminator (`last_use` = block length + 1).
pub(super) fn self_loop(block: &Block, fused: &[bool], last_use: &mut [u32]) -> Option<SelfLoop> {
    let pc = block.pc;
    let back = match block.term {
        Term::Goto(t) => t == pc,
        Term::Branch {
            taken, not_taken, ..
        } => taken == pc || not_taken == pc,
        _ => false,
    };
    if !back {
        return None;
    }
    // Per guest register: its GetReg (None: not read; Some(None): not carriable), and
    // the value of its last SetReg.
    let mut get: [Option<Option<usize>>; 32] = [None; 32];
    let mut set: [Option<Val>; 32] = [None; 32];
    for (i, inst) in block.insts.iter().enumerate() {
        match inst.op {
            Op::Store { .. } | Op::StoreV { .. } | Op::Call(..) => return None,
            Op::GetReg(r) if (r as usize) < 32 => {
                let r = r as usize;
                // Read twice, or after a write: leave it alone.
                get[r] = match (get[r], set[r]) {
                    (None, None) => Some(Some(i)),
                    _ => Some(None),
                };
            }
            Op::SetReg(r, v) if (r as usize) < 32 => set[r as usize] = Some(v),
            _ => {}
        }
    }
    let end = block.insts.len() as u32 + 1;
    // NZCV: observed (a possible fault, a read) before the first or after the last
    // SetNzcv?
    let (mut observed_before, mut observed_after, mut last_set) = (false, false, None);
    for (i, inst) in block.insts.iter().enumerate() {
        match inst.op {
            Op::SetNzcv(_) => {
                last_set = Some(i);
                observed_after = false;
            }
            Op::Load { .. } | Op::LoadV { .. } | Op::GetNzcv => {
                observed_before |= last_set.is_none();
                observed_after = true;
            }
            _ => {}
        }
    }
    let nzcv_deferred = last_set.filter(|_| !observed_before && !observed_after);
    if let Some(k) = nzcv_deferred {
        // Stored at the exits: what it stores lives until then.
        let Op::SetNzcv(f) = block.insts[k].op else {
            unreachable!()
        };
        if fused[f.0 as usize] {
            block.insts[f.0 as usize]
                .op
                .for_each_arg(|a| last_use[a.0 as usize] = end);
        } else {
            last_use[f.0 as usize] = end;
        }
    }
    let mut carried = Vec::new();
    for r in 0..32 {
        if let (Some(Some(g)), Some(v)) = (get[r], set[r]) {
            carried.push((g, v));
            last_use[g] = end;
            last_use[v.0 as usize] = end;
        }
    }
    Some(SelfLoop {
        carried,
        nzcv_deferred,
    })
}
