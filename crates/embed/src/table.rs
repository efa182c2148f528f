//! The static embedding table file: vocabulary, a lookup hash and one 8-bit
//! vector per token, laid out so that loading it parses only the header.
//!
//! Layout (all integers little-endian; `n` tokens, `d` dims, `s` slots):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `MNEMOEMB` |
//! | 8 | 4 | format version, `1` |
//! | 12 | 4 | `d`, dimensions |
//! | 16 | 4 | `n`, vocabulary size |
//! | 20 | 4 | `s`, hash slots: a power of two, at least `2n` |
//! | 24 | 4 | id of `[UNK]` |
//! | 28 | 4 | `m`, length of the model id |
//! | 32 | `m` | model id, UTF-8, zero-padded to a multiple of 4 |
//! | … | `4(n+1)` | token `t`'s bytes are `bytes[off[t]..off[t+1]]` of the token bytes |
//! | … | `4s` | hash slots: a token id, or `0xFFFF_FFFF` for empty |
//! | … | `4n` | row scales, f32 |
//! | … | `n·d` | rows, i8: component `i` of token `t` is `scale[t] · row[t][i]` |
//! | … | `off[n]` | token bytes: the tokens' UTF-8, concatenated |
//!
//! A token is found by hashing its bytes (continuation pieces with their
//! `##`) with 32-bit FNV-1a and probing linearly from `hash & (s - 1)`.
//! Row vectors are not normalised: their length carries the token's weight.

use crate::EmbedError;

/// The first eight bytes of a table file.
pub const MAGIC: &[u8; 8] = b"MNEMOEMB";
/// The format version this crate reads and writes.
pub const VERSION: u32 = 1;

const EMPTY: u32 = u32::MAX;
const FIXED_HEADER: usize = 32;

/// 32-bit FNV-1a, continued from `state` (start with [`FNV_START`]).
pub(crate) fn fnv1a(mut state: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        state ^= u32::from(b);
        state = state.wrapping_mul(0x0100_0193);
    }
    state
}

/// FNV-1a's offset basis.
pub(crate) const FNV_START: u32 = 0x811c_9dc5;

/// Byte ranges of a table's sections, found from its header.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub dims: usize,
    pub vocab: usize,
    pub slots: usize,
    pub unk: u32,
    pub model_id: String,
    pub offsets: usize,
    pub hash: usize,
    pub scales: usize,
    pub rows: usize,
    pub strings: usize,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..)?
        .first_chunk()
        .map(|b| u32::from_le_bytes(*b))
}

impl Layout {
    /// Reads and checks the header; the sections' contents are read (and
    /// bounds-checked) only when used.
    pub fn parse(bytes: &[u8]) -> Result<Layout, EmbedError> {
        let bad = |what: &str| EmbedError::Table(what.to_string());
        if bytes.len() < FIXED_HEADER || &bytes[..8] != MAGIC {
            return Err(bad("not a mnemo embedding table (bad magic)"));
        }
        let field = |at| u32_at(bytes, at).ok_or_else(|| bad("truncated header"));
        let version = field(8)?;
        if version != VERSION {
            return Err(EmbedError::Table(format!(
                "format version {version}, this build reads {VERSION}"
            )));
        }
        let [dims, vocab, slots, unk, id_len] =
            [field(12)?, field(16)?, field(20)?, field(24)?, field(28)?].map(|v| v as usize);
        if dims == 0 || vocab == 0 || unk >= vocab {
            return Err(bad("empty table or [UNK] out of range"));
        }
        if !slots.is_power_of_two() || slots < 2 * vocab {
            return Err(bad(
                "hash slots must be a power of two, at least twice the vocabulary",
            ));
        }
        // Section bounds in u64: no overflow whatever the header says.
        let id_end = FIXED_HEADER as u64 + id_len as u64;
        let offsets = id_end.next_multiple_of(4);
        let hash = offsets + 4 * (vocab as u64 + 1);
        let scales = hash + 4 * slots as u64;
        let rows = scales + 4 * vocab as u64;
        let strings = rows + vocab as u64 * dims as u64;
        let string_len = usize::try_from(offsets + 4 * vocab as u64)
            .ok()
            .and_then(|at| u32_at(bytes, at))
            .ok_or_else(|| bad("truncated"))?;
        if bytes.len() as u64 != strings + u64::from(string_len) {
            return Err(bad("file size does not match its header"));
        }
        // Every bound is now at most the file's length, so fits a usize.
        let [id_end, offsets, hash, scales, rows, strings] =
            [id_end, offsets, hash, scales, rows, strings].map(|v| v as usize);
        let model_id = std::str::from_utf8(&bytes[FIXED_HEADER..id_end])
            .map_err(|_| bad("model id is not UTF-8"))?
            .to_string();
        Ok(Layout {
            dims,
            vocab,
            slots,
            unk: unk as u32,
            model_id,
            offsets,
            hash,
            scales,
            rows,
            strings,
        })
    }

    /// The bytes of token `id` (empty when the table is corrupt there).
    pub fn token<'a>(&self, bytes: &'a [u8], id: usize) -> &'a [u8] {
        let start = u32_at(bytes, self.offsets + 4 * id);
        let end = u32_at(bytes, self.offsets + 4 * (id + 1));
        match (start, end) {
            (Some(s), Some(e)) => bytes
                .get(self.strings + s as usize..self.strings + e as usize)
                .unwrap_or_default(),
            _ => &[],
        }
    }

    /// The id of `piece` (as `##piece` when `continuation`).
    pub fn lookup(&self, bytes: &[u8], piece: &str, continuation: bool) -> Option<u32> {
        let piece = piece.as_bytes();
        let prefix: &[u8] = if continuation { b"##" } else { b"" };
        let hash = fnv1a(fnv1a(FNV_START, prefix), piece);
        let mask = self.slots - 1;
        let mut slot = hash as usize & mask;
        // Bounded: a corrupt table without an empty slot cannot loop forever.
        for _ in 0..self.slots {
            let id = u32_at(bytes, self.hash + 4 * slot)?;
            if id == EMPTY {
                return None;
            }
            let token = self.token(bytes, id as usize);
            if token.len() == prefix.len() + piece.len()
                && token.starts_with(prefix)
                && &token[prefix.len()..] == piece
            {
                return Some(id);
            }
            slot = (slot + 1) & mask;
        }
        None
    }

    /// Adds `scale[id] · row[id]` to `acc` (`acc.len()` is the table's dims).
    pub fn add_row(&self, bytes: &[u8], id: usize, acc: &mut [f32]) {
        let (Some(scale), Some(row)) = (
            u32_at(bytes, self.scales + 4 * id).map(f32::from_bits),
            bytes.get(self.rows + id * self.dims..self.rows + (id + 1) * self.dims),
        ) else {
            return;
        };
        for (a, &q) in acc.iter_mut().zip(row) {
            *a += scale * f32::from(q as i8);
        }
    }
}

/// Builds a table file from `tokens` (ids are positions) and their vectors
/// (`tokens.len()` rows of `dims` f32, row-major). Each row is quantised to
/// i8 with its own scale (its largest magnitude maps to 127).
pub fn encode(
    model_id: &str,
    tokens: &[String],
    dims: usize,
    vectors: &[f32],
    unk_token: &str,
) -> Result<Vec<u8>, EmbedError> {
    let bad = |what: &str| EmbedError::Table(what.to_string());
    let n = tokens.len();
    if dims == 0 || n == 0 || vectors.len() != n * dims {
        return Err(bad("need at least one token and dims × tokens values"));
    }
    let unk = tokens
        .iter()
        .position(|t| t == unk_token)
        .ok_or_else(|| bad("the [UNK] token is not in the vocabulary"))?;
    let slots = (2 * n).next_power_of_two();
    let mut hash = vec![EMPTY; slots];
    for (id, token) in tokens.iter().enumerate() {
        let mut slot = fnv1a(FNV_START, token.as_bytes()) as usize & (slots - 1);
        while hash[slot] != EMPTY {
            if tokens[hash[slot] as usize] == *token {
                return Err(EmbedError::Table(format!("duplicate token {token:?}")));
            }
            slot = (slot + 1) & (slots - 1);
        }
        hash[slot] = id as u32;
    }
    let to_u32 = |v: usize| u32::try_from(v).map_err(|_| bad("table too large"));

    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    for v in [
        VERSION,
        to_u32(dims)?,
        to_u32(n)?,
        to_u32(slots)?,
        to_u32(unk)?,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&to_u32(model_id.len())?.to_le_bytes());
    out.extend_from_slice(model_id.as_bytes());
    out.resize(out.len().next_multiple_of(4), 0);
    let mut offset = 0u32;
    out.extend_from_slice(&offset.to_le_bytes());
    for token in tokens {
        offset = offset
            .checked_add(to_u32(token.len())?)
            .ok_or_else(|| bad("vocabulary too large"))?;
        out.extend_from_slice(&offset.to_le_bytes());
    }
    for id in &hash {
        out.extend_from_slice(&id.to_le_bytes());
    }
    let mut rows = Vec::with_capacity(n * dims);
    for row in vectors.chunks_exact(dims) {
        let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
        out.extend_from_slice(&scale.to_le_bytes());
        rows.extend(row.iter().map(|&x| {
            let q = if scale > 0.0 {
                (x / scale).round()
            } else {
                0.0
            };
            q.clamp(-127.0, 127.0) as i8 as u8
        }));
    }
    out.extend_from_slice(&rows);
    for token in tokens {
        out.extend_from_slice(token.as_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<u8> {
        let tokens: Vec<String> = ["[UNK]", "run", "##ning", "ning"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let vectors = [0.0, 0.0, 1.0, -0.5, 0.25, 0.25, 3.0, 0.0];
        encode("toy-d2", &tokens, 2, &vectors, "[UNK]").expect("encodes")
    }

    #[test]
    fn round_trip_lookup_and_rows() {
        let bytes = toy();
        let layout = Layout::parse(&bytes).expect("parses");
        assert_eq!((layout.dims, layout.vocab, layout.unk), (2, 4, 0));
        assert_eq!(layout.model_id, "toy-d2");
        assert_eq!(layout.lookup(&bytes, "run", false), Some(1));
        assert_eq!(layout.lookup(&bytes, "ning", true), Some(2));
        assert_eq!(layout.lookup(&bytes, "ning", false), Some(3));
        assert_eq!(layout.lookup(&bytes, "run", true), None);
        assert_eq!(layout.lookup(&bytes, "walk", false), None);
        let mut acc = [0.0; 2];
        layout.add_row(&bytes, 1, &mut acc);
        assert!((acc[0] - 1.0).abs() < 1e-6 && (acc[1] + 0.5).abs() < 0.01);
    }

    #[test]
    fn rejects_damaged_files() {
        let bytes = toy();
        assert!(Layout::parse(&bytes[..bytes.len() - 1]).is_err());
        assert!(Layout::parse(b"MNEMOEMB").is_err());
        let mut wrong_version = bytes.clone();
        wrong_version[8] = 9;
        assert!(Layout::parse(&wrong_version).is_err());
        for field in [12, 16, 20, 28] {
            let mut huge = bytes.clone();
            huge[field..field + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            assert!(Layout::parse(&huge).is_err(), "field at {field}");
        }
        let mut no_empty_slot = bytes.clone();
        let layout = Layout::parse(&bytes).expect("parses");
        no_empty_slot[layout.hash..layout.scales].fill(0);
        let layout = Layout::parse(&no_empty_slot).expect("header still valid");
        assert_eq!(layout.lookup(&no_empty_slot, "walk", false), None);
    }
}
