//! Keeps validation going past a structural error. serde stops at the first unknown field or
//! wrong type; to report every error of a file at once, the loader patches the text where serde
//! stopped and parses again. Patches keep every line where it was (lines are blanked, never
//! removed), so later positions still point into the file the user wrote.
//!
//! Pure text surgery on block-style YAML. Where a patch could change the meaning of what
//! follows (flow collections like `{a: 1, b: 2}`), [`remove_entry`] declines and the loader
//! stops with the errors found so far.

/// One patch applied to the text: enough to undo it, or to rename the key instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// 0-based first line of the entry.
    pub line: usize,
    /// The lines as they were before the patch.
    pub original: Vec<String>,
    /// Column (0-based) where the key starts on its first line.
    pub key_col: usize,
    /// The entry's key.
    pub key: String,
}

/// The key of the block-mapping entry on `row` and where it starts, after any `- ` list markers;
/// `None` for rows that are not `key: …` entries.
fn entry_key(row: &str) -> Option<(usize, &str)> {
    let mut col = row.len() - row.trim_start().len();
    while row[col..].starts_with("- ") {
        col += 2;
        col += row[col..].len() - row[col..].trim_start().len();
    }
    let rest = &row[col..];
    if rest.starts_with(['{', '[', '#', '"', '\'']) || rest.is_empty() {
        return None;
    }
    let colon = rest.find(':')?;
    let after = &rest[colon + 1..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    Some((col, rest[..colon].trim_end()))
}

fn indent(row: &str) -> usize {
    row.len() - row.trim_start().len()
}

fn split_lines(text: &str) -> Vec<String> {
    // A CRLF file patches like any other: the `\r` is line-ending noise, not content.
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

/// The lines `[first, end)` that belong to the entry starting at `first`: its row and every
/// following row indented deeper than its key (blank and comment rows included).
fn extent(lines: &[String], first: usize, key_col: usize) -> usize {
    // `key:` with nothing after it may own a block sequence written at its own indent
    // (`slos:` then `- service: api`).
    let bare = lines[first]
        .split_once(':')
        .is_some_and(|(_, v)| v.trim().is_empty() || v.trim().starts_with('#'));
    let mut end = first + 1;
    while end < lines.len() {
        let row = &lines[end];
        let t = row.trim_start();
        let item = bare && indent(row) == key_col && (t.starts_with("- ") || t == "-");
        if !(t.is_empty() || t.starts_with('#') || item) && indent(row) <= key_col {
            break;
        }
        end += 1;
    }
    // Trailing blank rows belong to whatever comes next.
    while end > first + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    end
}

/// Whether the error position (0-based column) is the key itself or a plain scalar value right
/// after `key: ` on the same row (not inside a flow collection).
fn points_at_entry(row: &str, key_col: usize, column: usize) -> bool {
    if column <= key_col {
        return true;
    }
    let Some(colon) = row.get(key_col..).and_then(|r| r.find(':')) else {
        return false;
    };
    // Columns count characters; the row is sliced by bytes, so go through char indices.
    let byte = row.char_indices().nth(column).map_or(row.len(), |(i, _)| i);
    row.get(key_col + colon + 1..byte.max(key_col + colon + 1))
        .is_some_and(|between| !between.contains(['{', '[']))
}

/// The entry at `line:column` (1-based): the text's lines, its first row and the patch that
/// would undo a change to it; `None` where no safe patch exists.
fn locate(text: &str, line: u32, column: u32) -> Option<(Vec<String>, String, usize, Patch)> {
    let lines = split_lines(text);
    let first = (line as usize).checked_sub(1)?;
    let column = (column as usize).saturating_sub(1);
    let row = lines.get(first)?.clone();
    let (key_col, key) = entry_key(&row)?;
    if !points_at_entry(&row, key_col, column) {
        return None;
    }
    let end = extent(&lines, first, key_col);
    let patch = Patch {
        line: first,
        original: lines[first..end].to_vec(),
        key_col,
        key: key.to_string(),
    };
    Some((lines, row, column, patch))
}

/// Blanks the entry whose key or value is at `line:column` (1-based, as serde-saphyr reports
/// them), with everything nested under it. Returns the patched text and the patch.
pub fn remove_entry(text: &str, line: u32, column: u32) -> Option<(String, Patch)> {
    let (mut lines, row, _, patch) = locate(text, line, column)?;
    let (first, end) = (patch.line, patch.line + patch.original.len());
    // The first row keeps its list markers (`- `) so a list item stays an item.
    lines[first] = row[..patch.key_col].trim_end().to_string();
    for l in &mut lines[first + 1..end] {
        l.clear();
    }
    Some((lines.join("\n"), patch))
}

/// Replaces the value of the `key: value` entry at `line:column` with `placeholder` (a value of
/// the type serde expected), blanking nested rows, so the rest of the mapping still parses.
pub fn replace_value(
    text: &str,
    line: u32,
    column: u32,
    placeholder: &str,
) -> Option<(String, Patch)> {
    let (mut lines, row, column, patch) = locate(text, line, column)?;
    if column <= patch.key_col {
        return None;
    }
    let (first, end) = (patch.line, patch.line + patch.original.len());
    lines[first] = format!("{}: {placeholder}", &row[..patch.key_col + patch.key.len()]);
    for l in &mut lines[first + 1..end] {
        l.clear();
    }
    Some((lines.join("\n"), patch))
}

/// Undoes `patch` with its key renamed to `to` (a misspelt required field: `objectve` read as
/// `objective`, so its value is still validated).
pub fn rename(text: &str, patch: &Patch, to: &str) -> String {
    let mut lines = split_lines(text);
    for (i, orig) in patch.original.iter().enumerate() {
        if let Some(l) = lines.get_mut(patch.line + i) {
            l.clone_from(orig);
        }
    }
    if let Some(l) = lines.get_mut(patch.line) {
        let start = patch.key_col;
        let end = start + patch.key.len();
        if l.get(start..end) == Some(patch.key.as_str()) {
            l.replace_range(start..end, to);
        }
    }
    lines.join("\n")
}

/// What opens on a block row, left to right: its `- ` list markers (`None`) and then its key
/// (`Some`), each with its column.
fn openers(row: &str) -> Vec<(usize, Option<&str>)> {
    let mut out = Vec::new();
    let mut col = indent(row);
    while row[col..].starts_with("- ") || &row[col..] == "-" {
        out.push((col, None));
        col += 1;
        col += row[col..].len() - row[col..].trim_start().len();
    }
    if let Some((key_col, key)) = entry_key(row) {
        out.push((key_col, Some(key)));
    }
    out
}

/// Whether the entry `key` at `col` on `row` has nothing after its colon but a comment: its
/// value is on the rows below.
fn bare(row: &str, col: usize, key: &str) -> bool {
    row.get(col + key.len()..)
        .and_then(|rest| rest.trim_start().strip_prefix(':'))
        .is_some_and(|v| v.trim().is_empty() || v.trim_start().starts_with('#'))
}

/// Which item of its list the `- ` at `col` on row `r` is: the items before it are the rows
/// above with a marker at that column, up to the row that holds the list.
fn item_index(lines: &[String], r: usize, col: usize) -> usize {
    let mut n = 0;
    for row in lines[..r].iter().rev() {
        let t = row.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let item = openers(row).iter().any(|(c, k)| *c == col && k.is_none());
        n += usize::from(item);
        if indent(row) < col || (indent(row) == col && !item) {
            break;
        }
    }
    n
}

/// The key path (`loki.max_concurrency`, `slos[2].sli.ratio.total`) of what is at `line:column`
/// (1-based), read from the keys and list markers left of it on its row and on the rows above;
/// `None` where that is not plain block YAML (a quoted key or a flow collection on the way up).
/// Inside a flow collection the path ends at the block entry that holds it.
pub fn key_path(text: &str, line: u32, column: u32) -> Option<String> {
    let lines = split_lines(text);
    let at = (line as usize).checked_sub(1)?;
    // Only what opens left of this column can hold the position (0-based columns below it).
    let mut want = column as usize;
    // The column of the list marker last taken: the key that holds that list may sit at the
    // same column (`slos:` over `- service: …`).
    let mut item_at = None;
    let mut segments: Vec<String> = Vec::new();
    for r in (0..=at).rev() {
        let row = lines.get(r)?;
        let t = row.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.starts_with("---") {
            break;
        }
        let mut took = false;
        for &(col, key) in openers(row).iter().rev() {
            let holds_list = item_at == Some(col) && key.is_some_and(|k| bare(row, col, k));
            if col >= want && !holds_list {
                continue;
            }
            match key {
                Some(k) => {
                    segments.push(k.to_string());
                    item_at = None;
                }
                None => {
                    segments.push(format!("[{}]", item_index(&lines, r, col)));
                    item_at = Some(col);
                }
            }
            want = col;
            took = true;
        }
        if !took && r != at && indent(row) < want {
            return None;
        }
        if want == 0 && item_at.is_none() {
            break;
        }
    }
    if want != 0 || segments.is_empty() {
        return None;
    }
    let mut path = String::new();
    for s in segments.iter().rev() {
        if !path.is_empty() && !s.starts_with('[') {
            path.push('.');
        }
        path.push_str(s);
    }
    Some(path)
}

/// A value of the type serde said it expected, for [`replace_value`]; `None` when unsure.
pub fn placeholder(expected: &str) -> Option<&'static str> {
    let e = expected.to_ascii_lowercase();
    let numeric = ["f64", "f32", "float", "u32", "u64", "i64", "integer"];
    if numeric.iter().any(|n| e.contains(n)) {
        Some("1")
    } else if e.contains("bool") {
        Some("false")
    } else if e.contains("sequence") {
        Some("[]")
    } else if e.contains("string") {
        Some("x")
    } else if e.contains("map") || e.contains("struct") {
        Some("{}")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "slos:\n  - service: api\n    nmae: x\n    sli:\n      ratio:\n        total: t\n    objective: 99\nother: 1\n";

    #[test]
    fn removes_an_entry_with_its_nested_rows_and_keeps_line_numbers() {
        let (t, p) = remove_entry(DOC, 4, 5).unwrap();
        assert_eq!(p.key, "sli");
        assert_eq!(t.lines().count(), DOC.lines().count());
        assert_eq!(
            t,
            "slos:\n  - service: api\n    nmae: x\n\n\n\n    objective: 99\nother: 1\n"
        );
        // A key right after a list marker keeps the marker.
        let (t, p) = remove_entry(DOC, 2, 5).unwrap();
        assert_eq!(p.key, "service");
        assert!(t.starts_with("slos:\n  -\n    nmae: x"), "{t}");
    }

    #[test]
    fn renames_a_removed_key_and_replaces_wrong_values() {
        let (t, p) = remove_entry(DOC, 3, 5).unwrap();
        assert_eq!(rename(&t, &p, "name"), DOC.replace("nmae", "name"));
        let (t, p) = replace_value(DOC, 7, 16, "1").unwrap();
        assert_eq!(p.key, "objective");
        assert!(t.contains("    objective: 1\n"), "{t}");
    }

    #[test]
    fn never_panics_on_odd_rows_or_positions() {
        for (text, line, col) in [
            ("  clé: ü{x\n", 1, 3),
            ("  clé: ü\n", 1, 9),
            ("a: b\n", 1, 40),
            ("a: b\n", 7, 1),
            ("- - x: 1\n", 1, 5),
            (":\n", 1, 1),
            ("", 1, 1),
        ] {
            let _ = remove_entry(text, line, col);
            let _ = replace_value(text, line, col, "1");
        }
    }

    #[test]
    fn a_bare_key_takes_its_same_indent_list_with_it() {
        let doc = "slo:\n- service: a\n  name: b\n- service: c\nreceivers: []\n";
        let (t, p) = remove_entry(doc, 1, 1).unwrap();
        assert_eq!(p.key, "slo");
        assert_eq!(t, "\n\n\n\nreceivers: []\n");
        let (t, _) = remove_entry("a: 1\r\nb:\r\n  c: 2\r\nd: 3\r\n", 2, 1).unwrap();
        assert_eq!(t, "a: 1\n\n\nd: 3\n");
    }

    #[test]
    fn key_paths_are_read_from_the_rows_above() {
        let doc = "loki:\n  url: http://l\n  timeout: [5]\nslos:  # the SLOs\n  - service: a\n    sli:\n      ratio:\n        total: t\n\n  # a comment\n  - service: b\n    sli: {ratio: {total: [x]}}\nlist: # items\n- a: 1\n- - b: 2\n  - c: [3]\n";
        assert_eq!(key_path(doc, 3, 12).as_deref(), Some("loki.timeout"));
        assert_eq!(key_path(doc, 3, 3).as_deref(), Some("loki.timeout"));
        assert_eq!(
            key_path(doc, 8, 16).as_deref(),
            Some("slos[0].sli.ratio.total")
        );
        assert_eq!(key_path(doc, 11, 14).as_deref(), Some("slos[1].service"));
        // Inside a flow collection: the block entry that holds it.
        assert_eq!(key_path(doc, 12, 26).as_deref(), Some("slos[1].sli"));
        assert_eq!(key_path(doc, 16, 9).as_deref(), Some("list[1][1].c"));
        assert_eq!(key_path(doc, 1, 1).as_deref(), Some("loki"));
        // A quoted key on the way up: not plain block YAML, no path rather than a wrong one.
        assert_eq!(key_path("\"a b\":\n  c: [1]\n", 2, 6), None);
        assert_eq!(key_path(doc, 99, 1), None);
    }

    #[test]
    fn declines_flow_collections() {
        let flow = "sli: {ratio: {typo: 1}}\n";
        assert!(remove_entry(flow, 1, 15).is_none());
        assert!(remove_entry("- {a: 1}\n", 1, 4).is_none());
        assert_eq!(placeholder("a sequence"), Some("[]"));
        assert_eq!(placeholder("something odd"), None);
    }
}
