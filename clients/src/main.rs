//! `allotctl`: command-line client for the allot decision engine.
//!
//! See `allotctl --help` for the commands, the output format and the exit
//! codes.

mod allotctl;

use std::process::ExitCode;

use allot_client::{ClientError, code_name};
use clap::Parser;

use allotctl::cli::Cli;
use allotctl::commands::run;

/// mimalloc instead of the system allocator: a gRPC call allocates and
/// frees many small buffers (HTTP/2 frames, headers, protobuf messages) on
/// two threads, where glibc malloc spent a tenth of the time
/// (benches/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors exit with 2 (clap); --help and --version with 0.
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(err) => {
            report(&err);
            ExitCode::FAILURE
        }
    }
}

/// Prints `allotctl: <GRPC_CODE>: <message>` to stderr.
fn report(err: &anyhow::Error) {
    if let Some(client_err) = err.downcast_ref::<ClientError>() {
        eprintln!("allotctl: {}: {client_err}", code_name(client_err.code()));
    } else if let Some(status) = err.downcast_ref::<tonic::Status>() {
        eprintln!(
            "allotctl: {}: {}",
            code_name(status.code()),
            status.message()
        );
    } else if err
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    {
        // stdout closed early (e.g. piped into `head`): not worth a message.
    } else {
        eprintln!("allotctl: {}: {err:#}", code_name(tonic::Code::Unknown));
    }
}
