//! HTML escaped by construction: every render function returns an [`Html`], and the only ways to
//! make one are escaping text ([`Html::text`], or any `&str`/`String` placed in [`html!`]), a
//! trusted `&'static str` literal written in this crate ([`Html::from_static`], or a literal in
//! [`html!`]), numbers (which print no markup), and composing other `Html`s. A string from
//! `slo.yaml`, a source or a request cannot reach a page unescaped without a `&'static str` that
//! someone wrote on purpose, and forgetting to escape is no longer possible: a `String` placed in
//! a page *is* escaped.
//!
//! Why a newtype and not a template crate (maud, askama): the UI is five pages of server-rendered
//! tables, forms and SVG, which a 150-line type covers; a crate would add a proc-macro dependency
//! tree and its compile time to every build of a daemon whose dependencies are audited one by one,
//! for the sake of syntax. askama's templates in separate files would also split each page from
//! the view struct it renders, and maud's would not be easier to read than the literals here.
//! The property that matters, escaping by default, is the type's, not the syntax's.
//!
//! [`html!`] concatenates its parts: a string literal is trusted markup, a parenthesised
//! expression is rendered through [`ToHtml`] (text escaped, `Html` as is, numbers printed):
//!
//! ```ignore
//! html! { "<td class=\"sli\" data-period=\"" (period) "\">" (pct(sli)) "</td>" }
//! ```

use std::fmt::{self, Write as _};

/// HTML that is safe to send: escaped text, trusted literals, or a composition of both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Empty markup, to push parts onto.
    pub fn new() -> Html {
        Html(String::new())
    }

    /// Text, escaped for element content and quoted attribute values: what every string from
    /// outside becomes.
    pub fn text(s: &str) -> Html {
        let mut h = Html::new();
        s.write_html(&mut h.0);
        h
    }

    /// Markup written in this crate: a `&'static str` is a literal someone reviewed, never data.
    pub fn from_static(s: &'static str) -> Html {
        Html(s.to_string())
    }

    /// Appends a part: text is escaped, `Html` is appended as is, numbers are printed.
    pub fn push<T: ToHtml + ?Sized>(&mut self, part: &T) {
        part.write_html(&mut self.0);
    }

    /// Appends trusted markup.
    pub fn push_static(&mut self, s: &'static str) {
        self.0.push_str(s);
    }

    /// `parts` with `sep` (trusted markup) between them.
    pub fn join(parts: impl IntoIterator<Item = Html>, sep: &'static str) -> Html {
        let mut out = Html::new();
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push_static(sep);
            }
            out.push(&p);
        }
        out
    }

    /// The markup, for a response body.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup, for a response body.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Bytes of markup (page weights in benchmarks).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no markup at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Html> for Html {
    fn from_iter<I: IntoIterator<Item = Html>>(iter: I) -> Html {
        let mut out = Html::new();
        for h in iter {
            out.push(&h);
        }
        out
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What may be placed in a page, and how: text escaped, [`Html`] as is, numbers printed. Only
/// types whose rendering is safe implement it, so [`html!`] cannot be handed anything else.
pub trait ToHtml {
    /// Appends this value's markup to `out`.
    fn write_html(&self, out: &mut String);
}

impl ToHtml for Html {
    fn write_html(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

impl ToHtml for str {
    fn write_html(&self, out: &mut String) {
        out.reserve(self.len());
        for c in self.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
    }
}

impl ToHtml for String {
    fn write_html(&self, out: &mut String) {
        self.as_str().write_html(out);
    }
}

impl<T: ToHtml + ?Sized> ToHtml for &T {
    fn write_html(&self, out: &mut String) {
        (**self).write_html(out);
    }
}

/// Numbers print digits, signs, `.`, `e`, `inf` and `NaN`: never markup.
macro_rules! number {
    ($($t:ty),*) => {
        $(impl ToHtml for $t {
            fn write_html(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        })*
    };
}
number!(f64, i64, u64, i32, u32, usize, u8);

/// Concatenates literals (trusted markup) and parenthesised expressions (through [`ToHtml`]) into
/// one [`Html`]; see the module documentation.
macro_rules! html {
    ($($part:tt)*) => {{
        #[allow(unused_mut)]
        let mut out = $crate::ui::html::Html::new();
        $( $crate::ui::html::piece!(out, $part); )*
        out
    }};
}

/// One part of [`html!`]: a literal is pushed as trusted markup, `(expr)` through [`ToHtml`].
macro_rules! piece {
    ($out:ident, $lit:literal) => {
        $out.push_static($lit)
    };
    ($out:ident, ($e:expr)) => {
        $out.push(&$e)
    };
}

pub(crate) use html;
pub(crate) use piece;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_literals_are_not() {
        let who = r#"<script>alert("x")</script> & 'y'"#;
        let h = html! { "<p class=\"a\">" (who) " " (2.5) " " (String::from("<b>")) "</p>" };
        assert_eq!(
            h.as_str(),
            "<p class=\"a\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; 2.5 &lt;b&gt;</p>"
        );
        let inner = html! { "<i>" ("<x>") "</i>" };
        assert_eq!(
            html! { "<b>" (inner) "</b>" }.as_str(),
            "<b><i>&lt;x&gt;</i></b>"
        );
        let joined = Html::join([Html::text("a<"), Html::from_static("<br>")], ", ");
        assert_eq!(joined.as_str(), "a&lt;, <br>");
        assert!(Html::new().is_empty());
    }
}
