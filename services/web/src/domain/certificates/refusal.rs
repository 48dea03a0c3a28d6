//! Every "no" of certificates, with a sentence in both catalogs under `refusal.<code>`
//! (web/i18n/areas/certificates.*.toml).

use hoithi_core::api_error::Refusal;
use http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateRefusal {
    /// The contest's results are not published yet.
    NotPublished,
    /// Published, but this person has no certificate in the contest (no award, and
    /// participant certificates are off).
    NoCertificate,
}

impl Refusal for CertificateRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::NotPublished => "certificate-not-published",
            Self::NoCertificate => "certificate-none",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::NotPublished => StatusCode::CONFLICT,
            Self::NoCertificate => StatusCode::NOT_FOUND,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoithi_core::i18n::{self, Lang};

    #[test]
    fn every_refusal_has_a_sentence_in_both_languages() {
        for r in [
            CertificateRefusal::NotPublished,
            CertificateRefusal::NoCertificate,
        ] {
            for lang in [Lang::Vi, Lang::En] {
                let key = r.key();
                assert_ne!(i18n::text(lang, &key), key, "{key} in {lang:?}");
            }
        }
    }
}
