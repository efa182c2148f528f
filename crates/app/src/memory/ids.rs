//! The ids mnemo prints, read back: `#12` (an observation), `#S2` (a
//! session summary), `#P3` (a prompt), with or without the `#`.

use std::fmt;

use mnemo_retrieve::RecordKind;

use super::{Error, Result};

/// A record id as printed by search, timeline and show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    /// An observation (`#12`).
    Observation(i64),
    /// A session summary (`#S2`) or a prompt (`#P3`).
    Record(RecordKind, i64),
}

impl Id {
    /// Read `text`: `12`, `#12`, `S2`, `#S2`, `p3`, surrounding space
    /// ignored. Anything else is an [`Error::Invalid`] naming it.
    pub fn parse(text: &str) -> Result<Id> {
        let bare = text.trim();
        let bare = bare.strip_prefix('#').unwrap_or(bare);
        let (kind, digits) = match bare.as_bytes().first() {
            Some(b'S' | b's') => (Some(RecordKind::Session), &bare[1..]),
            Some(b'P' | b'p') => (Some(RecordKind::Prompt), &bare[1..]),
            _ => (None, bare),
        };
        let number = digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0 && digits.bytes().all(|b| b.is_ascii_digit()));
        match (kind, number) {
            (None, Some(n)) => Ok(Id::Observation(n)),
            (Some(kind), Some(n)) => Ok(Id::Record(kind, n)),
            (_, None) => Err(Error::Invalid(format!(
                "{text:?} is not an id (ids look like #12, #S2 or #P3, as search prints them)"
            ))),
        }
    }

    /// Read each of `texts`; the first bad one is the error.
    pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Result<Vec<Id>> {
        texts.iter().map(|t| Id::parse(t.as_ref())).collect()
    }

    /// The observation id, or an [`Error::Invalid`] saying that only
    /// observations are meant (`forget #S2`).
    pub fn observation(self) -> Result<i64> {
        match self {
            Id::Observation(id) => Ok(id),
            Id::Record(..) => Err(Error::Invalid(format!(
                "{self} is not an observation: only observations (#12) can be forgotten"
            ))),
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Observation(id) => write!(f, "#{id}"),
            Id::Record(kind, id) => write!(f, "#{}{id}", kind.prefix()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_printed_form_reads_back() {
        assert_eq!(Id::parse("#12").unwrap(), Id::Observation(12));
        assert_eq!(Id::parse(" 12 ").unwrap(), Id::Observation(12));
        assert_eq!(
            Id::parse("#S2").unwrap(),
            Id::Record(RecordKind::Session, 2)
        );
        assert_eq!(Id::parse("p3").unwrap(), Id::Record(RecordKind::Prompt, 3));
        for id in [Id::Observation(7), Id::Record(RecordKind::Prompt, 9)] {
            assert_eq!(Id::parse(&id.to_string()).unwrap(), id);
        }
    }

    #[test]
    fn anything_else_is_refused_with_its_text() {
        for bad in ["", "#", "S", "#X2", "12a", "-3", "0", "+4", "#S-1"] {
            let err = Id::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }

    #[test]
    fn only_observations_are_observations() {
        assert_eq!(Id::Observation(4).observation().unwrap(), 4);
        assert!(Id::Record(RecordKind::Session, 4).observation().is_err());
    }
}
