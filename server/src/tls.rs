//! TLS for the gRPC listener: `[grpc.tls]`, its PEM files read and checked
//! before the server listens, each error naming the setting and the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// `[grpc.tls]`: the server's certificate and key, and the authority its
/// clients' certificates must come from (mutual TLS). No certificate: the
/// listener is plaintext (docs/operations.md, "TLS").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM file of the server's certificate chain, leaf first.
    pub cert_file: Option<PathBuf>,
    /// PEM file of the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// PEM file of the certificate authorities clients' certificates must
    /// chain to; set, every client must present one (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
    /// Longest a client may take to finish the TLS handshake, ms.
    pub handshake_timeout_ms: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert_file: None,
            key_file: None,
            client_ca_file: None,
            handshake_timeout_ms: 10_000,
        }
    }
}

impl TlsConfig {
    /// Whether the listener serves TLS (a certificate is configured).
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some()
    }
}

/// A `[grpc.tls]` the server cannot serve with.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// One of a pair of settings is missing.
    #[error("grpc.tls.{missing} is required when grpc.tls.{given} is set")]
    Incomplete {
        /// The setting that is missing.
        missing: &'static str,
        /// The setting that needs it.
        given: &'static str,
    },
    /// A file could not be read.
    #[error("grpc.tls.{field}: cannot read {}: {error}", path.display())]
    Read {
        /// The setting naming the file.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// Why (in the message: not a separate source, so a printed chain
        /// says it once).
        error: std::io::Error,
    },
    /// A file holds nothing of what it should, or it is not valid PEM.
    #[error("grpc.tls.{field}: {} holds no {what}{}", path.display(), detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Pem {
        /// The setting naming the file.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// What it should hold, e.g. `PEM certificate`.
        what: &'static str,
        /// The parser's complaint, if any.
        detail: Option<String>,
    },
    /// rustls refused the certificate, key or authorities (for example a
    /// key that does not match the certificate).
    #[error("grpc.tls: the certificate, key or client CA cannot be used: {0}")]
    Rejected(String),
}

/// Reads and checks the files of `config`: `None` when TLS is off.
pub fn server_tls(config: &TlsConfig) -> Result<Option<ServerTlsConfig>, TlsError> {
    let (cert_file, key_file) = match (&config.cert_file, &config.key_file) {
        (None, None) => {
            return match config.client_ca_file {
                Some(_) => Err(TlsError::Incomplete {
                    missing: "cert_file",
                    given: "client_ca_file",
                }),
                None => Ok(None),
            };
        }
        (Some(_), None) => {
            return Err(TlsError::Incomplete {
                missing: "key_file",
                given: "cert_file",
            });
        }
        (None, Some(_)) => {
            return Err(TlsError::Incomplete {
                missing: "cert_file",
                given: "key_file",
            });
        }
        (Some(cert), Some(key)) => (cert, key),
    };
    let cert = read_certificates("cert_file", cert_file)?;
    let key = read("key_file", key_file)?;
    PrivateKeyDer::from_pem_slice(&key).map_err(|e| TlsError::Pem {
        field: "key_file",
        path: key_file.clone(),
        what: "PEM private key",
        detail: Some(e.to_string()),
    })?;
    let mut tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(cert, key))
        .timeout(Duration::from_millis(config.handshake_timeout_ms));
    if let Some(ca_file) = &config.client_ca_file {
        let ca = read_certificates("client_ca_file", ca_file)?;
        tls = tls.client_ca_root(Certificate::from_pem(ca));
    }
    Ok(Some(tls))
}

/// The bytes of `path`, which must hold at least one PEM certificate.
/// The same certificate, key and client authority as a rustls server
/// configuration, for the HTTPS listeners besides gRPC (the metrics
/// endpoint; HTTP/1.1 by ALPN). `None` without `[grpc.tls]`; errors as
/// [`server_tls`]'s.
pub fn https_config(config: &TlsConfig) -> Result<Option<Arc<rustls::ServerConfig>>, TlsError> {
    if server_tls(config)?.is_none() {
        return Ok(None);
    }
    let (Some(cert_file), Some(key_file)) = (&config.cert_file, &config.key_file) else {
        return Ok(None);
    };
    let rejected = |e: &dyn std::fmt::Display| TlsError::Rejected(e.to_string());
    let certs = CertificateDer::pem_slice_iter(&read_certificates("cert_file", cert_file)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| rejected(&e))?;
    let key =
        PrivateKeyDer::from_pem_slice(&read("key_file", key_file)?).map_err(|e| rejected(&e))?;
    // The provider tonic's `tls-ring` serves gRPC with (rustls deprecates it
    // for lacking post-quantum key exchange; gRPC and metrics stay alike).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| rejected(&e))?;
    let builder = match &config.client_ca_file {
        Some(ca_file) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in CertificateDer::pem_slice_iter(&read_certificates("client_ca_file", ca_file)?)
            {
                roots
                    .add(ca.map_err(|e| rejected(&e))?)
                    .map_err(|e| rejected(&e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| rejected(&e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut https = builder
        .with_single_cert(certs, key)
        .map_err(|e| rejected(&e))?;
    https.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(https)))
}

fn read_certificates(field: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read(field, path)?;
    let problem = |detail: Option<String>| TlsError::Pem {
        field,
        path: path.to_path_buf(),
        what: "PEM certificate",
        detail,
    };
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|e| problem(Some(e.to_string())))?;
        count += 1;
    }
    if count == 0 {
        return Err(problem(None));
    }
    Ok(pem)
}

fn read(field: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        field,
        path: path.to_path_buf(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(cert: Option<&Path>, key: Option<&Path>, ca: Option<&Path>) -> TlsConfig {
        TlsConfig {
            cert_file: cert.map(Path::to_path_buf),
            key_file: key.map(Path::to_path_buf),
            client_ca_file: ca.map(Path::to_path_buf),
            ..TlsConfig::default()
        }
    }

    #[test]
    fn off_by_default() {
        assert!(server_tls(&TlsConfig::default()).unwrap().is_none());
        assert!(!TlsConfig::default().enabled());
    }

    #[test]
    fn a_certificate_needs_its_key_and_a_client_ca_needs_both() {
        let file = Path::new("server.pem");
        let err = server_tls(&config(Some(file), None, None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "grpc.tls.key_file is required when grpc.tls.cert_file is set"
        );
        let err = server_tls(&config(None, None, Some(file))).unwrap_err();
        assert!(err.to_string().contains("grpc.tls.cert_file"), "{err}");
    }

    #[test]
    fn errors_name_the_setting_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();

        let err = server_tls(&config(Some(&missing), Some(&empty), None)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("grpc.tls.cert_file: cannot read"),
            "{text}"
        );
        assert!(text.contains("missing.pem"), "{text}");

        let err = server_tls(&config(Some(&empty), Some(&empty), None)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("grpc.tls.cert_file:") && text.contains("empty.pem"),
            "{text}"
        );
        assert!(text.contains("no PEM certificate"), "{text}");
    }
}
