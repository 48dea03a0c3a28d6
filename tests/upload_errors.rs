mod common;
mod upload_common;
