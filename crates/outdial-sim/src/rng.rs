//! Seeded random streams keyed by purpose, so that each draw depends only on the seed and
//! its key, not on how many other draws happened before.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// FNV-1a 64 (stable across Rust versions and platforms, unlike std's hasher).
fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A generator for `(seed, stream, key, n)`.
pub fn keyed(seed: u64, stream: &str, key: &str, n: u64) -> ChaCha8Rng {
    let mut h = 0xcbf2_9ce4_8422_2325;
    h = fnv(&seed.to_le_bytes(), h);
    h = fnv(stream.as_bytes(), h);
    h = fnv(&[0xff], h);
    h = fnv(key.as_bytes(), h);
    h = fnv(&[0xff], h);
    h = fnv(&n.to_le_bytes(), h);
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&h.to_le_bytes());
    s[8..16].copy_from_slice(&seed.to_le_bytes());
    s[16..24].copy_from_slice(&n.to_le_bytes());
    s[24..32].copy_from_slice(&fnv(stream.as_bytes(), h ^ 0x9e37_79b9_7f4a_7c15).to_le_bytes());
    ChaCha8Rng::from_seed(s)
}
