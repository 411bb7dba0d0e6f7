//! The client's address and scheme, believed from `X-Forwarded-For` and `X-Forwarded-Proto`
//! only when the TCP peer is one of `ONECLAW_TRUSTED_PROXIES`. Anyone else could write those
//! headers, and IP rules, allowlists, rate limits and the audit log all rest on the address.

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

/// Where a request really came from; put in the request's extensions by `attach_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    /// The client reached us over HTTPS (a trusted proxy terminated it and said so).
    pub https: bool,
}

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(Arc::new(networks))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: walking `X-Forwarded-For` from the right (the hop nearest
    /// us), trusted proxies are skipped and the first address that is not one is the client.
    /// An entry that is not an address stops the walk at the last trusted hop.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> Client {
        if !self.trusts(peer) {
            return Client { ip: peer, https: false };
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut ip = peer;
        for hop in hops.iter().rev() {
            let Ok(hop) = hop.parse::<IpAddr>() else { break };
            ip = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        let https = headers
            .get_all("x-forwarded-proto")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .next_back()
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        Client { ip, https }
    }
}

/// Records the `Client` of a request before anything reads its address (the outermost layer,
/// `request_context::assign`, calls it first), and leaves downstream only forwarding headers
/// it may believe: from an untrusted peer they are removed, from a trusted one
/// `X-Forwarded-Proto` is replaced by the scheme resolved here.
pub fn attach_client(proxies: &TrustedProxies, request: &mut Request) {
    let forwarded_proto = axum::http::HeaderName::from_static("x-forwarded-proto");
    match request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        Some(ConnectInfo(peer)) => {
            let mut client = proxies.client(peer.ip(), request.headers());
            // Over the server's own TLS the scheme is known, whatever any header says.
            client.https |= request.extensions().get::<crate::tls::ServedOverTls>().is_some();
            let headers = request.headers_mut();
            headers.remove("x-forwarded-for");
            headers.remove(&forwarded_proto);
            if client.https {
                headers.insert(forwarded_proto, axum::http::HeaderValue::from_static("https"));
            }
            request.extensions_mut().insert(client);
        }
        None => {
            let headers = request.headers_mut();
            headers.remove("x-forwarded-for");
            headers.remove(&forwarded_proto);
        }
    }
}

/// The client's address: as resolved through trusted proxies, else the TCP peer.
pub fn client_ip(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<Client>()
        .map(|client| client.ip)
        .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn forwarding_headers_are_ignored_from_untrusted_peers() {
        let none = TrustedProxies::default();
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let forged = headers(&[("x-forwarded-for", "10.0.0.1"), ("x-forwarded-proto", "https")]);
        assert_eq!(none.client(peer, &forged), Client { ip: peer, https: false });
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        // The client forged the first entry; the proxies appended the real one and themselves.
        let chain = headers(&[
            ("x-forwarded-for", "1.2.3.4, 198.51.100.7"),
            ("x-forwarded-for", "10.0.0.5"),
            ("x-forwarded-proto", "https"),
        ]);
        let client = proxies.client(peer, &chain);
        assert_eq!(client.ip, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(client.https);
        let junk = headers(&[("x-forwarded-for", "1.2.3.4, not-an-ip, 10.0.0.5")]);
        assert_eq!(proxies.client(peer, &junk).ip, "10.0.0.5".parse::<IpAddr>().unwrap());
        assert_eq!(proxies.client(peer, &HeaderMap::new()).ip, peer, "no header: the proxy itself");
    }
}
