//! `ClientIp`: who is calling, as far as the network tells.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use hoithi_core::AppState;

use crate::domain::voting::policy;

/// The client's address: the peer's, or, behind a proxy listed in `TRUSTED_PROXIES`, the
/// one that proxy put into `X-Forwarded-For`.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(
            |c| policy::client_ip(c.0.ip(), forwarded, &state.config.trusted_proxies),
        )))
    }
}
