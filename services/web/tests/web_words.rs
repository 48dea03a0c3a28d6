#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! One term per thing (issue 18, part 6): the page templates, the catalogs and the scripts'
//! texts never use a second spelling of a word the product already spells one way ("Xóa",
//! not "Xoá"; "Đăng nhập", not "Đăng Nhập" or "Login"), and no Vietnamese sentence is
//! missing from the English catalog (the catalog test keeps the keys in step).

use std::path::{Path, PathBuf};

/// The spelling not to use, and the one the product uses.
const FORBIDDEN: [(&str, &str); 14] = [
    ("Xoá", "Xóa"),
    ("xoá", "xóa"),
    ("huỷ", "hủy"),
    ("Huỷ", "Hủy"),
    ("khoá", "khóa"),
    ("Khoá", "Khóa"),
    ("hoá", "hóa"),
    ("Hoá", "Hóa"),
    ("Đăng Nhập", "Đăng nhập"),
    ("Đăng Ký", "Đăng ký"),
    ("Đăng Xuất", "Đăng xuất"),
    ("Mật Khẩu", "Mật khẩu"),
    // The organizers of a unit are its "ban tổ chức", as the navigation says.
    ("Người tổ chức", "Ban tổ chức"),
    ("Organiser", "Organizer"),
];

/// English words a Vietnamese text must not carry for these things.
const NOT_IN_VIETNAMESE: [&str; 4] = ["Login", "Logout", "Sign in", "Password"];

/// The English catalogs say "Sign in" and "Sign out", never these.
const NOT_IN_ENGLISH: [&str; 4] = ["Log in", "Login", "Log out", "Logout"];

fn web() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("vendor") {
                files(&path, out);
            }
        } else if path
            .extension()
            .is_some_and(|e| e == "html" || e == "toml" || e == "js")
        {
            out.push(path);
        }
    }
}

#[test]
fn templates_catalogs_and_scripts_spell_each_term_one_way() {
    let mut all = Vec::new();
    for dir in ["templates", "i18n", "static/js"] {
        files(&web().join(dir), &mut all);
    }
    assert!(all.len() > 20, "the files were found: {all:?}");
    let mut found = Vec::new();
    for path in &all {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for (bad, good) in FORBIDDEN {
                if line.contains(bad) {
                    found.push(format!(
                        "{}:{}: {bad} (write {good})",
                        path.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "second spellings:\n{}", found.join("\n"));
}

#[test]
fn the_vietnamese_catalogs_do_not_fall_back_to_english_words() {
    let mut all = Vec::new();
    files(&web().join("i18n"), &mut all);
    let mut found = Vec::new();
    for path in all
        .iter()
        .filter(|p| p.to_string_lossy().ends_with("vi.toml"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some((_, value)) = line.split_once(" = ") else {
                continue;
            };
            for word in NOT_IN_VIETNAMESE {
                if value.contains(word) {
                    found.push(format!("{}:{}: {word}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "English in Vietnamese:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_english_catalogs_sign_in_and_out_one_way() {
    let mut all = Vec::new();
    files(&web().join("i18n"), &mut all);
    let mut found = Vec::new();
    for path in all
        .iter()
        .filter(|p| p.to_string_lossy().ends_with("en.toml"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some((_, value)) = line.split_once(" = ") else {
                continue;
            };
            for word in NOT_IN_ENGLISH {
                if value.contains(word) {
                    found.push(format!("{}:{}: {word}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "write Sign in / Sign out:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_test_itself_sees_a_second_spelling() {
    let line = "\"unit.delete\" = \"Xoá\"";
    assert!(FORBIDDEN.iter().any(|(bad, _)| line.contains(bad)));
}
