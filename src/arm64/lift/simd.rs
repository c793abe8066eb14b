//! Lifters for Advanced SIMD.

use crate::arm64::decode::Encoding;

pub const ENCODINGS: &[Encoding] = &[];
