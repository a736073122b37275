//! API keys: only their SHA-256 digest is stored and looked up.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Keys Integrity issues start with this, so a leaked one is recognisable
/// by secret scanners and people alike.
pub const TOKEN_PREFIX: &str = "itg_";

/// Hex SHA-256 of a key: what the database holds instead of the key.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hex SHA-256 of any bytes (documents kept as evidence).
pub fn digest_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A new key: the prefix and 256 random bits in hex.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The part of a key shown in listings to tell keys apart: short enough to
/// leave the rest of the key unguessable.
pub fn display_prefix(token: &str) -> String {
    let keep = if token.len() >= 32 { 8 } else { 4 };
    token.chars().take(keep).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_carry_256_bits_and_differ() {
        let a = generate();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(a, generate());
    }

    #[test]
    fn digest_is_hex_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
