//! Host code listings for `-d out_asm` and the codegen tests (`tests/codegen.rs`),
//! disassembled with `iced-x86` (Intel syntax).

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};

/// The instructions of `code` placed at host address `base`, one line each:
/// offset from `base`, then the instruction in Intel syntax (branch targets as
/// absolute addresses).
pub fn listing(code: &[u8], base: u64) -> Vec<String> {
    let mut decoder = Decoder::with_ip(64, code, base, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    fmt.options_mut().set_first_operand_char_index(8);
    fmt.options_mut().set_hex_prefix("0x");
    fmt.options_mut().set_hex_suffix("");
    fmt.options_mut().set_uppercase_hex(false);
    fmt.options_mut().set_branch_leading_zeros(false);
    let mut out = Vec::new();
    let mut inst = Instruction::default();
    let mut text = String::new();
    while decoder.can_decode() {
        decoder.decode_out(&mut inst);
        text.clear();
        fmt.format(&inst, &mut text);
        out.push(format!("{:5x}  {text}", inst.ip() - base));
    }
    out
}
