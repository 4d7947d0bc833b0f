//! `${ENV_VAR}` expansion in string fields, so secrets and tenant ids stay out of `slo.yaml`.

/// Replaces every `${NAME}` with the variable's value. Returns the names that are unset; `$$` is
/// not special and a lone `$` (as in PromQL's `$window`) is left alone.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(input.len());
    let mut missing = Vec::new();
    let mut rest = input;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => missing.push(name.to_string()),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TENANT").then(|| "team-a".to_string())
    }

    #[test]
    fn expands_set_and_reports_unset() {
        assert_eq!(expand("org=${TENANT}", &env).unwrap(), "org=team-a");
        assert_eq!(expand("x[$window]", &env).unwrap(), "x[$window]");
        assert_eq!(
            expand("${NOPE}-${TENANT}", &env).unwrap_err(),
            vec!["NOPE".to_string()]
        );
    }
}
