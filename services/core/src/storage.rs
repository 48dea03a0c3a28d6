//! Object storage: one aws-sdk-s3 client for every S3-compatible store, the embedded
//! endpoint included. Keys are always made by the server, never from user input.

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, timeout::TimeoutConfig};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::config::S3Settings;

#[derive(Clone, Debug)]
pub struct Storage {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl Storage {
    pub fn new(settings: &S3Settings) -> Self {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&settings.endpoint)
            .region(Region::new(settings.region.clone()))
            .credentials_provider(Credentials::new(
                &settings.access_key_id,
                &settings.secret_access_key,
                None,
                None,
                "hoithi",
            ))
            .force_path_style(true)
            // Checksums only where S3 requires them: the in-process endpoint and MinIO
            // verify them, and they cost 15–40 % of throughput (see FACTS.md).
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: settings.bucket.clone(),
        }
    }

    /// Makes sure the bucket exists and the credentials work; the error says which part
    /// of the settings is wrong.
    pub async fn ensure_bucket(&self, endpoint: &str) -> anyhow::Result<()> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => return Ok(()),
            Err(err) => {
                let status = err.raw_response().map(|r| r.status().as_u16());
                match status {
                    Some(404) => {}
                    Some(401 | 403) => bail!(
                        "the object store at {endpoint} refused the credentials for bucket '{}'; check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
                        self.bucket
                    ),
                    _ => return Err(describe(err, endpoint)),
                }
            }
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.code(),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(describe(err, endpoint))
                .with_context(|| format!("cannot create the bucket '{}'", self.bucket)),
        }
    }

    /// A cheap request that proves the store answers and the bucket is there.
    pub async fn check(&self) -> anyhow::Result<()> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                bail!("the bucket '{}' is missing (NoSuchBucket)", self.bucket)
            }
            Err(err) => Err(describe(err, "configured")),
        }
    }
}

/// One line for an SDK error: its S3 code and message, or the transport failure.
/// `endpoint` names the store in the sentence ("http://127.0.0.1:9000", "configured").
pub fn describe<E, R>(err: SdkError<E, R>, endpoint: &str) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => anyhow::anyhow!(
            "cannot reach the {endpoint} object store; check S3_ENDPOINT or that the store is running"
        ),
        SdkError::ServiceError(service) => {
            let e = service.err();
            anyhow::anyhow!(
                "the {endpoint} object store answered {}: {}",
                e.code().unwrap_or("an error"),
                e.message().unwrap_or("no message")
            )
        }
        _ => anyhow::anyhow!(
            "object store request failed: {}",
            aws_sdk_s3::error::DisplayErrorContext(&err)
        ),
    }
}
