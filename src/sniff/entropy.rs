//! Does a sample look encrypted? Shannon entropy over a byte histogram.
//!
//! Unidentified high-entropy traffic on a port reserved for another
//! protocol is a T1571 signal in itself, so `unknown` flows carry this flag.

/// Minimum bytes before the estimate means anything.
pub const MIN_BYTES: usize = 64;

/// Bits per byte above which a sample is called encrypted-looking.
pub const THRESHOLD_BITS: f64 = 7.0;

/// Shannon entropy in bits per byte over at most the first 1024 bytes.
pub fn bits_per_byte(buf: &[u8]) -> f64 {
    let sample = buf.get(..buf.len().min(1024)).unwrap_or(buf);
    if sample.is_empty() {
        return 0.0;
    }
    let mut hist = [0u32; 256];
    for &b in sample {
        if let Some(slot) = hist.get_mut(b as usize) {
            *slot += 1;
        }
    }
    let n = sample.len() as f64;
    hist.iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
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
mod tests {
    use super::*;

    #[test]
    fn text_is_not_encrypted() {
        let t = b"GET / HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
        assert!(!looks_encrypted(t));
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
