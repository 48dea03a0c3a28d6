//! The in-process S3 endpoint (s3s + s3s-fs) that serves `data/objects` when no
//! `S3_ENDPOINT` is configured. The product talks to it with aws-sdk-s3 like any other store.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::S3Settings;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Credentials {
    access_key_id: String,
    secret_access_key: String,
}

pub struct EmbeddedS3 {
    pub addr: SocketAddr,
    pub settings: S3Settings,
    stop: CancellationToken,
}

impl EmbeddedS3 {
    /// Serves `root` on `listen` (port 0 picks one) with the credentials kept in
    /// `credentials_file`, generated on first use; writes are refused while fewer than
    /// `min_free` bytes would stay free on its disk.
    pub async fn start(
        root: &Path,
        credentials_file: &Path,
        bucket: &str,
        listen: SocketAddr,
        min_free: u64,
    ) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(root).await.with_context(|| {
            format!(
                "cannot create the object folder {}; set HOITHI_DATA to a writable folder",
                root.display()
            )
        })?;
        let creds = load_or_create_credentials(credentials_file)?;
        let fs = super::durable::DurableFs::new(root, min_free)?;
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(
            creds.access_key_id.clone(),
            creds.secret_access_key.clone(),
        ));
        let service = builder.build();

        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} for the embedded S3 endpoint"))?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            loop {
                let socket = tokio::select! {
                    res = listener.accept() => match res {
                        Ok((socket, _)) => socket,
                        Err(err) => {
                            tracing::warn!(error = %err, "embedded S3: accept failed");
                            continue;
                        }
                    },
                    () = stopped.cancelled() => break,
                };
                let conn = http.serve_connection(TokioIo::new(socket), service.clone());
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown()).await;
        });
        tracing::info!(%addr, root = %root.display(), "embedded S3 endpoint listening");
        Ok(Self {
            addr,
            settings: S3Settings {
                endpoint: format!("http://{addr}"),
                bucket: bucket.to_owned(),
                access_key_id: creds.access_key_id,
                secret_access_key: creds.secret_access_key,
                region: "us-east-1".to_owned(),
            },
            stop,
        })
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn load_or_create_credentials(path: &Path) -> anyhow::Result<Credentials> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Ok(text) = std::fs::read_to_string(path) {
        return serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is damaged; delete it to make new credentials",
                path.display()
            )
        });
    }
    let creds = Credentials {
        access_key_id: random_token(20),
        secret_access_key: random_token(40),
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "cannot write {}; set HOITHI_DATA to a writable folder",
                path.display()
            )
        })?;
    std::io::Write::write_all(&mut file, serde_json::to_string_pretty(&creds)?.as_bytes())?;
    Ok(creds)
}
