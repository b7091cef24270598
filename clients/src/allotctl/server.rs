//! The server `allotctl` talks to: its endpoint, or the endpoints of its
//! replicas, and how to connect (TLS, a bearer token), from the global
//! flags.

use std::path::PathBuf;

use allot_client::{AllotClient, ClientError, ConnectOptions, TlsOptions};
use clap::Args;

/// Global connection flags.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// PEM certificate authorities to trust for an https:// endpoint
    /// (default: the system's roots). Any --tls-* flag means TLS: a missing
    /// scheme then means https://.
    #[arg(long, global = true, value_name = "FILE.pem")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate, for a server that requires one (mutual TLS).
    #[arg(long, global = true, value_name = "FILE.pem", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, global = true, value_name = "FILE.pem", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Name the server's certificate must carry, when it is not the
    /// endpoint's host.
    #[arg(long, global = true, value_name = "NAME")]
    pub tls_domain: Option<String>,
    /// Bearer token sent with every call (`authorization: Bearer <token>`).
    #[arg(
        long,
        global = true,
        env = "ALLOT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

/// Where to connect, and how.
#[derive(Debug, Clone)]
pub struct Server {
    /// The endpoints as given, each once: one server, or replicas to
    /// spread the calls over.
    pub endpoints: Vec<String>,
    /// TLS and token.
    pub options: ConnectOptions,
}

impl Server {
    /// The server at `endpoints` (repeated ones count once) with the
    /// connection flags `args`.
    pub fn new(endpoints: &[String], args: &ConnectArgs) -> Server {
        let mut distinct: Vec<String> = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            if !distinct.contains(endpoint) {
                distinct.push(endpoint.clone());
            }
        }
        Server {
            endpoints: distinct,
            options: ConnectOptions {
                tls: TlsOptions {
                    ca_file: args.tls_ca.clone(),
                    cert_file: args.tls_cert.clone(),
                    key_file: args.tls_key.clone(),
                    domain: args.tls_domain.clone(),
                },
                token: args.token.clone(),
            },
        }
    }

    /// Connects now: to the one endpoint (see
    /// [`AllotClient::connect_with`]), or to the replicas with calls spread
    /// over those that serve (see [`AllotClient::connect_many_with`]).
    pub async fn connect(&self) -> Result<AllotClient, ClientError> {
        match self.endpoints.as_slice() {
            [one] => AllotClient::connect_with(one, &self.options).await,
            several => AllotClient::connect_many_with(several, &self.options).await,
        }
    }

    /// Connects on first use (see [`AllotClient::connect_lazy_with`] and
    /// [`AllotClient::connect_lazy_many_with`]).
    pub fn connect_lazy(&self) -> Result<AllotClient, ClientError> {
        match self.endpoints.as_slice() {
            [one] => AllotClient::connect_lazy_with(one, &self.options),
            several => AllotClient::connect_lazy_many_with(several, &self.options),
        }
    }
}
