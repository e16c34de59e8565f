//! Band-limited resampling of mono s16 PCM (espeak-ng's 22 050 Hz to 8 or 16 kHz).
//!
//! A windowed-sinc (Blackman) interpolator written here rather than `rubato`: we need two fixed
//! ratios on short prompts rendered offline, not streaming or SIMD. rubato would bring an FFT
//! stack (realfft, rustfft and their dependencies) for that; ~60 lines that are tested below
//! (length, tone frequency, DC gain, aliasing) are cheaper to own.
//!
//! The low-pass cutoff sits at 0.45 × the lower of the two rates (90 % of its Nyquist), so a
//! downsample removes what would otherwise alias into the telephone band.

use std::f64::consts::PI;

/// Zero crossings of the sinc on each side of the centre, at the cutoff frequency. 16 gives a
/// stop-band well below what 16-bit telephony can hear, at ~90 taps for 22 050 → 8 000.
const ZERO_CROSSINGS: f64 = 16.0;
/// Cutoff as a fraction of the lower Nyquist frequency: room for the window's transition band.
const ROLLOFF: f64 = 0.9;

/// Resample `input` from `from_hz` to `to_hz`. Output length is `ceil(len × to / from)`.
pub fn resample(input: &[i16], from_hz: u32, to_hz: u32) -> Vec<i16> {
    if from_hz == to_hz || input.is_empty() || from_hz == 0 || to_hz == 0 {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to_hz)).div_ceil(u64::from(from_hz)) as usize;
    let ratio = f64::from(from_hz) / f64::from(to_hz); // input samples per output sample
    // Cutoff in cycles per input sample.
    let cutoff = 0.5 * ROLLOFF * (f64::from(to_hz) / f64::from(from_hz)).min(1.0);
    let half_width = ZERO_CROSSINGS / (2.0 * cutoff);
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let t = n as f64 * ratio;
        let first = (t - half_width).ceil().max(0.0) as usize;
        let last = ((t + half_width).floor() as usize).min(input.len() - 1);
        let mut acc = 0.0;
        let mut weight_sum = 0.0;
        // Sum weights over the whole kernel, not just the in-range part, so the signal fades
        // at the edges (zero padding) instead of being amplified there.
        let k_lo = (t - half_width).ceil() as i64;
        let k_hi = (t + half_width).floor() as i64;
        for k in k_lo..=k_hi {
            let w = kernel(t - k as f64, cutoff, half_width);
            weight_sum += w;
            if k >= first as i64 && k <= last as i64 {
                acc += w * f64::from(input[k as usize]);
            }
        }
        // Normalising by the tap sum makes DC gain exactly 1 whatever the fractional phase.
        let y = if weight_sum.abs() > f64::EPSILON {
            acc / weight_sum
        } else {
            0.0
        };
        out.push(y.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16);
    }
    out
}

/// Blackman-windowed sinc low-pass at `cutoff` cycles/sample, evaluated at offset `x` samples.
fn kernel(x: f64, cutoff: f64, half_width: f64) -> f64 {
    if x.abs() >= half_width {
        return 0.0;
    }
    let arg = 2.0 * cutoff * x;
    let sinc = if arg.abs() < 1e-12 {
        1.0
    } else {
        (PI * arg).sin() / (PI * arg)
    };
    let phase = PI * (x / half_width + 1.0); // 0 … 2π across the window
    let window = 0.42 - 0.5 * phase.cos() + 0.08 * (2.0 * phase).cos();
    2.0 * cutoff * sinc * window
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<i16> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()).round() as i16)
            .collect()
    }

    /// Amplitude of `freq` in `x` by correlation (a single DFT bin), over the middle half to
    /// avoid the zero-padded edges.
    fn amplitude_at(x: &[i16], rate: u32, freq: f64) -> f64 {
        let (lo, hi) = (x.len() / 4, 3 * x.len() / 4);
        let (mut re, mut im) = (0.0, 0.0);
        for (i, s) in x[lo..hi].iter().enumerate() {
            let ph = 2.0 * PI * freq * (i + lo) as f64 / f64::from(rate);
            re += f64::from(*s) * ph.cos();
            im += f64::from(*s) * ph.sin();
        }
        2.0 * (re * re + im * im).sqrt() / (hi - lo) as f64
    }

    #[test]
    fn output_length_follows_the_ratio() {
        let x = vec![0i16; 22_050];
        assert_eq!(resample(&x, 22_050, 8_000).len(), 8_000);
        assert_eq!(resample(&x, 22_050, 16_000).len(), 16_000);
        assert_eq!(resample(&x[..1001], 22_050, 8_000).len(), 364); // ceil(1001·8000/22050)
        assert_eq!(resample(&x, 8_000, 8_000).len(), 22_050);
    }

    #[test]
    fn dc_is_preserved() {
        let x = vec![1000i16; 22_050];
        let y = resample(&x, 22_050, 8_000);
        let mid = &y[100..y.len() - 100];
        assert!(
            mid.iter().all(|&s| (s - 1000).abs() <= 1),
            "{:?}",
            &mid[..10]
        );
    }

    #[test]
    fn a_tone_keeps_its_frequency() {
        let x = tone(440.0, 22_050, 1.0, 10_000.0);
        for to in [8_000, 16_000] {
            let y = resample(&x, 22_050, to);
            let at_440 = amplitude_at(&y, to, 440.0);
            let at_other = amplitude_at(&y, to, 600.0);
            assert!(
                (at_440 - 10_000.0).abs() < 200.0,
                "440 Hz amplitude {at_440} at {to}"
            );
            assert!(at_other < 100.0, "leak at 600 Hz: {at_other}");
        }
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed_not_aliased() {
        // 6 kHz is above 4 kHz Nyquist at 8 kHz; naive decimation would fold it to 2 kHz.
        let x = tone(6_000.0, 22_050, 1.0, 10_000.0);
        let y = resample(&x, 22_050, 8_000);
        assert!(amplitude_at(&y, 8_000, 2_000.0) < 100.0);
        let rms = (y[2000..6000]
            .iter()
            .map(|&s| f64::from(s).powi(2))
            .sum::<f64>()
            / 4000.0)
            .sqrt();
        assert!(rms < 100.0, "rms {rms}");
    }
}
