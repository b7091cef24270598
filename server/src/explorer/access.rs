//! Who may read the explorer: with `[auth]` tokens configured, a token with
//! the `read` role, sent as `authorization: Bearer <token>` or kept by the
//! browser in an HttpOnly, SameSite=Strict cookie that the sign-in form
//! sets (`Secure` over HTTPS). Without tokens the explorer is open, like
//! the gRPC API.

use http::HeaderMap;

use crate::auth::{Access, Role};

/// The cookie that carries the token.
pub(crate) const COOKIE: &str = "allot_token";

/// Why a request may not read.
pub(crate) struct Refused {
    /// UNAUTHENTICATED (sign in) or PERMISSION_DENIED (another token).
    pub lacks_role: bool,
    /// What to tell the reader.
    pub message: String,
}

/// The token's secret in `headers`: the bearer header, else the cookie.
fn secret(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| value)
    })
}

/// Whether the request with `headers` may read.
pub(crate) fn check(access: &Access, headers: &HeaderMap) -> Result<(), Refused> {
    check_token(access, secret(headers))
}

/// Whether `token` may read.
pub(crate) fn check_token(access: &Access, token: Option<&str>) -> Result<(), Refused> {
    access
        .check_secret(token, Role::Read)
        .map(|_| ())
        .map_err(|status| Refused {
            lacks_role: status.code() == tonic::Code::PermissionDenied,
            message: status
                .message()
                .trim_start_matches("authorization: ")
                .replace("this RPC needs", "the explorer needs"),
        })
}

/// The `Set-Cookie` value that keeps `token` (for the whole site, this
/// browser session).
pub(crate) fn cookie(token: &str, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that forgets the token.
pub(crate) fn forget() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}
