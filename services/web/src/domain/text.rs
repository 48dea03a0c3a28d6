//! Vietnamese text made ASCII where ASCII is needed: file names of downloads, and the column
//! names of a spreadsheet matched whatever marks and case they were typed with.

/// Vietnamese letters without their marks, lower case, words joined by dashes:
/// "Nguyễn Thị Ánh" → "nguyen-thi-anh". Anything else is dropped; at most 60 characters.
pub fn ascii_slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        let base = fold(c);
        if base.is_ascii_alphanumeric() {
            out.push(base);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
}

/// A lower-case Vietnamese letter without its marks.
fn fold(c: char) -> char {
    const GROUPS: &[(char, &str)] = &[
        ('a', "àáạảãâầấậẩẫăằắặẳẵ"),
        ('e', "èéẹẻẽêềếệểễ"),
        ('i', "ìíịỉĩ"),
        ('o', "òóọỏõôồốộổỗơờớợởỡ"),
        ('u', "ùúụủũưừứựửữ"),
        ('y', "ỳýỵỷỹ"),
        ('d', "đ"),
    ];
    GROUPS
        .iter()
        .find(|(_, set)| set.contains(c))
        .map_or(c, |(base, _)| *base)
}

#[cfg(test)]
mod tests {
    use super::ascii_slug;

    #[test]
    fn vietnamese_becomes_ascii_words() {
        assert_eq!(ascii_slug("Nguyễn Thị Ánh"), "nguyen-thi-anh");
        assert_eq!(ascii_slug("  Đặng  Đức / Ý "), "dang-duc-y");
        assert_eq!(ascii_slug("../../etc"), "etc");
        assert_eq!(ascii_slug("Số thẻ đoàn viên"), "so-the-doan-vien");
        assert_eq!(ascii_slug("数字"), "");
    }
}
