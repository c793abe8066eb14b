//! Lifters for data-processing (immediate): ADD/SUB/ADDS/SUBS immediate, logical immediate, MOVZ/MOVN/MOVK, ADR/ADRP, bitfield (SBFM/BFM/UBFM) and EXTR.

use crate::arm64::decode::Encoding;

pub const ENCODINGS: &[Encoding] = &[];
