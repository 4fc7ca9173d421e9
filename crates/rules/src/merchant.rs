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
    "OHG",
    "KGAA",
    "VVAG",
    "A.G.",
    "E.V.",
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
/// A registration number after the name ("… SDN. BHD. (1248446-V)") does not hide the suffix.
pub fn has_legal_suffix(text: &str) -> bool {
    let mut upper = text.trim().to_uppercase();
    while upper.ends_with(')')
        && let Some(open) = upper.rfind('(')
        && upper[open..].chars().any(|c| c.is_ascii_digit())
    {
        upper = upper[..open].trim_end().to_string();
    }
    let words: Vec<&str> = upper
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    let bare = |w: &str| w.trim_end_matches('.').to_string();
    if words
        .iter()
        .any(|w| matches!(bare(w).as_str(), "SDN" | "BHD" | "GMBH" | "SDN.BHD"))
    {
        return true;
    }
    LEGAL_SUFFIXES.iter().any(|s| {
        joined.ends_with(&format!(" {s}"))
            || joined == *s
            || (matches!(*s, "ООО" | "ОАО" | "ЗАО" | "ПАО" | "АО" | "ИП" | "PT")
                && joined.starts_with(&format!("{s} ")))
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
    let s = strip_department(&s);
    // A receipt or branch number printed before the name ("000002 BAIFU (M) SDN BHD").
    let s = match s.split_once(' ') {
        Some((head, rest)) if head.len() >= 4 && head.chars().all(|c| c.is_ascii_digit()) => {
            rest.to_string()
        }
        _ => s,
    };
    let s = repair_ocr(&s);
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 || s.chars().count() > 120 {
        return None;
    }
    Some(s)
}

/// OCR look-alikes in the parts of a name whose spelling is known: the Malaysian legal form
/// (`SON BHD`, `SDN DHD`, `5/B` for `SDN BHD`, `S/B`) and initials (`D.1.Y.` for `D.I.Y.`).
fn repair_ocr(s: &str) -> String {
    let words: Vec<&str> = s.split(' ').collect();
    let n = words.len();
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let up = w.to_uppercase();
            let next = words.get(i + 1).map(|x| x.to_uppercase());
            let prev = i.checked_sub(1).map(|k| words[k].to_uppercase());
            let bhd = |x: &str| matches!(x.trim_end_matches('.'), "BHD" | "BHO" | "DHD" | "BHU");
            let sdn = |x: &str| matches!(x.trim_end_matches('.'), "SDN" | "SON" | "5DN" | "SDM");
            // Only an all-capitals misreading is replaced; "Sdn Bhd" stays as printed.
            let core = w.trim_end_matches('.');
            let caps = core.chars().all(|c| !c.is_lowercase());
            if caps && core != "SDN" && sdn(&up) && next.as_deref().is_some_and(bhd) {
                return w.replacen(core, "SDN", 1);
            }
            if caps && core != "BHD" && bhd(&up) && prev.as_deref().is_some_and(sdn) {
                return w.replacen(core, "BHD", 1);
            }
            if i + 1 == n && up == "5/B" {
                return "S/B".to_string();
            }
            // Initials: single characters between dots, one of them a look-alike digit.
            let parts: Vec<&str> = w.split('.').filter(|p| !p.is_empty()).collect();
            if parts.len() >= 2
                && w.contains('.')
                && parts.iter().all(|p| p.chars().count() == 1)
                && parts
                    .iter()
                    .filter(|p| p.chars().all(char::is_uppercase))
                    .count()
                    >= 1
            {
                return w.replace('1', "I").replace('0', "O");
            }
            w.to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
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

/// A customer-service or billing department after the company's name, as sender lines print
/// it ("Free Service Abonné", "ACME GmbH Kundenservice"): the company alone. A name that is
/// only the department stays as it is.
fn strip_department(s: &str) -> String {
    const DEPARTMENTS: &[&str] = &[
        "SERVICE ABONNÉ",
        "SERVICE ABONNÉS",
        "SERVICE ABONNE",
        "SERVICE ABONNES",
        "SERVICE CLIENT",
        "SERVICE CLIENTS",
        "SERVICE CLIENTÈLE",
        "SERVICE CLIENTELE",
        "SERVICE FACTURATION",
        "CUSTOMER SERVICE",
        "CUSTOMER SERVICES",
        "CUSTOMER CARE",
        "BILLING DEPARTMENT",
        "KUNDENSERVICE",
        "KUNDENDIENST",
        "KUNDENBETREUUNG",
        "KLANTENSERVICE",
        "SERVICIO AL CLIENTE",
    ];
    let words: Vec<&str> = s.split(' ').collect();
    for d in DEPARTMENTS {
        let k = d.split(' ').count();
        if words.len() <= k {
            continue;
        }
        let (head, tail) = words.split_at(words.len() - k);
        if tail.join(" ").to_uppercase() == *d
            && head.iter().any(|w| w.chars().any(char::is_alphabetic))
        {
            return head.join(" ");
        }
    }
    s.to_string()
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
    fn a_department_after_the_name_is_dropped() {
        assert_eq!(
            clean_merchant("Free Service Abonné").as_deref(),
            Some("Free")
        );
        assert_eq!(
            clean_merchant("ACME GmbH Kundenservice").as_deref(),
            Some("ACME GmbH")
        );
        assert_eq!(
            clean_merchant("Straße Bau Kundenservice").as_deref(),
            Some("Straße Bau")
        );
        assert_eq!(
            clean_merchant("Customer Service").as_deref(),
            Some("Customer Service"),
            "a department alone stays"
        );
        assert_eq!(
            clean_merchant("Service Client Express SARL").as_deref(),
            Some("Service Client Express SARL"),
            "only at the end"
        );
    }

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
        for (raw, want) in [
            ("AMANO MALAYSIA SON BHD", "AMANO MALAYSIA SDN BHD"),
            (
                "ONE ONE THREE SEAFOOD RESTAURANT SDN DHD",
                "ONE ONE THREE SEAFOOD RESTAURANT SDN BHD",
            ),
            ("Maju Son Bhd", "Maju Son Bhd"),
            ("99 SPEED MART 5/B", "99 SPEED MART S/B"),
            ("MR. D.1.Y. (M) SDN BHD", "MR. D.I.Y. (M) SDN BHD"),
            ("A.10 PARTS", "A.10 PARTS"),
        ] {
            assert_eq!(clean_merchant(raw).as_deref(), Some(want), "{raw}");
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
            "MIZU MENTAI SDN. BHD. (1248446-V)",
            "Segi Cash & Carry Sdn.Bhd",
            "AMANO MALAYSIA SON BHD (682288-V)",
        ] {
            assert!(has_legal_suffix(name), "{name}");
        }
        for name in ["TAX INVOICE", "Corner Cafe", "Thank you", "Partner"] {
            assert!(!has_legal_suffix(name), "{name}");
        }
    }
}
