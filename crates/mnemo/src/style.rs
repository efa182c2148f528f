//! Colour for people at a terminal, plain text for everything else.
//!
//! Colour is on when stdout is a terminal, unless `NO_COLOR` is set
//! (<https://no-color.org>); `CLICOLOR_FORCE=1` forces it on (for pagers).

use std::io::IsTerminal;

/// Whether to colour stdout, decided once per process.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// The style for stdout in this environment.
    pub fn stdout() -> Style {
        let forced = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0");
        let refused = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            enabled: !refused && (forced || std::io::stdout().is_terminal()),
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Ids and headings.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// A check that passed.
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// A warning.
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// A failure.
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Times, token counts, hints.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// An observation type, in its colour (the viewer uses the same hues).
    pub fn kind(self, kind: &str, text: &str) -> String {
        let code = match kind {
            "bugfix" => "31",                             // red
            "feature" => "32",                            // green
            "refactor" => "36",                           // cyan
            "change" => "34",                             // blue
            "discovery" => "35",                          // magenta
            "decision" => "33",                           // yellow
            "security_alert" | "security_note" => "1;31", // bold red
            _ => "0",
        };
        self.paint(code, text)
    }
}
