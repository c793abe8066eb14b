//! Operand formatting for the Advanced SIMD disassembly functions, in the spelling
//! `aarch64-linux-gnu-objdump -d` uses (`v3.16b`, `v1.s[2]`, `{v0.4s-v3.4s}`, `d7`).

/// Arrangement specifier for element size `size` (0..=3) and `Q`.
pub fn arr(size: u32, q: u32) -> &'static str {
    ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"][((size & 3) * 2 + (q & 1)) as usize]
}

/// `v3.16b`.
pub fn v(n: u32, arrangement: &str) -> String {
    format!("v{n}.{arrangement}")
}

/// `v3.<arr(size, q)>`.
pub fn va(n: u32, size: u32, q: u32) -> String {
    v(n, arr(size, q))
}

/// Element-size letter: b, h, s, d (q for size 4).
pub fn letter(size: u32) -> char {
    ['b', 'h', 's', 'd', 'q'][size as usize]
}

/// Scalar register `b3`/`h3`/`s3`/`d3`/`q3`.
pub fn scalar(n: u32, size: u32) -> String {
    format!("{}{n}", letter(size))
}

/// Vector element `v1.s[2]`.
pub fn elem(n: u32, size: u32, index: u32) -> String {
    format!("v{n}.{}[{index}]", letter(size))
}

/// A register list `{v0.16b, v1.16b}` / `{v0.16b-v3.16b}` of `count` registers from
/// `t` (wrapping at 31), each with suffix `suffix`.
pub fn list(t: u32, count: u32, suffix: &str) -> String {
    let last = t + count - 1;
    if count >= 3 && last <= 31 {
        format!("{{v{t}.{suffix}-v{last}.{suffix}}}")
    } else {
        let regs: Vec<String> = (0..count)
            .map(|i| format!("v{}.{suffix}", (t + i) % 32))
            .collect();
        format!("{{{}}}", regs.join(", "))
    }
}

/// An unsigned immediate in objdump's style (`#0x1f`, `#3`).
pub fn hex(v: u64) -> String {
    if v <= 9 {
        format!("#{v}")
    } else {
        format!("#{v:#x}")
    }
}

/// A floating-point immediate as objdump prints it (`#1.000000000000000000e+00`).
pub fn fimm(v: f64) -> String {
    let s = format!("{v:.18e}");
    // Rust prints the exponent as `e0`/`e-1`; objdump as `e+00`/`e-01`.
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = exp.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    format!("#{mant}e{sign}{:02}", e.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(list(30, 4, "2d"), "{v30.2d, v31.2d, v0.2d, v1.2d}");
        assert_eq!(list(0, 4, "4s"), "{v0.4s-v3.4s}");
        assert_eq!(list(1, 2, "16b"), "{v1.16b, v2.16b}");
        assert_eq!(fimm(1.0), "#1.000000000000000000e+00");
        assert_eq!(fimm(-0.125), "#-1.250000000000000000e-01");
        assert_eq!(fimm(31.0), "#3.100000000000000000e+01");
        assert_eq!(va(3, 3, 1), "v3.2d");
    }
}
