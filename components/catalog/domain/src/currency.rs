//! The ISO 4217 codes a price may carry.

/// Circulating currencies of ISO 4217 (list 179, 2025), sorted. Fund codes (e.g. BOV,
/// CHE), precious metals, SDRs and the testing / no-currency codes are left out: none of
/// them prices goods in minor units.
const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
];

/// The code in its canonical (upper-case) spelling when it is a known currency.
pub fn known_currency(code: &str) -> Option<&'static str> {
    let upper = code.to_ascii_uppercase();
    CURRENCIES
        .binary_search(&upper.as_str())
        .ok()
        .map(|at| CURRENCIES[at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_unique_for_binary_search() {
        assert!(CURRENCIES.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(CURRENCIES.iter().all(|code| code.len() == 3));
    }

    #[test]
    fn known_and_unknown_codes() {
        assert_eq!(known_currency("EUR"), Some("EUR"));
        assert_eq!(known_currency("usd"), Some("USD"));
        assert_eq!(known_currency("JPY"), Some("JPY"));
        for unknown in ["", "EU", "EURO", "XXX", "XAU", "ABC", "€"] {
            assert_eq!(known_currency(unknown), None, "{unknown}");
        }
    }
}
