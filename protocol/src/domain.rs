//! A merchant's web domain, as a request names it (key 10): the host whose
//! `https://<domain>/.well-known/passport` must name the merchant's id.

use crate::error::ProtocolError;

/// Longest domain a request may name, with its port (`host:65535`).
pub const MAX_DOMAIN_BYTES: usize = 253 + 6;

/// Checks a domain a request names: a DNS name of letters, digits, hyphens and
/// dots (no scheme, path or user), lowercase, optionally `:port`.
pub fn check_domain(domain: &str) -> Result<(), ProtocolError> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let bad = |why: &str| ProtocolError::malformed(format!("domain {domain:?}: {why}"));
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(bad("the port is not 1 to 65535"));
    }
    if host.is_empty() || host.len() > 253 {
        return Err(bad("the host is empty or longer than 253 bytes"));
    }
    for label in host.split('.') {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(
                "each dot-separated part must be 1 to 63 lowercase letters, digits or inner hyphens",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_domain;

    #[test]
    fn domains_are_hosts_with_an_optional_port_and_nothing_else() {
        for good in [
            "brandx.example",
            "shop.brandx.example:8443",
            "localhost:1",
            "a-b.c9",
        ] {
            assert!(check_domain(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Brandx.example",
            "https://brandx.example",
            "brandx.example/path",
            "user@brandx.example",
            "brandx..example",
            "-brandx.example",
            "brandx.example:0",
            "brandx.example:70000",
            "brandx.example:",
            ".example",
        ] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
    }
}
