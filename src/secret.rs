//! One type for every secret the config carries (tokens, passwords, header values, webhook URLs
//! that are themselves the credential), so redaction is a property of the type and not of each
//! struct's hand-written `Debug`: it prints as `**REDACTED**` in `Debug` and `Display` (and so in
//! every log line and error that formats it), and it has no `Serialize`, so no API answer or
//! exported file can carry it by accident. The one way to the value is [`Secret::expose`], which
//! names itself at every place a secret leaves the process (a header, an SMTP login, a URL).

use std::fmt;

/// What a secret prints as.
pub const REDACTED: &str = "**REDACTED**";

/// A string that must not be printed, logged or serialized.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from the config, the environment or a file.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place it is sent (a request header, a login, a URL).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (a variable set to nothing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("glsa_token_123");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(
            format!("{:?}", Some((1, s.clone()))),
            "Some((1, **REDACTED**))"
        );
        assert_eq!(s.expose(), "glsa_token_123");
    }
}
