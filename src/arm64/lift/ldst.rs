//! Lifters for loads and stores: single registers (all addressing modes), pairs, literal loads, acquire/release, exclusives.

use crate::arm64::decode::Encoding;

pub const ENCODINGS: &[Encoding] = &[];
