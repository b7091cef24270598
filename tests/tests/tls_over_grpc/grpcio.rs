//! An independent client, grpcio (gRPC's C core) from Python, over TLS:
//! tests/python/tls_client.py. The Python comes from `ALLOT_TEST_PYTHON`,
//! else the project's .venv (scripts/bootstrap installs grpcio there from
//! tests/requirements.txt).

use std::path::{Path, PathBuf};
use std::process::Command;

use allot_proto::v1::NetworkDescription;
use allot_server::auth::{AuthConfig, Role, TokenConfig};
use allot_service::hash::sha256_hex;
use prost::Message;
use tonic_health::pb::HealthCheckResponse;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::certs::Pki;
use crate::common::{TestServer, test_config};
use crate::{https, trusting, wait_serving, with_tls};

const SECRET: &str = "grpcio-reader-secret";

fn python() -> PathBuf {
    std::env::var_os("ALLOT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The code and the response bytes of `method` in the script's output.
fn answer(lines: &[serde_json::Value], method: &str) -> (String, Vec<u8>) {
    let line = lines
        .iter()
        .find(|line| line["method"] == method)
        .unwrap_or_else(|| panic!("no answer for {method}"));
    let text = |key: &str| line[key].as_str().unwrap_or_default().to_string();
    (text("code"), unhex(&text("response")))
}

#[tokio::test]
async fn grpcio_calls_health_and_an_allot_rpc_over_tls_with_a_token() {
    let python = python();
    let probe = Command::new(&python)
        .args(["-c", "import grpc"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        probe.status.success(),
        "grpcio is missing from {}: run scripts/bootstrap (tests/requirements.txt) or set ALLOT_TEST_PYTHON: {}",
        python.display(),
        String::from_utf8_lossy(&probe.stderr)
    );

    let pki = Pki::new();
    let mut config = with_tls(test_config(), &pki, false);
    config.auth = AuthConfig {
        tokens: vec![TokenConfig {
            name: "grpcio".into(),
            sha256: sha256_hex(SECRET.as_bytes()),
            roles: vec![Role::Read],
        }],
    };
    let server = TestServer::start(config).await;
    wait_serving(&https(&server), &trusting(&pki, false)).await;

    let script = workspace().join("tests/python/tls_client.py");
    // The certificate names 127.0.0.1 and localhost; grpcio checks either.
    let target = format!("localhost:{}", server.addr.port());
    let ca = pki.ca.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(target)
            .arg(ca)
            .arg(SECRET)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();

    let (code, bytes) = answer(&lines, "/grpc.health.v1.Health/Check");
    assert_eq!(code, "OK", "{stdout}");
    let health = HealthCheckResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(health.status, ServingStatus::Serving as i32);

    let (code, bytes) = answer(&lines, "/allot.v1.AdminService/GetNetwork");
    assert_eq!(code, "OK", "{stdout}");
    let network = NetworkDescription::decode(bytes.as_slice()).unwrap();
    assert!(!network.nodes.is_empty());
}
