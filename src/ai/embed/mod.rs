//! Sentence embeddings computed in-process, in pure Rust (DESIGN.md §11, "Semantic matching
//! without a network").
//!
//! An [`Embedder`] loads a sentence-transformers model folder (`config.json`,
//! `model.safetensors`, `tokenizer.json`; all-MiniLM-L6-v2 is the reference model) and turns
//! texts into vectors the way sentence-transformers does for that model: BERT, mean pooling
//! over the real tokens (padding excluded by the attention mask), then L2 normalisation. So
//! [`cosine`] of two vectors is their dot product.
//!
//! Inference is CPU-bound and takes milliseconds to tens of milliseconds: async callers share
//! one `Arc<Embedder>` and call [`Embedder::embed`] inside `spawn_blocking`.
//!
//! ```no_run
//! # fn main() -> Result<(), switchboard::ai::embed::EmbedError> {
//! use switchboard::ai::embed::{Embedder, cosine};
//!
//! let embedder = Embedder::load(std::path::Path::new("/models/all-MiniLM-L6-v2"))?;
//! let v = embedder.embed(&["How long does a refund take?", "When will I get my money back?"])?;
//! assert!(cosine(&v[0], &v[1]) > 0.5);
//! # Ok(())
//! # }
//! ```

mod bert;
mod cache;
mod product;
#[cfg(test)]
mod tests;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

pub use bert::Precision;
use bert::{Bert, Config};
pub use cache::QueryCache;

/// sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2: the model was trained on
/// at most 256 word pieces, so longer inputs are cut there (as sentence-transformers does)
/// rather than at BERT's 512 positions.
const MAX_TOKENS: usize = 256;

/// Texts run through the model together. Attention memory grows with
/// `batch × heads × tokens²` (about 100 MB for 32 texts of 256 tokens), so a long list is cut
/// into batches of this size; 32 is also sentence-transformers' default batch size.
const BATCH_SIZE: usize = 32;

/// Why a model could not be loaded or a text could not be embedded.
///
/// The causes are kept as text so that candle's and tokenizers' error types stay out of this
/// module's public API.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file is missing or unreadable, or does not describe a BERT model.
    #[error("cannot load the embedding model: {0}")]
    Load(String),
    /// The tokenizer rejected a text or its settings.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The forward pass or pooling failed.
    #[error("embedding model: {0}")]
    Model(String),
}

/// A sentence-embedding model on the CPU. Loading reads ~90 MB; share one per process.
pub struct Embedder {
    model: Bert,
    tokenizer: Tokenizer,
    device: Device,
    dimensions: usize,
    pad_id: u32,
}

// The embedder sits in an `Arc` shared by async tasks; fail the build, not the integrator,
// if a dependency upgrade makes the model or tokenizer lose `Send` or `Sync`.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Embedder>();
};

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dimensions", &self.dimensions)
            .field("max_tokens", &MAX_TOKENS)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`, with the
    /// weights at the precision that is faster on this CPU ([`Precision::fastest`]).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        Self::load_with(dir, Precision::fastest())
    }

    /// Like [`load`](Self::load), holding the weights at `precision`.
    pub fn load_with(dir: &Path, precision: Precision) -> Result<Self, EmbedError> {
        let device = Device::Cpu;

        let config_path = dir.join("config.json");
        let config_text = std::fs::read_to_string(&config_path)
            .map_err(|e| EmbedError::Load(format!("{}: {e}", config_path.display())))?;
        let config: Config = serde_json::from_str(&config_text)
            .map_err(|e| EmbedError::Load(format!("{}: {e}", config_path.display())))?;

        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| EmbedError::Load(format!("{}: {e}", tokenizer_path.display())))?;
        // The shipped tokenizer.json pads every text to a fixed 128 and truncates there;
        // `embed` pads each batch itself (to its longest text) and sentence-transformers
        // truncates at 256, so replace both settings.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;

        let weights_path = dir.join("model.safetensors");
        // Read into memory rather than memory-map: mapping is `unsafe` (the file could change
        // under us) and the crate forbids unsafe code; the copy is freed once tensors exist.
        let tensors = candle_core::safetensors::load(&weights_path, &device)
            .map_err(|e| EmbedError::Load(format!("{}: {e}", weights_path.display())))?;
        let model = Bert::new(tensors, &config, precision)
            .map_err(|e| EmbedError::Load(format!("{}: {e}", weights_path.display())))?;

        let pad_id = u32::try_from(config.pad_token_id).map_err(|_| {
            EmbedError::Load(format!("{}: pad_token_id too large", config_path.display()))
        })?;

        Ok(Self {
            model,
            tokenizer,
            device,
            dimensions: config.hidden_size,
            pad_id,
        })
    }

    /// Mean-pooled, L2-normalised vectors, one per text, in input order. Texts longer than
    /// 256 word pieces are truncated; an empty text still gets a vector (from `[CLS] [SEP]`).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // One text (a customer's message, the usual case) is tokenized on this thread:
        // `encode_batch` hands even a single text to rayon's pool and waits for it, a thread
        // wake-up per message that costs more than the tokenizing.
        let encodings = match texts {
            [text] => vec![
                self.tokenizer
                    .encode(*text, true)
                    .map_err(|e| EmbedError::Tokenizer(e.to_string()))?,
            ],
            _ => self
                .tokenizer
                .encode_batch(texts.to_vec(), true)
                .map_err(|e| EmbedError::Tokenizer(e.to_string()))?,
        };

        // Batch texts of similar length so that short ones are not padded to a long one's
        // length: the work per batch follows its longest text.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());

        let mut vectors = vec![Vec::new(); encodings.len()];
        for indices in order.chunks(BATCH_SIZE) {
            let batch: Vec<&Encoding> = indices.iter().map(|&i| &encodings[i]).collect();
            let pooled = self
                .embed_batch(&batch)
                .map_err(|e| EmbedError::Model(e.to_string()))?;
            for (&i, mut vector) in indices.iter().zip(pooled) {
                normalize(&mut vector);
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }

    /// Length of every vector [`embed`](Self::embed) returns (384 for all-MiniLM-L6-v2).
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// Runs one padded batch through BERT and mean-pools each row over its real tokens.
    fn embed_batch(&self, batch: &[&Encoding]) -> candle_core::Result<Vec<Vec<f32>>> {
        let rows = batch.len();
        let width = batch.iter().map(|e| e.len()).max().unwrap_or(0);
        let mut ids = vec![self.pad_id; rows * width];
        let mut type_ids = vec![0u32; rows * width];
        let mut mask = vec![0u32; rows * width];
        for (row, encoding) in batch.iter().enumerate() {
            let start = row * width;
            let end = start + encoding.len();
            ids[start..end].copy_from_slice(encoding.get_ids());
            type_ids[start..end].copy_from_slice(encoding.get_type_ids());
            mask[start..end].copy_from_slice(encoding.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (rows, width), &self.device)?;
        let type_ids = Tensor::from_vec(type_ids, (rows, width), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, width), &self.device)?;

        let hidden = self.model.forward(&ids, &type_ids, &mask)?; // (rows, width, dims)
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (rows, width, 1)
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (rows, dims)
        // Every row has at least [CLS] and [SEP]; the floor only mirrors sentence-transformers'
        // guard against dividing by zero.
        let counts = mask.sum(1)?.maximum(1e-9f32)?; // (rows, 1)
        summed.broadcast_div(&counts)?.to_vec2::<f32>()
    }
}

/// Scales `vector` to unit length, as `torch.nn.functional.normalize` (eps 1e-12) does.
fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    for x in vector.iter_mut() {
        *x /= norm;
    }
}

/// Cosine similarity of two vectors from [`Embedder::embed`]: they are unit length, so it is
/// their dot product, in -1..=1 (higher is more similar).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
