//! Plaintext listens on loopback only, unless the operator says otherwise:
//! an address other machines can reach gets TLS or an explicit
//! `allow_plaintext`.

use std::net::SocketAddr;

/// A plaintext listener on an address other machines can reach, not allowed.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to serve {what} in plaintext on {addr}, which is not a loopback address: \
     {fix}, or set {setting} = true to accept plaintext there"
)]
pub struct PlaintextRefused {
    what: &'static str,
    addr: SocketAddr,
    fix: &'static str,
    setting: &'static str,
}

/// Whether `addr` is reachable from this machine only (127.0.0.0/8, ::1,
/// or ::ffff:127.0.0.0/104).
pub fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// Refuses a plaintext `gRPC` listener on `addr` unless it is loopback or
/// `grpc.allow_plaintext` is set.
pub fn check_grpc(addr: SocketAddr, allow: bool) -> Result<(), PlaintextRefused> {
    check(
        addr,
        allow,
        PlaintextRefused {
            what: "gRPC",
            addr,
            fix: "configure [grpc.tls] cert_file and key_file (or --tls-cert and --tls-key)",
            setting: "grpc.allow_plaintext (--allow-plaintext)",
        },
    )
}

/// Refuses the plaintext Prometheus endpoint on `addr` unless it is
/// loopback or `metrics.allow_plaintext` is set.
pub fn check_metrics(addr: SocketAddr, allow: bool) -> Result<(), PlaintextRefused> {
    check(
        addr,
        allow,
        PlaintextRefused {
            what: "Prometheus metrics",
            addr,
            fix: "listen on loopback behind a TLS-terminating proxy or scraper agent",
            setting: "metrics.allow_plaintext (--metrics-allow-plaintext)",
        },
    )
}

/// Refuses the plaintext decision explorer on `addr` unless it is loopback
/// or `explorer.allow_plaintext` is set.
pub fn check_explorer(addr: SocketAddr, allow: bool) -> Result<(), PlaintextRefused> {
    check(
        addr,
        allow,
        PlaintextRefused {
            what: "the decision explorer",
            addr,
            fix: "configure [grpc.tls] (the explorer then serves HTTPS with the same certificate), or listen on loopback behind a TLS-terminating proxy",
            setting: "explorer.allow_plaintext",
        },
    )
}

fn check(addr: SocketAddr, allow: bool, refused: PlaintextRefused) -> Result<(), PlaintextRefused> {
    if allow || is_loopback(addr) {
        Ok(())
    } else {
        Err(refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_passes_and_anything_else_needs_the_override() {
        for ok in [
            "127.0.0.1:1",
            "127.9.9.9:1",
            "[::1]:1",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(check_grpc(addr(ok), false).is_ok(), "{ok}");
        }
        for refused in ["0.0.0.0:1", "10.0.0.1:1", "[::]:1", "[2001:db8::1]:1"] {
            let err = check_grpc(addr(refused), false).unwrap_err().to_string();
            assert!(err.contains("grpc.allow_plaintext"), "{err}");
            assert!(err.contains("[grpc.tls]"), "{err}");
            assert!(check_grpc(addr(refused), true).is_ok());
        }
        let err = check_metrics(addr("0.0.0.0:9464"), false).unwrap_err();
        assert!(err.to_string().contains("metrics.allow_plaintext"), "{err}");
        let err = check_explorer(addr("0.0.0.0:8089"), false).unwrap_err();
        assert!(
            err.to_string().contains("explorer.allow_plaintext"),
            "{err}"
        );
        assert!(check_explorer(addr("127.0.0.1:8089"), false).is_ok());
        assert!(check_explorer(addr("0.0.0.0:8089"), true).is_ok());
    }
}
