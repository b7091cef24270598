//! Who may call what: bearer tokens, each with roles, checked by the request
//! gate before a call reaches its service. Off while no token is configured
//! (the demo on loopback); health and reflection are always open.
//!
//! Tokens are configured by the SHA-256 of their secret, never the secret:
//! `printf %s "$TOKEN" | sha256sum`. docs/operations.md ("Authentication").

use std::collections::HashMap;

use allot_service::hash::sha256_hex;
use serde::{Deserialize, Serialize};
use tonic::Status;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Allocate, EvaluatePlan, GetDeliveryPromise, ScoreOrder, RouteReturn.
    Decide,
    /// Stock writes, ConfirmReservation, ReleaseReservation,
    /// ReoptimizeBacklog, ReportReturns.
    Operate,
    /// The decision feed, ExplainDecision, ReplayDecision, stock and
    /// reservation reads, GetNetwork, GetModelInfo, GetModelDrift,
    /// ForecastDemand, PlanTransfers, ForecastWorkload.
    Read,
    /// ReloadModels, RollbackModels, ClearShadowModels, and any RPC not
    /// listed above.
    Admin,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Decide => "decide",
            Role::Operate => "operate",
            Role::Read => "read",
            Role::Admin => "admin",
        }
    }
}

/// One caller's token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who it is, as logs and metrics name it, e.g. `oms`.
    pub name: String,
    /// Lower-case hex SHA-256 of the token's secret.
    pub sha256: String,
    /// What it may do.
    pub roles: Vec<Role>,
}

/// `[auth]`: the tokens; none (the default) turns authentication off.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Every accepted token.
    pub tokens: Vec<TokenConfig>,
}

/// A token entry the server cannot use.
#[derive(Debug, thiserror::Error)]
#[error("auth.tokens[{index}].{field}: {problem}")]
pub struct TokenConfigError {
    index: usize,
    field: &'static str,
    problem: String,
}

/// Who made a call: the name of its bearer token, put in the request's
/// extensions by the gate when authentication is on.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// The name of the token `request` came with; empty with authentication
/// off (or for an open RPC).
pub(crate) fn caller_of<T>(request: &tonic::Request<T>) -> String {
    request
        .extensions()
        .get::<Caller>()
        .map(|c| c.0.clone())
        .unwrap_or_default()
}

/// The accepted tokens, by the hash of their secret.
#[derive(Debug, Clone, Default)]
pub struct Access {
    by_hash: HashMap<String, (String, Vec<Role>)>,
}

/// The role an RPC needs (`/package.Service/Method`); `None`: open to all.
fn required_role(path: &str) -> Option<Role> {
    let rpc = path.strip_prefix("/allot.v1.")?;
    Some(match rpc {
        "AllocationService/Allocate"
        | "AllocationService/EvaluatePlan"
        | "PromiseService/GetDeliveryPromise"
        | "RiskService/ScoreOrder"
        | "ReturnsService/RouteReturn" => Role::Decide,
        "InventoryService/ReplaceNodeStock"
        | "InventoryService/StreamStockDeltas"
        | "AllocationService/ConfirmReservation"
        | "AllocationService/ReleaseReservation"
        | "AllocationService/ReoptimizeBacklog"
        | "RiskService/ReportReturns" => Role::Operate,
        "InventoryService/GetSkuAvailability"
        | "InventoryService/GetNodeStock"
        | "InventoryService/GetStockStatus"
        | "AllocationService/GetReservation"
        | "DecisionService/ExplainDecision"
        | "DecisionService/WatchDecisions"
        | "DecisionService/ReplayDecision"
        | "AdminService/GetNetwork"
        | "AdminService/GetModelInfo"
        | "AdminService/GetModelDrift"
        | "PlanningService/ForecastDemand"
        | "PlanningService/PlanTransfers"
        | "PlanningService/ForecastWorkload" => Role::Read,
        // Fail closed: an RPC added to the contract needs admin until it is
        // given its role here.
        _ => Role::Admin,
    })
}

impl Access {
    /// The tokens of `config`, checked: a name, a SHA-256 in hex, at least
    /// one role, no name or hash twice.
    pub fn new(config: &AuthConfig) -> Result<Access, TokenConfigError> {
        let mut by_hash = HashMap::new();
        let mut names = std::collections::HashSet::new();
        for (index, token) in config.tokens.iter().enumerate() {
            let fail = |field, problem: &str| TokenConfigError {
                index,
                field,
                problem: problem.to_string(),
            };
            if token.name.is_empty() || !names.insert(token.name.as_str()) {
                return Err(fail("name", "required and unique among the tokens"));
            }
            let hash = token.sha256.to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(fail(
                    "sha256",
                    "must be the 64 hex digits of the token's SHA-256 (printf %s \"$TOKEN\" | sha256sum)",
                ));
            }
            if token.roles.is_empty() {
                return Err(fail(
                    "roles",
                    "at least one of decide, operate, read, admin",
                ));
            }
            if by_hash
                .insert(hash, (token.name.clone(), token.roles.clone()))
                .is_some()
            {
                return Err(fail("sha256", "another token has the same secret"));
            }
        }
        Ok(Access { by_hash })
    }

    /// Whether any token is configured (authentication on).
    pub fn enabled(&self) -> bool {
        !self.by_hash.is_empty()
    }

    /// The name of the token that may call `path` with these headers;
    /// `None` for an open RPC or with authentication off. UNAUTHENTICATED
    /// without a known bearer token, PERMISSION_DENIED when its roles lack
    /// the RPC's.
    pub fn check(&self, path: &str, headers: &http::HeaderMap) -> Result<Option<String>, Status> {
        if !self.enabled() {
            return Ok(None);
        }
        let Some(role) = required_role(path) else {
            return Ok(None);
        };
        let secret = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        self.check_secret(secret, role)
    }

    /// The name of the token whose secret is `secret`, when its roles
    /// include `role`; `None` with authentication off. UNAUTHENTICATED
    /// without a known token, PERMISSION_DENIED when its roles lack `role`.
    /// (The decision explorer takes the secret from a header or a cookie.)
    pub fn check_secret(&self, secret: Option<&str>, role: Role) -> Result<Option<String>, Status> {
        if !self.enabled() {
            return Ok(None);
        }
        let secret = secret
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Status::unauthenticated(
                    "authorization: required: send `authorization: Bearer <token>`",
                )
            })?;
        let (name, roles) = self
            .by_hash
            .get(&sha256_hex(secret.as_bytes()))
            .ok_or_else(|| Status::unauthenticated("authorization: unknown token"))?;
        if !roles.contains(&role) {
            return Err(Status::permission_denied(format!(
                "authorization: token {name:?} lacks the {} role this RPC needs",
                role.name()
            )));
        }
        Ok(Some(name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        Access::new(&AuthConfig {
            tokens: vec![TokenConfig {
                name: "oms".into(),
                sha256: sha256_hex(b"s3cret"),
                roles: vec![Role::Decide],
            }],
        })
        .unwrap()
    }

    fn bearer(token: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        headers
    }

    #[test]
    fn a_token_calls_what_its_roles_allow_and_health_is_open() {
        let access = access();
        let allocate = "/allot.v1.AllocationService/Allocate";
        assert_eq!(
            access.check(allocate, &bearer("s3cret")).unwrap(),
            Some("oms".to_string())
        );
        let code =
            |path: &str, headers: &http::HeaderMap| access.check(path, headers).unwrap_err().code();
        assert_eq!(
            code(allocate, &http::HeaderMap::new()),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            code(allocate, &bearer("wrong")),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            code(
                "/allot.v1.InventoryService/ReplaceNodeStock",
                &bearer("s3cret")
            ),
            tonic::Code::PermissionDenied
        );
        for open in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert_eq!(access.check(open, &http::HeaderMap::new()).unwrap(), None);
        }
    }

    #[test]
    fn without_tokens_everything_is_open_and_bad_entries_are_refused() {
        let open = Access::new(&AuthConfig::default()).unwrap();
        assert!(!open.enabled());
        assert!(
            open.check(
                "/allot.v1.AdminService/ReloadModels",
                &http::HeaderMap::new()
            )
            .is_ok()
        );
        let bad = AuthConfig {
            tokens: vec![TokenConfig {
                name: "oms".into(),
                sha256: "s3cret".into(),
                roles: vec![Role::Read],
            }],
        };
        let error = Access::new(&bad).unwrap_err().to_string();
        assert!(error.starts_with("auth.tokens[0].sha256: "), "{error}");
    }
}
