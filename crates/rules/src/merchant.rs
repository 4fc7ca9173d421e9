//! Merchant names: whitespace and case cleaned up, OCR junk stripped, legal suffixes kept.

/// Legal-form suffixes, kept as printed (and recognised by the layout backend).
pub const LEGAL_SUFFIXES: &[&str] = &[
    "SDN BHD",
    "SDN. BHD.",
    "BHD",
    "BERHAD",
    "PLT",
    "ENTERPRISE",
    "TRADING",
    "LLC",
    "L.L.C.",
    "INC",
    "INC.",
    "LTD",
    "LTD.",
    "LIMITED",
    "PLC",
    "CORP",
    "CORP.",
    "CORPORATION",
    "CO.",
    "GMBH",
    "AG",
    "KG",
    "UG",
    "E.K.",
    "S.A.",
    "SA",
    "S.A.S.",
    "SAS",
    "SARL",
    "S.R.L.",
    "SRL",
    "S.P.A.",
    "SPA",
    "S.L.",
    "B.V.",
    "BV",
    "N.V.",
    "NV",
    "OY",
    "AB",
    "AS",
    "A/S",
    "APS",
    "PTY LTD",
    "PTE LTD",
    "PTE. LTD.",
    "PT",
    "CV",
    "TBK",
    "ООО",
    "ОАО",
    "ЗАО",
    "ПАО",
    "АО",
    "ИП",
    "S/B",
];

/// True when `text` ends with (or, for ООО / PT, starts with) a legal-form suffix.
pub fn has_legal_suffix(text: &str) -> bool {
    let upper = text.to_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    LEGAL_SUFFIXES.iter().any(|s| {
        joined.ends_with(&format!(" {s}"))
            || joined == *s
            || (matches!(*s, "ООО" | "ОАО" | "ЗАО" | "ПАО" | "АО" | "ИП" | "PT")
                && joined.starts_with(&format!("{s} ")))
            || words
                .iter()
                .any(|w| *w == "SDN" || *w == "BHD" || *w == "GMBH")
    })
}

/// Cleans a merchant name: OCR junk at the edges (`|`, `_`, `~`, `*`, stray quotes and
/// dashes) removed, inner whitespace collapsed, spacing around punctuation tidied, and a name
/// shouting in all capitals kept as printed (case is part of many brands). Returns `None`
/// when nothing name-like is left.
pub fn clean_merchant(raw: &str) -> Option<String> {
    const EDGE_JUNK: &[char] = &[
        '|', '_', '~', '*', '#', '=', '-', '—', '–', '`', ':', ';', ',', '.', '•', '·', '>', '<',
        '!',
    ];
    let collapsed: String = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['|', '_', '~'], " ");
    let collapsed = collapsed.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s = collapsed
        .trim_matches(|c: char| EDGE_JUNK.contains(&c) || c.is_whitespace())
        .to_string();
    // Quotes at the edges go only when they do not close a quote inside the name.
    for q in ['"', '\''] {
        if s.matches(q).count() % 2 == 1 {
            if s.ends_with(q) && !s[..s.len() - 1].contains(q) {
                s.pop();
            } else if s.starts_with(q) {
                s.remove(0);
            }
        }
    }
    let s_trimmed = s
        .trim_matches(|c: char| EDGE_JUNK.contains(&c) || c.is_whitespace())
        .to_string();
    s = s_trimmed;
    // Keep a closing period of a legal form ("Sdn. Bhd.", "S.A.").
    if collapsed.ends_with('.') && !s.ends_with('.') {
        let with_dot = format!("{s}.");
        if LEGAL_SUFFIXES
            .iter()
            .any(|x| with_dot.to_uppercase().ends_with(x) && x.ends_with('.'))
        {
            s = with_dot;
        }
    }
    let s = s.replace(" ,", ",").replace("( ", "(").replace(" )", ")");
    let s = strip_registration(&s);
    let s = strip_owner_prefix(&s);
    // A receipt or branch number printed before the name ("000002 BAIFU (M) SDN BHD").
    let s = match s.split_once(' ') {
        Some((head, rest)) if head.len() >= 4 && head.chars().all(|c| c.is_ascii_digit()) => {
            rest.to_string()
        }
        _ => s,
    };
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 || s.chars().count() > 120 {
        return None;
    }
    Some(s)
}

/// Company registration numbers printed after the name: "(139386 X)", "(1248717-W)", "862725-U",
/// "273500-U (KJ1)".
fn strip_registration(s: &str) -> String {
    let digits = |t: &str| t.chars().filter(char::is_ascii_digit).count();
    let mut out = s.trim().to_string();
    loop {
        let before = out.len();
        if out.ends_with(')')
            && let Some(open) = out.rfind('(')
            && digits(&out[open..]) >= 1
            && out[..open].trim().chars().any(char::is_alphabetic)
        {
            out = out[..open].trim_end().to_string();
        }
        if let Some((head, last)) = out.rsplit_once(' ')
            && digits(last) >= 3
            && head.chars().any(char::is_alphabetic)
        {
            out = head.trim_end().to_string();
        }
        if out.len() == before {
            return out;
        }
    }
}

/// "OWN BY: CHEF LEE SDN BHD" → "CHEF LEE SDN BHD".
fn strip_owner_prefix(s: &str) -> String {
    let up = s.to_uppercase();
    for p in ["OWNED BY", "OWN BY", "OPERATED BY", "A MEMBER OF"] {
        if up.starts_with(p) {
            return s[p.len()..].trim_start_matches([':', ' ', '-']).to_string();
        }
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning() {
        let cases = [
            (
                "  BOOK TA .K (TAMAN DAYA) SDN BHD  ",
                "BOOK TA .K (TAMAN DAYA) SDN BHD",
            ),
            ("|| MR.D.I.Y. (M) SDN BHD __", "MR.D.I.Y. (M) SDN BHD"),
            ("*** Corner Cafe ***", "Corner Cafe"),
            ("Muster Bürobedarf   GmbH", "Muster Bürobedarf GmbH"),
            (
                "ACME Office Supplies Sdn. Bhd.",
                "ACME Office Supplies Sdn. Bhd.",
            ),
            ("Société Générale S.A.", "Société Générale S.A."),
            ("- ООО \"Ромашка\" -", "ООО \"Ромашка\""),
            ("\"Corner Cafe", "Corner Cafe"),
            ("Amazon Web Services, Inc.", "Amazon Web Services, Inc."),
            ("000002 BAIFU (M) Sdn Bhd", "BAIFU (M) Sdn Bhd"),
            (
                "GARDENIA BAKERIES (KL) SDN BHD (139386 X)",
                "GARDENIA BAKERIES (KL) SDN BHD",
            ),
            (
                "MOONLIGHT CAKE HOUSE SDN BHD 862725-U",
                "MOONLIGHT CAKE HOUSE SDN BHD",
            ),
            (
                "KING'S CONFECTIONERY S/B 273500-U (KJ1)",
                "KING'S CONFECTIONERY S/B",
            ),
            ("COSWAY (M) SDN BHD (E0118-A)", "COSWAY (M) SDN BHD"),
            ("OWN BY: CHEF LEE SDN BHD", "CHEF LEE SDN BHD"),
            ("7-ELEVEN MALAYSIA", "7-ELEVEN MALAYSIA"),
            ("AEON CO. (M) BHD ( 126926-H )", "AEON CO. (M) BHD"),
        ];
        for (raw, want) in cases {
            assert_eq!(clean_merchant(raw).as_deref(), Some(want), "{raw:?}");
        }
        for raw in ["", "  ", "***", "12345", "|_~", "A"] {
            assert_eq!(clean_merchant(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn legal_suffixes() {
        for name in [
            "KEDAI RUNCIT MAJU SDN BHD",
            "Muster Bürobedarf GmbH",
            "Acme Inc.",
            "Foo B.V.",
            "ООО Ромашка",
            "PT Maju Jaya",
            "Bar S.R.L.",
        ] {
            assert!(has_legal_suffix(name), "{name}");
        }
        for name in ["TAX INVOICE", "Corner Cafe", "Thank you", "Partner"] {
            assert!(!has_legal_suffix(name), "{name}");
        }
    }
}
