//! Verification codes: 16 characters of Crockford's base32 (80 random bits, no I, L, O or U),
//! stored bare and shown grouped as `HT-7K3M-9QXD-…`. Reading a typed code forgives case,
//! dashes, spaces, the `HT` prefix and the letters people mistake for digits (O → 0, I/L → 1).

use rand::Rng;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a code.
pub const LEN: usize = 16;

/// A new random code (bare).
pub fn generate() -> String {
    let mut rng = rand::thread_rng();
    (0..LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// The bare code of what someone typed or followed, or `None` when it cannot be one.
pub fn normalize(input: &str) -> Option<String> {
    let upper = input.trim().to_ascii_uppercase();
    let rest = upper.strip_prefix("HT").unwrap_or(&upper);
    let mut out = String::with_capacity(LEN);
    for c in rest.chars() {
        let c = match c {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == LEN).then_some(out)
}

/// The grouped form people read: `HT-XXXX-XXXX-XXXX-XXXX`.
pub fn display(code: &str) -> String {
    let groups: Vec<String> = code
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!("HT-{}", groups.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_random_and_read_back_from_their_display() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), LEN);
        assert_ne!(a, b);
        let shown = display(&a);
        assert!(shown.starts_with("HT-"));
        assert_eq!(shown.len(), 3 + LEN + 3);
        assert_eq!(normalize(&shown).as_deref(), Some(a.as_str()));
        assert_eq!(
            normalize(&shown.to_lowercase()).as_deref(),
            Some(a.as_str())
        );
    }

    #[test]
    fn typed_codes_forgive_mistaken_letters_but_nothing_else() {
        assert_eq!(
            normalize(" ht-0000 1111-2222-abcd ").as_deref(),
            Some("000011112222ABCD")
        );
        assert_eq!(
            normalize("HT-OOOO-IIII-LLLL-2222").as_deref(),
            Some("0000111111112222")
        );
        assert_eq!(normalize("HT-UUUU-0000-0000-0000"), None);
        assert_eq!(normalize("HT-0000-0000-0000"), None);
        assert_eq!(normalize("HT-0000-0000-0000-00000"), None);
        assert_eq!(normalize("<script>"), None);
        assert_eq!(normalize("HT-ĐĐĐĐ-0000-0000-0000"), None);
    }
}
