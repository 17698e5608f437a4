//! Guard: which destinations may be fetched (SSRF protection).
//!
//! The guard owns the outbound policy and nothing else: which schemes, hosts,
//! ports and IP addresses a source URL may point at. It does no I/O. The
//! [`Fetcher`](super::Fetcher) asks it three times: when the `url` parameter is
//! parsed (static checks), for every address DNS returns (so the address
//! connected to is the address checked), and for every redirect hop.
//!
//! Addresses are judged by [`classify`], a deny-by-default table: IPv6 is
//! public only inside `2000::/3` (the one block allocated for global unicast),
//! and every IPv6 form that carries an IPv4 address is judged by that address
//! or refused outright.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use super::FetchError;

/// What kind of destination an IP address is. Everything but
/// [`AddressClass::Public`] is refused unless private networks are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A globally routable unicast address.
    Public,
    /// `0.0.0.0/8` and `::`: "this host"; connecting to it reaches loopback on Linux.
    Unspecified,
    /// `127.0.0.0/8` and `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `169.254/16` (cloud metadata services live here) and `fe80::/10`.
    LinkLocal,
    /// Carrier-grade NAT, `100.64/10`: the provider's network, not the internet.
    SharedCgnat,
    /// `255.255.255.255`.
    Broadcast,
    /// `224/4` and `ff00::/8`.
    Multicast,
    /// `240/4`, the deprecated 6to4 relay anycast `192.88.99/24`, and IPv6
    /// outside `2000::/3` that no other class names.
    Reserved,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18/15`: network benchmarking.
    Benchmarking,
    /// `192.0.0/24` and `2001::/23` (outside Teredo): IETF protocol assignments.
    ProtocolAssignments,
    /// `fc00::/7`: the IPv6 counterpart of RFC 1918.
    UniqueLocal,
    /// `fec0::/10`: deprecated, but still routed privately by some networks.
    SiteLocal,
    /// `100::/64`: the discard-only prefix.
    Discard,
    /// `2001::/32`: Teredo tunnels. The embedded IPv4 server and client are
    /// obfuscated and the relay is chosen by the network, so it is refused whole.
    Teredo,
    /// `::/96`: deprecated IPv4-compatible addresses, refused whole.
    Ipv4Compatible,
    /// `64:ff9b:1::/48`: local-use NAT64, whose translation is site-defined.
    Nat64LocalUse,
}

impl AddressClass {
    /// Whether a connection to this class of address may be opened by default.
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    /// A few words for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private network",
            AddressClass::LinkLocal => "link-local",
            AddressClass::SharedCgnat => "carrier-grade NAT",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Multicast => "multicast",
            AddressClass::Reserved => "reserved",
            AddressClass::Documentation => "documentation range",
            AddressClass::Benchmarking => "benchmarking range",
            AddressClass::ProtocolAssignments => "IETF protocol assignment",
            AddressClass::UniqueLocal => "unique-local",
            AddressClass::SiteLocal => "site-local",
            AddressClass::Discard => "discard prefix",
            AddressClass::Teredo => "Teredo tunnel",
            AddressClass::Ipv4Compatible => "IPv4-compatible",
            AddressClass::Nat64LocalUse => "local-use NAT64",
        }
    }
}

/// IPv4 ranges that are not public, most specific first (the first match wins).
const V4_RANGES: &[(Ipv4Addr, u32, AddressClass)] = &[
    (Ipv4Addr::new(255, 255, 255, 255), 32, AddressClass::Broadcast),
    (Ipv4Addr::new(0, 0, 0, 0), 8, AddressClass::Unspecified),
    (Ipv4Addr::new(10, 0, 0, 0), 8, AddressClass::Private),
    (Ipv4Addr::new(100, 64, 0, 0), 10, AddressClass::SharedCgnat),
    (Ipv4Addr::new(127, 0, 0, 0), 8, AddressClass::Loopback),
    (Ipv4Addr::new(169, 254, 0, 0), 16, AddressClass::LinkLocal),
    (Ipv4Addr::new(172, 16, 0, 0), 12, AddressClass::Private),
    (Ipv4Addr::new(192, 0, 0, 0), 24, AddressClass::ProtocolAssignments),
    (Ipv4Addr::new(192, 0, 2, 0), 24, AddressClass::Documentation),
    (Ipv4Addr::new(192, 88, 99, 0), 24, AddressClass::Reserved),
    (Ipv4Addr::new(192, 168, 0, 0), 16, AddressClass::Private),
    (Ipv4Addr::new(198, 18, 0, 0), 15, AddressClass::Benchmarking),
    (Ipv4Addr::new(198, 51, 100, 0), 24, AddressClass::Documentation),
    (Ipv4Addr::new(203, 0, 113, 0), 24, AddressClass::Documentation),
    (Ipv4Addr::new(224, 0, 0, 0), 4, AddressClass::Multicast),
    (Ipv4Addr::new(240, 0, 0, 0), 4, AddressClass::Reserved),
];

/// IPv6 ranges judged as a whole, most specific first. The forms that embed
/// an IPv4 address to be judged (mapped, NAT64, 6to4) are handled in code
/// before this table; anything outside `2000::/3` not named here is reserved.
const V6_RANGES: &[(Ipv6Addr, u32, AddressClass)] = &[
    (
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),
        128,
        AddressClass::Unspecified,
    ),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1), 128, AddressClass::Loopback),
    (
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),
        96,
        AddressClass::Ipv4Compatible,
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        AddressClass::Nat64LocalUse,
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
        AddressClass::Discard,
    ),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        32,
        AddressClass::Teredo,
    ),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        AddressClass::ProtocolAssignments,
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        AddressClass::Documentation,
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        AddressClass::Documentation,
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        AddressClass::UniqueLocal,
    ),
    (
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        10,
        AddressClass::LinkLocal,
    ),
    (
        Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),
        10,
        AddressClass::SiteLocal,
    ),
    (
        Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
        8,
        AddressClass::Multicast,
    ),
];

/// Whether the first `len` bits of two 128-bit values agree.
fn same_prefix_v6(a: Ipv6Addr, b: Ipv6Addr, len: u32) -> bool {
    let shift = 128u32.saturating_sub(len);
    u128::from(a).checked_shr(shift).unwrap_or(0) == u128::from(b).checked_shr(shift).unwrap_or(0)
}

/// Whether the first `len` bits of two 32-bit values agree.
fn same_prefix_v4(a: Ipv4Addr, b: Ipv4Addr, len: u32) -> bool {
    let shift = 32u32.saturating_sub(len);
    u32::from(a).checked_shr(shift).unwrap_or(0) == u32::from(b).checked_shr(shift).unwrap_or(0)
}

/// Classifies an address: [`AddressClass::Public`] or the reason it is not.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    V4_RANGES
        .iter()
        .find(|(net, len, _)| same_prefix_v4(ip, *net, *len))
        .map_or(AddressClass::Public, |(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let bits = u128::from(ip);
    // The low 32 bits, where mapped and NAT64 addresses carry their IPv4 host.
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    // IPv4-mapped `::ffff:0:0/96`: a dual-stack socket connects to the IPv4 host.
    if same_prefix_v6(ip, Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96) {
        return classify_v4(low32);
    }
    // Well-known NAT64 `64:ff9b::/96` (RFC 6052): the gateway connects to the IPv4 host.
    if same_prefix_v6(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return classify_v4(low32);
    }
    // 6to4 `2002::/16`: the IPv4 host sits in bits 16..48.
    if same_prefix_v6(ip, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return classify_v4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    if let Some((_, _, class)) = V6_RANGES
        .iter()
        .find(|(net, len, _)| same_prefix_v6(ip, *net, *len))
    {
        return *class;
    }
    // Only `2000::/3` is allocated for global unicast; the rest is reserved.
    if same_prefix_v6(ip, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3) {
        AddressClass::Public
    } else {
        AddressClass::Reserved
    }
}

/// One entry of `allowed_sources`, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// `images.example.com`: that host only.
    Exact(String),
    /// `*.example.com`, stored as `.example.com`: any subdomain, at any
    /// depth, but not `example.com` itself.
    Subdomains(String),
}

impl HostPattern {
    fn new(pattern: &str) -> HostPattern {
        let pattern = normalise_host(pattern);
        match pattern.strip_prefix("*.") {
            Some(parent) => HostPattern::Subdomains(format!(".{parent}")),
            None => HostPattern::Exact(pattern),
        }
    }

    /// `host` must already be normalised.
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(exact) => host == exact,
            // The leading dot of the suffix makes `evilexample.com` miss
            // `*.example.com`, and the length check makes `.example.com` miss.
            HostPattern::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

/// Lower case, without the trailing dot of a fully qualified name.
fn normalise_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The outbound policy, built once from the configuration.
#[derive(Debug, Clone)]
pub struct Guard {
    /// `allow_private_networks`: lets every address class through and any
    /// port (tests and local development only).
    allow_private_networks: bool,
    /// `allowed_sources` host patterns; empty means any host.
    allowed_sources: Vec<HostPattern>,
    /// `allowed_ports`: ports sources may use while the address check is on,
    /// so that a public host cannot be used to probe arbitrary services.
    allowed_ports: Vec<u16>,
    /// The origin of an HTTP mount: the operator's own, so it passes
    /// whatever its address, host pattern or port; every other host, a
    /// redirect's included, is judged as usual.
    trusted: Option<TrustedOrigin>,
}

/// The origin an HTTP mount's guard trusts. Trust is for a host *and* a
/// port: the resolver, which sees only names, skips the address check for
/// the trusted host, so a hop to that host on another port must be refused
/// before it connects (else a redirect could reach another service of an
/// internal host). The one exception is the move between the default ports
/// of `http` and `https` (an origin that upgrades to TLS, or back).
#[derive(Debug, Clone)]
struct TrustedOrigin {
    /// The host as `url` spells it, normalised (IPv6 literals in brackets).
    host: String,
    /// The port the operator wrote, or the scheme's default.
    port: u16,
    /// Whether `port` is its scheme's default (80 for http, 443 for https).
    default_port: bool,
}

impl TrustedOrigin {
    /// Whether a URL's host and port is this origin: `None` when the host
    /// is another one, else whether the port is trusted too.
    fn admits(&self, host: &str, port: u16, default_port: bool) -> Option<bool> {
        (self.host == host).then_some(port == self.port || (self.default_port && default_port))
    }
}

impl Guard {
    /// The policy of a configuration.
    pub fn new(config: &crate::config::Config) -> Guard {
        Guard {
            allow_private_networks: config.allow_private_networks,
            allowed_sources: config
                .allowed_sources
                .iter()
                .map(|p| HostPattern::new(p))
                .collect(),
            allowed_ports: config.allowed_ports.clone(),
            trusted: None,
        }
    }

    /// This policy, with the host and port of `origin` trusted: the guard
    /// of an HTTP mount's client.
    pub fn trusting(&self, origin: &Url) -> Guard {
        let trusted = match (origin.host_str(), origin.port_or_known_default()) {
            (Some(host), Some(port)) => Some(TrustedOrigin {
                host: normalise_host(host),
                port,
                default_port: origin.port().is_none(),
            }),
            _ => None,
        };
        Guard {
            trusted,
            ..self.clone()
        }
    }

    /// Whether `host` (a name as the resolver receives it) is the trusted
    /// origin's. The resolver learns no port: [`Guard::check_url`] has
    /// already refused the trusted host on any port but its own (see
    /// [`TrustedOrigin`]), so only the trusted origin gets this far.
    pub fn trusts_host(&self, host: &str) -> bool {
        self.trusted
            .as_ref()
            .is_some_and(|trusted| trusted.host == normalise_host(host))
    }

    /// Refuses an address that is not public, unless private networks are allowed.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), FetchError> {
        let class = classify(ip);
        if self.allow_private_networks || class.is_public() {
            Ok(())
        } else {
            Err(FetchError::PrivateAddress(format!("{ip} ({})", class.describe())))
        }
    }

    /// Whether a host name (or IP literal, written as text) matches `allowed_sources`.
    pub fn host_allowed(&self, host: &str) -> bool {
        if self.allowed_sources.is_empty() {
            return true;
        }
        let host = normalise_host(host);
        self.allowed_sources.iter().any(|pattern| pattern.matches(&host))
    }

    /// Refuses a port outside `allowed_ports`, unless private networks are allowed.
    pub fn check_port(&self, port: u16) -> Result<(), FetchError> {
        if self.allow_private_networks || self.allowed_ports.contains(&port) {
            Ok(())
        } else {
            Err(FetchError::PortNotAllowed(port))
        }
    }

    /// Every check that needs no network: scheme, userinfo, host pattern, IP
    /// literal and port. Run on the requested URL and on every redirect hop;
    /// names are checked again, by address, when they are resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(FetchError::UnsupportedScheme(scheme.to_owned()));
        }
        // `https://trusted.example@evil.example/` reads as one host and
        // connects to another; credentials have no place in a source URL.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::InvalidUrl(
                "the source URL must not contain a user name or password (`user@host`)".to_owned(),
            ));
        }
        let host = url
            .host()
            .ok_or_else(|| FetchError::InvalidUrl("the source URL has no host".to_owned()))?;
        // The url crate has already turned every IPv4 spelling (`2130706433`,
        // `0x7f000001`, `127.1`, `0177.0.0.1`) into an address, so a literal
        // can never reach the network as a "name".
        let (text, literal) = match host {
            Host::Domain(name) => (name.to_owned(), None),
            Host::Ipv4(v4) => (v4.to_string(), Some(IpAddr::V4(v4))),
            Host::Ipv6(v6) => (v6.to_string(), Some(IpAddr::V6(v6))),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| FetchError::InvalidUrl("the source URL has no port".to_owned()))?;
        // `url` keeps IPv6 literals in brackets in `host_str`, which is how
        // `trusting` stored them.
        let spelled = url.host_str().map(normalise_host).unwrap_or_default();
        if let Some(trusted) = &self.trusted {
            match trusted.admits(&spelled, port, url.port().is_none()) {
                Some(true) => return Ok(()),
                // With private networks allowed nothing is skipped for the
                // trusted host, so its other ports are judged as any host's.
                Some(false) if !self.allow_private_networks => {
                    return Err(FetchError::OtherPortOfMount(port));
                }
                _ => {}
            }
        }
        if !self.host_allowed(&text) {
            return Err(FetchError::HostNotAllowed(text));
        }
        if let Some(ip) = literal {
            self.check_address(ip)?;
        }
        self.check_port(port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn class(ip: &str) -> AddressClass {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_ranges_and_their_boundaries() {
        use AddressClass::*;
        let table = [
            ("0.0.0.0", Unspecified),
            ("0.255.255.255", Unspecified),
            ("1.0.0.0", Public),
            ("9.255.255.255", Public),
            ("10.0.0.0", Private),
            ("10.255.255.255", Private),
            ("11.0.0.0", Public),
            ("100.63.255.255", Public),
            ("100.64.0.0", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.0", Public),
            ("126.255.255.255", Public),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("128.0.0.0", Public),
            ("169.253.255.255", Public),
            ("169.254.0.0", LinkLocal),
            ("169.254.169.254", LinkLocal),
            ("169.254.255.255", LinkLocal),
            ("169.255.0.0", Public),
            ("172.15.255.255", Public),
            ("172.16.0.0", Private),
            ("172.31.255.255", Private),
            ("172.32.0.0", Public),
            ("191.255.255.255", Public),
            ("192.0.0.0", ProtocolAssignments),
            ("192.0.0.255", ProtocolAssignments),
            ("192.0.1.0", Public),
            ("192.0.2.0", Documentation),
            ("192.0.2.255", Documentation),
            ("192.0.3.0", Public),
            ("192.88.99.1", Reserved),
            ("192.167.255.255", Public),
            ("192.168.0.0", Private),
            ("192.168.255.255", Private),
            ("192.169.0.0", Public),
            ("198.17.255.255", Public),
            ("198.18.0.0", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("198.20.0.0", Public),
            ("198.51.99.255", Public),
            ("198.51.100.0", Documentation),
            ("198.51.100.255", Documentation),
            ("198.51.101.0", Public),
            ("203.0.112.255", Public),
            ("203.0.113.0", Documentation),
            ("203.0.113.255", Documentation),
            ("203.0.114.0", Public),
            ("223.255.255.255", Public),
            ("224.0.0.0", Multicast),
            ("239.255.255.255", Multicast),
            ("240.0.0.0", Reserved),
            ("255.255.255.254", Reserved),
            ("255.255.255.255", Broadcast),
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("93.184.215.14", Public),
        ];
        for (ip, expected) in table {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_and_their_boundaries() {
        use AddressClass::*;
        let table = [
            ("::", Unspecified),
            ("::1", Loopback),
            ("::2", Ipv4Compatible),
            ("::7f00:1", Ipv4Compatible),
            ("::808:808", Ipv4Compatible),
            ("::1:0:0:0", Reserved),
            ("fc00::", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UniqueLocal),
            ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
            ("fe00::1", Reserved),
            ("fe80::", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", LinkLocal),
            ("fec0::", SiteLocal),
            ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", SiteLocal),
            ("ff00::", Multicast),
            ("ff02::1", Multicast),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Multicast),
            ("2001:db8::", Documentation),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Documentation),
            ("2001:db9::1", Public),
            ("3fff::1", Documentation),
            ("3fff:fff::1", Documentation),
            ("3fff:1000::1", Public),
            ("100::", Discard),
            ("100::ffff:ffff:ffff:ffff", Discard),
            ("100:0:0:1::", Reserved),
            ("2001::", Teredo),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Teredo),
            ("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", Teredo),
            ("2001:2::1", ProtocolAssignments),
            ("2001:1ff:ffff::1", ProtocolAssignments),
            ("2001:200::1", Public),
            ("64:ff9b:1::1", Nat64LocalUse),
            ("64:ff9b:1:ffff::1", Nat64LocalUse),
            ("1fff:ffff::1", Reserved),
            ("4000::1", Reserved),
            ("2000::1", Public),
            ("2606:4700::1", Public),
            ("2606:4700:4700::1111", Public),
            ("2a00:1450:4001::200e", Public),
            ("3ffe:ffff::1", Public),
        ];
        for (ip, expected) in table {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4_address() {
        use AddressClass::*;
        let table = [
            // IPv4-mapped.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:7f00:1", Loopback),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:100.64.0.1", SharedCgnat),
            ("::ffff:8.8.8.8", Public),
            // 6to4: bits 16..48.
            ("2002:7f00:1::", Loopback),
            ("2002:7f00:0001:ffff:ffff:ffff:ffff:ffff", Loopback),
            ("2002:a00:1::1", Private),
            ("2002:c0a8:101::1", Private),
            ("2002:a9fe:a9fe::", LinkLocal),
            ("2002::", Unspecified),
            ("2002:808:808::1", Public),
            // Well-known NAT64.
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::169.254.169.254", LinkLocal),
            ("64:ff9b::127.0.0.1", Loopback),
            ("64:ff9b::10.1.2.3", Private),
            ("64:ff9b::8.8.8.8", Public),
            // IPv4-compatible and Teredo are refused whatever they carry.
            ("::127.0.0.1", Ipv4Compatible),
            ("::8.8.8.8", Ipv4Compatible),
            ("2001:0:808:808::1", Teredo),
        ];
        for (ip, expected) in table {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn only_public_is_public() {
        assert!(AddressClass::Public.is_public());
        assert!(!AddressClass::Loopback.is_public());
        assert!(!AddressClass::Teredo.is_public());
    }

    fn guard(private: bool, sources: &[&str], ports: &[u16]) -> Guard {
        let mut config = Config::defaults();
        config.allow_private_networks = private;
        config.allowed_sources = sources.iter().map(|s| s.to_string()).collect();
        config.allowed_ports = ports.to_vec();
        Guard::new(&config)
    }

    #[test]
    fn host_patterns() {
        let g = guard(false, &["images.example.com", "*.cdn.example.org"], &[80, 443]);
        let table = [
            ("images.example.com", true),
            ("IMAGES.Example.COM", true),
            ("images.example.com.", true),
            ("example.com", false),
            ("other.example.com", false),
            ("images.example.com.evil.net", false),
            ("ximages.example.com", false),
            ("a.cdn.example.org", true),
            ("a.b.c.cdn.example.org", true),
            ("A.CDN.EXAMPLE.ORG.", true),
            ("cdn.example.org", false),
            ("cdn.example.org.", false),
            ("evilcdn.example.org", false),
            ("a.cdn.example.org.evil.net", false),
            ("", false),
        ];
        for (host, expected) in table {
            assert_eq!(g.host_allowed(host), expected, "{host}");
        }
        // No patterns: any host.
        assert!(guard(false, &[], &[80]).host_allowed("anything.example"));
        // Patterns are normalised too.
        let g = guard(false, &["*.Example.COM."], &[80]);
        assert!(g.host_allowed("a.example.com"));
        assert!(!g.host_allowed("example.com"));
        assert!(!g.host_allowed("evilexample.com"));
    }

    #[test]
    fn ports() {
        let strict = guard(false, &[], &[80, 443]);
        assert_eq!(strict.check_port(80), Ok(()));
        assert_eq!(strict.check_port(443), Ok(()));
        assert_eq!(strict.check_port(8080), Err(FetchError::PortNotAllowed(8080)));
        assert_eq!(strict.check_port(22), Err(FetchError::PortNotAllowed(22)));
        let open = guard(true, &[], &[80, 443]);
        assert_eq!(open.check_port(22), Ok(()));
    }

    #[test]
    fn addresses_pass_only_when_public_or_private_networks_are_allowed() {
        let strict = guard(false, &[], &[80]);
        let err = strict
            .check_address("169.254.169.254".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            err,
            FetchError::PrivateAddress("169.254.169.254 (link-local)".into())
        );
        assert_eq!(strict.check_address("8.8.8.8".parse().unwrap()), Ok(()));
        let open = guard(true, &[], &[80]);
        assert_eq!(open.check_address("127.0.0.1".parse().unwrap()), Ok(()));
    }

    #[test]
    fn a_mount_trusts_its_host_on_its_own_port_only() {
        let strict = guard(false, &[], &[80, 443, 8080]);
        let mount = strict.trusting(&Url::parse("http://origin.internal:8080/img/").unwrap());
        let check = |u: &str| mount.check_url(&Url::parse(u).unwrap());
        assert_eq!(check("http://origin.internal:8080/a.png"), Ok(()));
        assert!(mount.trusts_host("origin.internal"));
        // The same host on another port, even an allowed one, is another
        // service: refused before the resolver (which trusts the name).
        assert_eq!(
            check("http://origin.internal/a.png"),
            Err(FetchError::OtherPortOfMount(80))
        );
        assert_eq!(
            check("https://origin.internal:8080/a.png"),
            Ok(()),
            "the port decides, not the scheme"
        );
        // An origin on a default port may move between http and https.
        let web = strict.trusting(&Url::parse("http://origin.internal/img/").unwrap());
        let check = |u: &str| web.check_url(&Url::parse(u).unwrap());
        assert_eq!(check("https://origin.internal/a.png"), Ok(()));
        assert_eq!(check("http://origin.internal:80/a.png"), Ok(()));
        assert_eq!(
            check("https://origin.internal:8443/a.png"),
            Err(FetchError::OtherPortOfMount(8443))
        );
        // Other hosts are judged as for `?url=`.
        assert_eq!(check("http://other.example/a.png"), Ok(()));
        assert_eq!(
            check("http://other.example:6379/a.png"),
            Err(FetchError::PortNotAllowed(6379))
        );
        // With private networks allowed the trusted host gets no exemption
        // that matters, so its other ports are judged as any host's.
        let open = guard(true, &[], &[80]).trusting(&Url::parse("http://origin.internal:8080/").unwrap());
        assert_eq!(
            open.check_url(&Url::parse("http://origin.internal:9000/").unwrap()),
            Ok(())
        );
    }

    #[test]
    fn check_url_runs_every_static_check() {
        let g = guard(false, &["*.example.com", "8.8.8.8"], &[80, 443]);
        let check = |u: &str| g.check_url(&Url::parse(u).unwrap());
        assert_eq!(check("https://img.example.com/a.jpg"), Ok(()));
        assert_eq!(check("http://img.example.com:80/a.jpg"), Ok(()));
        assert_eq!(check("http://8.8.8.8/a.jpg"), Ok(()));
        assert_eq!(
            check("ftp://img.example.com/a.jpg"),
            Err(FetchError::UnsupportedScheme("ftp".into()))
        );
        assert!(matches!(
            check("https://u:p@img.example.com/"),
            Err(FetchError::InvalidUrl(_))
        ));
        assert!(matches!(
            check("https://u@img.example.com/"),
            Err(FetchError::InvalidUrl(_))
        ));
        assert_eq!(
            check("https://example.com/"),
            Err(FetchError::HostNotAllowed("example.com".into()))
        );
        assert_eq!(
            check("https://img.example.com:8443/"),
            Err(FetchError::PortNotAllowed(8443))
        );
        assert_eq!(
            check("http://[::1]/"),
            Err(FetchError::HostNotAllowed("::1".into()))
        );
        let any_host = guard(false, &[], &[80, 443]);
        assert!(matches!(
            any_host.check_url(&Url::parse("http://[::ffff:127.0.0.1]/").unwrap()),
            Err(FetchError::PrivateAddress(_))
        ));
        assert!(matches!(
            any_host.check_url(&Url::parse("http://10.0.0.1:8080/").unwrap()),
            Err(FetchError::PrivateAddress(_))
        ));
    }
}
