//! The BERT encoder of a sentence-transformers model, written out on candle's tensors: the
//! model is small (6 layers of 384 for all-MiniLM-L6-v2) and its inputs are a sentence, so the
//! work is a few dozen small matrix products whose weights can be held as 8-bit integers
//! (GGML's Q8_0: blocks of 32 with one scale), four times less memory to stream per message
//! than f32 and integer dot products instead of float ones.

use std::collections::HashMap;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Module, Tensor};

/// How the weights of the matrix products are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// As trained (f32): identical to sentence-transformers to about 1e-5.
    F32,
    /// 8-bit blocks (Q8_0) for every product but the attention's values; vectors stay
    /// within cosine 0.99 of the f32 model, in about half the time.
    Q8,
}

impl Precision {
    /// The faster of the two on this machine, measured once per process on a product of
    /// MiniLM's shape (a sentence of 16 word pieces through a 1536×384 layer). 8-bit blocks
    /// stream a quarter of the memory, but their integer kernel is not faster on every CPU:
    /// on some it is twice as slow as the f32 one, so the choice is measured, not assumed.
    pub fn fastest() -> Precision {
        static FASTEST: std::sync::OnceLock<Precision> = std::sync::OnceLock::new();
        *FASTEST.get_or_init(|| measure().unwrap_or(Precision::F32))
    }
}

fn measure() -> candle_core::Result<Precision> {
    let device = candle_core::Device::Cpu;
    let (n, k) = (1536usize, 384usize);
    // Deterministic weights of a trained layer's range; the values do not change the speed.
    let values: Vec<f32> = (0..n * k)
        .map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.1)
        .collect();
    let weight = Tensor::from_vec(values, (n, k), &device)?;
    let x = Tensor::from_vec(
        (0..16 * k)
            .map(|i| ((i * 104_729 % 997) as f32 / 997.0) - 0.5)
            .collect::<Vec<f32>>(),
        (16, k),
        &device,
    )?;
    let f32_product = QMatMul::Tensor(weight.clone());
    let pad = k.next_multiple_of(TILE_K) - k;
    let q8_product = QMatMul::from_qtensor(QTensor::quantize(
        &weight.pad_with_zeros(1, 0, pad)?,
        GgmlDType::Q8_0,
    )?)?;
    let q8_input = x.pad_with_zeros(1, 0, pad)?;
    let time = |product: &QMatMul, input: &Tensor| -> candle_core::Result<std::time::Duration> {
        product.forward(input)?;
        let mut best = std::time::Duration::MAX;
        for _ in 0..5 {
            let started = std::time::Instant::now();
            product.forward(input)?;
            best = best.min(started.elapsed());
        }
        Ok(best)
    };
    let f32_time = time(&f32_product, &x)?;
    let q8_time = time(&q8_product, &q8_input)?;
    tracing::info!(
        f32_us = f32_time.as_micros() as u64,
        q8_us = q8_time.as_micros() as u64,
        "embedding weights: the faster precision on this CPU"
    );
    Ok(if q8_time < f32_time {
        Precision::Q8
    } else {
        Precision::F32
    })
}

/// The parts of `config.json` the encoder needs.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Config {
    /// Width of every token's vector.
    pub hidden_size: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Epsilon of every layer norm.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Token id of padding.
    #[serde(default)]
    pub pad_token_id: usize,
    /// Only `gelu` (the exact, erf-based one) is supported: it is what BERT models use.
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

/// A weight matrix (out × in) and its bias.
struct Dense {
    weight: QMatMul,
    bias: Tensor,
    /// Zero columns appended to the 8-bit weights (and zeros to the input): candle's integer
    /// kernels for x86 (AVX512-VNNI, AVX-VNNI) take inputs in whole blocks of 256, and
    /// MiniLM's 384 is not one; without them the product runs on a generic path slower than
    /// f32.
    pad: usize,
}

/// Input width of candle's tiled integer kernels.
const TILE_K: usize = 256;

impl Dense {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = if self.pad > 0 {
            self.weight.forward(&x.pad_with_zeros(1, 0, self.pad)?)?
        } else {
            self.weight.forward(x)?
        };
        y.broadcast_add(&self.bias)
    }
}

struct Norm {
    gamma: Tensor,
    beta: Tensor,
    eps: f32,
}

impl Norm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.gamma, &self.beta, self.eps)
    }
}

struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// The encoder: token ids in, one vector per token out.
pub struct Bert {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
}

/// Weights by name, with or without the `bert.` prefix some exports carry.
struct Weights(HashMap<String, Tensor>);

impl Weights {
    fn get(&self, name: &str) -> candle_core::Result<Tensor> {
        self.0
            .get(name)
            .or_else(|| self.0.get(&format!("bert.{name}")))
            .map(|t| t.to_dtype(DType::F32))
            .unwrap_or_else(|| candle_core::bail!("no tensor `{name}` in the weights"))
    }

    fn dense(&self, prefix: &str, precision: Precision) -> candle_core::Result<Dense> {
        let weight = self.get(&format!("{prefix}.weight"))?;
        let (weight, pad) = match precision {
            Precision::F32 => (QMatMul::Tensor(weight), 0),
            Precision::Q8 => {
                let k = weight.dims2()?.1;
                let pad = k.next_multiple_of(TILE_K) - k;
                let padded = weight.pad_with_zeros(1, 0, pad)?;
                let q = QTensor::quantize(&padded, GgmlDType::Q8_0)?;
                (QMatMul::from_qtensor(q)?, pad)
            }
        };
        Ok(Dense {
            weight,
            bias: self.get(&format!("{prefix}.bias"))?,
            pad,
        })
    }

    fn norm(&self, prefix: &str, eps: f64) -> candle_core::Result<Norm> {
        Ok(Norm {
            gamma: self.get(&format!("{prefix}.weight"))?,
            beta: self.get(&format!("{prefix}.bias"))?,
            eps: eps as f32,
        })
    }
}

impl Bert {
    /// Builds the encoder from a safetensors map (`embeddings.*`, `encoder.layer.N.*`).
    pub fn new(
        tensors: HashMap<String, Tensor>,
        config: &Config,
        precision: Precision,
    ) -> candle_core::Result<Self> {
        if config.hidden_act != "gelu" {
            candle_core::bail!("hidden_act `{}` is not supported", config.hidden_act);
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            candle_core::bail!("hidden_size must be a multiple of num_attention_heads");
        }
        let w = Weights(tensors);
        let eps = config.layer_norm_eps;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    query: w.dense(&format!("{p}.attention.self.query"), precision)?,
                    key: w.dense(&format!("{p}.attention.self.key"), precision)?,
                    // The value projection stays f32 at every precision: in 8 bits it alone
                    // moves vectors to cosine 0.988 of the f32 model (the other five products
                    // together cost less than 0.006).
                    value: w.dense(&format!("{p}.attention.self.value"), Precision::F32)?,
                    attention_out: w.dense(&format!("{p}.attention.output.dense"), precision)?,
                    attention_norm: w.norm(&format!("{p}.attention.output.LayerNorm"), eps)?,
                    intermediate: w.dense(&format!("{p}.intermediate.dense"), precision)?,
                    output: w.dense(&format!("{p}.output.dense"), precision)?,
                    output_norm: w.norm(&format!("{p}.output.LayerNorm"), eps)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Bert {
            word: w.get("embeddings.word_embeddings.weight")?,
            position: w.get("embeddings.position_embeddings.weight")?,
            token_type: w.get("embeddings.token_type_embeddings.weight")?,
            embedding_norm: w.norm("embeddings.LayerNorm", eps)?,
            layers,
            heads: config.num_attention_heads,
            hidden: config.hidden_size,
        })
    }

    /// `ids`, `type_ids`, `mask`: (rows, width), mask 1 for real tokens and 0 for padding.
    /// Returns (rows, width, hidden).
    pub fn forward(
        &self,
        ids: &Tensor,
        type_ids: &Tensor,
        mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (rows, width) = ids.dims2()?;
        let (h, heads) = (self.hidden, self.heads);
        let head = h / heads;
        let positions = Tensor::arange(0u32, width as u32, ids.device())?;
        let x = self
            .word
            .embedding(&ids.flatten_all()?)?
            .reshape((rows, width, h))?
            .broadcast_add(&self.position.embedding(&positions)?)?
            .add(
                &self
                    .token_type
                    .embedding(&type_ids.flatten_all()?)?
                    .reshape((rows, width, h))?,
            )?;
        let mut x = self
            .embedding_norm
            .forward(&x)?
            .reshape((rows * width, h))?;

        // Padding gets a large negative score so softmax gives it no weight; a single text
        // (the usual query) has none, and then no mask is added at all.
        let bias = if rows > 1 {
            let m = mask.to_dtype(DType::F32)?.reshape((rows, 1, 1, width))?;
            Some(((m - 1.0)? * 1e9)?)
        } else {
            None
        };
        let scale = 1.0 / (head as f64).sqrt();
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((rows, width, heads, head))?
                .transpose(1, 2)?
                .contiguous()
        };
        for layer in &self.layers {
            let q = split((layer.query.forward(&x)? * scale)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let mut scores = q.matmul(&k.t()?)?; // (rows, heads, width, width)
            if let Some(b) = &bias {
                scores = scores.broadcast_add(b)?;
            }
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((rows * width, h))?;
            let attended = layer
                .attention_norm
                .forward(&(layer.attention_out.forward(&context)? + &x)?)?;
            let inner = layer.intermediate.forward(&attended)?.gelu_erf()?;
            x = layer
                .output_norm
                .forward(&(layer.output.forward(&inner)? + &attended)?)?;
        }
        x.reshape((rows, width, h))
    }
}

#[cfg(test)]
mod precision_tests {
    use super::*;

    #[test]
    fn both_precisions_run_a_product_of_minilms_shape_and_one_is_chosen_for_good() {
        let chosen = measure().expect("both kernels run");
        assert!(matches!(chosen, Precision::F32 | Precision::Q8));
        assert_eq!(Precision::fastest(), Precision::fastest());
    }
}
