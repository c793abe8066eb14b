//! Lifters for scalar floating point.

use crate::arm64::decode::Encoding;

pub const ENCODINGS: &[Encoding] = &[];
