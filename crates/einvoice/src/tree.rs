//! Walking the parsed tree by local names (CII and UBL producers use any prefixes), and a
//! cheap look at the root element for sniffing.

use roxmltree::Node;

use crate::{EInvoiceError, Value};

/// A step of a path: the local names it accepts (ZUGFeRD 1 and 2 name some elements apart).
pub(crate) type Step<'s> = &'s [&'s str];

/// The first child element whose local name is one of `names`.
pub(crate) fn child<'a, 'i>(node: Node<'a, 'i>, names: Step<'_>) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && names.contains(&c.tag_name().name()))
}

/// Every child element whose local name is one of `names`.
pub(crate) fn children<'a, 'i>(
    node: Node<'a, 'i>,
    names: Step<'_>,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && names.contains(&c.tag_name().name()))
}

/// Follows `steps` down from `node`, first match at each step.
pub(crate) fn descend<'a, 'i>(node: Node<'a, 'i>, steps: &[Step<'_>]) -> Option<Node<'a, 'i>> {
    steps.iter().try_fold(node, |n, step| child(n, step))
}

/// The element's text, whitespace runs collapsed to one space.
pub(crate) fn text(node: Node<'_, '_>) -> String {
    let raw: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The element's path from the root, with the prefixes the document uses.
pub(crate) fn path(node: Node<'_, '_>) -> String {
    let mut parts: Vec<String> = node
        .ancestors()
        .filter(|n| n.is_element())
        .map(|n| {
            let tag = n.tag_name();
            match tag.namespace().and_then(|ns| n.lookup_prefix(ns)) {
                Some(p) if !p.is_empty() => format!("{p}:{}", tag.name()),
                _ => tag.name().to_string(),
            }
        })
        .collect();
    parts.reverse();
    format!("/{}", parts.join("/"))
}

/// A non-empty text value at `node`.
pub(crate) fn string(node: Option<Node<'_, '_>>) -> Option<Value<String>> {
    let n = node?;
    let t = text(n);
    (!t.is_empty()).then(|| Value {
        value: t.clone(),
        raw: t,
        path: path(n),
    })
}

/// A value at `node` parsed by `parse`; present but unparseable text is an error naming the
/// element.
pub(crate) fn parsed<T>(
    node: Option<Node<'_, '_>>,
    what: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<Value<T>>, EInvoiceError> {
    let Some(n) = node else { return Ok(None) };
    let raw = text(n);
    if raw.is_empty() {
        return Ok(None);
    }
    match parse(&raw) {
        Some(value) => Ok(Some(Value {
            value,
            raw,
            path: path(n),
        })),
        None => Err(EInvoiceError::BadValue {
            path: path(n),
            text: raw.chars().take(64).collect(),
            what,
        }),
    }
}

/// The root element's local name and namespace, read from the first bytes without building a
/// tree: the XML declaration, comments, processing instructions and a DOCTYPE are skipped.
pub(crate) fn root_element_name(bytes: &[u8]) -> Option<(String, Option<String>)> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let head = head.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(head);
    let s = std::str::from_utf8(head)
        .or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]))
        .ok()?;
    let mut rest = s.trim_start();
    if !rest.starts_with('<') {
        return None;
    }
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>")? + 2..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->")? + 3..];
        } else if let Some(r) = rest.strip_prefix("<!") {
            // DOCTYPE, with an internal subset in brackets possibly.
            let end = match (r.find('['), r.find('>')) {
                (Some(b), Some(g)) if b < g => r[b..].find("]>").map(|i| b + i + 2)?,
                (_, Some(g)) => g + 1,
                _ => return None,
            };
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('<') {
            let end = r.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
            let qname = &r[..end];
            let tag_end = r.find('>').unwrap_or(r.len());
            let attrs = &r[end..tag_end];
            let (prefix, local) = match qname.split_once(':') {
                Some((p, l)) => (Some(p), l),
                None => (None, qname),
            };
            if local.is_empty() || !local.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                return None;
            }
            let attr = match prefix {
                Some(p) => format!("xmlns:{p}"),
                None => "xmlns".to_string(),
            };
            return Some((local.to_string(), attribute(attrs, &attr)));
        } else {
            return None;
        }
    }
}

/// The value of attribute `name` in a start tag's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(i) = rest.find(name) {
        let after = rest[i + name.len()..].trim_start();
        let before_ok = i == 0 || rest[..i].ends_with(char::is_whitespace);
        if before_ok && let Some(v) = after.strip_prefix('=') {
            let v = v.trim_start();
            let quote = v.chars().next()?;
            if quote == '"' || quote == '\'' {
                let body = &v[1..];
                return body.find(quote).map(|e| body[..e].to_string());
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_names_past_prolog_comments_and_doctype() {
        type Root<'a> = Option<(&'a str, Option<&'a str>)>;
        let cases: [(&str, Root); 7] = [
            (
                "<?xml version=\"1.0\"?>\n<!-- c --><rsm:CrossIndustryInvoice xmlns:rsm=\"urn:x\">",
                Some(("CrossIndustryInvoice", Some("urn:x"))),
            ),
            (
                "<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>",
                Some((
                    "Invoice",
                    Some("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"),
                )),
            ),
            (
                "<!DOCTYPE x [<!ENTITY a \"b\">]><Invoice>",
                Some(("Invoice", None)),
            ),
            ("<a:b xmlns:c=\"u\">", Some(("b", None))),
            ("hello", None),
            ("<?xml version=\"1.0\"", None),
            ("< x>", None),
        ];
        for (xml, want) in cases {
            let got = root_element_name(xml.as_bytes());
            let got = got.as_ref().map(|(l, n)| (l.as_str(), n.as_deref()));
            assert_eq!(got, want, "{xml}");
        }
    }
}
