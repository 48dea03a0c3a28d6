//! Schemas of JSON API answers built as JSON values rather than types: the handlers'
//! `#[utoipa::path]` annotations name these markers, and `api_doc::document` puts the
//! hand-kept schema of the same name (api_doc/hand_schemas.json) in their place. A leaf
//! module, so the areas and the document both point here and never at each other.

pub(crate) const HAND_SCHEMAS: &str = include_str!("api_doc/hand_schemas.json");

macro_rules! markers {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` schema of hand_schemas.json.")]
            pub struct $name;
            impl utoipa::PartialSchema for $name {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    utoipa::openapi::schema::Object::new().into()
                }
            }
            impl utoipa::ToSchema for $name {}
        )*
        /// Every marker's name.
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}
markers!(
    Entry,
    Media,
    Live,
    LiveChange,
    Stream,
    StreamList,
    ChallengeRequired
);
