//! A loaded ONNX model checked against its card, with its session pool.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::card::{Dim, ModelCard, TensorSpec};
use super::error::ScoringError;
use super::pool::SessionPool;
use super::runtime::OrtRuntime;

/// Options for [`Model::load_with`].
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// Sessions in the pool: how many threads can score this model at once.
    /// Default: the number of cores.
    pub sessions: usize,
}

impl Default for ModelOptions {
    fn default() -> Self {
        Self {
            sessions: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// An ONNX model whose graph was checked against its card at load.
pub struct Model {
    card: ModelCard,
    path: PathBuf,
    pool: SessionPool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.card.name)
            .field("version", &self.card.version)
            .field("path", &self.path)
            .field("sessions", &self.pool.size())
            .finish()
    }
}

impl Model {
    /// Loads `onnx_path` with its card `card_path` on the process runtime
    /// ([`OrtRuntime::init`]`(None)`), one session per core.
    pub fn load(onnx_path: &Path, card_path: &Path) -> Result<Self, ScoringError> {
        Self::load_with(
            &OrtRuntime::init(None)?,
            onnx_path,
            card_path,
            &ModelOptions::default(),
        )
    }

    /// Loads a model on `runtime` with explicit options.
    pub fn load_with(
        runtime: &OrtRuntime,
        onnx_path: &Path,
        card_path: &Path,
        options: &ModelOptions,
    ) -> Result<Self, ScoringError> {
        let card = ModelCard::load(card_path)?;
        card.check()?;
        let bytes = std::fs::read(onnx_path).map_err(|e| ScoringError::Session {
            path: onnx_path.to_path_buf(),
            message: e.to_string(),
        })?;
        let sessions = (0..options.sessions.max(1))
            .map(|_| new_session(runtime, &bytes, onnx_path))
            .collect::<Result<Vec<_>, _>>()?;
        let model = Self {
            card,
            path: onnx_path.to_path_buf(),
            pool: SessionPool::new(sessions),
        };
        model.pool.with_any(|s| check_graph(&model.card, s))?;
        Ok(model)
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// The ONNX file this model was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Features per input row.
    pub fn num_features(&self) -> usize {
        self.card.features.len()
    }

    pub(crate) fn mismatch(&self, detail: String) -> ScoringError {
        ScoringError::Mismatch {
            model: self.card.name.clone(),
            detail,
        }
    }

    /// Finds an output the scorer needs: by name, f32, with `columns` columns.
    pub(crate) fn require_output(
        &self,
        name: Option<&str>,
        columns: i64,
    ) -> Result<String, ScoringError> {
        let spec = match name {
            Some(n) => self.card.outputs.iter().find(|o| o.name == n),
            None if self.card.outputs.len() == 1 => self.card.outputs.first(),
            None => None,
        };
        let Some(spec) = spec else {
            let names: Vec<_> = self.card.outputs.iter().map(|o| o.name.as_str()).collect();
            return Err(self.mismatch(format!(
                "needs output {} but the graph has {names:?}",
                name.unwrap_or("(a single output)")
            )));
        };
        if spec.element_type != "f32" || spec.shape.get(1) != Some(&Dim::Fixed(columns)) {
            return Err(self.mismatch(format!(
                "output {:?} must be f32 [N, {columns}], card says {} {:?}",
                spec.name, spec.element_type, spec.shape
            )));
        }
        Ok(spec.name.clone())
    }

    /// Runs `n` rows (row-major, `n * num_features` values) and returns the
    /// f32 output `output`, row-major.
    pub(crate) fn run(&self, rows: &[f32], output: &str) -> Result<Vec<f32>, ScoringError> {
        let f = self.num_features();
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        if !rows.len().is_multiple_of(f) {
            return Err(ScoringError::FeatureCount {
                model: self.card.name.clone(),
                expected: f,
                got: rows.len(),
            });
        }
        let run_error = |e: ort::Error| ScoringError::Run {
            model: self.card.name.clone(),
            message: e.to_string(),
        };
        let input = TensorRef::from_array_view(([rows.len() / f, f], rows)).map_err(run_error)?;
        let mut session = self.pool.checkout();
        let outputs = session.run(ort::inputs![input]).map_err(run_error)?;
        let value = outputs.get(output).ok_or_else(|| ScoringError::Run {
            model: self.card.name.clone(),
            message: format!("no output {output:?}"),
        })?;
        let (_, data) = value.try_extract_tensor::<f32>().map_err(run_error)?;
        Ok(data.to_vec())
    }

    /// Checks one row's length.
    pub(crate) fn check_row(&self, row: &[f32]) -> Result<(), ScoringError> {
        if row.len() == self.num_features() {
            Ok(())
        } else {
            Err(ScoringError::FeatureCount {
                model: self.card.name.clone(),
                expected: self.num_features(),
                got: row.len(),
            })
        }
    }
}

fn new_session(runtime: &OrtRuntime, bytes: &[u8], path: &Path) -> Result<Session, ScoringError> {
    let err = |e: ort::Error| ScoringError::Session {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    // Each builder step returns the builder inside its error; keep only the message.
    let step = |e: ort::Error<ort::session::builder::SessionBuilder>| err(e.into());
    let mut builder = Session::builder(runtime.environment())
        .map_err(err)?
        .with_intra_threads(1)
        .map_err(step)?
        .with_inter_threads(1)
        .map_err(step)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(step)?
        .with_config_entry("session.intra_op.allow_spinning", "0")
        .map_err(step)?
        .with_config_entry("session.inter_op.allow_spinning", "0")
        .map_err(step)?;
    builder.commit_from_memory(bytes).map_err(err)
}

/// The graph's inputs and outputs must be exactly the card's.
fn check_graph(card: &ModelCard, session: &Session) -> Result<(), ScoringError> {
    let mismatch = |detail: String| ScoringError::Mismatch {
        model: card.name.clone(),
        detail,
    };
    let inputs = session.inputs();
    if inputs.len() != 1 {
        let names: Vec<_> = inputs.iter().map(|i| i.name()).collect();
        return Err(mismatch(format!(
            "graph has {} inputs {names:?}, card has one",
            names.len()
        )));
    }
    check_tensor("input", &card.input, inputs[0].name(), inputs[0].dtype()).map_err(mismatch)?;
    let outputs = session.outputs();
    let graph_names: Vec<_> = outputs.iter().map(|o| o.name()).collect();
    let card_names: Vec<_> = card.outputs.iter().map(|o| o.name.as_str()).collect();
    if graph_names != card_names {
        return Err(mismatch(format!(
            "graph outputs {graph_names:?}, card outputs {card_names:?}"
        )));
    }
    for (spec, outlet) in card.outputs.iter().zip(outputs) {
        check_tensor("output", spec, outlet.name(), outlet.dtype()).map_err(mismatch)?;
    }
    Ok(())
}

fn check_tensor(
    what: &str,
    spec: &TensorSpec,
    name: &str,
    dtype: &ValueType,
) -> Result<(), String> {
    if spec.name != name {
        return Err(format!(
            "{what} is named {name:?} in the graph, {:?} in the card",
            spec.name
        ));
    }
    let ValueType::Tensor { ty, shape, .. } = dtype else {
        return Err(format!(
            "{what} {name:?} is not a tensor in the graph ({dtype:?})"
        ));
    };
    let graph_type = match ty {
        TensorElementType::Float32 => "f32",
        TensorElementType::Int64 => "i64",
        other => {
            return Err(format!(
                "{what} {name:?} has element type {other:?} in the graph"
            ));
        }
    };
    if graph_type != spec.element_type {
        return Err(format!(
            "{what} {name:?} is {graph_type} in the graph, {} in the card",
            spec.element_type
        ));
    }
    if shape.len() != spec.shape.len() {
        return Err(format!(
            "{what} {name:?} has shape {:?} in the graph, {:?} in the card",
            &shape[..],
            spec.shape
        ));
    }
    for (k, (g, c)) in shape.iter().zip(&spec.shape).enumerate() {
        let ok = match c {
            Dim::Fixed(n) => g == n,
            Dim::Symbolic(_) => *g < 0,
        };
        if !ok {
            return Err(format!(
                "{what} {name:?} dimension {k} is {g} in the graph (-1 = dynamic), {c:?} in the card; shapes {:?} vs {:?}",
                &shape[..],
                spec.shape
            ));
        }
    }
    Ok(())
}

/// Feature rows accepted by the batch scorers: `[[f32; N]]` (slices, arrays, `Vec`s),
/// or an ndarray `Array2<f32>` / `ArrayView2<f32>` of shape [rows, features].
pub trait FeatureRows {
    /// Values per row.
    fn row_len(&self) -> usize;
    /// All rows, row-major (borrowed when already contiguous).
    fn flat(&self) -> Cow<'_, [f32]>;
}

impl<const N: usize> FeatureRows for [[f32; N]] {
    fn row_len(&self) -> usize {
        N
    }
    fn flat(&self) -> Cow<'_, [f32]> {
        Cow::Borrowed(self.as_flattened())
    }
}

impl<const N: usize, const M: usize> FeatureRows for [[f32; N]; M] {
    fn row_len(&self) -> usize {
        N
    }
    fn flat(&self) -> Cow<'_, [f32]> {
        Cow::Borrowed(self.as_flattened())
    }
}

impl<const N: usize> FeatureRows for Vec<[f32; N]> {
    fn row_len(&self) -> usize {
        N
    }
    fn flat(&self) -> Cow<'_, [f32]> {
        Cow::Borrowed(self.as_flattened())
    }
}

impl FeatureRows for ArrayView2<'_, f32> {
    fn row_len(&self) -> usize {
        self.ncols()
    }
    fn flat(&self) -> Cow<'_, [f32]> {
        match self.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.iter().copied().collect()),
        }
    }
}

impl FeatureRows for Array2<f32> {
    fn row_len(&self) -> usize {
        self.ncols()
    }
    fn flat(&self) -> Cow<'_, [f32]> {
        match self.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.iter().copied().collect()),
        }
    }
}

impl Model {
    /// Flattens batch rows after checking their width.
    pub(crate) fn batch<'r, R: FeatureRows + ?Sized>(
        &self,
        rows: &'r R,
    ) -> Result<Cow<'r, [f32]>, ScoringError> {
        if rows.row_len() != self.num_features() {
            return Err(ScoringError::FeatureCount {
                model: self.card.name.clone(),
                expected: self.num_features(),
                got: rows.row_len(),
            });
        }
        Ok(rows.flat())
    }
}
