//! `hoithi healthcheck`: asks a running server's `/readyz` and exits non-zero unless it
//! answers 200. The container image's `HEALTHCHECK` and compose use it, since the slim image
//! has no curl or wget and `hoithi --version` only proves the binary exists.
//!
//! Plain HTTP/1.1 over one TCP connection, blocking, without a runtime and without reading any
//! other setting than `HOITHI_LISTEN`: a health probe runs every few seconds and must neither
//! need the database's password nor fail because some unrelated setting is wrong.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, bail};

/// The readiness URL of the server this host runs: `HOITHI_LISTEN` (default 127.0.0.1:8080)
/// with a wildcard address (0.0.0.0, ::) replaced by loopback, since a probe connects to it.
pub fn default_url() -> anyhow::Result<String> {
    let mut addr: SocketAddr = hoithi_core::config::listen_from_env()?;
    if addr.port() == 0 {
        bail!("HOITHI_LISTEN={addr} has port 0; give the server's port with --url");
    }
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(format!("http://{addr}/readyz"))
}

/// GETs `url` (http only) and succeeds when the answer's status is 200.
pub fn check(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("--url {url:?} must start with http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) || path.contains([' ', '\r', '\n']) {
        bail!("--url {url:?} is not a URL like http://127.0.0.1:8080/readyz");
    }
    // "[::1]:8080" and "host:8080" as they are; without a port, HTTP's 80.
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !port.is_empty() && !port.contains(']') && !host.is_empty());
    let target = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addrs: Vec<SocketAddr> = target
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {authority:?}"))?
        .collect();
    let mut stream = None;
    let mut last_err = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let mut stream = match (stream, last_err) {
        (Some(s), _) => s,
        (None, Some(e)) => return Err(e).with_context(|| format!("{url}: cannot connect")),
        (None, None) => bail!("{authority:?} resolves to no address"),
    };
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: hoithi-healthcheck\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .with_context(|| format!("{url}: sending the request"))?;
    // The status line is all we need; a readiness answer is small, but read at most 8 KiB.
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        let n = stream
            .read(&mut buf)
            .with_context(|| format!("{url}: reading the answer"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("");
    let mut parts = status_line.split(' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        bail!("{url}: not an HTTP answer: {status_line:?}");
    };
    if !version.starts_with("HTTP/") {
        bail!("{url}: not an HTTP answer: {status_line:?}");
    }
    if code != "200" {
        bail!("{url} answered {code}, not 200: not ready");
    }
    Ok(())
}
