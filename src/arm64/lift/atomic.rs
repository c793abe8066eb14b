//! Lifters for LSE atomics: CAS/CASP, LDADD/LDCLR/LDEOR/LDSET/LDSMAX/LDSMIN/LDUMAX/LDUMIN, SWP, in all orderings.

use crate::arm64::decode::Encoding;

pub const ENCODINGS: &[Encoding] = &[];
