//! Why a rules file was refused.

use std::fmt;

/// Why a rules file was refused. Every variant names the state (when the problem is inside a
/// state entry) and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFileError {
    /// Not TOML, or a key of the wrong type, missing or unknown.
    Parse {
        /// The state entry, when the problem is inside one.
        state: Option<String>,
        /// The field (dotted path inside the state entry), when known.
        field: Option<String>,
        /// The parser's message (with line and column for top-level problems).
        message: String,
    },
    /// Well-formed, but a value breaks a rule (bad time, start not before end, zero cap, …).
    Invalid {
        /// The state entry, when the problem is inside one (`None` for the top level, and
        /// the code itself when the code is malformed).
        state: Option<String>,
        /// The field (dotted path inside the state entry: `hours.mon`, `holidays[0].month`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl RuleFileError {
    /// The state entry the error is in, if any.
    pub fn state(&self) -> Option<&str> {
        match self {
            RuleFileError::Parse { state, .. } | RuleFileError::Invalid { state, .. } => {
                state.as_deref()
            }
        }
    }

    /// The field the error is about, if known.
    pub fn field(&self) -> Option<&str> {
        match self {
            RuleFileError::Parse { field, .. } => field.as_deref(),
            RuleFileError::Invalid { field, .. } => Some(field),
        }
    }

    pub(super) fn invalid(
        state: Option<&str>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        RuleFileError::Invalid {
            state: state.map(str::to_owned),
            field: field.into(),
            message: message.into(),
        }
    }

    pub(super) fn with_state(self, code: &str) -> Self {
        match self {
            RuleFileError::Parse { field, message, .. } => RuleFileError::Parse {
                state: Some(code.to_owned()),
                field,
                message,
            },
            RuleFileError::Invalid { field, message, .. } => RuleFileError::Invalid {
                state: Some(code.to_owned()),
                field,
                message,
            },
        }
    }
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("state rules file")?;
        if let Some(state) = self.state() {
            write!(f, ", state {state}")?;
        }
        if let Some(field) = self.field() {
            write!(f, ", field `{field}`")?;
        }
        let message = match self {
            RuleFileError::Parse { message, .. } | RuleFileError::Invalid { message, .. } => {
                message
            }
        };
        write!(f, ": {}", message.trim_end())
    }
}

impl std::error::Error for RuleFileError {}
