//! Distils a sentence-transformers BERT model into a static token table
//! (model2vec's recipe), deterministically:
//!
//! 1. every vocabulary token `t` goes through the full model as
//!    `[CLS] t [SEP]`; its vector is the output at `t`'s position
//!    (`--pooling token`, the default) or the mean of the three positions
//!    (`--pooling mean`);
//! 2. PCA: centre on the mean of the real tokens (not `[unused…]` or
//!    special tokens) and project on the top `--dims` principal axes (signs
//!    fixed so each axis's largest component is positive);
//! 3. weight each token by its rank in the vocabulary, which lists word
//!    pieces roughly from frequent to rare: `--weighting sif` (the default)
//!    scales by `a / (a + p)` with Zipf's `p ∝ 1 / (rank + 2)` and
//!    `a = --sif` (1e-4); `logrank` by `ln(2 + rank)`; `none` not at all;
//! 4. quantise each row to i8 and write the table (`mnemo_embed::table`)
//!    with the model id `{--name}-static-d{dims}-v1` (plus any non-default
//!    setting).
//!
//! On LoCoMo (`benches/locomo_vectors.rs`) the token's own output beat the
//! three-position mean, SIF beat log-rank and no weighting, and 192 dims
//! kept the full model's recall where 128 lost some.
//!
//! ```sh
//! cargo run --release -p mnemo-embed --features candle --example distill -- \
//!     --model DIR --out crates/embed/assets/minilm-l6-static.mnemoemb [--dims 192]
//! ```
//!
//! `--dims 64,128,256` writes one table per size; `{dims}` in `--out` is
//! replaced by the size. `scripts/distill-embeddings.sh` fetches the model
//! and runs this with the settings of the built-in table.

use std::path::PathBuf;
use std::process::ExitCode;

use mnemo_embed::{CandleEmbedder, Embedder};

/// Bumped whenever the recipe (pooling, PCA, weighting) changes, so tables
/// built differently get different model ids.
const RECIPE: &str = "v1";
/// The SIF coefficient `a` of the built-in table.
const DEFAULT_SIF: f64 = 1e-4;
/// Sequences per forward pass.
const BATCH: usize = 512;

struct Args {
    model: PathBuf,
    name: String,
    out: String,
    dims: Vec<usize>,
    pooling: String,
    weighting: String,
    sif: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        model: PathBuf::new(),
        name: "minilm-l6".into(),
        out: String::new(),
        dims: vec![192],
        pooling: "token".into(),
        weighting: "sif".into(),
        sif: DEFAULT_SIF,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => args.model = PathBuf::from(value()?),
            "--out" => args.out = value()?,
            "--name" => args.name = value()?,
            "--dims" => {
                args.dims = value()?
                    .split(',')
                    .map(|d| d.trim().parse().map_err(|e| format!("--dims {d}: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--pooling" => args.pooling = value()?,
            "--weighting" => args.weighting = value()?,
            "--sif" => args.sif = value()?.parse().map_err(|e| format!("--sif: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.model.as_os_str().is_empty() || args.out.is_empty() {
        return Err(
            "usage: distill --model DIR --out PATH [--dims 192[,…]] [--pooling token|mean] \
             [--weighting sif|logrank|none] [--sif 1e-4] [--name minilm-l6]"
                .into(),
        );
    }
    if !["token", "mean"].contains(&args.pooling.as_str()) {
        return Err(format!("unknown pooling {}", args.pooling));
    }
    if !["sif", "logrank", "none"].contains(&args.weighting.as_str()) {
        return Err(format!("unknown weighting {}", args.weighting));
    }
    if args.dims.len() > 1 && !args.out.contains("{dims}") {
        return Err("several --dims need {dims} in --out".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("distill: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let model = CandleEmbedder::load(&args.model, "distill-source").map_err(|e| e.to_string())?;
    let vocab = model.vocabulary();
    let (cls, sep) = match (model.token_to_id("[CLS]"), model.token_to_id("[SEP]")) {
        (Some(c), Some(s)) => (c, s),
        _ => return Err("the tokenizer lacks [CLS] or [SEP]".into()),
    };
    if (0..vocab.len()).any(|i| model.token_to_id(&vocab[i]) != Some(i as u32)) {
        return Err("token ids are not 0..vocabulary size".into());
    }
    let width = model.dims();
    eprintln!("{} tokens, {width} dims: running the model…", vocab.len());
    let mut states = Vec::with_capacity(vocab.len() * width);
    let ids: Vec<u32> = (0..vocab.len() as u32).collect();
    for (n, chunk) in ids.chunks(BATCH).enumerate() {
        let batch: Vec<Vec<u32>> = chunk.iter().map(|&t| vec![cls, t, sep]).collect();
        for rows in model.hidden_states(&batch).map_err(|e| e.to_string())? {
            if args.pooling == "token" {
                states.extend(rows[1].iter().map(|&x| f64::from(x)));
            } else {
                states.extend(
                    (0..width).map(|i| rows.iter().map(|r| f64::from(r[i])).sum::<f64>() / 3.0),
                );
            }
        }
        if n % 10 == 0 {
            eprintln!("  {} / {}", (n + 1) * BATCH, vocab.len());
        }
    }

    // Fit the PCA on real tokens only: [unused…] rows were never trained and
    // special tokens never occur in tokenised text.
    let fit: Vec<usize> = (0..vocab.len())
        .filter(|&t| !(vocab[t].starts_with('[') && vocab[t].ends_with(']')))
        .collect();
    let (mean, axes) = principal_axes(&states, width, &fit);
    let weights = weights(&args, vocab.len());
    for &dims in &args.dims {
        if dims == 0 || dims > width {
            return Err(format!("--dims {dims} must be in 1..={width}"));
        }
        let mut table = Vec::with_capacity(vocab.len() * dims);
        for t in 0..vocab.len() {
            let row = &states[t * width..(t + 1) * width];
            let weight = weights[t];
            for axis in axes.iter().take(dims) {
                let projected: f64 = row
                    .iter()
                    .zip(&mean)
                    .zip(axis)
                    .map(|((x, m), a)| (x - m) * a)
                    .sum();
                table.push((projected * weight) as f32);
            }
        }
        let model_id = model_id(&args, dims);
        let bytes = mnemo_embed::table::encode(&model_id, &vocab, dims, &table, "[UNK]")
            .map_err(|e| e.to_string())?;
        let out = args.out.replace("{dims}", &dims.to_string());
        std::fs::write(&out, &bytes).map_err(|e| format!("{out}: {e}"))?;
        eprintln!("wrote {out}: {model_id}, {} bytes", bytes.len());
    }
    Ok(())
}

/// `{name}-static-d{dims}-{RECIPE}`, plus any setting that differs from the
/// built-in table's, so differently built tables never share an id.
fn model_id(args: &Args, dims: usize) -> String {
    let mut id = format!("{}-static-d{dims}-{RECIPE}", args.name);
    if args.pooling != "token" {
        id += &format!("-{}", args.pooling);
    }
    if args.weighting != "sif" {
        id += &format!("-{}", args.weighting);
    } else if args.sif != DEFAULT_SIF {
        id += &format!("-sif{}", args.sif);
    }
    id
}

/// The frequency weight of each token, by its rank in the vocabulary.
fn weights(args: &Args, vocab: usize) -> Vec<f64> {
    let harmonic: f64 = (0..vocab).map(|r| 1.0 / (r as f64 + 2.0)).sum();
    (0..vocab)
        .map(|rank| match args.weighting.as_str() {
            "sif" => {
                let p = 1.0 / (rank as f64 + 2.0) / harmonic;
                args.sif / (args.sif + p)
            }
            "logrank" => (rank as f64 + 2.0).ln(),
            _ => 1.0,
        })
        .collect()
}

/// The mean of the `fit` rows of `states` (row-major, `width` wide) and the
/// eigenvectors of their covariance, largest eigenvalue first.
fn principal_axes(states: &[f64], width: usize, fit: &[usize]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut mean = vec![0.0; width];
    for &t in fit {
        mean.iter_mut()
            .zip(&states[t * width..(t + 1) * width])
            .for_each(|(m, x)| *m += x);
    }
    mean.iter_mut().for_each(|m| *m /= fit.len() as f64);
    let mut cov = vec![0.0; width * width];
    let mut centred = vec![0.0; width];
    for &t in fit {
        for (c, (x, m)) in centred
            .iter_mut()
            .zip(states[t * width..(t + 1) * width].iter().zip(&mean))
        {
            *c = x - m;
        }
        for i in 0..width {
            let ci = centred[i];
            for j in i..width {
                cov[i * width + j] += ci * centred[j];
            }
        }
    }
    for i in 0..width {
        for j in 0..i {
            cov[i * width + j] = cov[j * width + i];
        }
    }
    let (values, vectors) = jacobi_eigen(cov, width);
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let axes = order
        .into_iter()
        .map(|k| {
            let mut axis: Vec<f64> = (0..width).map(|i| vectors[i * width + k]).collect();
            let largest = axis
                .iter()
                .copied()
                .fold(0.0, |m: f64, x| if x.abs() > m.abs() { x } else { m });
            if largest < 0.0 {
                axis.iter_mut().for_each(|x| *x = -*x);
            }
            axis
        })
        .collect();
    (mean, axes)
}

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations:
/// eigenvalues, and eigenvectors as the columns of a row-major matrix.
fn jacobi_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        let diag: f64 = (0..n).map(|i| a[i * n + i].powi(2)).sum();
        if off <= 1e-22 * diag {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}
