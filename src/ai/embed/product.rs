//! A dense layer's f32 matrix product for the few token rows of a message, with the weights
//! laid out once, when the model loads, in the order the product reads them.
//!
//! candle hands f32 products to the `gemm` crate, which copies the weight matrix into its
//! own layout on every call: for a message of a dozen rows that copy is as much work as the
//! product (a quarter of a message's model pass in a profile on an AVX2 machine). Here the
//! weights are copied once into panels of two vectors' width of outputs, each panel one row
//! per input; a tile of up to [`ROWS`] token rows is multiplied by a panel with every running
//! sum in a register (6 rows × 2 vectors: 12 of AVX2's 16 registers), one broadcast input
//! and two multiply-adds per row and input.
//!
//! Every output is its input row's products added in input order, whatever the tile or the
//! batch, so a text's vector is the same alone or in a batch.

use super::bert::simd;

/// Token rows per tile. On AVX-512, with twice the registers, tiles of up to 8 or 12 rows
/// were measured no faster (products of MiniLM's shapes run at about the FMA units' peak
/// either way).
const ROWS: usize = 6;

/// A weight matrix (outputs × inputs, as stored by PyTorch) and its bias, laid out for
/// [`Packed::forward`].
pub(super) struct Packed {
    inputs: usize,
    outputs: usize,
    /// Outputs per panel: two vectors of this CPU's widest instructions.
    width: usize,
    /// Per panel, per input, `width` weights; zeros past the last output.
    panels: Vec<f32>,
    /// Per panel, `width` biases; zeros past the last output.
    bias: Vec<f32>,
}

impl Packed {
    /// `weight`: `outputs` rows of `inputs` values; `bias`: `outputs` values.
    pub(super) fn new(weight: &[f32], bias: &[f32], outputs: usize, inputs: usize) -> Packed {
        Packed::for_lanes(weight, bias, outputs, inputs, simd().dispatch(Lanes))
    }

    /// Laid out for vectors of `lanes` f32 (the CPU's widest, but for tests).
    fn for_lanes(
        weight: &[f32],
        bias: &[f32],
        outputs: usize,
        inputs: usize,
        lanes: usize,
    ) -> Packed {
        assert_eq!(weight.len(), outputs * inputs, "weight is outputs × inputs");
        assert_eq!(bias.len(), outputs, "one bias per output");
        let width = 2 * lanes;
        let panel_count = outputs.div_ceil(width);
        let mut panels = vec![0.0f32; panel_count * inputs * width];
        for (output, row) in weight.chunks_exact(inputs.max(1)).enumerate() {
            let (panel, column) = (output / width, output % width);
            let base = panel * inputs * width;
            for (input, w) in row.iter().enumerate() {
                panels[base + input * width + column] = *w;
            }
        }
        let mut padded_bias = vec![0.0f32; panel_count * width];
        padded_bias[..outputs].copy_from_slice(bias);
        Packed {
            inputs,
            outputs,
            width,
            panels,
            bias: padded_bias,
        }
    }

    /// `x`: rows of `inputs` values. Returns the rows' products plus the bias, `outputs`
    /// values each.
    pub(super) fn forward(&self, x: &[f32]) -> Vec<f32> {
        let (rows, mut out) = self.output_for(x);
        simd().dispatch(Product {
            packed: self,
            x,
            rows,
            out: &mut out,
        });
        out
    }

    /// [`forward`](Self::forward) with the instructions of `simd`, on panels laid out for
    /// its width: tests compare the copies.
    #[cfg(test)]
    fn forward_on<S: pulp::Simd>(&self, simd: S, x: &[f32]) -> Vec<f32> {
        let (rows, mut out) = self.output_for(x);
        let product = Product {
            packed: self,
            x,
            rows,
            out: &mut out,
        };
        pulp::WithSimd::with_simd(product, simd);
        out
    }

    /// The number of rows in `x`, and room for their outputs.
    fn output_for(&self, x: &[f32]) -> (usize, Vec<f32>) {
        assert!(
            self.inputs > 0 && x.len().is_multiple_of(self.inputs),
            "input rows of {} values",
            self.inputs
        );
        let rows = x.len() / self.inputs;
        (rows, vec![0.0f32; rows * self.outputs])
    }
}

/// The number of f32 lanes in this CPU's widest vectors.
struct Lanes;

impl pulp::WithSimd for Lanes {
    type Output = usize;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> usize {
        S::F32_LANES
    }
}

struct Product<'a> {
    packed: &'a Packed,
    x: &'a [f32],
    rows: usize,
    out: &'a mut [f32],
}

impl pulp::WithSimd for Product<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Product {
            packed,
            x,
            rows,
            out,
        } = self;
        debug_assert_eq!(packed.width, 2 * S::F32_LANES);
        let panel_len = packed.inputs * packed.width;
        let panels = packed.panels.chunks_exact(panel_len);
        for (index, (panel, bias)) in panels
            .zip(packed.bias.chunks_exact(packed.width))
            .enumerate()
        {
            let (panel, _) = S::as_simd_f32s(panel);
            let (bias, _) = S::as_simd_f32s(bias);
            let first = index * packed.width;
            let place = Place {
                inputs: packed.inputs,
                outputs: packed.outputs,
                first,
                count: packed.width.min(packed.outputs - first),
            };
            // Tiles of even size (15 rows: three of 5, not 6, 6 and 3): a tile of few rows
            // has too few running sums to hide the multiply-add's latency.
            let tiles = rows.div_ceil(ROWS);
            let mut row = 0;
            for done in 0..tiles {
                let tile = (rows - row).div_ceil(tiles - done);
                let x = &x[row * packed.inputs..(row + tile) * packed.inputs];
                let out = &mut out[row * packed.outputs..(row + tile) * packed.outputs];
                match tile {
                    6 => multiply::<S, 6>(simd, panel, bias, x, out, place),
                    5 => multiply::<S, 5>(simd, panel, bias, x, out, place),
                    4 => multiply::<S, 4>(simd, panel, bias, x, out, place),
                    3 => multiply::<S, 3>(simd, panel, bias, x, out, place),
                    2 => multiply::<S, 2>(simd, panel, bias, x, out, place),
                    1 => multiply::<S, 1>(simd, panel, bias, x, out, place),
                    _ => unreachable!("tiles of 1 to {ROWS} rows"),
                }
                row += tile;
            }
        }
    }
}

/// Where a panel's outputs go in each output row.
#[derive(Clone, Copy)]
struct Place {
    inputs: usize,
    outputs: usize,
    /// The panel's first output.
    first: usize,
    /// Its outputs that exist (the last panel may be short).
    count: usize,
}

/// `R` rows of `x` times one panel (two vectors per input), plus its bias (two vectors),
/// into `out`'s rows.
#[inline(always)]
fn multiply<S: pulp::Simd, const R: usize>(
    simd: S,
    panel: &[S::f32s],
    bias: &[S::f32s],
    x: &[f32],
    out: &mut [f32],
    place: Place,
) {
    let zero = simd.splat_f32s(0.0);
    let mut sums = [[zero; 2]; R];
    let rows: [&[f32]; R] = core::array::from_fn(|r| &x[r * place.inputs..][..place.inputs]);
    for (input, weights) in panel.chunks_exact(2).enumerate() {
        let (low, high) = (weights[0], weights[1]);
        for (sum, row) in sums.iter_mut().zip(&rows) {
            let value = simd.splat_f32s(row[input]);
            sum[0] = simd.mul_add_e_f32s(value, low, sum[0]);
            sum[1] = simd.mul_add_e_f32s(value, high, sum[1]);
        }
    }
    for (r, sum) in sums.iter().enumerate() {
        let row = &mut out[r * place.outputs + place.first..][..place.count];
        let (low, high) = row.split_at_mut(place.count.min(S::F32_LANES));
        simd.partial_store_f32s(low, simd.add_f32s(sum[0], bias[0]));
        if !high.is_empty() {
            simd.partial_store_f32s(high, simd.add_f32s(sum[1], bias[1]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition, in f64.
    fn reference(weight: &[f32], bias: &[f32], inputs: usize, x: &[f32]) -> Vec<f64> {
        let outputs = bias.len();
        let rows = x.len() / inputs;
        let mut out = vec![0.0f64; rows * outputs];
        for r in 0..rows {
            for o in 0..outputs {
                out[r * outputs + o] = (0..inputs)
                    .map(|i| f64::from(x[r * inputs + i]) * f64::from(weight[o * inputs + i]))
                    .sum::<f64>()
                    + f64::from(bias[o]);
            }
        }
        out
    }

    fn values(count: usize, seed: usize) -> Vec<f32> {
        (0..count)
            .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 2003.0 - 0.5) * 0.2)
            .collect()
    }

    #[test]
    fn equals_the_plain_product_for_any_row_count_and_a_short_last_panel() {
        // Outputs that leave a last panel part of one vector (37 and 100: 5 and 4 of AVX2's
        // panel of 16; 37, 45 and 100: 5, 13 and 4 of AVX-512's 32), part of its second vector
        // (45, 24: 13 and 8 with AVX2; 24, 52: 24 and 20 with AVX-512), or none (384, 16 and
        // 64 with AVX2; 384 and 64 with AVX-512, where 16 fills only the first); 1–13 rows:
        // every tile size and uneven tilings.
        let shapes = [
            (37, 50),
            (45, 20),
            (24, 7),
            (384, 384),
            (16, 3),
            (100, 9),
            (52, 11),
            (64, 5),
        ];
        for (outputs, inputs) in shapes {
            let weight = values(outputs * inputs, 1);
            let bias = values(outputs, 2);
            let packed = Packed::new(&weight, &bias, outputs, inputs);
            for rows in 1..=13 {
                let x = values(rows * inputs, rows + 2);
                let ours = packed.forward(&x);
                let exact = reference(&weight, &bias, inputs, &x);
                assert_eq!(ours.len(), rows * outputs);
                for (got, want) in ours.iter().zip(&exact) {
                    assert!(
                        (f64::from(*got) - want).abs() < 1e-5,
                        "{outputs}×{inputs}, {rows} rows: {got} against {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn avx2_and_avx512_give_the_same_bits() {
        // Each output adds its products in input order with fused multiply-adds on both, so
        // the panel's width changes which register holds an output, not its value.
        let (Some(v3), Some(v4)) = (pulp::x86::V3::try_new(), pulp::x86::V4::try_new()) else {
            return; // this CPU has not both: nothing to compare
        };
        for (outputs, inputs) in [(37, 50), (52, 11), (384, 384)] {
            let weight = values(outputs * inputs, 6);
            let bias = values(outputs, 7);
            let avx2 = Packed::for_lanes(&weight, &bias, outputs, inputs, 8);
            let avx512 = Packed::for_lanes(&weight, &bias, outputs, inputs, 16);
            for rows in [1, 5, 13] {
                let x = values(rows * inputs, rows);
                let ours = avx2.forward_on(v3, &x);
                assert!(
                    ours == avx512.forward_on(v4, &x),
                    "{outputs}×{inputs}, {rows} rows"
                );
                assert!(ours == Packed::new(&weight, &bias, outputs, inputs).forward(&x));
            }
        }
    }

    #[test]
    fn a_row_gets_the_same_bits_alone_and_anywhere_in_a_batch() {
        let (outputs, inputs) = (100, 64);
        let packed = Packed::new(
            &values(outputs * inputs, 3),
            &values(outputs, 5),
            outputs,
            inputs,
        );
        let batch = values(11 * inputs, 4);
        let together = packed.forward(&batch);
        for (r, row) in batch.chunks_exact(inputs).enumerate() {
            assert_eq!(
                packed.forward(row),
                together[r * outputs..(r + 1) * outputs],
                "row {r}"
            );
        }
    }
}
