//! How a client reaches a server beyond its address: TLS (the authorities
//! to trust, a client certificate for mutual TLS, the name to check) and a
//! bearer token sent with every call.

use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use tonic::{Request, Status};

use crate::error::ClientError;

/// TLS and a bearer token for [`crate::AllotClient::connect_with`]. The
/// default: plaintext (unless the endpoint is `https://`), no token.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// TLS settings; used when the endpoint is `https://` or any is set.
    pub tls: TlsOptions,
    /// Sent as `authorization: Bearer <token>` on every call.
    pub token: Option<String>,
}

/// TLS settings of a client.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM certificate authorities to trust; none: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for servers that require one (mutual TLS).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// The name the server's certificate must carry, when it is not the
    /// endpoint's host (e.g. connecting by IP address).
    pub domain: Option<String>,
}

impl TlsOptions {
    /// Whether any setting asks for TLS.
    pub fn any(&self) -> bool {
        self.ca_file.is_some()
            || self.cert_file.is_some()
            || self.key_file.is_some()
            || self.domain.is_some()
    }

    /// The tonic TLS configuration: the files read, nothing checked yet
    /// beyond that (the handshake checks).
    pub(crate) fn client_config(&self) -> Result<ClientTlsConfig, ClientError> {
        let mut tls = ClientTlsConfig::new();
        tls = match &self.ca_file {
            Some(ca) => tls.ca_certificate(Certificate::from_pem(read(ca)?)),
            None => tls.with_native_roots(),
        };
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            _ => {
                return Err(ClientError::InvalidArgument(
                    "a client certificate needs its key: give both --tls-cert and --tls-key".into(),
                ));
            }
        }
        if let Some(domain) = &self.domain {
            tls = tls.domain_name(domain.clone());
        }
        Ok(tls)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Adds `authorization: Bearer <token>` to every call when a token is set.
#[derive(Debug, Clone, Default)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl BearerToken {
    /// The header for `token`; `None`: calls go without one. A token that
    /// cannot be sent in a header (not visible ASCII) is refused.
    pub fn new(token: Option<&str>) -> Result<BearerToken, ClientError> {
        let Some(token) = token else {
            return Ok(BearerToken(None));
        };
        MetadataValue::try_from(format!("Bearer {token}"))
            .map(|value| BearerToken(Some(value)))
            .map_err(|_| {
                ClientError::InvalidArgument(
                    "the token must be visible ASCII (it travels in a header)".into(),
                )
            })
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_in_the_authorization_header() {
        let mut token = BearerToken::new(Some("s3cret")).unwrap();
        let request = token.call(Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer s3cret"
        );
        let mut none = BearerToken::new(None).unwrap();
        let request = none.call(Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
        assert!(BearerToken::new(Some("line\nbreak")).is_err());
    }

    #[test]
    fn a_certificate_without_its_key_is_refused() {
        let tls = TlsOptions {
            cert_file: Some("client.pem".into()),
            ..TlsOptions::default()
        };
        let err = tls.client_config().unwrap_err();
        assert!(err.to_string().contains("--tls-key"), "{err}");
    }
}
