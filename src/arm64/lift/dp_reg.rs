//! Lifters for data-processing (register): logical and add/sub (shifted and extended register), ADC/SBC, conditional compare/select, 1- and 2-source ops (CLZ, RBIT, REV, shifts by register, divide, CRC32), 3-source multiply.

use crate::arm64::decode::Encoding;

pub const ENCODINGS: &[Encoding] = &[];
