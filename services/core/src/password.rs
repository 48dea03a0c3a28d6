//! Password hashing: argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane).

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    #[expect(
        clippy::unwrap_used,
        reason = "constant parameters within argon2's ranges"
    )]
    let params = Params::new(19 * 1024, 2, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Whether `password` matches `stored`, and whether `stored` should be rehashed because it
/// was made with weaker parameters than today's.
pub fn verify(password: &str, stored: &str) -> (bool, bool) {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return (false, false);
    };
    let ok = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = hasher();
    let want = current.params();
    let weaker = parsed.algorithm.as_str() != "argon2id"
        || Params::try_from(&parsed).map_or(true, |p| {
            p.m_cost() < want.m_cost() || p.t_cost() < want.t_cost() || p.p_cost() < want.p_cost()
        });
    (ok, ok && weaker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("mật khẩu đúng").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(verify("mật khẩu đúng", &h), (true, false));
        assert_eq!(verify("mật khẩu sai", &h), (false, false));
        assert_eq!(verify("x", "not a hash"), (false, false));
    }

    #[test]
    fn a_hash_with_weaker_parameters_asks_to_be_rehashed() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(b"secret-pass", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert_eq!(verify("secret-pass", &weak), (true, true));
    }
}
