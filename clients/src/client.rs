//! The connection to an allot server and its typed service clients.

use std::time::Duration;

use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use allot_proto::v1::planning_service_client::PlanningServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use allot_proto::v1::returns_service_client::ReturnsServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;

use crate::connect::{BearerToken, ConnectOptions};
use crate::error::{ClientError, error_chain};
use crate::replicas::{ReplicaState, ReplicaStatus, Replicas};

/// The channel the service clients call through: the connection, with the
/// bearer token (if any) added to every call.
pub type AllotChannel = InterceptedService<Channel, BearerToken>;

/// How long [`AllotClient::connect`] waits for the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest response message the service clients accept (64 MiB), so that
/// e.g. `GetNetwork` with SKUs is limited by the server, not the client.
pub const MAX_DECODING_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// A connection to one allot server, or to several replicas with calls
/// spread over those that are up ([`AllotClient::connect_many`]). Cheap to
/// clone; every accessor returns a client over a clone of the same channel.
#[derive(Debug, Clone)]
pub struct AllotClient {
    channel: Channel,
    token: BearerToken,
    endpoint: String,
    /// The replicas' watchers, for a client of several endpoints.
    replicas: Option<Replicas>,
}

impl AllotClient {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:50051`; a missing
    /// scheme means `http://`), waiting at most [`CONNECT_TIMEOUT`]. Fails
    /// with [`ClientError::Connect`] naming the endpoint when nothing listens.
    pub async fn connect(endpoint: &str) -> Result<AllotClient, ClientError> {
        AllotClient::connect_with(endpoint, &ConnectOptions::default()).await
    }

    /// [`AllotClient::connect`] with TLS and a bearer token: TLS when the
    /// endpoint is `https://` or any TLS option is set (a missing scheme
    /// then means `https://`).
    pub async fn connect_with(
        endpoint: &str,
        options: &ConnectOptions,
    ) -> Result<AllotClient, ClientError> {
        let (uri, ep) = endpoint_for(endpoint, options)?;
        let token = BearerToken::new(options.token.as_deref())?;
        match ep.connect().await {
            Ok(channel) => Ok(AllotClient {
                channel,
                token,
                endpoint: uri,
                replicas: None,
            }),
            Err(source) => Err(ClientError::Connect {
                detail: error_chain(&source),
                endpoint: uri,
                source,
            }),
        }
    }

    /// Like [`AllotClient::connect`] but connects on first use and reconnects
    /// as needed; only the endpoint syntax is checked here. Use it to wait
    /// for a server that is still starting (see
    /// [`AllotClient::wait_until_serving`]).
    pub fn connect_lazy(endpoint: &str) -> Result<AllotClient, ClientError> {
        AllotClient::connect_lazy_with(endpoint, &ConnectOptions::default())
    }

    /// [`AllotClient::connect_lazy`] with TLS and a bearer token (see
    /// [`AllotClient::connect_with`]).
    pub fn connect_lazy_with(
        endpoint: &str,
        options: &ConnectOptions,
    ) -> Result<AllotClient, ClientError> {
        let (uri, ep) = endpoint_for(endpoint, options)?;
        Ok(AllotClient {
            channel: ep.connect_lazy(),
            token: BearerToken::new(options.token.as_deref())?,
            endpoint: uri,
            replicas: None,
        })
    }

    /// Connects to several replicas of allot and spreads the calls over the
    /// replicas that are up: tonic's balancer (power of two choices) over
    /// the replicas whose health says SERVING (all of them while none
    /// does). Each replica is watched on a connection of its own
    /// (`grpc.health.v1.Health/Watch`); one that goes down or reports
    /// NOT_SERVING leaves the rotation and comes back when it serves again
    /// (see [`AllotClient::replicas`]). Endpoints are written as for
    /// [`AllotClient::connect`]; repeated ones count once.
    ///
    /// Waits until a replica is SERVING or each has been tried once (at
    /// most [`CONNECT_TIMEOUT`]); fails with [`ClientError::NoReplica`] when
    /// none could be reached. Needs a tokio runtime.
    pub async fn connect_many(endpoints: &[impl AsRef<str>]) -> Result<AllotClient, ClientError> {
        AllotClient::connect_many_with(endpoints, &ConnectOptions::default()).await
    }

    /// [`AllotClient::connect_many`] with TLS and a bearer token, the same
    /// for every replica (see [`AllotClient::connect_with`]).
    pub async fn connect_many_with(
        endpoints: &[impl AsRef<str>],
        options: &ConnectOptions,
    ) -> Result<AllotClient, ClientError> {
        let client = AllotClient::connect_lazy_many_with(endpoints, options)?;
        let statuses = match &client.replicas {
            Some(replicas) => replicas.settled(CONNECT_TIMEOUT).await,
            None => Vec::new(),
        };
        let reachable =
            |r: &ReplicaStatus| matches!(r.state, ReplicaState::Serving | ReplicaState::NotServing);
        if statuses.iter().any(reachable) {
            return Ok(client);
        }
        let detail = statuses
            .iter()
            .map(|r| match &r.state {
                ReplicaState::Down { error } => format!("{}: {error}", r.endpoint),
                _ => format!(
                    "{}: no answer within {:.1}s",
                    r.endpoint,
                    CONNECT_TIMEOUT.as_secs_f64()
                ),
            })
            .collect::<Vec<_>>()
            .join("; ");
        Err(ClientError::NoReplica {
            endpoints: statuses.into_iter().map(|r| r.endpoint).collect(),
            detail,
        })
    }

    /// [`AllotClient::connect_many_with`] without waiting: the replicas are
    /// watched from now on, and until the first watch answers calls go to
    /// any of them. Only the endpoints' syntax is checked here.
    pub fn connect_lazy_many_with(
        endpoints: &[impl AsRef<str>],
        options: &ConnectOptions,
    ) -> Result<AllotClient, ClientError> {
        let mut replicas: Vec<(String, Endpoint)> = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let (uri, ep) = endpoint_for(endpoint.as_ref(), options)?;
            if !replicas.iter().any(|(seen, _)| *seen == uri) {
                replicas.push((uri, ep));
            }
        }
        if replicas.is_empty() {
            return Err(ClientError::InvalidArgument(String::from(
                "no endpoint given: name at least one replica",
            )));
        }
        let token = BearerToken::new(options.token.as_deref())?;
        let endpoint = replicas
            .iter()
            .map(|(uri, _)| uri.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let (channel, watched) = Replicas::balance(replicas, &token);
        Ok(AllotClient {
            channel,
            token,
            endpoint,
            replicas: Some(watched),
        })
    }

    /// Wraps an existing channel (e.g. one with custom settings); calls go
    /// without a token.
    pub fn from_channel(channel: Channel, endpoint: impl Into<String>) -> AllotClient {
        AllotClient {
            channel,
            token: BearerToken::default(),
            endpoint: endpoint.into(),
            replicas: None,
        }
    }

    /// The endpoint this client talks to, with scheme (several replicas:
    /// their endpoints, joined by `, `).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The replicas of a client of several endpoints, in the order given:
    /// what each one's watcher last saw and whether calls go to it. Empty
    /// for a client of one endpoint (which is not watched).
    pub fn replicas(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .as_ref()
            .map_or_else(Vec::new, Replicas::statuses)
    }

    /// The underlying channel (calls on it go without the token).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The channel with the token added to every call, for any generated
    /// client: `XxxServiceClient::new(client.authorized())`.
    pub fn authorized(&self) -> AllotChannel {
        InterceptedService::new(self.channel.clone(), self.token.clone())
    }

    /// A client of `allot.v1.InventoryService`.
    pub fn inventory(&self) -> InventoryServiceClient<AllotChannel> {
        InventoryServiceClient::new(self.authorized())
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }

    /// A client of `allot.v1.AdminService`.
    pub fn admin(&self) -> AdminServiceClient<AllotChannel> {
        AdminServiceClient::new(self.authorized())
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }

    /// A client of `allot.v1.PlanningService`.
    pub fn planning(&self) -> PlanningServiceClient<AllotChannel> {
        PlanningServiceClient::new(self.authorized())
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }

    /// A client of `allot.v1.AllocationService`.
    pub fn allocation(&self) -> AllocationServiceClient<AllotChannel> {
        AllocationServiceClient::new(self.authorized())
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }

    /// A client of `allot.v1.PromiseService`.
    pub fn promise(&self) -> PromiseServiceClient<AllotChannel> {
        PromiseServiceClient::new(self.authorized())
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }

    /// A client of `allot.v1.ReturnsService`.
    pub fn returns(&self) -> ReturnsServiceClient<AllotChannel> {
        ReturnsServiceClient::new(self.authorized())
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }

    /// A client of `allot.v1.RiskService`.
    pub fn risk(&self) -> RiskServiceClient<AllotChannel> {
        RiskServiceClient::new(self.authorized())
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }

    /// A client of `grpc.health.v1.Health`.
    pub fn health_client(&self) -> HealthClient<AllotChannel> {
        HealthClient::new(self.authorized())
    }
}

/// Normalizes the endpoint text and builds a transport endpoint for it,
/// with TLS when the scheme is `https` or `options` ask for it.
fn endpoint_for(
    endpoint: &str,
    options: &ConnectOptions,
) -> Result<(String, Endpoint), ClientError> {
    let uri = if endpoint.contains("://") {
        endpoint.to_string()
    } else if options.tls.any() {
        format!("https://{endpoint}")
    } else {
        format!("http://{endpoint}")
    };
    let invalid = |source| ClientError::InvalidEndpoint {
        endpoint: endpoint.to_string(),
        source,
    };
    let mut ep = Endpoint::from_shared(uri.clone())
        .map_err(invalid)?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    if uri.starts_with("https://") {
        ep = ep
            .tls_config(options.tls.client_config()?)
            .map_err(invalid)?;
    } else if options.tls.any() {
        return Err(ClientError::InvalidArgument(format!(
            "TLS options given for the plaintext endpoint {uri}: use https://"
        )));
    }
    Ok((uri, ep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_without_scheme_gets_http() {
        let plain = ConnectOptions::default();
        let (uri, _) = endpoint_for("127.0.0.1:50051", &plain).unwrap();
        assert_eq!(uri, "http://127.0.0.1:50051");
        let mut tls = ConnectOptions::default();
        tls.tls.domain = Some("allot.internal".into());
        let (uri, _) = endpoint_for("127.0.0.1:50051", &tls).unwrap();
        assert_eq!(uri, "https://127.0.0.1:50051");
        let err = endpoint_for("http://127.0.0.1:50051", &tls).unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
    }

    #[test]
    fn invalid_endpoint_is_rejected() {
        let err = endpoint_for("http://exa mple:1", &ConnectOptions::default()).unwrap_err();
        assert!(matches!(err, ClientError::InvalidEndpoint { .. }), "{err}");
        assert!(err.to_string().contains("exa mple"));
    }

    #[tokio::test]
    async fn connect_refused_names_endpoint() {
        // Bind then drop a listener to get a port where nothing listens.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let ep = format!("http://127.0.0.1:{port}");
        let err = AllotClient::connect(&ep).await.unwrap_err();
        assert!(err.to_string().contains(&ep), "{err}");
        assert_eq!(err.code(), tonic::Code::Unavailable);
    }
}
