//! The process-wide ONNX Runtime: the dynamically loaded library and its environment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::error::ScoringError;

/// The environment variable ort itself reads for the library path.
pub const ORT_DYLIB_PATH: &str = "ORT_DYLIB_PATH";

/// The ONNX Runtime loaded into this process. Cheap to clone.
///
/// The library can be loaded once per process: [`OrtRuntime::init`] loads it the
/// first time and afterwards returns the same runtime.
#[derive(Clone)]
pub struct OrtRuntime {
    inner: Arc<Inner>,
}

struct Inner {
    library: PathBuf,
    environment: ort::environment::Environment,
}

static RUNTIME: Mutex<Option<OrtRuntime>> = Mutex::new(None);

impl std::fmt::Debug for OrtRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtRuntime")
            .field("library", &self.inner.library)
            .finish_non_exhaustive()
    }
}

impl OrtRuntime {
    /// Loads ONNX Runtime from `lib_path`, or from [`find_library`]`(None)` when
    /// `None`, and creates the environment. Later calls return the same runtime;
    /// asking for a different library than the loaded one is an error.
    pub fn init(lib_path: Option<&Path>) -> Result<Self, ScoringError> {
        let mut slot = RUNTIME.lock();
        if let Some(rt) = slot.as_ref() {
            return match lib_path {
                Some(p) if !same_file(p, &rt.inner.library) => {
                    Err(ScoringError::AlreadyInitialized {
                        loaded: rt.inner.library.clone(),
                        requested: p.to_path_buf(),
                    })
                }
                _ => Ok(rt.clone()),
            };
        }
        let library = match lib_path {
            Some(p) if p.is_file() => p.to_path_buf(),
            Some(p) => {
                return Err(ScoringError::LibraryNotFound {
                    searched: vec![p.to_path_buf()],
                });
            }
            None => find_library(None)?,
        };
        let load_error = |message: String| ScoringError::LibraryLoad {
            path: library.clone(),
            message,
        };
        let environment = ort::init_from(&library)
            .map_err(|e| load_error(e.to_string()))?
            .with_name("allot")
            .with_telemetry(false)
            .build()
            .map_err(|e| load_error(e.to_string()))?;
        let rt = Self {
            inner: Arc::new(Inner {
                library,
                environment,
            }),
        };
        *slot = Some(rt.clone());
        Ok(rt)
    }

    /// The runtime if it has been initialised.
    pub fn get() -> Option<Self> {
        RUNTIME.lock().clone()
    }

    /// The library file this runtime was loaded from.
    pub fn library(&self) -> &Path {
        &self.inner.library
    }

    pub(crate) fn environment(&self) -> &ort::environment::Environment {
        &self.inner.environment
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Finds the ONNX Runtime library: `$ORT_DYLIB_PATH` if set, else the library
/// inside the project venv, `<root>/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*`,
/// trying as root `repo_root` (if given), this crate's workspace (known at build
/// time), then the current directory and its ancestors.
pub fn find_library(repo_root: Option<&Path>) -> Result<PathBuf, ScoringError> {
    let mut searched = Vec::new();
    if let Some(p) = std::env::var_os(ORT_DYLIB_PATH).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        searched.push(p);
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    roots.extend(repo_root.map(Path::to_path_buf));
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    for root in roots {
        if let Some(lib) = venv_library(&root) {
            return Ok(lib);
        }
        searched.push(
            root.join(".venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*"),
        );
    }
    Err(ScoringError::LibraryNotFound { searched })
}

/// The newest-named `libonnxruntime.so*` inside `<root>/.venv`, if any.
fn venv_library(root: &Path) -> Option<PathBuf> {
    let lib = root.join(".venv").join("lib");
    let mut found: Vec<PathBuf> = Vec::new();
    for python in std::fs::read_dir(&lib).ok()?.flatten() {
        if !python.file_name().to_string_lossy().starts_with("python3") {
            continue;
        }
        let capi = python.path().join("site-packages/onnxruntime/capi");
        let Ok(entries) = std::fs::read_dir(&capi) else {
            continue;
        };
        found.extend(
            entries
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("libonnxruntime.so")
                })
                .map(|e| e.path())
                .filter(|p| p.is_file()),
        );
    }
    found.sort();
    found.pop()
}
