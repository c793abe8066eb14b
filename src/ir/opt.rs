//! Cheap block-local optimisation passes.
//!
//! - **Forwarding**: a guest register (or NZCV) read after a write or an earlier read in
//!   the same block reuses that value instead of reading the CPU state again; integer
//!   ops whose operands thereby become constants are folded.
//! - **Dead writes**: a register or NZCV write overwritten later in the block with no
//!   possible observer in between (no read, no op that may fault or call out) is
//!   dropped. Writes are kept before every such op, so guest state stays exact
//!   wherever a fault can be taken.
//! - **Dead code**: ops without effects whose values are unused are deleted, and the
//!   block is renumbered.
//!
//! Every pass is linear in the block size: translation time matters.

use super::{eval_bin, eval_un, Block, Inst, Op, Term, Val};

/// A placeholder for a deleted op: defines nothing, reads nothing; `dce` drops it.
const DEAD: Op = Op::InsnStart(u64::MAX);

/// Run all passes.
pub fn optimize(block: &mut Block) {
    forward(block);
    dead_writes(block);
    dce(block);
}

fn map_term(term: &mut Term, m: impl Fn(Val) -> Val) {
    match term {
        Term::Branch { cond, .. } => *cond = m(*cond),
        Term::Indirect(v, _) => *v = m(*v),
        _ => {}
    }
}

/// Replace re-reads of guest registers and NZCV with known values.
pub fn forward(block: &mut Block) {
    let n = block.insts.len();
    let mut subst: Vec<Val> = (0..n as u32).map(Val).collect();
    let mut known: [Option<Val>; 32] = [None; 32];
    let mut nzcv: Option<Val> = None;
    for i in 0..n {
        op_map_and_fold(&mut block.insts, i, &subst);
        let op = &mut block.insts[i].op;
        match op {
            Op::GetReg(r) => match known[*r as usize] {
                Some(v) => {
                    subst[i] = v;
                    *op = DEAD;
                }
                None => known[*r as usize] = Some(Val(i as u32)),
            },
            Op::SetReg(r, v) => known[*r as usize] = Some(*v),
            Op::GetNzcv => match nzcv {
                Some(v) => {
                    subst[i] = v;
                    *op = DEAD;
                }
                None => nzcv = Some(Val(i as u32)),
            },
            Op::SetNzcv(v) => nzcv = Some(*v),
            Op::Call(h, _) if h.side_effects => {
                // A helper may read or write any guest state.
                known = [None; 32];
                nzcv = None;
            }
            _ => {}
        }
    }
    map_term(&mut block.term, |a| subst[a.0 as usize]);
}

/// Rewrite instruction `i`'s operands through `subst`, then replace an integer op
/// whose operands are all constants by its value (a constant reaches an op through a
/// register only after forwarding, e.g. `MOVZ` + `MOVK`, `ADRP` + `ADD`).
fn op_map_and_fold(insts: &mut [Inst], i: usize, subst: &[Val]) {
    insts[i].op.map_args(|a| subst[a.0 as usize]);
    let konst = |v: Val| match insts[v.0 as usize].op {
        Op::Const(c) => Some(c),
        _ => None,
    };
    let folded = match insts[i].op {
        Op::Bin(op, w, a, b) => konst(a).zip(konst(b)).map(|(x, y)| eval_bin(op, w, x, y)),
        Op::Un(op, w, a) => konst(a).map(|x| eval_un(op, w, x)),
        _ => None,
    };
    if let Some(c) = folded {
        insts[i].op = Op::Const(c);
    }
}

/// Drop register/NZCV writes that are overwritten before anything can observe them.
pub fn dead_writes(block: &mut Block) {
    let mut pending: [Option<usize>; 32] = [None; 32];
    let mut pending_nzcv: Option<usize> = None;
    let mut dead = Vec::new();
    for (i, inst) in block.insts.iter().enumerate() {
        match &inst.op {
            Op::SetReg(r, _) => {
                if let Some(j) = pending[*r as usize].replace(i) {
                    dead.push(j);
                }
            }
            Op::SetNzcv(_) => {
                if let Some(j) = pending_nzcv.replace(i) {
                    dead.push(j);
                }
            }
            Op::GetReg(r) => pending[*r as usize] = None,
            Op::GetNzcv => pending_nzcv = None,
            op if op.is_barrier() => {
                pending = [None; 32];
                pending_nzcv = None;
            }
            _ => {}
        }
    }
    for j in dead {
        // A no-op that defines nothing and reads nothing; dce removes it.
        block.insts[j].op = DEAD;
    }
}

/// Delete unused pure ops and renumber.
pub fn dce(block: &mut Block) {
    let n = block.insts.len();
    let mut live = vec![false; n];
    let mark = |v: Val, live: &mut Vec<bool>| live[v.0 as usize] = true;
    match &block.term {
        Term::Branch { cond, .. } => mark(*cond, &mut live),
        Term::Indirect(v, _) => mark(*v, &mut live),
        _ => {}
    }
    for i in (0..n).rev() {
        let op = &block.insts[i].op;
        if *op == DEAD {
            continue;
        }
        if op.has_effect() || live[i] {
            live[i] = true;
            op.for_each_arg(|a| live[a.0 as usize] = true);
        }
    }
    // Compact in place (no second vector: this runs for every block translated).
    let mut remap = vec![Val(u32::MAX); n];
    let mut kept = 0;
    for i in 0..n {
        if live[i] {
            remap[i] = Val(kept as u32);
            let mut op = std::mem::replace(&mut block.insts[i].op, DEAD);
            op.map_args(|a| remap[a.0 as usize]);
            block.insts[kept] = Inst { op };
            kept += 1;
        }
    }
    block.insts.truncate(kept);
    map_term(&mut block.term, |a| remap[a.0 as usize]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Builder, W};

    #[test]
    fn forwards_and_drops_dead_writes() {
        let mut b = Builder::new(0x1000);
        let x1 = b.get_reg(1);
        let one = b.konst(1);
        let s = b.add(W::W64, x1, one);
        b.set_reg(0, s);
        let again = b.get_reg(0); // forwarded to `s`
        let t = b.add(W::W64, again, one);
        b.set_reg(0, t); // makes the first SetReg(0) dead
        let mut blk = b.finish(Term::Goto(0x1004), 8);
        optimize(&mut blk);
        let sets: Vec<_> = blk
            .insts
            .iter()
            .filter(|i| matches!(i.op, Op::SetReg(0, _)))
            .collect();
        assert_eq!(sets.len(), 1);
        assert!(!blk.insts.iter().any(|i| matches!(i.op, Op::GetReg(0))));
    }

    #[test]
    fn keeps_writes_before_a_possible_fault() {
        let mut b = Builder::new(0x1000);
        let one = b.konst(1);
        b.set_reg(0, one);
        let _ = b.load(8, false, one, crate::ir::Order::Plain);
        b.set_reg(0, one);
        let mut blk = b.finish(Term::Goto(0x1008), 8);
        optimize(&mut blk);
        let sets = blk
            .insts
            .iter()
            .filter(|i| matches!(i.op, Op::SetReg(0, _)))
            .count();
        assert_eq!(sets, 2);
    }
}
