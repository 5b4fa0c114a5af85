//! The errors of the crate.
//!
//! Their texts start with the reference's words (`Error parsing TOSCA template: `,
//! tosca-parser's `UnknownFieldError: …` lines) so that clients matching on them
//! keep working; each validation problem also says on which line of the template
//! it sits.

use std::fmt;

/// The class of a validation problem, named as tosca-parser names its exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// A type name that no definition has.
    InvalidType,
    /// A key the schema does not allow.
    UnknownField,
    /// A required key that is missing.
    MissingRequiredField,
    /// A value of the wrong type or outside its constraints.
    Value,
    /// A reference to something that does not exist (node, input, property).
    Key,
    /// `get_input` of an input that is not declared.
    UnknownInput,
    /// A construct the converter does not support.
    NotImplemented,
    /// The document's structure is wrong (a section of the wrong kind).
    TypeMismatch,
}

impl IssueKind {
    /// The tosca-parser exception name the reference prints.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueKind::InvalidType => "InvalidTypeError",
            IssueKind::UnknownField => "UnknownFieldError",
            IssueKind::MissingRequiredField => "MissingRequiredFieldError",
            IssueKind::Value => "ValueError",
            IssueKind::Key => "KeyError",
            IssueKind::UnknownInput => "UnknownInputError",
            IssueKind::NotImplemented => "NotImplementedError",
            IssueKind::TypeMismatch => "TypeMismatchError",
        }
    }
}

/// One validation problem of a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Its class.
    pub kind: IssueKind,
    /// What is wrong, naming the node and the property (tosca-parser's words).
    pub message: String,
    /// The 1-based line of the template where it is, when known.
    pub line: Option<u64>,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)?;
        if let Some(l) = self.line {
            write!(f, " (line {l})")?;
        }
        Ok(())
    }
}

/// Why a TOSCA document could not be read, validated or converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToscaError {
    /// The text is not YAML, or not a TOSCA document at all.
    #[error("Error parsing TOSCA template: {message}{}", location(*.line, *.column))]
    Syntax {
        /// What is wrong.
        message: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
    },
    /// The document does not validate against its types.
    #[error(
        "Error parsing TOSCA template: \nThe pre-parsed input failed validation with the following error(s): \n\n{}",
        issues_text(.0)
    )]
    Invalid(Vec<Issue>),
    /// An import or an artifact could not be had.
    #[error("Error parsing TOSCA template: {0}")]
    Import(String),
    /// The document is valid TOSCA but cannot be turned into RADL.
    #[error("{0}")]
    Convert(String),
}

fn location(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

fn issues_text(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| format!("\t{i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ToscaError {
    /// A conversion error.
    pub(crate) fn convert(message: impl Into<String>) -> Self {
        ToscaError::Convert(message.into())
    }

    /// The validation problems, when the document did not validate.
    pub fn issues(&self) -> &[Issue] {
        match self {
            ToscaError::Invalid(i) => i,
            _ => &[],
        }
    }

    /// The first line the error points at, when known.
    pub fn line(&self) -> Option<u64> {
        match self {
            ToscaError::Syntax { line, .. } => *line,
            ToscaError::Invalid(i) => i.iter().find_map(|i| i.line),
            _ => None,
        }
    }
}
