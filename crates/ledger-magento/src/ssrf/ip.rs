//! Which IP addresses a merchant-supplied URL may reach: public unicast only, with the reason for each refusal.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Special-purpose IPv4 ranges, most specific first: (network, prefix length, reason).
const V4_RANGES: &[(u32, u8, &str)] = &[
    (0x0000_0000, 32, "the unspecified address"),
    (0x0000_0000, 8, "a \"this network\" address"),
    (0x0a00_0000, 8, "a private (RFC 1918) address"),
    (0x6440_0000, 10, "a shared (CGNAT) address"),
    (0x7f00_0000, 8, "a loopback address"),
    (0xa9fe_a9fe, 32, "the cloud metadata address (link-local)"),
    (0xa9fe_0000, 16, "a link-local address"),
    (0xac10_0000, 12, "a private (RFC 1918) address"),
    (0xc000_0000, 24, "an IETF protocol-assignment address"),
    (0xc000_0200, 24, "a documentation address"),
    (0xc058_6300, 24, "a deprecated 6to4 relay address"),
    (0xc0a8_0000, 16, "a private (RFC 1918) address"),
    (0xc612_0000, 15, "a benchmarking address"),
    (0xc633_6400, 24, "a documentation address"),
    (0xcb00_7100, 24, "a documentation address"),
    (0xe000_0000, 4, "a multicast address"),
    (0xffff_ffff, 32, "the broadcast address"),
    (0xf000_0000, 4, "a reserved address"),
];

/// Special-purpose IPv6 ranges inside or beside global unicast, most specific first.
const V6_RANGES: &[(u128, u8, &str)] = &[
    (0x0100_0000_0000_0000 << 64, 64, "a discard-only address"),
    (0x0064_ff9b_0001_u128 << 80, 48, "a local-use NAT64 address"),
    (0x2001_0000_u128 << 96, 32, "a Teredo tunnel address"),
    (0x2001_0db8_u128 << 96, 32, "a documentation address"),
    (0x2001_u128 << 112, 23, "an IETF special-purpose address"),
    (0x3fff_u128 << 112, 20, "a documentation address"),
    (0xfc00_u128 << 112, 7, "a unique local (private) address"),
    (0xfe80_u128 << 112, 10, "a link-local address"),
    (0xfec0_u128 << 112, 10, "a deprecated site-local address"),
    (0xff00_u128 << 112, 8, "a multicast address"),
];

fn in_v4(addr: u32, net: u32, prefix: u8) -> bool {
    prefix == 0 || addr >> (32 - u32::from(prefix)) == net >> (32 - u32::from(prefix))
}

fn in_v6(addr: u128, net: u128, prefix: u8) -> bool {
    prefix == 0 || addr >> (128 - u32::from(prefix)) == net >> (128 - u32::from(prefix))
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4_RANGES.iter().find(|(net, prefix, _)| in_v4(bits, *net, *prefix)).map(|(_, _, why)| *why)
}

fn embedded(kind: &str, v4: Ipv4Addr) -> Option<String> {
    v4_reason(v4).map(|why| format!("{kind} form of {v4}, {why}"))
}

fn v6_reason(ip: Ipv6Addr) -> Option<String> {
    let bits = u128::from(ip);
    if ip.is_unspecified() {
        return Some("the unspecified address".into());
    }
    if ip.is_loopback() {
        return Some("a loopback address".into());
    }
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if bits >> 32 == 0xffff {
        return embedded("an IPv4-mapped", low32);
    }
    if bits >> 32 == 0 {
        return Some(
            embedded("an IPv4-compatible", low32)
                .unwrap_or_else(|| format!("a deprecated IPv4-compatible form of {low32}")),
        );
    }
    if bits >> 32 == 0x0064_ff9b_u128 << 64 {
        return embedded("a NAT64", low32);
    }
    if bits >> 112 == 0x2002 {
        return embedded("a 6to4", Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    if let Some((_, _, why)) = V6_RANGES.iter().find(|(net, prefix, _)| in_v6(bits, *net, *prefix)) {
        return Some((*why).into());
    }
    if bits >> 125 != 0b001 {
        return Some("a reserved address (outside global unicast 2000::/3)".into());
    }
    None
}

/// Why `ip` must not be called, or `None` for a public unicast address. IPv4-mapped, -compatible, NAT64
/// and 6to4 IPv6 forms are judged by the IPv4 address they carry.
pub fn forbidden_reason(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4).map(str::to_owned),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(s: &str) -> Option<String> {
        forbidden_reason(s.parse().unwrap())
    }

    #[test]
    fn refuses_special_ipv4_ranges() {
        for (ip, word) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "CGNAT"),
            ("100.127.255.254", "CGNAT"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "this network"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("239.1.1.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("192.0.2.5", "documentation"),
            ("198.51.100.5", "documentation"),
            ("203.0.113.5", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("192.0.0.8", "IETF"),
        ] {
            let reason = why(ip).unwrap_or_else(|| panic!("{ip} allowed"));
            assert!(reason.contains(word), "{ip}: {reason}");
        }
    }

    #[test]
    fn allows_public_ipv4_at_range_edges() {
        for ip in ["8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.0", "100.63.255.255", "100.128.0.0", "11.0.0.1"] {
            assert_eq!(why(ip), None, "{ip}");
        }
    }

    #[test]
    fn refuses_special_ipv6_ranges_and_embedded_ipv4() {
        for (ip, word) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "metadata"),
            ("::ffff:10.1.2.3", "private"),
            ("::127.0.0.1", "loopback"),
            ("::8.8.8.8", "deprecated"),
            ("64:ff9b::7f00:1", "loopback"),
            ("2002:7f00:1::", "loopback"),
            ("2002:a9fe:a9fe::1", "metadata"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("2001:0:4136:e378::1", "Teredo"),
            ("100::1", "discard"),
            ("4000::1", "reserved"),
        ] {
            let reason = why(ip).unwrap_or_else(|| panic!("{ip} allowed"));
            assert!(reason.contains(word), "{ip}: {reason}");
        }
    }

    #[test]
    fn allows_public_ipv6() {
        for ip in ["2606:4700:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]
        {
            assert_eq!(why(ip), None, "{ip}");
        }
    }
}
