//! Helpers shared by the integration tests. A test crate includes them with `mod common;`;
//! each crate uses only some of them, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod debs;

/// The variable that turns every skip for a missing prerequisite into a failure.
pub const REQUIRE_ALL: &str = "FERRITE_REQUIRE_ALL";

/// True when `FERRITE_REQUIRE_ALL` is set to anything but empty or `0`. `.ci/run` sets it,
/// so that a broken install step (no root, no binfmt_misc, no network, a missing tool)
/// fails CI instead of hiding behind a skipped test.
pub fn require_all() -> bool {
    std::env::var_os(REQUIRE_ALL).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A test part that cannot run here for a missing prerequisite: a loud note on stderr, or,
/// under `FERRITE_REQUIRE_ALL`, a failure (panic) naming what is missing.
pub fn skip_part(test: &str, why: &str) {
    if require_all() {
        panic!("{test}: {why}; {REQUIRE_ALL} is set, so a skip is a failure (run scripts/setup as root, or unset {REQUIRE_ALL})");
    }
    debs::report(&format!("[{test}] SKIPPED: {why}\n"));
}
