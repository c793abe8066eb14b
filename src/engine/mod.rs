//! The execution engine: code cache, block map, dispatcher, chaining, invalidation and
//! host-PC → guest-PC attribution of faults.
//!
//! The engine owns translated code and runs it; it knows nothing of Linux or of a
//! machine. The environment supplies instruction fetch (with its permission checks),
//! the memory lowering, and handles every exit that is not internal (system calls,
//! breakpoints, undefined instructions, fetch faults, interrupts) — see [`Exit`].
//!
//! Concurrency: the block map is behind a `RwLock` and the code cache behind a `Mutex`
//! (translation is serialised; lookups are shared). Patching a chained jump is a single
//! aligned 4-byte store, which x86 performs atomically, so other threads running the
//! same code see either the old or the new target.
//!
//! Invalidation (`IC IVAU`, unmapping or reprotecting guest code) removes the affected
//! blocks from the map and un-patches every chained jump into them (each block keeps
//! its incoming links), so no thread can enter them again; their memory is not reused
//! until the cache is reset. A reset (when the cache is full) needs every thread out of
//! translated code: threads hold the `epoch` lock for reading while they run generated
//! code, and the resetting thread sets [`INT_FLUSH`] in every registered CPU's
//! `interrupt` word (so threads leave at their next block entry) and takes it for
//! writing. The epoch is an [`Epoch`] gate rather than a `RwLock` so that a forked
//! child can reset it: threads of the parent that were running generated code at the
//! fork do not exist in the child, but a lock would still count them as readers.

pub mod fault;
pub mod testing;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockWriteGuard};

use crate::arm64::cpu::{Cpu, Exception};
use crate::arm64::decode;
use crate::arm64::lift::{self, CpuFeatures};
use crate::ir::{opt, Ctx};
use crate::log::{self, Item};
use crate::x64::{
    self, exit, jt_encode, jt_index, JtEntry, MemLowering, Runtime, JT_CONTEXTS, JT_EMPTY,
    JT_ENTRIES,
};

/// Translated blocks by guest PC and translation context. Looked up on every dispatcher
/// entry and translation, so hashed with one multiply rather than SipHash (PCs are not
/// attacker-chosen keys into a shared table; a guest can only slow its own lookups).
type BlockMap = HashMap<BlockKey, Arc<BlockInfo>, PcHash>;

/// What a block is looked up by: its guest PC, the context it was translated for, and
/// the code page it came from ([`Fetch::code_page`]; 0 in user mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BlockKey {
    pc: u64,
    ctx: Ctx,
    page: u64,
}

impl std::hash::Hash for BlockKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // One word for [`PcHasher::write_u64`]: the context moves the PC's hash to
        // another bucket (contexts are few and small).
        // (The code page, zero in user mode, moves it again in system mode.)
        state.write_u64(
            self.pc ^ ((self.ctx.0 as u64) << 52).rotate_left(7) ^ self.page.rotate_left(29),
        );
    }
}

/// [`BlockMap`]'s hasher: Fibonacci hashing of the (4-byte aligned) PC.
#[derive(Clone, Copy, Default)]
struct PcHash;

impl std::hash::BuildHasher for PcHash {
    type Hasher = PcHasher;
    fn build_hasher(&self) -> PcHasher {
        PcHasher(0)
    }
}

#[derive(Default)]
struct PcHasher(u64);

impl std::hash::Hasher for PcHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, pc: u64) {
        // hashbrown uses the top 7 bits as tags and the low bits as the index: the
        // multiply spreads the PC's middle bits into both.
        self.0 = (pc >> 2).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// `-one-insn-per-tb`: every block holds one guest instruction (set once at start-up).
static ONE_INSN_PER_BLOCK: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Translate one guest instruction per block from now on (`-one-insn-per-tb`).
pub fn set_one_insn_per_block(on: bool) {
    ONE_INSN_PER_BLOCK.store(on, Ordering::Relaxed);
}

/// Size of the code cache. When it fills, everything is flushed and retranslated.
pub const CODE_CACHE_SIZE: usize = 256 << 20;

/// What the environment supplies to translation.
pub trait Fetch {
    /// The instruction word at guest address `pc`, or `None` when it may not be
    /// executed (unmapped or not executable).
    fn fetch(&mut self, pc: u64) -> Option<u32>;

    /// The translation context code at `pc` runs in now (see [`Ctx`]): part of the
    /// key blocks are found by, given to the lifter and to the memory lowering. Blocks
    /// chain only to blocks of the same context. When it changes while translated code
    /// of the old context may still run (user mode: Top Byte Ignore switched on by
    /// another thread), the environment drops every translation
    /// ([`exit::RETRANSLATE`]).
    fn context(&mut self, _pc: u64) -> Ctx {
        Ctx::default()
    }

    /// Which memory the code at `pc` comes from now: a tag the environment chooses
    /// (system mode: the physical page, never 0), part of the key blocks are found by,
    /// so the same PC mapped to other memory is another translation, and the handle to
    /// drop a page's blocks ([`Engine::invalidate_code_page`]). With non-zero tags the
    /// engine chains a direct branch only within one page (so a chained jump never
    /// crosses into a page whose mapping may have changed), and the environment must
    /// call [`Engine::flush_indirect`] whenever mappings may have changed. 0 (the
    /// default, user mode): one address space; nothing is tracked.
    fn code_page(&mut self, _pc: u64) -> u64 {
        0
    }

    /// For `IC IVAU` of the line at `va`: the code page ([`Fetch::code_page`] tag) whose
    /// translations to drop, found through the data translation of `va` (the kernel
    /// cleans a page through its own mapping before a user mapping executes it), or
    /// `None` (the default, user mode) to drop the translations of that VA range.
    fn icache_page(&mut self, _va: u64) -> Option<u64> {
        None
    }
}

/// A non-internal exit, for the environment to handle. `cpu.pc` is set as described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `SVC #imm`; `cpu.pc` is the next instruction.
    Svc(u16),
    /// `BRK #imm`; `cpu.pc` is the BRK.
    Brk(u16),
    /// Undefined/unimplemented instruction word at `cpu.pc`.
    Undefined(u32),
    /// Instruction not allowed at EL0 at `cpu.pc`.
    Privileged(u32),
    /// Instruction fetch from a non-executable address (`cpu.pc`).
    FetchFault(u64),
    /// `cpu.interrupt` was set; `cpu.pc` is where to resume.
    Interrupt,
    /// A synchronous exception (from the environment's slow path or a helper) taken
    /// by the instruction at `cpu.pc`; guest registers are those before it.
    Exception(Exception),
}

impl Exit {
    /// The architectural exception (ESR, FAR) a synchronous exit is: what an
    /// environment that models exception entry (system mode) raises for it. The
    /// instruction is at `cpu.pc`, except for `Svc`, whose `cpu.pc` is the next one. `Privileged`
    /// exits are UNDEFINED at EL0; `FetchFault` is a level-3 translation fault (an
    /// environment that knows better, such as a permission fault, builds its own).
    /// `None` for `Interrupt`.
    pub fn exception(&self) -> Option<Exception> {
        use crate::arm64::cpu::{ec, esr};
        Some(match *self {
            Exit::Svc(imm) => Exception::new(ec::SVC64, imm as u64, 0),
            Exit::Brk(imm) => Exception::new(ec::BRK64, imm as u64, 0),
            Exit::Undefined(_) | Exit::Privileged(_) => Exception::new(ec::UNKNOWN, 0, 0),
            Exit::FetchFault(a) if a & 3 != 0 => Exception::new(ec::PC_ALIGN, 0, a),
            Exit::FetchFault(a) => Exception::new(ec::IABT_LOW, esr::FSC_TRANS_L3, a),
            Exit::Exception(e) => e,
            Exit::Interrupt => return None,
        })
    }
}

/// `cpu.interrupt` bit: the environment has something to deliver (a signal).
pub const INT_SIGNAL: u32 = 1;
/// `cpu.interrupt` bit: the engine wants every thread out of translated code.
pub const INT_FLUSH: u32 = 2;
/// `cpu.interrupt` bit: a block that loops on itself was invalidated; threads running
/// it leave at its next back edge (they would not pass a chained jump again).
pub const INT_LEAVE: u32 = 4;
/// `cpu.interrupt` bit: a debugger stops every thread (the environment parks it).
pub const INT_DEBUG: u32 = 8;

/// Set interrupt bits of a CPU, possibly from another thread or a signal handler.
/// `cpu` must point to a live `Cpu` (CPUs are registered with the engine while alive).
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn raise_interrupt(cpu: *mut Cpu, bits: u32) {
    // SAFETY: `interrupt` is a naturally aligned u32 inside a live `Cpu` (callers pass
    // their own or a registered CPU); generated code only reads it, and every writer
    // uses this atomic view.
    let word = unsafe { &*(std::ptr::addr_of_mut!((*cpu).interrupt) as *const AtomicU32) };
    word.fetch_or(bits, Ordering::SeqCst);
}

/// Clear interrupt bits of a CPU; returns the bits that were set before.
/// `cpu` must point to a live `Cpu`.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn clear_interrupt(cpu: *mut Cpu, bits: u32) -> u32 {
    // SAFETY: as in `raise_interrupt`.
    let word = unsafe { &*(std::ptr::addr_of_mut!((*cpu).interrupt) as *const AtomicU32) };
    word.fetch_and(!bits, Ordering::SeqCst)
}

/// The gate between threads running generated code (many at once) and a cache reset
/// (alone). Like a readers-writer lock, but [`Epoch::reset_after_fork`] can forget the
/// readers that existed only in the parent of a fork. Readers are cheap (one atomic
/// add and one load); a closing writer waits on a futex for the last reader to leave.
struct Epoch {
    /// Threads inside generated code.
    readers: AtomicU32,
    /// 1 while a writer holds (or is closing) the gate.
    closed: AtomicU32,
    /// Serialises writers.
    writers: Mutex<()>,
}

/// A thread's stay inside generated code ([`Epoch::enter`]).
struct EpochReader<'a>(&'a Epoch);

/// The gate closed by a writer ([`Epoch::close`]).
struct EpochWriter<'a> {
    epoch: &'a Epoch,
    _serial: MutexGuard<'a, ()>,
}

fn futex_wait(word: &AtomicU32, val: u32) {
    // SAFETY: a futex wait on a live, aligned u32; the kernel only reads it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            val,
            std::ptr::null::<libc::timespec>(),
        )
    };
}

fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: a futex wake on a live, aligned u32.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        )
    };
}

impl Epoch {
    fn new() -> Epoch {
        Epoch {
            readers: AtomicU32::new(0),
            closed: AtomicU32::new(0),
            writers: Mutex::new(()),
        }
    }

    /// Enter (waiting while a writer holds the gate).
    fn enter(&self) -> EpochReader<'_> {
        loop {
            if self.closed.load(Ordering::SeqCst) != 0 {
                futex_wait(&self.closed, 1);
                continue;
            }
            self.readers.fetch_add(1, Ordering::SeqCst);
            if self.closed.load(Ordering::SeqCst) == 0 {
                return EpochReader(self);
            }
            // A writer closed the gate meanwhile: let it through.
            self.leave();
        }
    }

    fn leave(&self) {
        if self.readers.fetch_sub(1, Ordering::SeqCst) == 1
            && self.closed.load(Ordering::SeqCst) != 0
        {
            futex_wake_all(&self.readers);
        }
    }

    /// Close the gate and wait until every reader has left.
    fn close(&self) -> EpochWriter<'_> {
        let serial = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        self.closed.store(1, Ordering::SeqCst);
        loop {
            let n = self.readers.load(Ordering::SeqCst);
            if n == 0 {
                break;
            }
            futex_wait(&self.readers, n);
        }
        EpochWriter {
            epoch: self,
            _serial: serial,
        }
    }

    /// In a forked child (one thread, not inside generated code): no reader is left.
    fn reset_after_fork(&self) {
        self.readers.store(0, Ordering::SeqCst);
        self.closed.store(0, Ordering::SeqCst);
    }
}

impl Drop for EpochReader<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl Drop for EpochWriter<'_> {
    fn drop(&mut self) {
        self.epoch.closed.store(0, Ordering::SeqCst);
        futex_wake_all(&self.epoch.closed);
    }
}

/// Metadata of one translated block.
pub struct BlockInfo {
    pub guest_pc: u64,
    /// The translation context it was translated for.
    pub ctx: Ctx,
    /// The code page it was translated from ([`Fetch::code_page`]).
    pub page: u64,
    pub guest_len: u64,
    pub host: usize,
    pub host_len: usize,
    /// (host offset, guest pc) of instructions that may fault.
    pub pc_map: Vec<(u32, u64)>,
    /// Runs as a host loop (see [`x64::Compiled::self_loop`]).
    self_loop: bool,
    /// Chained jumps into this block: (end of the `jmp rel32`, its original rel32).
    incoming: Mutex<Vec<(usize, i32)>>,
}

impl BlockInfo {
    fn key(&self) -> BlockKey {
        BlockKey {
            pc: self.guest_pc,
            ctx: self.ctx,
            page: self.page,
        }
    }
}

/// Locks a mutex, ignoring poisoning (release builds abort on panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct CodeCache {
    base: usize,
    size: usize,
    used: usize,
    /// Bytes at the start holding the runtime stubs (never flushed).
    reserved: usize,
    /// Incremented by every flush, so stale chain slots are never patched.
    generation: u64,
}

/// Counters for `-d stats`-style summaries.
#[derive(Default, Debug, Clone, Copy)]
pub struct Stats {
    pub blocks: u64,
    pub guest_insns: u64,
    pub host_bytes: u64,
    pub chains: u64,
    pub flushes: u64,
    /// Time spent decoding, lifting, optimising and emitting (counted under `-d stats`).
    pub translate_ns: u64,
}

/// Names of the exits from generated code, indexed by exit code (`x64::exit`).
pub const EXIT_NAMES: [&str; 13] = [
    "?",
    "chain request",
    "indirect lookup",
    "interrupt",
    "svc",
    "brk",
    "undefined",
    "privileged",
    "fetch fault",
    "ic ivau",
    "resync",
    "retranslate",
    "exception",
];

/// The engine's locks, held across a host fork (see [`Engine::fork_guard`]).
pub struct ForkGuard<'a> {
    _cache: MutexGuard<'a, CodeCache>,
    _blocks: RwLockWriteGuard<'a, BlockMap>,
    _by_host: RwLockWriteGuard<'a, BTreeMap<usize, Arc<BlockInfo>>>,
    _stats: MutexGuard<'a, Stats>,
}

pub struct Engine {
    cache: Mutex<CodeCache>,
    blocks: RwLock<BlockMap>,
    by_host: RwLock<BTreeMap<usize, Arc<BlockInfo>>>,
    enter: unsafe extern "sysv64" fn(*mut Cpu, usize) -> u64,
    rt: Runtime,
    pub features: CpuFeatures,
    mem: Box<dyn MemLowering + Send + Sync>,
    chaining: bool,
    stats: Mutex<Stats>,
    /// Exits from generated code to the dispatcher, by exit code (under `-d stats`).
    exits: [AtomicU64; EXIT_NAMES.len()],
    /// Words already reported under `-d unimp`.
    reported: Mutex<std::collections::HashSet<u32>>,
    /// Entered while a thread runs generated code; closed by a reset.
    epoch: Epoch,
    /// The CPUs of all threads running on this engine (as addresses).
    cpus: Mutex<Vec<usize>>,
    /// The cache mapping (fixed for the engine's life; readable without a lock, e.g.
    /// from a fault handler).
    cache_base: usize,
    cache_size: usize,
    /// Indirect-branch tables read by generated code (see [`x64::JtEntry`]): one of
    /// [`JT_ENTRIES`] per context with a table ([`x64::jt_slot`]), consecutive.
    jump_table: Box<[JtEntry]>,
    /// Blocks by non-zero code page (may list keys already gone), for
    /// [`Engine::invalidate_code_page`].
    pages: Mutex<HashMap<u64, Vec<BlockKey>>>,
    /// Indirect-branch table entries filled for blocks with a code page since the last
    /// [`Engine::flush_indirect`].
    jt_paged: Mutex<Vec<usize>>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        let c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the cache mapping was made by `Engine::new` and no code runs from it
        // once the engine is gone.
        unsafe { libc::munmap(c.base as *mut libc::c_void, c.size) };
    }
}

/// Why the engine could not start.
#[derive(Debug)]
pub struct EngineError(pub String);

impl Engine {
    pub fn new(
        features: CpuFeatures,
        mem: Box<dyn MemLowering + Send + Sync>,
    ) -> Result<Engine, EngineError> {
        // SAFETY: an anonymous private mapping with no address hint; the kernel picks a
        // free range, so nothing existing is replaced.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                CODE_CACHE_SIZE,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(EngineError(format!(
                "cannot allocate the code cache: {}",
                std::io::Error::last_os_error()
            )));
        }
        let base = base as usize;
        let (stubs, enter, epilogue) = x64::runtime_stubs(base);
        // SAFETY: the cache is a fresh RWX mapping at least `stubs.len()` bytes long.
        unsafe { std::ptr::copy_nonoverlapping(stubs.as_ptr(), base as *mut u8, stubs.len()) };
        let used = (stubs.len() + 63) & !63;
        // SAFETY: `enter` points at the trampoline just written, whose ABI is
        // sysv64 `(cpu, code) -> u64`.
        let enter = unsafe {
            std::mem::transmute::<usize, unsafe extern "sysv64" fn(*mut Cpu, usize) -> u64>(enter)
        };
        // Zeroed memory straight from the allocator (fresh pages: nothing is touched until
        // an entry is used, which keeps process start-up cheap). A zero word is an empty
        // entry (see `JtEntry`).
        let layout = std::alloc::Layout::array::<JtEntry>(JT_ENTRIES * JT_CONTEXTS)
            .map_err(|e| EngineError(format!("jump table: {e}")))?;
        // SAFETY: the layout is non-zero-sized; a JtEntry is one AtomicU64, for which
        // all-zero bytes are a valid value; the Box owns the allocation from here on,
        // with the same layout (a slice of JT_ENTRIES entries).
        let jump_table: Box<[JtEntry]> = unsafe {
            let p = std::alloc::alloc_zeroed(layout) as *mut JtEntry;
            if p.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                p,
                JT_ENTRIES * JT_CONTEXTS,
            ))
        };
        let chaining = !log::enabled(Item::Exec) && !log::enabled(Item::NoChain);
        let jt_addr = if chaining {
            jump_table.as_ptr() as usize
        } else {
            0
        };
        Ok(Engine {
            cache: Mutex::new(CodeCache {
                base,
                size: CODE_CACHE_SIZE,
                used,
                reserved: used,
                generation: 0,
            }),
            blocks: RwLock::new(BlockMap::with_capacity_and_hasher(8192, PcHash)),
            by_host: RwLock::new(BTreeMap::new()),
            enter,
            rt: Runtime {
                epilogue,
                jump_table: jt_addr,
                cache_base: base,
                self_loops: chaining,
            },
            features,
            mem,
            chaining,
            stats: Mutex::new(Stats::default()),
            exits: Default::default(),
            reported: Mutex::new(Default::default()),
            epoch: Epoch::new(),
            cpus: Mutex::new(Vec::new()),
            cache_base: base,
            cache_size: CODE_CACHE_SIZE,
            jump_table,
            pages: Mutex::new(HashMap::new()),
            jt_paged: Mutex::new(Vec::new()),
        })
    }

    /// The host address range of the code cache (the guest may never touch it).
    pub fn cache_range(&self) -> (usize, usize) {
        (self.cache_base, self.cache_base + self.cache_size)
    }

    pub fn stats(&self) -> Stats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take every engine lock (in the order translation takes them), to be held across a
    /// host fork: a child must not inherit a lock that another thread held at that
    /// moment, or its first translation waits forever. Dropping the guard releases them,
    /// in the parent and (on its copies) in the child.
    pub fn fork_guard(&self) -> ForkGuard<'_> {
        ForkGuard {
            _cache: self.cache.lock().unwrap_or_else(|e| e.into_inner()),
            _blocks: self.blocks.write().unwrap_or_else(|e| e.into_inner()),
            _by_host: self.by_host.write().unwrap_or_else(|e| e.into_inner()),
            _stats: self.stats.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// The `-d stats` summary.
    pub fn stats_report(&self) -> String {
        let st = self.stats();
        let mut s = format!(
            "ferrite stats: {} blocks translated ({} guest instructions, {} host bytes, {:.1} bytes/insn) in {:.1} ms; {} chains patched; {} cache flushes\nferrite stats: exits to the dispatcher:",
            st.blocks,
            st.guest_insns,
            st.host_bytes,
            st.host_bytes as f64 / st.guest_insns.max(1) as f64,
            st.translate_ns as f64 / 1e6,
            st.chains,
            st.flushes
        );
        for (name, n) in EXIT_NAMES.iter().zip(&self.exits).skip(1) {
            let n = n.load(Ordering::Relaxed);
            if n != 0 {
                s += &format!(" {name} {n};");
            }
        }
        s
    }

    fn lookup(&self, key: BlockKey) -> Option<Arc<BlockInfo>> {
        self.blocks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
    }

    /// Find or translate the block at `pc` for the context `fetch` gives.
    fn get_block(&self, pc: u64, fetch: &mut dyn Fetch) -> Arc<BlockInfo> {
        let ctx = fetch.context(pc);
        self.get_block_in(pc, ctx, fetch)
    }

    /// Find or translate the block at `pc` for context `ctx`.
    fn get_block_in(&self, pc: u64, ctx: Ctx, fetch: &mut dyn Fetch) -> Arc<BlockInfo> {
        let page = fetch.code_page(pc);
        let key = BlockKey { pc, ctx, page };
        if let Some(b) = self.lookup(key) {
            return b;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // Another thread may have translated it while we waited.
        if let Some(b) = self.lookup(key) {
            return b;
        }
        let t0 = log::enabled(Item::Stats).then(std::time::Instant::now);
        // One instruction per block: the next word is "not fetchable", which ends the
        // block with a plain jump to it.
        let one = ONE_INSN_PER_BLOCK.load(Ordering::Relaxed) || ctx.is_step();
        let mut ir = lift::translate(
            pc,
            ctx,
            &self.features,
            &mut |a| if one && a != pc { None } else { fetch.fetch(a) },
            &mut |word, at| self.report_undefined(word, at),
        );
        if log::enabled(Item::InAsm) && log::in_dfilter(pc) {
            let mut s = format!("IN: {pc:#x}\n");
            let mut a = pc;
            while a < pc + ir.guest_len {
                if let Some(w) = fetch.fetch(a) {
                    s += &format!("{a:#014x}:  {w:08x}      {}\n", decode::disassemble(w, a));
                }
                a += 4;
            }
            log::write(&s);
        }
        opt::optimize(&mut ir);
        if log::enabled(Item::Op) && log::in_dfilter(pc) {
            log::write(&format!("OP after optimisation:\n{ir}"));
        }
        let guest_insns = ir.guest_len / 4;
        let mut host = cache.base + cache.used;
        let mut compiled = x64::compile(&ir, host, self.rt, &*self.mem);
        if cache.used + compiled.code.len() > cache.size {
            self.flush_locked(&mut cache);
            host = cache.base + cache.used;
            compiled = x64::compile(&ir, host, self.rt, &*self.mem);
        }
        // SAFETY: [host, host+len) lies inside the cache mapping (checked above) and no
        // other block occupies it: the bump pointer only grows while the lock is held.
        unsafe {
            std::ptr::copy_nonoverlapping(
                compiled.code.as_ptr(),
                host as *mut u8,
                compiled.code.len(),
            )
        };
        cache.used = (cache.used + compiled.code.len() + 15) & !15;
        if log::enabled(Item::OutAsm) && log::in_dfilter(pc) {
            let mut s = format!("OUT: [size={}] {host:#x}\n", compiled.code.len());
            for line in x64::disas::listing(&compiled.code, host as u64) {
                s += &line;
                s.push('\n');
            }
            log::write(&s);
        }
        if log::enabled(Item::PerfMap) {
            log::perfmap(host, compiled.code.len(), pc, guest_insns as usize);
        }
        if log::enabled(Item::JitDump) {
            log::jitdump(host, compiled.code.len(), pc, guest_insns as usize);
        }
        let info = Arc::new(BlockInfo {
            guest_pc: pc,
            ctx,
            page,
            guest_len: ir.guest_len,
            host,
            host_len: compiled.code.len(),
            pc_map: compiled.pc_map,
            self_loop: compiled.self_loop,
            incoming: Mutex::new(Vec::new()),
        });
        ir.recycle();
        self.blocks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, info.clone());
        if page != 0 {
            lock(&self.pages).entry(page).or_default().push(key);
        }
        self.by_host
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host, info.clone());
        let mut st = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t0) = t0 {
            st.translate_ns += t0.elapsed().as_nanos() as u64;
        }
        st.blocks += 1;
        st.guest_insns += guest_insns;
        st.host_bytes += info.host_len as u64;
        info
    }

    fn report_undefined(&self, word: u32, pc: u64) {
        if log::enabled(Item::Unimp)
            && self
                .reported
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(word)
        {
            let what = decode::decode(word)
                .map(|e| format!("{} (unallocated or unimplemented form)", e.name))
                .unwrap_or_else(|| "no encoding matches".into());
            log::write(&format!(
                "unimplemented instruction {word:#010x} at {pc:#x}: {what} -> SIGILL"
            ));
        }
    }

    /// Drop every translation and reuse the cache memory (the cache lock is held).
    /// Every other thread is first made to leave translated code.
    fn flush_locked(&self, cache: &mut CodeCache) {
        let cpus = self.cpus.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for &c in &cpus {
            // Registered CPUs stay alive until unregistered (after their thread has
            // left translated code for good).
            raise_interrupt(c as *mut Cpu, INT_FLUSH);
        }
        {
            // Every thread that was in translated code has left it once we get this.
            let _world = self.epoch.close();
            self.blocks
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            self.by_host
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            cache.used = cache.reserved;
            cache.generation += 1;
            for e in self.jump_table.iter() {
                e.0.store(JT_EMPTY, Ordering::SeqCst);
            }
            lock(&self.pages).clear();
            lock(&self.jt_paged).clear();
        }
        for &c in &cpus {
            clear_interrupt(c as *mut Cpu, INT_FLUSH);
        }
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).flushes += 1;
    }

    /// In the child of a host fork (the only thread left is the caller, running `cpu`):
    /// forget the parent's other threads, which the child does not have. Their CPUs
    /// must not be interrupted any more, and those that were running generated code at
    /// the fork must not count as inside it (a cache reset would wait for them forever).
    pub fn after_fork_child(&self, cpu: *mut Cpu) {
        let mut cpus = self.cpus.lock().unwrap_or_else(|e| e.into_inner());
        cpus.clear();
        cpus.push(cpu as usize);
        self.epoch.reset_after_fork();
    }

    /// Register a thread's CPU (so cache resets can interrupt it).
    pub fn register_cpu(&self, cpu: *mut Cpu) {
        self.cpus
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cpu as usize);
    }

    /// Forget a thread's CPU (before it is freed).
    pub fn unregister_cpu(&self, cpu: *mut Cpu) {
        self.cpus
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|&c| c != cpu as usize);
    }

    /// Set interrupt bits on every registered CPU.
    pub fn interrupt_all(&self, bits: u32) {
        for &c in self.cpus.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            raise_interrupt(c as *mut Cpu, bits);
        }
    }

    /// Invalidate the translations covering guest range [start, end): the blocks that
    /// overlap it leave the map and every chained jump into them is pointed back at its
    /// exit stub, so no thread enters them again. A thread already inside one finishes
    /// that block (as a CPU finishes the instruction that raced with the write); one
    /// inside a block that loops on itself leaves at its next back edge ([`INT_LEAVE`]).
    pub fn invalidate(&self, start: u64, end: u64) {
        let dead: Vec<Arc<BlockInfo>> = {
            let mut blocks = self.blocks.write().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<BlockKey> = blocks
                .values()
                .filter(|b| b.guest_pc < end && start < b.guest_pc + b.guest_len)
                .map(|b| b.key())
                .collect();
            keys.iter().filter_map(|k| blocks.remove(k)).collect()
        };
        self.unlink(dead);
    }

    /// Invalidate every translation from code page `page` ([`Fetch::code_page`], not
    /// 0), whatever PC and context it was translated for (system mode: a store into a
    /// physical page that holds code). As [`Engine::invalidate`] otherwise.
    pub fn invalidate_code_page(&self, page: u64) {
        let Some(keys) = lock(&self.pages).remove(&page) else {
            return;
        };
        let dead: Vec<Arc<BlockInfo>> = {
            let mut blocks = self.blocks.write().unwrap_or_else(|e| e.into_inner());
            keys.iter().filter_map(|k| blocks.remove(k)).collect()
        };
        self.unlink(dead);
    }

    /// Forget the indirect-branch table entries of blocks that have a code page (the
    /// table is found by PC alone, so an environment with code pages calls this when a
    /// PC may have come to map to another page: TLB invalidation, translation-register
    /// writes).
    pub fn flush_indirect(&self) {
        let _cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for i in lock(&self.jt_paged).drain(..) {
            self.jump_table[i].0.store(JT_EMPTY, Ordering::SeqCst);
        }
    }

    /// Take blocks just removed from the map out of reach: their indirect-branch
    /// entries and every chained jump into them.
    fn unlink(&self, dead: Vec<Arc<BlockInfo>>) {
        if dead.is_empty() {
            return;
        }
        let _cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for b in &dead {
            if let Some(e) = self.jt_entry(b) {
                if x64::jt_pc(b.ctx, b.guest_pc)
                    .and_then(|pc| jt_encode(pc, b.host, self.cache_base))
                    == Some(e.0.load(Ordering::SeqCst))
                {
                    e.0.store(JT_EMPTY, Ordering::SeqCst);
                }
            }
        }
        // Raised once no chained jump leads into them any more.
        let leave = dead.iter().any(|b| b.self_loop);
        for b in dead {
            for (slot_end, rel) in b
                .incoming
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain(..)
            {
                // SAFETY: `slot_end - 4` is the aligned rel32 of a chained jump inside
                // the cache (memory is only reused after a reset, which also drops
                // every block and so every incoming list); restoring the original
                // displacement sends that jump back to its exit stub.
                unsafe { std::ptr::write_volatile((slot_end - 4) as *mut i32, rel) };
            }
        }
        if leave {
            self.interrupt_all(INT_LEAVE);
        }
    }

    /// Run guest code on `cpu` until an exit the environment must handle.
    pub fn run(&self, cpu: &mut Cpu, fetch: &mut dyn Fetch) -> Exit {
        cpu.mem_translate = self.mem.helper_translate();
        loop {
            let block = self.get_block(cpu.pc, fetch);
            if log::enabled(Item::Exec) {
                log::write(&format!(
                    "Trace: [{:#x}/{:#x}] {:#x}",
                    block.host, block.guest_len, block.guest_pc
                ));
            }
            let mut code;
            let mut host = block.host;
            // The context of the code running (chained blocks share it).
            let mut ctx = block.ctx;
            loop {
                let guard = self.epoch.enter();
                // SAFETY: `host` is the entry of a block compiled for this engine's
                // runtime and still in the cache (the epoch guard keeps a reset out);
                // generated code only touches `cpu`, guest memory (through the memory
                // lowering) and helpers, and returns an exit code.
                code = unsafe { (self.enter)(cpu as *mut Cpu, host) };
                // Out of generated code (see `fault_site`).
                cpu.host_sp = 0;
                drop(guard);
                if log::enabled(Item::Stats) {
                    if let Some(c) = self.exits.get(code as usize) {
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if code == exit::CHAIN {
                    let generation = self.generation();
                    let target = self.get_block(cpu.pc, fetch);
                    // Chained blocks run in the context of the block the dispatcher
                    // entered: link only within it (and within a code page).
                    if self.chaining
                        && generation == self.generation()
                        && target.ctx == ctx
                        && (target.page == 0 || self.same_page(cpu.chain_slot as usize, &target))
                    {
                        self.patch(cpu.chain_slot as usize, &target);
                    }
                    host = target.host;
                    ctx = target.ctx;
                    continue;
                }
                break;
            }
            match code {
                exit::LOOKUP => {
                    if self.chaining {
                        let target = self.get_block(cpu.pc, fetch);
                        self.jt_insert(&target);
                    }
                }
                exit::RESYNC => {}
                exit::RETRANSLATE => self.invalidate(0, u64::MAX),
                exit::IC_INVALIDATE => {
                    let line = cpu.exit_arg & !63;
                    match fetch.icache_page(line) {
                        Some(page) => self.invalidate_code_page(page),
                        None => self.invalidate(line, line + 64),
                    }
                }
                exit::SVC => return Exit::Svc(cpu.exit_arg as u16),
                exit::BRK => return Exit::Brk(cpu.exit_arg as u16),
                exit::UNDEFINED => return Exit::Undefined(cpu.exit_arg as u32),
                exit::PRIVILEGED => return Exit::Privileged(cpu.exit_arg as u32),
                exit::FETCH_FAULT => return Exit::FetchFault(cpu.exit_arg),
                exit::EXCEPTION => return Exit::Exception(std::mem::take(&mut cpu.exception)),
                exit::INTERRUPT => {
                    // A cache reset or an invalidated self-loop only needed us out of
                    // translated code.
                    let bits = clear_interrupt(cpu as *mut Cpu, INT_FLUSH | INT_LEAVE);
                    if bits & !(INT_FLUSH | INT_LEAVE) != 0 {
                        return Exit::Interrupt;
                    }
                }
                other => panic!("engine: generated code returned unknown exit {other}"),
            }
        }
    }

    /// Run exactly one guest instruction on `cpu` (a debugger's single step): `None`
    /// when it completed (`cpu.pc` is the next instruction to run), or the exit it
    /// took instead or as well, as [`Engine::run`] reports it (`Svc`: the call is the
    /// environment's to make, and the step ends with it; `Interrupt`: the instruction
    /// has not run, something is pending).
    ///
    /// The instruction is translated alone, in the single-step variant of its
    /// context ([`Ctx::for_step`]): such blocks are kept like any other but never
    /// chained to or from, and have no indirect-branch table, so every one of them
    /// returns here.
    pub fn step(&self, cpu: &mut Cpu, fetch: &mut dyn Fetch) -> Option<Exit> {
        cpu.mem_translate = self.mem.helper_translate();
        loop {
            let ctx = fetch.context(cpu.pc).for_step();
            let block = self.get_block_in(cpu.pc, ctx, fetch);
            let guard = self.epoch.enter();
            // SAFETY: as in `run`: the entry of a live block of this engine's cache,
            // kept by the epoch guard.
            let code = unsafe { (self.enter)(cpu as *mut Cpu, block.host) };
            cpu.host_sp = 0;
            drop(guard);
            match code {
                // The one instruction ran and left for its successor.
                exit::CHAIN | exit::LOOKUP | exit::RESYNC => return None,
                exit::IC_INVALIDATE => {
                    let line = cpu.exit_arg & !63;
                    self.invalidate(line, line + 64);
                    return None;
                }
                // The access is to run again under new translations.
                exit::RETRANSLATE => self.invalidate(0, u64::MAX),
                exit::SVC => return Some(Exit::Svc(cpu.exit_arg as u16)),
                exit::BRK => return Some(Exit::Brk(cpu.exit_arg as u16)),
                exit::UNDEFINED => return Some(Exit::Undefined(cpu.exit_arg as u32)),
                exit::PRIVILEGED => return Some(Exit::Privileged(cpu.exit_arg as u32)),
                exit::FETCH_FAULT => return Some(Exit::FetchFault(cpu.exit_arg)),
                exit::EXCEPTION => {
                    return Some(Exit::Exception(std::mem::take(&mut cpu.exception)))
                }
                exit::INTERRUPT => {
                    let bits = clear_interrupt(cpu as *mut Cpu, INT_FLUSH);
                    if bits & !INT_FLUSH != 0 {
                        return Some(Exit::Interrupt);
                    }
                }
                other => panic!("engine: generated code returned unknown exit {other}"),
            }
        }
    }

    /// Publish `b` in the indirect-branch table (if it is still live).
    fn jt_insert(&self, b: &BlockInfo) {
        let _cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let live = self
            .blocks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&b.key())
            .is_some_and(|x| x.host == b.host);
        if !live {
            return;
        }
        let Some(e) = self.jt_entry(b) else {
            return;
        };
        if let Some(word) =
            x64::jt_pc(b.ctx, b.guest_pc).and_then(|pc| jt_encode(pc, b.host, self.cache_base))
        {
            e.0.store(word, Ordering::SeqCst);
            if b.page != 0 {
                // The entry's index in the whole table (`jt_entry` found it).
                let i = (e as *const JtEntry as usize - self.jump_table.as_ptr() as usize)
                    / std::mem::size_of::<JtEntry>();
                lock(&self.jt_paged).push(i);
            }
        }
    }

    /// Is the block holding the chain slot `slot_end` on `target`'s code page (and VA
    /// page)?
    fn same_page(&self, slot_end: usize, target: &BlockInfo) -> bool {
        let by_host = self.by_host.read().unwrap_or_else(|e| e.into_inner());
        by_host.range(..slot_end).next_back().is_some_and(|(_, b)| {
            slot_end <= b.host + b.host_len
                && b.page == target.page
                && (b.guest_pc ^ target.guest_pc) >> 12 == 0
        })
    }

    /// The indirect-branch table entry block `b` would occupy (in its context's table),
    /// if its context has a table.
    fn jt_entry(&self, b: &BlockInfo) -> Option<&JtEntry> {
        let c = x64::jt_slot(b.ctx)?;
        Some(&self.jump_table[c * JT_ENTRIES + jt_index(b.guest_pc)])
    }

    fn generation(&self) -> u64 {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .generation
    }

    /// Point the `jmp rel32` ending at `slot_end` at `target`, and remember the link so
    /// invalidating `target` can undo it.
    fn patch(&self, slot_end: usize, target: &BlockInfo) {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if slot_end < cache.base + 4 || slot_end > cache.base + cache.used {
            return; // stale slot (the cache was reset meanwhile)
        }
        // The target may have been invalidated since we looked it up.
        let live = self
            .blocks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&target.key())
            .is_some_and(|b| b.host == target.host);
        if !live {
            return;
        }
        let rel = target.host as i64 - slot_end as i64;
        let rel = i32::try_from(rel).expect("code cache larger than ±2 GiB");
        // SAFETY: `slot_end - 4` is the 4-byte-aligned rel32 field of a jump inside the
        // (RWX) cache; an aligned 4-byte store is atomic on x86-64.
        let old = unsafe { std::ptr::read_volatile((slot_end - 4) as *const i32) };
        target
            .incoming
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((slot_end, old));
        // SAFETY: as above.
        unsafe { std::ptr::write_volatile((slot_end - 4) as *mut i32, rel) };
        drop(cache);
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).chains += 1;
    }

    /// If `host_pc` is inside translated code, the guest PC of the instruction it
    /// belongs to. Safe to call from a signal handler only when the engine's locks are
    /// not held by the interrupted code (true for faults in generated code).
    pub fn guest_pc_of(&self, host_pc: usize) -> Option<u64> {
        let by_host = self.by_host.try_read().ok()?;
        let (_, b) = by_host.range(..=host_pc).next_back()?;
        if host_pc >= b.host + b.host_len {
            return None;
        }
        let offset = (host_pc - b.host) as u32;
        match b.pc_map.binary_search_by_key(&offset, |&(o, _)| o) {
            Ok(i) => Some(b.pc_map[i].1),
            Err(0) => Some(b.guest_pc),
            Err(i) => Some(b.pc_map[i - 1].1),
        }
    }

    /// Is `host_pc` inside the code cache? (Lock-free: usable from a signal handler.)
    pub fn in_cache(&self, host_pc: usize) -> bool {
        host_pc >= self.cache_base && host_pc < self.cache_base + self.cache_size
    }
}
