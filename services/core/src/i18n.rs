//! Message catalogs (`web/i18n/*.toml`): Vietnamese is the default, English the second.
//! Pages look texts up by key; a missing key shows the key itself, and a test keeps the
//! two catalogs in step.

use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    /// `vi` or `en`; anything else is `None`.
    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "vi" | "vi-vn" => Some(Self::Vi),
            "en" | "en-us" | "en-gb" => Some(Self::En),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Vi => Self::En,
            Self::En => Self::Vi,
        }
    }
}

type Catalog = HashMap<String, String>;

/// The files of one language: the pages' texts, then one file of refusals per area, so
/// that areas add their sentences without touching each other's.
macro_rules! catalog_files {
    ($lang:literal) => {
        [
            concat!($lang, ".toml"),
            concat!("areas/people.", $lang, ".toml"),
            concat!("areas/entries.", $lang, ".toml"),
            concat!("areas/gallery.", $lang, ".toml"),
            concat!("areas/judging.", $lang, ".toml"),
            concat!("areas/voting.", $lang, ".toml"),
            concat!("areas/privacy.", $lang, ".toml"),
            concat!("areas/admin.", $lang, ".toml"),
            concat!("areas/confirm.", $lang, ".toml"),
            concat!("areas/contest_edit.", $lang, ".toml"),
            concat!("areas/certificates.", $lang, ".toml"),
            concat!("areas/roster.", $lang, ".toml"),
            concat!("areas/categories.", $lang, ".toml"),
            concat!("areas/teams.", $lang, ".toml"),
            concat!("areas/advancement.", $lang, ".toml"),
        ]
        .into_iter()
        .zip([
            include_str!(concat!("../../../web/i18n/", $lang, ".toml")),
            include_str!(concat!("../../../web/i18n/areas/people.", $lang, ".toml")),
            include_str!(concat!("../../../web/i18n/areas/entries.", $lang, ".toml")),
            include_str!(concat!("../../../web/i18n/areas/gallery.", $lang, ".toml")),
            include_str!(concat!("../../../web/i18n/areas/judging.", $lang, ".toml")),
            include_str!(concat!("../../../web/i18n/areas/voting.", $lang, ".toml")),
            include_str!(concat!("../../../web/i18n/areas/privacy.", $lang, ".toml")),
            include_str!(concat!("../../../web/i18n/areas/admin.", $lang, ".toml")),
            include_str!(concat!("../../../web/i18n/areas/confirm.", $lang, ".toml")),
            include_str!(concat!(
                "../../../web/i18n/areas/contest_edit.",
                $lang,
                ".toml"
            )),
            include_str!(concat!(
                "../../../web/i18n/areas/certificates.",
                $lang,
                ".toml"
            )),
            include_str!(concat!("../../../web/i18n/areas/roster.", $lang, ".toml")),
            include_str!(concat!(
                "../../../web/i18n/areas/categories.",
                $lang,
                ".toml"
            )),
            include_str!(concat!("../../../web/i18n/areas/teams.", $lang, ".toml")),
            include_str!(concat!(
                "../../../web/i18n/areas/advancement.",
                $lang,
                ".toml"
            )),
        ])
    };
}

/// The texts of all `files`; a key defined in two files stops the process at its first
/// lookup (and the catalog test), since one of the two sentences would silently lose.
fn parse_catalog<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Catalog {
    let mut catalog = Catalog::new();
    for (name, text) in files {
        #[expect(
            clippy::unwrap_used,
            reason = "the catalogs are compiled in and checked by tests"
        )]
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| format!("{name}: {e}"))
            .unwrap();
        for (key, value) in table {
            if let Some(value) = value.as_str() {
                let earlier = catalog.insert(key.clone(), value.to_owned());
                assert!(earlier.is_none(), "{name}: {key} is defined twice");
            }
        }
    }
    catalog
}

static VI: LazyLock<Catalog> = LazyLock::new(|| parse_catalog(catalog_files!("vi")));
static EN: LazyLock<Catalog> = LazyLock::new(|| parse_catalog(catalog_files!("en")));

/// The text for `key` in `lang`, falling back to Vietnamese, then to the key.
pub fn text(lang: Lang, key: &str) -> &str {
    let catalog: &'static Catalog = match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    };
    catalog
        .get(key)
        .or_else(|| VI.get(key))
        .map(String::as_str)
        .unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_have_the_same_keys() {
        let mut vi: Vec<_> = VI.keys().collect();
        let mut en: Vec<_> = EN.keys().collect();
        vi.sort();
        en.sort();
        assert_eq!(vi, en);
        assert!(vi.len() > 5);
    }

    #[test]
    fn vietnamese_is_the_default_and_unknown_keys_show_themselves() {
        assert_eq!(text(Lang::default(), "nav.home"), "Trang chủ");
        assert_eq!(text(Lang::En, "nav.home"), "Home");
        assert_eq!(text(Lang::En, "no.such.key"), "no.such.key");
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
