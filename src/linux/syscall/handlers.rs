//! The handlers named by `translate`/`emulate` rows of the syscall table, gathered
//! from the family modules. `build.rs` generates calls to `handlers::<name>`.

pub use super::aio::*;
pub use super::events::*;
pub use super::fs::*;
pub use super::ipc::*;
pub use super::mem::*;
pub use super::misc::*;
pub use super::process::*;
pub use super::robust::*;
pub use super::signal::*;
pub use super::uffd::*;
