//! Helpers shared by the integration tests. A test crate includes them with `mod common;`;
//! each crate uses only some of them, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod debs;
