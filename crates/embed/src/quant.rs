//! 8-bit storage of embedding vectors, and scoring a query against them.
//!
//! A quantised vector of `d` dimensions is `4 + d` bytes: the scale as an
//! f32 (little-endian), then one i8 per component; component `i` is
//! `scale · q[i]`, with the vector's largest magnitude stored as ±127. For a
//! unit vector the error per component is at most `scale / 2 ≤ 1/254`, and
//! the error of a dot product with a unit query is at most `√d / 254` in the
//! worst case and about `1/254 · √(1/3)` in practice (errors cancel).
//! At 128 dimensions that is 132 bytes a vector: 132 MB for a million.

/// Bytes of a quantised vector of `dims` dimensions.
pub const fn quantized_len(dims: usize) -> usize {
    4 + dims
}

/// Quantises `v` (see the module notes for the layout). Non-finite
/// components are stored as 0.
pub fn quantize(v: &[f32]) -> Vec<u8> {
    let max = v
        .iter()
        .filter(|x| x.is_finite())
        .fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
    let mut out = Vec::with_capacity(quantized_len(v.len()));
    out.extend_from_slice(&scale.to_le_bytes());
    out.extend(v.iter().map(|&x| {
        let q = if scale > 0.0 && x.is_finite() {
            (x / scale).round().clamp(-127.0, 127.0)
        } else {
            0.0
        };
        q as i8 as u8
    }));
    out
}

/// The f32 vector a quantised one stands for, or `None` when `stored` is
/// shorter than its scale.
pub fn dequantize(stored: &[u8]) -> Option<Vec<f32>> {
    let (scale, values) = split(stored)?;
    Some(values.iter().map(|&q| scale * f32::from(q as i8)).collect())
}

/// The dot product of `query` with a quantised vector: the cosine
/// similarity when both were normalised. Compares `min(query.len(), dims)`
/// components, so a stored vector of the wrong length scores low rather than
/// panicking; check lengths (or model ids) before mixing vectors. Returns 0
/// for a `stored` shorter than its scale.
///
/// Written with eight independent partial sums so the compiler vectorises
/// it (a single running f32 sum has to be added in order).
pub fn dot_quantized(query: &[f32], stored: &[u8]) -> f32 {
    let Some((scale, values)) = split(stored) else {
        return 0.0;
    };
    const LANES: usize = 8;
    let mut sums = [0f32; LANES];
    let q_chunks = query.chunks_exact(LANES);
    let v_chunks = values.chunks_exact(LANES);
    let (q_rest, v_rest) = (q_chunks.remainder(), v_chunks.remainder());
    for (q, v) in q_chunks.zip(v_chunks) {
        for i in 0..LANES {
            sums[i] += q[i] * f32::from(v[i] as i8);
        }
    }
    let tail: f32 = q_rest
        .iter()
        .zip(v_rest)
        .map(|(q, &v)| q * f32::from(v as i8))
        .sum();
    scale * (sums.iter().sum::<f32>() + tail)
}

fn split(stored: &[u8]) -> Option<(f32, &[u8])> {
    let (head, values) = stored.split_first_chunk::<4>()?;
    Some((f32::from_le_bytes(*head), values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{dot, normalize};

    /// A deterministic pseudo-random unit vector.
    fn unit(seed: u64, dims: usize) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut v: Vec<f32> = (0..dims)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        normalize(&mut v);
        v
    }

    #[test]
    fn layout_is_scale_then_i8() {
        let q = quantize(&[0.5, -1.0, 0.0]);
        assert_eq!(q.len(), quantized_len(3));
        assert_eq!(f32::from_le_bytes([q[0], q[1], q[2], q[3]]), 1.0 / 127.0);
        assert_eq!(&q[4..], &[64u8, (-127i8) as u8, 0]);
    }

    #[test]
    fn round_trip_and_dot_error_bounds() {
        for dims in [64, 128, 256, 384, 7] {
            let mut worst_component = 0f32;
            let mut worst_dot = 0f32;
            for seed in 0..200 {
                let v = unit(seed, dims);
                let q = quantize(&v);
                let back = dequantize(&q).expect("has a scale");
                let scale = f32::from_le_bytes([q[0], q[1], q[2], q[3]]);
                for (a, b) in v.iter().zip(&back) {
                    let err = (a - b).abs();
                    assert!(err <= scale / 2.0 + 1e-7, "component error {err}");
                    worst_component = worst_component.max(err);
                }
                let query = unit(seed + 1000, dims);
                let err = (dot_quantized(&query, &q) - dot(&query, &v)).abs();
                assert!(err <= (dims as f32).sqrt() / 254.0, "dot error {err}");
                worst_dot = worst_dot.max(err);
            }
            // Typical errors are far below the worst case.
            assert!(worst_component < 1.0 / 254.0 + 1e-6);
            assert!(worst_dot < 0.01, "dims {dims}: worst dot error {worst_dot}");
        }
    }

    #[test]
    fn self_similarity_is_near_one_and_degenerate_inputs_are_zero() {
        let v = unit(7, 128);
        assert!((dot_quantized(&v, &quantize(&v)) - 1.0).abs() < 2e-3);
        let zero = quantize(&[0.0; 16]);
        assert_eq!(dot_quantized(&v[..16], &zero), 0.0);
        assert_eq!(dot_quantized(&v, &[1, 2]), 0.0);
        assert_eq!(dequantize(&[1, 2]), None);
        let with_nan = quantize(&[f32::NAN, 1.0]);
        assert_eq!(dequantize(&with_nan), Some(vec![0.0, 1.0]));
    }
}
