//! The proof-of-work challenge asked of a voter or network above normal rates (escalation,
//! not a ban): ALTCHA's format, self-hosted. The server picks a secret number, sends
//! `sha256(salt + number)` signed with its key, and the browser finds the number by trying.
//! A challenge expires (in its salt, under the signature) and counts once (`vote_challenge_used`).

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// What the client receives (ALTCHA's challenge JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Challenge {
    pub algorithm: String,
    pub challenge: String,
    pub maxnumber: u64,
    pub salt: String,
    pub signature: String,
}

/// What the client sends back, base64 of this JSON, in `X-Vote-Challenge`.
#[derive(Debug, Deserialize)]
struct Solution {
    algorithm: String,
    challenge: String,
    number: u64,
    salt: String,
    signature: String,
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    #[expect(clippy::unwrap_used, reason = "HMAC takes keys of any length")]
    Hmac::<Sha256>::new_from_slice(key).unwrap()
}

fn digest(salt: &str, number: u64) -> String {
    hex::encode(Sha256::digest(format!("{salt}{number}").as_bytes()))
}

/// A new challenge whose number is at most `maxnumber`, valid until `expires`.
pub fn issue(key: &[u8], maxnumber: u64, expires: DateTime<Utc>) -> Challenge {
    let mut raw = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut raw);
    let salt = format!("{}?expires={}", hex::encode(raw), expires.timestamp());
    let number = rand::thread_rng().gen_range(0..=maxnumber);
    let challenge = digest(&salt, number);
    let mut m = mac(key);
    m.update(challenge.as_bytes());
    Challenge {
        algorithm: "SHA-256".to_owned(),
        signature: hex::encode(m.finalize().into_bytes()),
        challenge,
        maxnumber,
        salt,
    }
}

/// Checks a solution without the database: its stable refusal code, or the challenge (to be
/// marked used) and when it expires.
pub fn check(
    key: &[u8],
    payload: &str,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), &'static str> {
    const INVALID: &str = "challenge-invalid";
    if payload.len() > 2048 {
        return Err(INVALID);
    }
    let json = base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .map_err(|_| INVALID)?;
    let s: Solution = serde_json::from_slice(&json).map_err(|_| INVALID)?;
    if s.algorithm != "SHA-256" {
        return Err(INVALID);
    }
    let signature = hex::decode(&s.signature).map_err(|_| INVALID)?;
    let mut m = mac(key);
    m.update(s.challenge.as_bytes());
    m.verify_slice(&signature).map_err(|_| INVALID)?;
    // The salt is covered by the signature through the challenge, which is its hash.
    let expires = s
        .salt
        .split_once("?expires=")
        .and_then(|(_, t)| t.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or(INVALID)?;
    if expires <= now {
        return Err("challenge-expired");
    }
    if digest(&s.salt, s.number) != s.challenge {
        return Err(INVALID);
    }
    Ok((s.challenge, expires))
}

/// Marks a checked challenge used; false if it was used before.
pub async fn spend(db: &PgPool, challenge: &str, expires: DateTime<Utc>) -> sqlx::Result<bool> {
    let fresh: Option<i32> = sqlx::query_scalar(
        "insert into vote_challenge_used (challenge_hash, expires_at) values ($1, $2)
         on conflict do nothing returning 1",
    )
    .bind(Sha256::digest(challenge.as_bytes()).to_vec())
    .bind(expires)
    .fetch_optional(db)
    .await?;
    Ok(fresh.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the page's script does: try every number until the hash matches.
    fn solve(c: &Challenge) -> String {
        let number = (0..=c.maxnumber)
            .find(|n| digest(&c.salt, *n) == c.challenge)
            .unwrap();
        let json = serde_json::json!({
            "algorithm": c.algorithm, "challenge": c.challenge, "number": number,
            "salt": c.salt, "signature": c.signature,
        });
        base64::engine::general_purpose::STANDARD.encode(json.to_string())
    }

    #[test]
    fn a_solved_challenge_checks_and_a_forged_or_late_one_does_not() {
        let key = b"k".repeat(32);
        let now = Utc::now();
        let c = issue(&key, 2000, now + chrono::Duration::minutes(5));
        let payload = solve(&c);
        let (challenge, _) = check(&key, &payload, now).unwrap();
        assert_eq!(challenge, c.challenge);
        assert_eq!(
            check(&key, &payload, now + chrono::Duration::minutes(6)).unwrap_err(),
            "challenge-expired"
        );
        assert_eq!(
            check(b"other key", &payload, now).unwrap_err(),
            "challenge-invalid"
        );
        // A made-up challenge with a solution but no valid signature.
        let mut forged = issue(b"attacker", 10, now + chrono::Duration::minutes(5));
        forged.signature = c.signature.clone();
        assert_eq!(
            check(&key, &solve(&forged), now).unwrap_err(),
            "challenge-invalid"
        );
        // A wrong number.
        let json = serde_json::json!({
            "algorithm": "SHA-256", "challenge": c.challenge, "number": c.maxnumber + 1,
            "salt": c.salt, "signature": c.signature,
        });
        let wrong = base64::engine::general_purpose::STANDARD.encode(json.to_string());
        assert_eq!(check(&key, &wrong, now).unwrap_err(), "challenge-invalid");
        for junk in ["", "!!!", "e30=", &"A".repeat(5000)] {
            assert_eq!(check(&key, junk, now).unwrap_err(), "challenge-invalid");
        }
    }
}
