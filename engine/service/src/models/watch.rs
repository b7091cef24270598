//! The watched models directory: a model whose files change in the served
//! directory is reloaded through the same gates as `ReloadModels`, once its
//! files have stopped changing.
//!
//! Every `models.watch_interval_s` the watcher reads the size and
//! modification time of each served model's files (fraud: the ONNX file, its
//! card and the LightGBM text; ETA: the ONNX file, its card and the
//! calibration). A model whose files differ from the last version tried and
//! read the same at two ticks in a row (a copy in progress is left alone) is
//! reloaded live. A refused model is not tried again until its files change
//! again; a reload that could not start (another reload in progress) is
//! tried at the next tick. Outcomes are counted as any reload's
//! (`allot_model_reloads_total`) and logged.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use allot_models::risk::{FRAUD_CARD, FRAUD_LIGHTGBM, FRAUD_ONNX};
use allot_models::transit::{CALIBRATION_FILE, ETA_CARD, ETA_ONNX};

use super::reload::{ReloadRequest, ReloadTarget};
use super::{ModelKind, Models};
use crate::error::Code;

/// What the watcher knows of one file: absent, or its size and modification
/// time.
type FileStamp = Option<(u64, SystemTime)>;

/// The stamps of one model's files, in a fixed order.
type Stamps = Vec<FileStamp>;

/// The files a reload of `kind` reads, relative to the models directory;
/// the first is the model itself.
fn files(kind: ModelKind) -> &'static [&'static str] {
    match kind {
        ModelKind::Fraud => &[FRAUD_ONNX, FRAUD_CARD, FRAUD_LIGHTGBM],
        ModelKind::Eta => &[ETA_ONNX, ETA_CARD, CALIBRATION_FILE],
    }
}

fn stamps(dir: &Path, kind: ModelKind) -> Stamps {
    files(kind)
        .iter()
        .map(|name| {
            let meta = std::fs::metadata(dir.join(name)).ok()?;
            Some((meta.len(), meta.modified().ok()?))
        })
        .collect()
}

/// Whether the model file itself (the first of [`files`]) is present: a
/// directory without it holds no version to try.
fn has_model(stamps: &Stamps) -> bool {
    stamps.first().is_some_and(Option::is_some)
}

/// One model's watch state.
struct Watched {
    /// The stamps of the version last loaded or tried.
    tried: Stamps,
    /// The stamps seen at the previous tick.
    seen: Stamps,
}

impl Models {
    /// How often the models directory is read for changed models; `None`:
    /// it is not watched (`models.watch_interval_s = 0`).
    pub fn watch_interval(&self) -> Option<Duration> {
        (self.config.watch_interval_s > 0)
            .then(|| Duration::from_secs(self.config.watch_interval_s))
    }

    /// Watches the served models directory and reloads a model whose files
    /// changed (see the module documentation). Runs until dropped; returns
    /// at once when watching is off.
    pub async fn watch(&self) {
        let Some(every) = self.watch_interval() else {
            return;
        };
        let dir = self.engine.models_dir.clone();
        let mut kinds = vec![ModelKind::Fraud];
        if self.engine.eta.is_some() {
            kinds.push(ModelKind::Eta);
        }
        let read = |dir: std::path::PathBuf, kinds: Vec<ModelKind>| async move {
            tokio::task::spawn_blocking(move || {
                kinds
                    .into_iter()
                    .map(|k| (k, stamps(&dir, k)))
                    .collect::<HashMap<_, _>>()
            })
            .await
            .unwrap_or_default()
        };
        // What is served now counts as tried: only a change reloads.
        let mut watched: HashMap<ModelKind, Watched> = read(dir.clone(), kinds.clone())
            .await
            .into_iter()
            .map(|(k, s)| {
                (
                    k,
                    Watched {
                        tried: s.clone(),
                        seen: s,
                    },
                )
            })
            .collect();
        tracing::info!(dir = %dir.display(), every_s = every.as_secs(), "watching the models directory for changed models");
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = read(dir.clone(), kinds.clone()).await;
            for kind in &kinds {
                let (Some(current), Some(state)) = (now.get(kind), watched.get_mut(kind)) else {
                    continue;
                };
                let settled = *current == state.seen;
                state.seen = current.clone();
                if !settled || *current == state.tried || !has_model(current) {
                    continue;
                }
                let request = ReloadRequest {
                    dir: None,
                    kinds: vec![*kind],
                    target: ReloadTarget::Live,
                };
                match self.reload(request).await {
                    Ok(done) => {
                        state.tried = current.clone();
                        for m in &done.models {
                            tracing::info!(model = %m.name, version = %m.version, "a changed model in the watched directory passed its gates and is live");
                        }
                    }
                    Err(e) if e.code() == Code::Aborted => {
                        // another reload holds the models: try at the next tick
                    }
                    Err(e) => {
                        state.tried = current.clone();
                        tracing::warn!(model = kind.as_str(), error = %e, "a changed model in the watched directory was not loaded; the live version keeps serving until its files change again");
                    }
                }
            }
        }
    }
}
