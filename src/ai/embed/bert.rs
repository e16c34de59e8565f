//! The BERT encoder of a sentence-transformers model, written out in plain loops over each
//! layer's rows (candle loads the weights and runs the 8-bit products): the model is small
//! (6 layers of 384 for all-MiniLM-L6-v2) and its inputs are a sentence, so the work is a few
//! dozen small matrix products whose weights can be held as 8-bit integers
//! (GGML's Q8_0: blocks of 32 with one scale), four times less memory to stream per message
//! than f32 and integer dot products instead of float ones.

use std::collections::HashMap;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Module, Tensor};

use super::product::Packed;

/// How the weights of the matrix products are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// As trained (f32), laid out for our own product ([`Packed`]): identical to
    /// sentence-transformers to about 1e-5.
    F32,
    /// 8-bit blocks (Q8_0) for every product but the attention's values; vectors stay
    /// within cosine 0.99 of the f32 model, in about half the time.
    Q8,
}

impl Precision {
    /// The precision to run on this machine, from a measurement taken once per process
    /// ([`Precision::measured`]).
    pub fn fastest() -> Precision {
        Precision::measured().map_or(Precision::F32, |m| m.chosen)
    }

    /// Both kernels timed once per process on a product of MiniLM's shape (a sentence of 16
    /// word pieces through a 1536×384 layer); `None` if the 8-bit one could not run. 8-bit
    /// blocks stream a quarter of the memory, but their integer kernel is not faster on every
    /// CPU: on some it is twice as slow as the f32 one, on others as fast.
    pub fn measured() -> Option<Measured> {
        static MEASURED: std::sync::OnceLock<Option<Measured>> = std::sync::OnceLock::new();
        *MEASURED.get_or_init(|| match measure() {
            Ok(m) => {
                tracing::info!(
                    f32_us = m.f32.as_micros() as u64,
                    q8_us = m.q8.as_micros() as u64,
                    chosen = ?m.chosen,
                    "embedding weights: precision measured on this CPU"
                );
                Some(m)
            }
            Err(e) => {
                tracing::warn!(error = %e, "embedding weights: 8-bit kernel failed; f32");
                None
            }
        })
    }
}

/// The two kernels' times on the same product, and the precision taken.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub f32: std::time::Duration,
    pub q8: std::time::Duration,
    pub chosen: Precision,
}

/// 8-bit is taken only when it is faster than f32 by at least this factor. It costs
/// accuracy (one answer and one out-of-scope handoff fewer on the evaluation set), and where
/// the two are about as fast (AVX-512 with VNNI) a plain comparison flipped with the
/// machine's noise, so that the bot's answers could change from one restart to the next.
const Q8_MIN_SPEEDUP: f64 = 1.25;

fn measure() -> candle_core::Result<Measured> {
    let device = candle_core::Device::Cpu;
    let (n, k) = (1536usize, 384usize);
    // Deterministic weights of a trained layer's range; the values do not change the speed.
    let values: Vec<f32> = (0..n * k)
        .map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.1)
        .collect();
    let f32_input: Vec<f32> = (0..16 * k)
        .map(|i| ((i * 104_729 % 997) as f32 / 997.0) - 0.5)
        .collect();
    let f32_product = Packed::new(&values, &vec![0.0; n], n, k);
    let weight = Tensor::from_vec(values, (n, k), &device)?;
    let x = Tensor::from_slice(&f32_input, (16, k), &device)?;
    let pad = k.next_multiple_of(TILE_K) - k;
    let q8_product = QMatMul::from_qtensor(QTensor::quantize(
        &weight.pad_with_zeros(1, 0, pad)?,
        GgmlDType::Q8_0,
    )?)?;
    let q8_input = x.pad_with_zeros(1, 0, pad)?;
    let f32_time = best_of_five(|| {
        std::hint::black_box(f32_product.forward(&f32_input));
        Ok(())
    })?;
    let q8_time = best_of_five(|| q8_product.forward(&q8_input).map(drop))?;
    let chosen = if q8_time.as_secs_f64() * Q8_MIN_SPEEDUP < f32_time.as_secs_f64() {
        Precision::Q8
    } else {
        Precision::F32
    };
    Ok(Measured {
        f32: f32_time,
        q8: q8_time,
        chosen,
    })
}

/// The shortest of five runs, after one to warm up.
fn best_of_five(
    mut run: impl FnMut() -> candle_core::Result<()>,
) -> candle_core::Result<std::time::Duration> {
    run()?;
    let mut best = std::time::Duration::MAX;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        run()?;
        best = best.min(started.elapsed());
    }
    Ok(best)
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
enum Dense {
    /// f32, multiplied by our own kernel.
    F32(Packed),
    /// 8-bit blocks, multiplied by candle's integer kernels.
    Q8 {
        weight: QMatMul,
        bias: Tensor,
        inputs: usize,
        /// Zero columns appended to the weights (and zeros to the input): candle's integer
        /// kernels for x86 (AVX512-VNNI, AVX-VNNI) take inputs in whole blocks of 256, and
        /// MiniLM's 384 is not one; without them the product runs on a generic path slower
        /// than f32.
        pad: usize,
    },
}

/// Input width of candle's tiled integer kernels.
const TILE_K: usize = 256;

impl Dense {
    /// Rows of inputs in, rows of outputs out.
    fn forward(&self, x: &[f32]) -> candle_core::Result<Vec<f32>> {
        match self {
            Dense::F32(packed) => Ok(packed.forward(x)),
            Dense::Q8 {
                weight,
                bias,
                inputs,
                pad,
            } => {
                let x = Tensor::from_slice(x, (x.len() / inputs, *inputs), bias.device())?;
                let y = if *pad > 0 {
                    weight.forward(&x.pad_with_zeros(1, 0, *pad)?)?
                } else {
                    weight.forward(&x)?
                };
                y.broadcast_add(bias)?.flatten_all()?.to_vec1::<f32>()
            }
        }
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    /// Layer norm of each row of `values`, in place, on this thread. candle-nn's splits its
    /// rows over rayon's global pool, which for a message's dozen rows is a thread hand-off
    /// and wake-up per norm (thirteen per message) that cost more than the arithmetic.
    fn apply(&self, values: &mut [f32]) {
        simd().dispatch(NormRows {
            norm: self,
            values,
            residual: None,
        });
    }

    /// Layer norm of `values + residual` (a sublayer's output and its input), in place.
    fn apply_with_residual(&self, values: &mut [f32], residual: &[f32]) {
        assert_eq!(values.len(), residual.len(), "residual of the same shape");
        simd().dispatch(NormRows {
            norm: self,
            values,
            residual: Some(residual),
        });
    }
}

/// The widest vector instructions this CPU has (512-bit AVX-512 where present, else 256-bit
/// AVX2), detected once.
/// The model's own loops (attention, layer norm, GELU, the f32 product) run through its
/// `dispatch`, which compiles them for those instructions and picks that copy at run time, so
/// the binary still runs on any x86-64 (pulp checks the CPU; no `unsafe` here). Only what is
/// inlined into `with_simd` is compiled that way: hence the `#[inline(always)]` on it and on
/// the helpers it calls (a closure would be called through its `FnOnce` shim, which is not
/// inlined).
/// No `mul_add` in attention, layer norm or GELU: without it Rust never fuses a multiply and
/// an add, so their results are the same on every CPU. The f32 product does fuse them where
/// the CPU can (see `product`); every loop adds in an order that does not depend on the batch,
/// so a text's vector stays the same alone or in a batch.
pub(super) fn simd() -> pulp::Arch {
    static ARCH: std::sync::OnceLock<pulp::Arch> = std::sync::OnceLock::new();
    *ARCH.get_or_init(pulp::Arch::new)
}

/// One layer norm over rows of the norm's width, in place, of the values plus the residual
/// if given.
struct NormRows<'a> {
    norm: &'a Norm,
    values: &'a mut [f32],
    residual: Option<&'a [f32]>,
}

impl pulp::WithSimd for NormRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let NormRows {
            norm,
            values,
            residual,
        } = self;
        if let Some(residual) = residual {
            for (v, r) in values.iter_mut().zip(residual) {
                *v += r;
            }
        }
        let width = norm.gamma.len();
        for row in values.chunks_exact_mut(width) {
            let mean = lane_sum(row, |v| v) / width as f32;
            let variance = lane_sum(row, |v| (v - mean) * (v - mean)) / width as f32;
            let scale = 1.0 / (variance + norm.eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
                *v = (*v - mean) * scale * g + b;
            }
        }
    }
}

/// The sum of `f` over `row` in eight running sums, which the compiler keeps in a vector
/// register (a single running sum of floats must be added in order, one element at a time).
#[inline(always)]
fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let chunks = row.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    let mut lanes = [0.0f32; 8];
    for c in chunks {
        for l in 0..8 {
            lanes[l] += f(c[l]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// How the rows of a batch are laid out for attention: `rows` texts of `width` tokens, each
/// token's vector `heads` heads of `head` values side by side.
#[derive(Debug, Clone, Copy)]
struct Heads {
    rows: usize,
    width: usize,
    heads: usize,
    head: usize,
}

/// Scaled dot-product attention of every head, on this thread, straight from the
/// projections' layout (per token: queries then keys in `qk`, values in `v`, each
/// heads × head) into the context's (per token, heads × head). A message has a dozen
/// tokens, so each head's products are a few thousand multiply-adds: as tensor operations
/// they were two dozen matrix-product calls, transposed copies and a rayon hand-off per
/// layer, which cost more than the arithmetic. `real` marks the tokens that are not padding
/// (None: no padding); padding is left out of every text's keys and values.
///
/// Per text and head, the real tokens' keys are copied out transposed (one row per key
/// dimension) and their values side by side, so that both a query's scores and its context
/// are sums of whole rows scaled by one number each ([`combine`]): running sums held in
/// vector registers, where adding into memory a row at a time waited on the previous
/// store, and a dot product per pair ended in a horizontal sum. Softmax's exponential is
/// [`exp_nonpositive`], a loop the compiler vectorizes, where libm's `expf` was a call per
/// score (a sixth of a reply's time on an AVX-512 machine, with the rest of attention).
/// Every sum adds in the same order whatever the batch or the vector width, and nothing is
/// fused into FMA: this attention gives a text the same bits alone or padded in a batch, and
/// on every CPU (the product before it fuses where the CPU can: see `product`).
fn attention(qk: &[f32], v: &[f32], real: Option<&[bool]>, s: Heads) -> Vec<f32> {
    simd().dispatch(Attention { qk, v, real, s })
}

struct Attention<'a> {
    qk: &'a [f32],
    v: &'a [f32],
    real: Option<&'a [bool]>,
    s: Heads,
}

impl pulp::WithSimd for Attention<'_> {
    type Output = Vec<f32>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> Vec<f32> {
        let Attention { qk, v, real, s } = self;
        let h = s.heads * s.head;
        let scale = 1.0 / (s.head as f32).sqrt();
        let mut context = vec![0.0f32; s.rows * s.width * h];
        let mut keys = vec![0.0f32; s.head * s.width];
        let mut values = vec![0.0f32; s.width * s.head];
        let mut weights = vec![0.0f32; s.width];
        let mut members = Vec::with_capacity(s.width);
        for row in 0..s.rows {
            let first = row * s.width;
            members.clear();
            members.extend((first..first + s.width).filter(|&t| real.is_none_or(|r| r[t])));
            let count = members.len();
            let weights = &mut weights[..count];
            for head in 0..s.heads {
                let cols = head * s.head..(head + 1) * s.head;
                for (m, &token) in members.iter().enumerate() {
                    let key = &qk[token * 2 * h + h..][cols.clone()];
                    for (d, k) in key.iter().enumerate() {
                        keys[d * count + m] = *k;
                    }
                    values[m * s.head..][..s.head].copy_from_slice(&v[token * h..][cols.clone()]);
                }
                for i in first..first + s.width {
                    let query = &qk[i * 2 * h..][cols.clone()];
                    combine(simd, query, &keys, count, weights);
                    for w in weights.iter_mut() {
                        *w *= scale;
                    }
                    let max = largest(simd, weights);
                    for w in weights.iter_mut() {
                        *w = exp_nonpositive(*w - max);
                    }
                    let sum: f32 = weights.iter().sum();
                    for w in weights.iter_mut() {
                        *w /= sum;
                    }
                    let out = &mut context[i * h..][cols.clone()];
                    combine(simd, weights, &values, s.head, out);
                }
            }
        }
        context
    }
}

/// `out[c] = Σ_k coefficients[k] · rows[k · stride + c]`: the first `out.len()` values of
/// each of the rows (`stride` apart), scaled and added up in row order. The running sums
/// stay in registers, four vectors' worth of outputs at a time. Multiplies and adds are
/// separate instructions, so the result is the same on every CPU.
#[inline(always)]
fn combine<S: pulp::Simd>(
    simd: S,
    coefficients: &[f32],
    rows: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let block = 4 * S::F32_LANES;
    for (index, out) in out.chunks_mut(block).enumerate() {
        let start = index * block;
        match out.len().div_ceil(S::F32_LANES) {
            4 => combine_block::<S, 4>(simd, coefficients, rows, stride, start, out),
            3 => combine_block::<S, 3>(simd, coefficients, rows, stride, start, out),
            2 => combine_block::<S, 2>(simd, coefficients, rows, stride, start, out),
            _ => combine_block::<S, 1>(simd, coefficients, rows, stride, start, out),
        }
    }
}

/// [`combine`] for the `out.len()` (at most `N` vectors of) outputs from `start`.
#[inline(always)]
fn combine_block<S: pulp::Simd, const N: usize>(
    simd: S,
    coefficients: &[f32],
    rows: &[f32],
    stride: usize,
    start: usize,
    out: &mut [f32],
) {
    let lanes = S::F32_LANES;
    let width = out.len();
    let mut sums = [simd.splat_f32s(0.0); N];
    for (k, c) in coefficients.iter().enumerate() {
        let c = simd.splat_f32s(*c);
        let row = &rows[k * stride + start..][..width];
        for (n, sum) in sums.iter_mut().enumerate() {
            let part = &row[n * lanes..width.min((n + 1) * lanes)];
            let x = if part.len() == lanes {
                S::as_simd_f32s(part).0[0]
            } else {
                simd.partial_load_f32s(part)
            };
            *sum = simd.add_f32s(*sum, simd.mul_f32s(c, x));
        }
    }
    for (n, sum) in sums.iter().enumerate() {
        simd.partial_store_f32s(&mut out[n * lanes..width.min((n + 1) * lanes)], *sum);
    }
}

/// The largest of `values` (−∞ for none), a vector at a time: the compiler does not vectorize
/// a float maximum itself (it keeps `f32::max`'s handling of NaN, one element at a time),
/// and a maximum is the same in any order.
#[inline(always)]
fn largest<S: pulp::Simd>(simd: S, values: &[f32]) -> f32 {
    let (vectors, rest) = S::as_simd_f32s(values);
    let mut lanes = simd.splat_f32s(f32::NEG_INFINITY);
    for v in vectors {
        lanes = simd.max_f32s(lanes, *v);
    }
    rest.iter()
        .fold(simd.reduce_max_f32s(lanes), |max, v| max.max(*v))
}

/// `e^x` for `x ≤ 0` (softmax's scores less their maximum), within two units in the last
/// place; 0 below -87, where `e^x` leaves f32's normal range. Cephes' method: `x = n·ln 2 + r`
/// with `|r| ≤ ln 2 / 2` (ln 2 in two parts, so `r` loses nothing), a degree-6 polynomial for
/// `e^r`, and `2^n` built from its exponent bits. No branches and no calls, so a loop over it
/// vectorizes; no fused multiply-adds, so every CPU gives the same bits. A NaN gives `e^-87`
/// rather than NaN (scores are NaN only from broken weights).
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    // Adding 1.5 · 2²³ rounds to a whole number, which is then in the low bits.
    const ROUND: f32 = 12_582_912.0;
    let clamped = x.max(-87.0);
    let shifted = clamped * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = clamped - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = p * r + c;
    }
    let e_r = p * r * r + r + 1.0;
    let n = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let two_to_n = f32::from_bits(((n + 127) << 23) as u32);
    if x < -87.0 { 0.0 } else { e_r * two_to_n }
}

struct Layer {
    /// The query and key projections as one product (queries in the first half of each
    /// output row, keys in the second): the input is quantized once for both.
    query_key: Dense,
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
    /// The tensor as stored (any dtype).
    fn stored(&self, name: &str) -> candle_core::Result<&Tensor> {
        self.0
            .get(name)
            .or_else(|| self.0.get(&format!("bert.{name}")))
            .ok_or_else(|| candle_core::Error::Msg(format!("no tensor `{name}` in the weights")))
    }

    fn get(&self, name: &str) -> candle_core::Result<Tensor> {
        self.stored(name)?.to_dtype(DType::F32)
    }

    /// `shape`: the (outputs, inputs) the layer must have.
    fn dense(
        &self,
        prefix: &str,
        precision: Precision,
        shape: (usize, usize),
    ) -> candle_core::Result<Dense> {
        self.dense_joined(&[prefix], precision, shape)
    }

    /// The products of `prefixes` (same input width) as one, their outputs side by side in
    /// the order given. A model file whose layers are not of `shape` is refused here, at
    /// load, rather than misread row by row later.
    fn dense_joined(
        &self,
        prefixes: &[&str],
        precision: Precision,
        shape: (usize, usize),
    ) -> candle_core::Result<Dense> {
        let part = |suffix: &str| -> candle_core::Result<Tensor> {
            let parts = prefixes
                .iter()
                .map(|p| self.get(&format!("{p}.{suffix}")))
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::cat(&parts, 0)
        };
        let weight = part("weight")?;
        let bias = part("bias")?;
        let (outputs, inputs) = weight.dims2()?;
        if (outputs, inputs) != shape {
            candle_core::bail!(
                "{prefixes:?}: weights of {outputs}×{inputs}, the configuration says {}×{}",
                shape.0,
                shape.1
            );
        }
        if bias.dims1()? != outputs {
            candle_core::bail!("{prefixes:?}: one bias per output");
        }
        Ok(match precision {
            Precision::F32 => Dense::F32(Packed::new(
                &weight.flatten_all()?.to_vec1::<f32>()?,
                &bias.to_vec1::<f32>()?,
                outputs,
                inputs,
            )),
            Precision::Q8 => {
                let pad = inputs.next_multiple_of(TILE_K) - inputs;
                let padded = weight.pad_with_zeros(1, 0, pad)?;
                let q = QTensor::quantize(&padded, GgmlDType::Q8_0)?;
                Dense::Q8 {
                    weight: QMatMul::from_qtensor(q)?,
                    bias,
                    inputs,
                    pad,
                }
            }
        })
    }

    fn norm(&self, prefix: &str, eps: f64, width: usize) -> candle_core::Result<Norm> {
        let gamma = self.get(&format!("{prefix}.weight"))?.to_vec1::<f32>()?;
        let beta = self.get(&format!("{prefix}.bias"))?.to_vec1::<f32>()?;
        if gamma.len() != width || beta.len() != width {
            candle_core::bail!(
                "`{prefix}`: weight and bias of {} and {}, the configuration says {width}",
                gamma.len(),
                beta.len()
            );
        }
        Ok(Norm {
            gamma,
            beta,
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
        let h = config.hidden_size;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                let square = (h, h);
                let inner = w
                    .stored(&format!("{p}.intermediate.dense.weight"))?
                    .dims2()?
                    .0;
                Ok(Layer {
                    query_key: w.dense_joined(
                        &[
                            &format!("{p}.attention.self.query"),
                            &format!("{p}.attention.self.key"),
                        ],
                        precision,
                        (2 * h, h),
                    )?,
                    // The value projection stays f32 at every precision: in 8 bits it alone
                    // moves vectors to cosine 0.988 of the f32 model (the other five products
                    // together cost less than 0.006).
                    value: w.dense(&format!("{p}.attention.self.value"), Precision::F32, square)?,
                    attention_out: w.dense(
                        &format!("{p}.attention.output.dense"),
                        precision,
                        square,
                    )?,
                    attention_norm: w.norm(&format!("{p}.attention.output.LayerNorm"), eps, h)?,
                    intermediate: w.dense(
                        &format!("{p}.intermediate.dense"),
                        precision,
                        (inner, h),
                    )?,
                    output: w.dense(&format!("{p}.output.dense"), precision, (h, inner))?,
                    output_norm: w.norm(&format!("{p}.output.LayerNorm"), eps, h)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Bert {
            word: w.get("embeddings.word_embeddings.weight")?,
            position: w.get("embeddings.position_embeddings.weight")?,
            token_type: w.get("embeddings.token_type_embeddings.weight")?,
            embedding_norm: w.norm("embeddings.LayerNorm", eps, h)?,
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
        let mut x = x.flatten_all()?.to_vec1::<f32>()?;
        self.embedding_norm.apply(&mut x);

        // Which tokens are real, per row: padding gets no attention. A single text (the usual
        // query) has none.
        let real: Option<Vec<bool>> = if rows > 1 {
            Some(
                mask.flatten_all()?
                    .to_vec1::<u32>()?
                    .iter()
                    .map(|&m| m != 0)
                    .collect(),
            )
        } else {
            None
        };
        let shape = Heads {
            rows,
            width,
            heads,
            head,
        };
        for layer in &self.layers {
            let qk = layer.query_key.forward(&x)?;
            let v = layer.value.forward(&x)?;
            let context = attention(&qk, &v, real.as_deref(), shape);
            let mut attended = layer.attention_out.forward(&context)?;
            layer.attention_norm.apply_with_residual(&mut attended, &x);
            let mut inner = layer.intermediate.forward(&attended)?;
            gelu_erf(&mut inner);
            x = layer.output.forward(&inner)?;
            layer.output_norm.apply_with_residual(&mut x, &attended);
        }
        Tensor::from_vec(x, (rows, width, h), ids.device())
    }
}

/// BERT's exact GELU, `x · Φ(x)` with `Φ(x) = (1 + erf(x/√2)) / 2`, in place.
///
/// candle's `gelu_erf` calls a scalar libm `erf` per element, a tenth of a message's model
/// pass; this one is a loop the compiler vectorizes (see [`erf`]).
fn gelu_erf(values: &mut [f32]) {
    simd().dispatch(Gelu(values));
}

struct Gelu<'a>(&'a mut [f32]);

impl pulp::WithSimd for Gelu<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        for v in self.0.iter_mut() {
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

/// `erf` in f32 as a rational function of `x` (odd polynomial over even polynomial, the
/// approximation XLA and Eigen use for float `erf`): within a few units in the last place
/// on [-4, 4], and ±1 beyond, where f32 cannot tell `erf` from 1. No branches and no calls,
/// so a loop over it vectorizes.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    for a in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ] {
        p = p * x2 + a;
    }
    let mut q = -1.456_607_2e-5_f32;
    for b in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = q * x2 + b;
    }
    x * p / q
}

#[cfg(test)]
mod gelu_tests {
    use super::*;

    #[test]
    fn erf_matches_the_exact_function_across_its_range() {
        // Reference values of erf (to 1e-9) and its symmetry and limits.
        for (x, expected) in [
            (0.0f32, 0.0f64),
            (0.1, 0.112_462_916),
            (0.5, 0.520_499_878),
            (1.0, 0.842_700_793),
            (1.5, 0.966_105_146),
            (2.0, 0.995_322_265),
            (3.0, 0.999_977_910),
            (6.0, 1.0),
        ] {
            for (x, expected) in [(x, expected), (-x, -expected)] {
                let got = f64::from(erf(x));
                assert!(
                    (got - expected).abs() < 2e-7,
                    "erf({x}) = {got}, not {expected}"
                );
            }
        }
    }

    #[test]
    fn the_softmax_exponential_is_within_two_units_in_the_last_place_and_zero_past_f32s_range() {
        let mut worst = 0.0f64;
        for i in 0..=870_000 {
            let x = -(i as f32) / 10_000.0;
            let exact = f64::from(x).exp();
            let relative = (f64::from(exp_nonpositive(x)) - exact).abs() / exact;
            worst = worst.max(relative);
        }
        // f32's unit in the last place is 2⁻²³ ≈ 1.2e-7 of the value.
        assert!(worst < 2.4e-7, "worst relative error {worst}");
        assert_eq!(
            exp_nonpositive(0.0),
            1.0,
            "the largest score weighs exactly 1"
        );
        assert_eq!(exp_nonpositive(-87.5), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn the_largest_score_is_found_for_any_length_on_every_instruction_set() {
        fn check<S: pulp::Simd>(simd: S) {
            assert_eq!(largest(simd, &[]), f32::NEG_INFINITY);
            for len in 1..=40 {
                let values: Vec<f32> = (0..len).map(|i| ((i * 37 % 23) as f32) - 30.0).collect();
                let expected = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                assert_eq!(largest(simd, &values), expected, "{len} values");
            }
        }
        check(pulp::Scalar::new());
        if let Some(simd) = pulp::x86::V3::try_new() {
            check(simd);
        }
        if let Some(simd) = pulp::x86::V4::try_new() {
            check(simd);
        }
    }

    #[test]
    fn gelu_over_a_tensor_equals_candles_exact_gelu() {
        let values: Vec<f32> = (0..2_000).map(|i| (i as f32 - 1_000.0) / 150.0).collect();
        let x = Tensor::from_vec(values.clone(), (4, 500), &candle_core::Device::Cpu).unwrap();
        let mut ours = values;
        gelu_erf(&mut ours);
        let ours = Tensor::from_vec(ours, (4, 500), &candle_core::Device::Cpu).unwrap();
        let worst = super::norm_tests::largest_difference(&ours, &x.gelu_erf().unwrap());
        assert!(worst < 1e-6, "largest difference {worst}");
    }
}

#[cfg(test)]
mod norm_tests {
    use super::*;

    fn sample(rows: usize, width: usize) -> Tensor {
        let values: Vec<f32> = (0..rows * width)
            .map(|i| ((i * 7919 % 1000) as f32 / 100.0) - 5.0)
            .collect();
        Tensor::from_vec(values, (rows, width), &candle_core::Device::Cpu).unwrap()
    }

    pub(super) fn largest_difference(a: &Tensor, b: &Tensor) -> f32 {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn layer_norm_equals_candles() {
        let x = sample(7, 384);
        let gamma: Vec<f32> = (0..384).map(|i| 0.5 + i as f32 / 384.0).collect();
        let beta: Vec<f32> = (0..384).map(|i| (i as f32 - 192.0) / 1000.0).collect();
        let device = candle_core::Device::Cpu;
        let norm = Norm {
            gamma: gamma.clone(),
            beta: beta.clone(),
            eps: 1e-12,
        };
        let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let mut ours = values(&x);
        norm.apply(&mut ours);
        let ours = Tensor::from_vec(ours, (7, 384), &device).unwrap();
        let theirs = candle_nn::ops::layer_norm(
            &x,
            &Tensor::new(gamma, &device).unwrap(),
            &Tensor::new(beta, &device).unwrap(),
            1e-12,
        )
        .unwrap();
        assert!(largest_difference(&ours, &theirs) < 1e-5);

        // With a residual: the norm of the sum, as candle's add then norm.
        let residual = (sample(7, 384).flip_rows() * 0.5).unwrap();
        let mut ours = values(&x);
        norm.apply_with_residual(&mut ours, &values(&residual));
        let ours = Tensor::from_vec(ours, (7, 384), &device).unwrap();
        let mut summed = values(&(&x + &residual).unwrap());
        norm.apply(&mut summed);
        let summed = Tensor::from_vec(summed, (7, 384), &device).unwrap();
        assert_eq!(largest_difference(&ours, &summed), 0.0);
    }

    /// Attention as tensor operations (split heads, scaled products, padding bias, softmax,
    /// weighted sum, heads joined): the reference for [`attention`].
    fn attention_as_tensors(q: &Tensor, k: &Tensor, v: &Tensor, mask: &[u32], s: Heads) -> Tensor {
        let split = |t: &Tensor| {
            t.reshape((s.rows, s.width, s.heads, s.head))
                .unwrap()
                .transpose(1, 2)
                .unwrap()
                .contiguous()
                .unwrap()
        };
        let q = (split(q) * (1.0 / (s.head as f64).sqrt())).unwrap();
        let (k, v) = (split(k), split(v));
        let device = candle_core::Device::Cpu;
        let bias = Tensor::from_vec(
            mask.iter()
                .map(|&m| if m == 0 { -1e9f32 } else { 0.0 })
                .collect::<Vec<_>>(),
            (s.rows, 1, 1, s.width),
            &device,
        )
        .unwrap();
        let scores = q
            .matmul(&k.t().unwrap())
            .unwrap()
            .broadcast_add(&bias)
            .unwrap();
        candle_nn::ops::softmax_last_dim(&scores)
            .unwrap()
            .matmul(&v)
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .contiguous()
            .unwrap()
            .reshape((s.rows * s.width, s.heads * s.head))
            .unwrap()
    }

    /// Queries, keys and values of every token, (tokens, heads × head) each; the keys unlike
    /// the queries.
    fn projections(s: Heads) -> (Tensor, Tensor, Tensor) {
        let (tokens, h) = (s.rows * s.width, s.heads * s.head);
        let q = (sample(tokens, h) * 0.2).unwrap();
        let k = (sample(tokens, h).flip_rows() * 0.3).unwrap();
        (q, k, sample(tokens, h))
    }

    #[test]
    fn attention_equals_the_tensor_formulation_with_and_without_padding() {
        let s = Heads {
            rows: 2,
            width: 9,
            heads: 12,
            head: 32,
        };
        let (tokens, h) = (s.rows * s.width, s.heads * s.head);
        let (q, k, v) = projections(s);
        // The first text is six tokens long, three of padding (`embed` puts the shorter texts
        // of a batch first); the second fills its row.
        let mask: Vec<u32> = (0..tokens)
            .map(|i| u32::from(!(6..9).contains(&i)))
            .collect();
        let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let real: Vec<bool> = mask.iter().map(|&m| m != 0).collect();
        let qk = values(&Tensor::cat(&[&q, &k], 1).unwrap());
        let ours = attention(&qk, &values(&v), Some(&real), s);
        let ours = Tensor::from_vec(ours, (tokens, h), &candle_core::Device::Cpu).unwrap();
        let theirs = attention_as_tensors(&q, &k, &v, &mask, s);
        assert!(largest_difference(&ours, &theirs) < 1e-4);
        // No padding marked: every token counts, as with an all-ones mask.
        let ours = attention(&qk, &values(&v), None, s);
        let ours = Tensor::from_vec(ours, (tokens, h), &candle_core::Device::Cpu).unwrap();
        let theirs = attention_as_tensors(&q, &k, &v, &vec![1; tokens], s);
        assert!(largest_difference(&ours, &theirs) < 1e-4);
    }

    /// Attention compiled for `simd` (the dispatched copy runs only the CPU's best).
    fn attention_with<S: pulp::Simd>(
        simd: S,
        qk: &[f32],
        v: &[f32],
        real: Option<&[bool]>,
        s: Heads,
    ) -> Vec<f32> {
        pulp::WithSimd::with_simd(Attention { qk, v, real, s }, simd)
    }

    #[test]
    fn attention_gives_the_same_bits_on_every_instruction_set_and_to_a_text_alone() {
        // A head of 20 (not a whole number of vectors), 70 tokens (more than four vectors of
        // scores, even of 16 lanes), and padding in the middle and at the start of rows.
        let s = Heads {
            rows: 2,
            width: 70,
            heads: 3,
            head: 20,
        };
        let (tokens, h) = (s.rows * s.width, s.heads * s.head);
        let (q, k, v) = projections(s);
        let padding = |t: usize| (20..26).contains(&t) || (70..73).contains(&t);
        let mask: Vec<u32> = (0..tokens).map(|t| u32::from(!padding(t))).collect();
        let real: Vec<bool> = mask.iter().map(|&m| m != 0).collect();
        let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let qk = values(&Tensor::cat(&[&q, &k], 1).unwrap());
        let v = values(&v);

        let scalar = attention_with(pulp::Scalar::new(), &qk, &v, Some(&real), s);
        if let Some(simd) = pulp::x86::V3::try_new() {
            assert!(
                attention_with(simd, &qk, &v, Some(&real), s) == scalar,
                "AVX2"
            );
        }
        if let Some(simd) = pulp::x86::V4::try_new() {
            assert!(
                attention_with(simd, &qk, &v, Some(&real), s) == scalar,
                "AVX-512"
            );
        }
        assert!(
            attention(&qk, &v, Some(&real), s) == scalar,
            "this CPU's copy"
        );

        let cpu = &candle_core::Device::Cpu;
        let ours = Tensor::from_vec(scalar.clone(), (tokens, h), cpu).unwrap();
        let v_tensor = Tensor::from_vec(v.clone(), (tokens, h), cpu).unwrap();
        let theirs = attention_as_tensors(&q, &k, &v_tensor, &mask, s);
        // Padding's own rows are not compared: nothing reads them.
        for t in (0..tokens).filter(|&t| real[t]) {
            let diff = largest_difference(&ours.get(t).unwrap(), &theirs.get(t).unwrap());
            assert!(diff < 1e-4, "token {t}: {diff}");
        }

        // The first text's real tokens alone, unpadded: the same bits as in the batch.
        let alone: Vec<usize> = (0..s.width).filter(|&t| real[t]).collect();
        let pick = |all: &[f32], width: usize| -> Vec<f32> {
            alone
                .iter()
                .flat_map(|&t| all[t * width..(t + 1) * width].iter().copied())
                .collect()
        };
        let single = Heads {
            rows: 1,
            width: alone.len(),
            ..s
        };
        let by_itself = attention(&pick(&qk, 2 * h), &pick(&v, h), None, single);
        assert!(by_itself == pick(&scalar, h), "alone against in the batch");
    }

    trait FlipRows {
        fn flip_rows(&self) -> Tensor;
    }

    impl FlipRows for Tensor {
        /// The rows in reverse order: keys unlike the queries.
        fn flip_rows(&self) -> Tensor {
            let rows = self.dims()[0];
            let index: Vec<u32> = (0..rows as u32).rev().collect();
            let index = Tensor::new(index, &candle_core::Device::Cpu).unwrap();
            self.index_select(&index, 0).unwrap()
        }
    }
}

#[cfg(test)]
mod precision_tests {
    use super::*;

    #[test]
    fn both_precisions_run_a_product_of_minilms_shape_and_one_is_chosen_for_good() {
        let m = measure().expect("both kernels run");
        assert!(m.f32 > std::time::Duration::ZERO && m.q8 > std::time::Duration::ZERO);
        // 8-bit only when clearly faster.
        let q8_clearly_faster = m.q8.as_secs_f64() * Q8_MIN_SPEEDUP < m.f32.as_secs_f64();
        assert_eq!(m.chosen == Precision::Q8, q8_clearly_faster, "{m:?}");
        assert_eq!(Precision::fastest(), Precision::fastest());
        assert_eq!(
            Precision::fastest(),
            Precision::measured().expect("measured").chosen
        );
    }
}
