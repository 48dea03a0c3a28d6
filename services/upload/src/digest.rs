//! A SHA-256 whose state can be saved between requests: the eight state words after whole
//! 64-byte blocks. Parts are multiples of 64 bytes, so the state after each finished part is
//! stored in PostgreSQL and the digest of the original needs no second read of the object.

use sha2::digest::generic_array::GenericArray;

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

#[derive(Debug, Clone)]
pub struct ResumableSha256 {
    state: [u32; 8],
    /// Bytes hashed so far (always a multiple of 64).
    len: u64,
}

impl Default for ResumableSha256 {
    fn default() -> Self {
        Self { state: H0, len: 0 }
    }
}

impl ResumableSha256 {
    /// The state saved by `to_bytes` after `len` bytes; `None` for a malformed state.
    pub fn from_bytes(saved: Option<&[u8]>, len: u64) -> Option<Self> {
        match saved {
            None if len == 0 => Some(Self::default()),
            None => None,
            Some(b) if b.len() == 32 && len.is_multiple_of(64) => {
                let mut state = [0u32; 8];
                for (i, w) in b.chunks_exact(4).enumerate() {
                    state[i] = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
                }
                Some(Self { state, len })
            }
            Some(_) => None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.state.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    /// Hashes whole blocks; `data.len()` must be a multiple of 64.
    pub fn update_blocks(&mut self, data: &[u8]) {
        assert!(
            data.len().is_multiple_of(64),
            "only whole blocks can be saved"
        );
        for block in data.chunks_exact(64) {
            sha2::compress256(
                &mut self.state,
                std::slice::from_ref(GenericArray::from_slice(block)),
            );
        }
        self.len += data.len() as u64;
    }

    /// The digest of everything hashed so far followed by `rest`.
    pub fn finalize(mut self, rest: &[u8]) -> [u8; 32] {
        let whole = rest.len() / 64 * 64;
        self.update_blocks(&rest[..whole]);
        let rest = &rest[whole..];
        let bits = (self.len + rest.len() as u64) * 8;
        let mut last = [0u8; 128];
        last[..rest.len()].copy_from_slice(rest);
        last[rest.len()] = 0x80;
        let blocks = if rest.len() + 9 <= 64 { 1 } else { 2 };
        last[blocks * 64 - 8..blocks * 64].copy_from_slice(&bits.to_be_bytes());
        for block in last[..blocks * 64].chunks_exact(64) {
            sha2::compress256(
                &mut self.state,
                std::slice::from_ref(GenericArray::from_slice(block)),
            );
        }
        let mut out = [0u8; 32];
        for (i, w) in self.state.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn a_digest_saved_and_restored_between_parts_equals_the_plain_sha256() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for split in [0usize, 64, 640, 9984] {
            for end in [
                split,
                split + 1,
                split + 55,
                split + 56,
                split + 63,
                split + 64,
                10_000,
            ] {
                let end = end.min(data.len());
                let mut first = ResumableSha256::default();
                first.update_blocks(&data[..split]);
                let saved = first.to_bytes();
                let restored =
                    ResumableSha256::from_bytes(Some(&saved), split as u64).expect("state");
                let ours = restored.finalize(&data[split..end]);
                let theirs: [u8; 32] = Sha256::digest(&data[..end]).into();
                assert_eq!(ours, theirs, "split {split} end {end}");
            }
        }
    }

    #[test]
    fn a_malformed_saved_state_is_refused() {
        assert!(ResumableSha256::from_bytes(Some(&[0; 31]), 64).is_none());
        assert!(ResumableSha256::from_bytes(Some(&[0; 32]), 65).is_none());
        assert!(ResumableSha256::from_bytes(None, 64).is_none());
    }
}
