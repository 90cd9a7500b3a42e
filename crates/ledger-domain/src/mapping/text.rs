//! Text for Sage fields: HTML entities and tags from Magento names removed (Sage refuses some, spec
//! 8.20), whitespace collapsed, and cut to a field's maximum length on a character boundary.

/// Cuts `s` to at most `max` characters.
pub fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `Some(truncated)` for non-blank text, `None` otherwise.
pub fn opt_text(s: Option<&str>, max: usize) -> Option<String> {
    let t = s.map(str::trim).filter(|t| !t.is_empty())?;
    Some(truncate(t, max))
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "trade" => '™',
        "reg" => '®',
        "copy" => '©',
        "euro" => '€',
        "pound" => '£',
        "ndash" => '–',
        "mdash" => '—',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

/// Plain text from a Magento product or line name: tags dropped, entities decoded, whitespace
/// collapsed, then cut to `max` characters.
pub fn plain(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            out.push(' ');
            rest = &rest[end + 1..];
            continue;
        }
        if c == '&'
            && let Some((end, _)) = rest.char_indices().take(12).find(|(_, c)| *c == ';')
            && let Some(decoded) = entity(&rest[1..end])
        {
            out.push(decoded);
            rest = &rest[end + 1..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&collapsed, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_markup_and_keep_meaning() {
        assert_eq!(plain("Acme&trade; <b>Kettle</b> &amp; lid", 100), "Acme™ Kettle & lid");
        assert_eq!(plain("Caf&#233; &#x41;", 100), "Café A");
        assert_eq!(plain("AT&T rocks; ok", 100), "AT&T rocks; ok", "an unknown entity stays as typed");
        assert_eq!(plain("a < b", 100), "a < b", "a lone < is text");
        assert_eq!(plain("  two   spaces\n", 100), "two spaces");
        assert_eq!(plain("ééééé", 3), "ééé", "cut on characters, not bytes");
    }

    #[test]
    fn optional_text_drops_blanks() {
        assert_eq!(opt_text(Some("  "), 5), None);
        assert_eq!(opt_text(None, 5), None);
        assert_eq!(opt_text(Some(" abcdefg "), 5).as_deref(), Some("abcde"));
    }
}
