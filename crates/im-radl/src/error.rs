//! The one error type of the crate.
//!
//! Its `Display` is the reference's message (`Line 3: Parse error in: …`,
//! `Line 2: Invalid type; expected <class 'float'>`) so that API clients matching on
//! those words keep working; the column and the expectation are extra fields, and
//! syntax errors append the expectation after the reference words.

use std::fmt;

/// Where a token or feature starts in the source text (1-based).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pos {
    /// Line, counting every newline (also those inside multi-line strings).
    pub line: u32,
    /// Column in characters.
    pub column: u32,
}

/// Positions never take part in model equality: a document and its re-printed
/// form are equal although their features sit on other lines.
impl PartialEq for Pos {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// What went wrong, by stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text does not follow the grammar.
    Syntax,
    /// The document is well formed but builds an inconsistent model (conflicting
    /// values, duplicated ids, …).
    Model,
    /// `check()` rejected the document.
    Check,
    /// The JSON form is not valid JSON or not a RADL array.
    Json,
}

/// A RADL error: a message in the reference's words, with a position when the
/// element came from plain text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RadlError {
    /// The stage that failed.
    pub kind: ErrorKind,
    /// The message, without the `Line n: ` prefix.
    pub message: String,
    /// Where, when known (plain-text input only).
    pub pos: Option<Pos>,
}

impl RadlError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>, pos: Option<Pos>) -> Self {
        RadlError {
            kind,
            message: message.into(),
            pos,
        }
    }

    pub(crate) fn check(message: impl Into<String>, pos: Option<Pos>) -> Self {
        Self::new(ErrorKind::Check, message, pos)
    }

    pub(crate) fn model(message: impl Into<String>, pos: Option<Pos>) -> Self {
        Self::new(ErrorKind::Model, message, pos)
    }

    /// The 1-based line, when known.
    pub fn line(&self) -> Option<u32> {
        self.pos.map(|p| p.line)
    }

    /// The 1-based column, when known.
    pub fn column(&self) -> Option<u32> {
        self.pos.map(|p| p.column)
    }
}

impl fmt::Display for RadlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "Line {}: {}", p.line, self.message),
            None => f.write_str(&self.message),
        }
    }
}
