//! A small library whose unit tests run under ferrite-aarch64 as cargo's runner
//! (see `tests/cargo_runner.rs`): integer and floating-point arithmetic, a CRC-32, text
//! parsing, threads, and a panic that unwinds (`#[should_panic]`).

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Sum of comma-separated integers; `None` on a malformed field.
pub fn sum_fields(s: &str) -> Option<i64> {
    s.split(',').map(|f| f.trim().parse::<i64>().ok()).sum()
}

/// Integer square root by Newton's method.
pub fn isqrt(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    // u128, so that x + n / x cannot overflow near u64::MAX
    let n = u128::from(n);
    let mut x = n;
    let mut y = (x + 1) / 2;
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x as u64
}

/// Divide, panicking on a zero divisor with a message of our own.
pub fn checked_div(a: i32, b: i32) -> i32 {
    if b == 0 {
        panic!("division by zero: {a} / 0");
    }
    a / b
}

/// The `machine` field of uname(2): "aarch64" when the tests really run as arm64 code.
pub fn machine() -> String {
    extern "C" {
        fn uname(buf: *mut u8) -> i32;
    }
    // struct utsname: six 65-byte fields; machine is the fifth.
    let mut buf = [0u8; 6 * 65];
    // SAFETY: buf is large enough for glibc's struct utsname on Linux.
    let rc = unsafe { uname(buf.as_mut_ptr()) };
    assert_eq!(rc, 0, "uname failed");
    let m = &buf[4 * 65..5 * 65];
    let end = m.iter().position(|&b| b == 0).unwrap_or(m.len());
    String::from_utf8_lossy(&m[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_answers() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn parses_and_sums() {
        assert_eq!(sum_fields("1, 2,3 ,-10"), Some(-4));
        assert_eq!(sum_fields("1,x"), None);
    }

    #[test]
    fn square_roots() {
        assert_eq!(isqrt(0), 0);
        assert_eq!(isqrt(99), 9);
        assert_eq!(isqrt(1 << 62), 1 << 31);
        assert_eq!(isqrt(u64::MAX), 4_294_967_295);
        let x = 2.0f64.sqrt();
        assert!((x * x - 2.0).abs() < 1e-15);
        assert_eq!((0.1f64 + 0.2).to_bits(), 0x3FD3_3333_3333_3334);
    }

    #[test]
    fn threads_join() {
        let handles: Vec<_> = (0..4u64)
            .map(|i| std::thread::spawn(move || (0..=1000u64).map(|k| k * i).sum::<u64>()))
            .collect();
        let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 500_500 * 6);
    }

    #[test]
    #[should_panic(expected = "division by zero: 7 / 0")]
    fn panics_unwind() {
        checked_div(7, 0);
    }

    #[test]
    fn runs_as_arm64() {
        let m = machine();
        println!(
            "cargo-runner-demo: machine={m} runner={}",
            std::env::var("CARGO_RUNNER_DEMO_RUNNER").unwrap_or_else(|_| "(unset)".into())
        );
        assert_eq!(m, "aarch64");
    }

    /// Fails on purpose: tests/cargo_runner.rs runs it (with --ignored) to check that a
    /// failing test is reported as failing through the runner.
    #[test]
    #[ignore = "fails on purpose; run by tests/cargo_runner.rs"]
    fn deliberately_fails() {
        assert_eq!(isqrt(16), 5, "this test fails on purpose");
    }
}
