//! Compiles `allot/v1/*.proto` with a vendored protoc (no system protoc).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free: build scripts run single-threaded before any other code.
    unsafe_set_protoc(&protoc);

    let dir = PathBuf::from("allot/v1");
    let mut protos: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    protos.sort();
    // Watching the directory too picks up added or removed .proto files.
    println!("cargo:rerun-if-changed={}", dir.display());
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        // Undecodable requests answer INVALID_ARGUMENT (src/codec.rs).
        .codec_path("crate::codec::ContractCodec")
        .file_descriptor_set_path(out.join("allot_v1_descriptor.bin"))
        .compile_protos(&protos, &[PathBuf::from(".")])?;
    Ok(())
}

#[allow(unsafe_code)]
fn unsafe_set_protoc(path: &std::path::Path) {
    // Setting an environment variable is unsafe in edition 2024 because other
    // threads may read the environment; a build script has no other threads.
    unsafe { std::env::set_var("PROTOC", path) };
}
