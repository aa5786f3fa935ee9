//! The template language of messages: `{{name}}` placeholders filled from an event's
//! fields, and money as people read it.

/// `template` with each `{{name}}` replaced by the value `fields` gives `name`. A
/// placeholder without a value stays as written, so a template mistake shows instead of
/// vanishing. Values are inserted verbatim and never scanned again: a customer-supplied
/// reason that contains `{{…}}` is shown as typed.
pub fn render(template: &str, fields: &[(&str, &str)]) -> String {
    let mut rendered = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        rendered.push_str(&rest[..start]);
        let after_open = &rest[start + 2..];
        let Some(end) = after_open.find("}}") else {
            rest = &rest[start..];
            break;
        };
        let name = after_open[..end].trim();
        match fields.iter().find(|(field, _)| *field == name) {
            Some((_, value)) => rendered.push_str(value),
            None => rendered.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after_open[end + 2..];
    }
    rendered.push_str(rest);
    rendered
}

/// Digits after the decimal point of `currency` (ISO 4217): 0 for the currencies without
/// minor units, 3 for the dinar-like ones, 2 for every other.
fn minor_digits(currency: &str) -> u32 {
    const NONE: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
        "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    let code = currency.to_ascii_uppercase();
    if NONE.contains(&code.as_str()) {
        0
    } else if THREE.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// An amount in minor units as people read it: `1250`, `EUR` → `12.50 EUR`.
pub fn format_money(minor_units: i64, currency: &str) -> String {
    let sign = if minor_units < 0 { "-" } else { "" };
    let magnitude = minor_units.unsigned_abs();
    let code = currency.to_ascii_uppercase();
    match minor_digits(currency) {
        0 => format!("{sign}{magnitude} {code}"),
        digits => {
            let scale = 10_u64.pow(digits);
            let width = digits as usize;
            format!(
                "{sign}{}.{:0width$} {code}",
                magnitude / scale,
                magnitude % scale
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_by_name() {
        let fields = [("order_id", "o-1"), ("amount", "12.50 EUR")];
        assert_eq!(
            render("Order {{order_id}}: {{ amount }}.", &fields),
            "Order o-1: 12.50 EUR."
        );
        assert_eq!(
            render("{{amount}}{{amount}}", &fields),
            "12.50 EUR12.50 EUR"
        );
        assert_eq!(render("no placeholders", &fields), "no placeholders");
        assert_eq!(render("", &fields), "");
    }

    #[test]
    fn unknown_or_unclosed_placeholders_stay_as_written() {
        let fields = [("a", "1")];
        assert_eq!(render("{{a}} {{b}} {{a}}", &fields), "1 {{b}} 1");
        assert_eq!(render("{{a}} {{open", &fields), "1 {{open");
        assert_eq!(render("a }} b", &fields), "a }} b");
    }

    #[test]
    fn values_are_not_rendered_again() {
        let fields = [("reason", "{{secret}}"), ("secret", "leaked")];
        assert_eq!(render("Reason: {{reason}}", &fields), "Reason: {{secret}}");
    }

    #[test]
    fn money_shows_the_currency_s_minor_units() {
        assert_eq!(format_money(1250, "EUR"), "12.50 EUR");
        assert_eq!(format_money(5, "usd"), "0.05 USD");
        assert_eq!(format_money(0, "EUR"), "0.00 EUR");
        assert_eq!(format_money(100_000_000, "GBP"), "1000000.00 GBP");
        assert_eq!(format_money(-1250, "EUR"), "-12.50 EUR");
        assert_eq!(format_money(500, "JPY"), "500 JPY");
        assert_eq!(format_money(1234, "KWD"), "1.234 KWD");
        assert_eq!(format_money(i64::MIN, "EUR"), "-92233720368547758.08 EUR");
    }
}
