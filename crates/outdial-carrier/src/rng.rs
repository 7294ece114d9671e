//! Seeded random streams keyed by purpose, shared by the fake carrier and the simulator
//! (`outdial-sim`), so that each draw depends only on the seed and its key, not on how many
//! other draws happened before. FNV-1a 64 mixes the key: stable across Rust versions and
//! platforms, unlike std's hasher.
//!
//! Two key layouts exist and are kept as they are, because each pins the outcomes of runs
//! already recorded (a seed's summary, a demo's ledger): [`keyed`] (a stream named by a
//! string: the simulator's) and the carrier's own per-call streams (`sim::rng_for`: a stream
//! numbered by a byte). Both hash with [`fnv1a`].

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// FNV-1a 64's offset basis: the hash of no bytes.
pub const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a 64 of `bytes`, continuing from `h` (start from [`FNV_OFFSET_BASIS`]).
pub fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A generator for `(seed, stream, key, n)`: the `n`-th draw sequence of `key` (a number, a
/// call SID) in the stream named `stream`.
pub fn keyed(seed: u64, stream: &str, key: &str, n: u64) -> ChaCha8Rng {
    let mut h = FNV_OFFSET_BASIS;
    h = fnv1a(&seed.to_le_bytes(), h);
    h = fnv1a(stream.as_bytes(), h);
    h = fnv1a(&[0xff], h);
    h = fnv1a(key.as_bytes(), h);
    h = fnv1a(&[0xff], h);
    h = fnv1a(&n.to_le_bytes(), h);
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&h.to_le_bytes());
    s[8..16].copy_from_slice(&seed.to_le_bytes());
    s[16..24].copy_from_slice(&n.to_le_bytes());
    s[24..32].copy_from_slice(&fnv1a(stream.as_bytes(), h ^ 0x9e37_79b9_7f4a_7c15).to_le_bytes());
    ChaCha8Rng::from_seed(s)
}
