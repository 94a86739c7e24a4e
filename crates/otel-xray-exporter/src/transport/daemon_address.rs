//! `AWS_XRAY_DAEMON_ADDRESS` in the two forms the X-Ray SDKs accept:
//! `host:port` (UDP and TCP alike) and `tcp:host:port udp:host:port` (either
//! order). Hosts may be IPv4, bracketed IPv6 (`[::1]:2000`) or names.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

/// The environment variable the X-Ray daemon address is read from.
pub const DAEMON_ADDRESS_ENV: &str = "AWS_XRAY_DAEMON_ADDRESS";

/// The daemon's default address.
pub const DEFAULT_DAEMON_ADDRESS: &str = "127.0.0.1:2000";

/// A `host:port` pair as written, not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    host: String,
    port: u16,
}

impl HostPort {
    /// The host without IPv6 brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Resolves the host (DNS for names), IPv4 and IPv6 alike.
    pub fn resolve(&self) -> std::io::Result<Vec<SocketAddr>> {
        Ok((self.host.as_str(), self.port).to_socket_addrs()?.collect())
    }

    fn parse(s: &str, whole: &str) -> Result<HostPort, AddressError> {
        let bad = |why: &'static str| AddressError::Malformed {
            input: whole.to_owned(),
            why,
        };
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("IPv6 address without closing ']'"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| bad("missing ':port' after the IPv6 address"))?;
            (host, port)
        } else {
            let (host, port) = s.rsplit_once(':').ok_or_else(|| bad("missing ':port'"))?;
            if host.contains(':') {
                return Err(bad(
                    "IPv6 addresses must be written in brackets: [::1]:2000",
                ));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad("port is not a number 0-65535"))?;
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(HostPort {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The daemon's UDP (segments) and TCP (sampling proxy) addresses.
///
/// ```
/// use otel_xray_exporter::DaemonAddress;
/// let a = DaemonAddress::parse("tcp:127.0.0.1:2000 udp:[::1]:2001").unwrap();
/// assert_eq!(a.udp().to_string(), "[::1]:2001");
/// assert_eq!(a.tcp().port(), 2000);
/// let b = DaemonAddress::parse("xray-daemon.local:2000").unwrap();
/// assert_eq!(b.udp(), b.tcp());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonAddress {
    udp: HostPort,
    tcp: HostPort,
}

impl DaemonAddress {
    /// Parses either accepted form; surrounding whitespace is ignored.
    pub fn parse(input: &str) -> Result<DaemonAddress, AddressError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(AddressError::Empty);
        }
        let parts: Vec<&str> = trimmed.split_whitespace().collect();
        match parts.as_slice() {
            [one] if !one.starts_with("udp:") && !one.starts_with("tcp:") => {
                let hp = HostPort::parse(one, input)?;
                Ok(DaemonAddress {
                    udp: hp.clone(),
                    tcp: hp,
                })
            }
            [a, b] => {
                let (mut udp, mut tcp) = (None, None);
                for p in [a, b] {
                    if let Some(rest) = p.strip_prefix("udp:") {
                        udp = Some(HostPort::parse(rest, input)?);
                    } else if let Some(rest) = p.strip_prefix("tcp:") {
                        tcp = Some(HostPort::parse(rest, input)?);
                    }
                }
                match (udp, tcp) {
                    (Some(udp), Some(tcp)) => Ok(DaemonAddress { udp, tcp }),
                    _ => Err(AddressError::Malformed {
                        input: input.to_owned(),
                        why: "the two-part form needs one 'udp:host:port' and one 'tcp:host:port'",
                    }),
                }
            }
            _ => Err(AddressError::Malformed {
                input: input.to_owned(),
                why: "expected 'host:port' or 'tcp:host:port udp:host:port'",
            }),
        }
    }

    /// `AWS_XRAY_DAEMON_ADDRESS` when set, else `127.0.0.1:2000`.
    pub fn from_env() -> Result<DaemonAddress, AddressError> {
        match std::env::var(DAEMON_ADDRESS_ENV) {
            Ok(v) => DaemonAddress::parse(&v),
            Err(_) => DaemonAddress::parse(DEFAULT_DAEMON_ADDRESS),
        }
    }

    /// Where segment datagrams go.
    pub fn udp(&self) -> &HostPort {
        &self.udp
    }

    /// The daemon's TCP proxy (used by the remote sampler, not by this exporter).
    pub fn tcp(&self) -> &HostPort {
        &self.tcp
    }
}

/// Why a daemon address could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// The address is empty.
    #[error("the X-Ray daemon address is empty")]
    Empty,
    /// The address does not have an accepted form.
    #[error("bad X-Ray daemon address {input:?}: {why}")]
    Malformed {
        /// The address as given.
        input: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_sdk_forms() {
        let a = DaemonAddress::parse("127.0.0.1:2000").unwrap();
        assert_eq!((a.udp().host(), a.udp().port()), ("127.0.0.1", 2000));
        let b = DaemonAddress::parse(" udp:10.0.0.1:3000 tcp:10.0.0.2:4000 ").unwrap();
        assert_eq!(b.udp().to_string(), "10.0.0.1:3000");
        assert_eq!(b.tcp().to_string(), "10.0.0.2:4000");
        let c = DaemonAddress::parse("[::1]:2000").unwrap();
        assert_eq!(c.udp().host(), "::1");
        let d = DaemonAddress::parse("localhost:2000").unwrap();
        assert!(d.udp().resolve().unwrap().iter().all(|s| s.port() == 2000));
    }

    #[test]
    fn rejects_what_the_sdks_reject() {
        for bad in [
            "",
            "   ",
            "host",
            "::1:2000",
            "[::1]2000",
            "[::1:2000",
            ":2000",
            "h:0",
            "h:70000",
            "udp:h:1",
            "udp:h:1 udp:h:2",
            "tcp:h:1 x:h:2",
            "a:1 b:2 c:3",
            "h:port",
        ] {
            assert!(DaemonAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = DaemonAddress::parse(&s);
        }

        #[test]
        fn display_round_trips(a in 0u8..=255, b in 0u8..=255, port in 1u16..) {
            for host in [format!("10.{a}.{b}.1"), format!("fe80::{a:x}:{b:x}")] {
                let hp = HostPort { host, port };
                let again = DaemonAddress::parse(&hp.to_string()).unwrap();
                prop_assert_eq!(again.udp(), &hp);
            }
        }
    }
}
