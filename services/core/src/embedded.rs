//! Services that run inside hoithi when nothing external is configured.
pub mod durable;
pub mod postgres;
pub mod s3;
