//! `slowburn run`: reads the API token, then hands over to the daemon.

use anyhow::{Context, anyhow};
use std::path::{Path, PathBuf};

/// Starts the daemon; the token comes from `--api-token-file` or `SLOWBURN_API_TOKEN` (never a
/// flag value, which would show in `ps`).
pub(super) async fn run(
    mut opts: crate::daemon::RunOptions,
    api_token_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    opts.api_token = api_token(api_token_file.as_deref())?;
    crate::daemon::run(opts).await
}

/// The API token from `file`, else from `SLOWBURN_API_TOKEN`, trimmed alike: a file or a
/// variable often ends in a newline, which no `Authorization` header can carry, so an untrimmed
/// token never matched. `None` when neither gives one (then changes answer 403).
pub(super) fn api_token(file: Option<&Path>) -> anyhow::Result<Option<String>> {
    match file {
        Some(f) => {
            let raw = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the API token file {}", f.display()))?;
            clean_token(&raw, &format!("the API token file {}", f.display()))
        }
        None => match std::env::var("SLOWBURN_API_TOKEN") {
            Ok(raw) => clean_token(&raw, "SLOWBURN_API_TOKEN"),
            Err(_) => Ok(None),
        },
    }
}

/// A token as read from `from`, without surrounding whitespace. An empty one is warned about
/// (the daemon then runs without a token); one holding a line break, another control character
/// or a non-ASCII character inside is refused, since no request could ever match it.
fn clean_token(raw: &str, from: &str) -> anyhow::Result<Option<String>> {
    let token = raw.trim();
    if token.is_empty() {
        tracing::warn!(
            "{from} is empty (after trimming whitespace): no API token, so silences cannot be changed and backups cannot be taken through the API"
        );
        return Ok(None);
    }
    // A header value slowburn can read back is printable ASCII (`HeaderValue::to_str`).
    if token.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(anyhow!(
            "{from} holds a line break, another control character or a non-ASCII character inside the token, which no `Authorization: Bearer` header can match; write the token on one line in ASCII"
        ));
    }
    Ok(Some(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::clean_token;

    #[test]
    fn tokens_are_trimmed_alike_and_a_broken_one_is_refused() {
        let from = "SLOWBURN_API_TOKEN";
        assert_eq!(
            clean_token("s3cret\n", from).unwrap().as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            clean_token("  s3cret\r\n", "the file").unwrap().as_deref(),
            Some("s3cret")
        );
        assert_eq!(clean_token(" \n", from).unwrap(), None);
        let e = clean_token("s3c\nret\n", from).unwrap_err();
        assert!(e.to_string().contains("line break"), "{e}");
    }
}
