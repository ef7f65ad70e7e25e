//! Does a sample look encrypted? Shannon entropy over a byte histogram.
//!
//! Unidentified high-entropy traffic on a port reserved for another
//! protocol is a T1571 signal in itself, so `unknown` flows carry this flag.

/// Minimum bytes before the estimate means anything.
pub const MIN_BYTES: usize = 64;

/// Bits per byte above which a sample is called encrypted-looking.
pub const THRESHOLD_BITS: f64 = 7.0;

/// Bytes of a sample the estimate reads.
const WINDOW: usize = 1024;

/// `c * log2(c)` for every count a window can produce, computed once.
fn c_log2_c() -> &'static [f64; WINDOW + 1] {
    static TABLE: std::sync::OnceLock<[f64; WINDOW + 1]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0.0; WINDOW + 1];
        for (c, slot) in t.iter_mut().enumerate().skip(1) {
            *slot = c as f64 * (c as f64).log2();
        }
        t
    })
}

/// Shannon entropy in bits per byte over at most the first 1024 bytes:
/// `log2(n) - sum(c * log2(c)) / n`, with `c * log2(c)` from a table.
pub fn bits_per_byte(buf: &[u8]) -> f64 {
    let sample = buf.get(..buf.len().min(WINDOW)).unwrap_or(buf);
    if sample.is_empty() {
        return 0.0;
    }
    let mut hist = [0u16; 256];
    for &b in sample {
        if let Some(slot) = hist.get_mut(b as usize) {
            *slot += 1;
        }
    }
    let table = c_log2_c();
    let sum: f64 = hist
        .iter()
        .map(|&c| table.get(c as usize).copied().unwrap_or(0.0))
        .sum();
    let n = sample.len() as f64;
    // A sample of one repeated byte is exactly 0, but `log2(n) - n*log2(n)/n`
    // can round to a hair below it (found by fuzzing: -8.9e-16).
    (n.log2() - sum / n).clamp(0.0, 8.0)
}

/// Whether `buf` looks like ciphertext or compressed data. Short samples
/// are judged against the maximum entropy their length allows.
pub fn looks_encrypted(buf: &[u8]) -> bool {
    if buf.len() < MIN_BYTES {
        return false;
    }
    let max = (buf.len().min(1024) as f64).log2().min(8.0);
    bits_per_byte(buf) >= THRESHOLD_BITS.min(max - 0.9)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn text_is_not_encrypted() {
        let t = b"GET / HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
        assert!(!looks_encrypted(t));
    }

    #[test]
    fn one_repeated_byte_is_zero_bits_never_below() {
        // 89 zero bytes came out at -8.9e-16 before the clamp (fuzzing).
        for n in 1..=WINDOW {
            let bits = bits_per_byte(&vec![0u8; n]);
            assert!((0.0..1e-9).contains(&bits), "{n} bytes: {bits}");
        }
    }

    #[test]
    fn table_form_equals_the_definition() {
        let buf: Vec<u8> = (0..700u32).map(|i| (i * i % 251) as u8).collect();
        let mut hist = [0u32; 256];
        for &b in &buf {
            hist[b as usize] += 1;
        }
        let n = buf.len() as f64;
        let direct: f64 = hist
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| -(c as f64 / n) * (c as f64 / n).log2())
            .sum();
        assert!((bits_per_byte(&buf) - direct).abs() < 1e-9);
        assert!(bits_per_byte(&[7; 10]).abs() < 1e-9);
    }

    #[test]
    fn pseudo_random_is_encrypted() {
        let mut x: u32 = 0x1234_5678;
        let buf: Vec<u8> = (0..512)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        assert!(looks_encrypted(&buf));
        assert!(!looks_encrypted(&[0u8; 512]));
    }
}
