//! A minimal DNS stub client: TXT lookups only, for handle resolution (`_atproto.<handle>`).
//!
//! It asks the recursive resolvers of `/etc/resolv.conf` (or the ones configured), over UDP,
//! and again over TCP when the answer is truncated (RFC 1035 §4.2; RFC 7766). Answers are
//! untrusted input: every length is checked against the message, compression pointers may only
//! point backwards, and the number of records and labels read is bounded. A full resolver
//! crate would bring far more than one record type needs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// The TXT record type and the Internet class.
const TYPE_TXT: u16 = 16;
const CLASS_IN: u16 = 1;
/// Largest answer read over UDP (EDNS is not used, so a server sends at most 512 bytes, but
/// some send more).
const MAX_UDP_ANSWER: usize = 4096;
/// Records read from one answer at most.
const MAX_RECORDS: usize = 64;

/// Why a lookup gave no answer (as opposed to an answer with no records).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("no DNS server answered: {0}")]
    Unreachable(String),
    #[error("the DNS server failed (rcode {0})")]
    ServerFailure(u8),
    #[error("malformed DNS answer: {0}")]
    Malformed(&'static str),
    #[error("invalid DNS name {0:?}")]
    BadName(String),
}

/// A DNS client asking a fixed list of recursive resolvers.
#[derive(Clone, Debug)]
pub struct DnsClient {
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

impl DnsClient {
    /// The resolvers of `/etc/resolv.conf` (`127.0.0.1:53` if it names none).
    pub fn system(timeout: Duration) -> DnsClient {
        let servers = std::fs::read_to_string("/etc/resolv.conf")
            .map(|text| parse_resolv_conf(&text))
            .unwrap_or_default();
        DnsClient::with_servers(servers, timeout)
    }

    /// Asks these resolvers, in order.
    pub fn with_servers(servers: Vec<SocketAddr>, timeout: Duration) -> DnsClient {
        let servers = if servers.is_empty() {
            vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53)]
        } else {
            servers
        };
        DnsClient { servers, timeout }
    }

    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// The TXT records of `name`, each record's strings joined. A name that does not exist
    /// (NXDOMAIN) or has no TXT records gives an empty list.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let mut last_error = DnsError::Unreachable("no server configured".into());
        for server in &self.servers {
            match self.txt_from(*server, name).await {
                Ok(records) => return Ok(records),
                // A malformed name fails the same way everywhere.
                Err(e @ DnsError::BadName(_)) => return Err(e),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    async fn txt_from(&self, server: SocketAddr, name: &str) -> Result<Vec<String>, DnsError> {
        let id = random_id();
        let query = build_query(id, name, TYPE_TXT)?;
        let answer = tokio::time::timeout(self.timeout, udp_exchange(server, &query))
            .await
            .map_err(|_| DnsError::Unreachable(format!("{server}: timed out")))??;
        match parse_txt_answer(&answer, id)? {
            Answer::Records(records) => Ok(records),
            Answer::Truncated => {
                let answer = tokio::time::timeout(self.timeout, tcp_exchange(server, &query))
                    .await
                    .map_err(|_| DnsError::Unreachable(format!("{server} (tcp): timed out")))??;
                match parse_txt_answer(&answer, id)? {
                    Answer::Records(records) => Ok(records),
                    Answer::Truncated => Err(DnsError::Malformed("truncated answer over TCP")),
                }
            }
        }
    }
}

/// The `nameserver` addresses of a resolv.conf, on port 53.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            // A scoped IPv6 address (fe80::1%eth0) cannot be used without its interface.
            let ip: IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

fn random_id() -> u16 {
    let mut bytes = [0u8; 2];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    u16::from_be_bytes(bytes)
}

async fn udp_exchange(server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, DnsError> {
    let unreachable = |e: std::io::Error| DnsError::Unreachable(format!("{server}: {e}"));
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(unreachable)?;
    // A connected socket only receives datagrams from the server asked.
    socket.connect(server).await.map_err(unreachable)?;
    socket.send(query).await.map_err(unreachable)?;
    let mut buf = vec![0u8; MAX_UDP_ANSWER];
    loop {
        let n = socket.recv(&mut buf).await.map_err(unreachable)?;
        // Ignore datagrams that are not an answer to this query (wrong ID); wait for the real one.
        if n >= 2 && buf[..2] == query[..2] {
            buf.truncate(n);
            return Ok(buf);
        }
    }
}

async fn tcp_exchange(server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, DnsError> {
    let unreachable = |e: std::io::Error| DnsError::Unreachable(format!("{server} (tcp): {e}"));
    let mut stream = TcpStream::connect(server).await.map_err(unreachable)?;
    let mut message = Vec::with_capacity(query.len() + 2);
    message.extend_from_slice(&(query.len() as u16).to_be_bytes());
    message.extend_from_slice(query);
    stream.write_all(&message).await.map_err(unreachable)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.map_err(unreachable)?;
    let mut answer = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut answer).await.map_err(unreachable)?;
    Ok(answer)
}

/// A query for `name` (an ASCII host name, without the final dot) of type `qtype`, class IN,
/// recursion desired.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, DnsError> {
    let bad = || DnsError::BadName(name.to_owned());
    if name.is_empty() || name.len() > 253 || !name.is_ascii() {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(18 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00]); // RD
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QDCOUNT 1
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad());
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

/// What an answer says.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The TXT records (possibly none).
    Records(Vec<String>),
    /// The answer did not fit in a datagram: ask again over TCP.
    Truncated,
}

/// Reads the TXT records of an answer to the query with this `id`.
pub fn parse_txt_answer(msg: &[u8], id: u16) -> Result<Answer, DnsError> {
    let mut r = Reader { msg, pos: 0 };
    if r.u16()? != id {
        return Err(DnsError::Malformed("answer to another query"));
    }
    let flags = r.u16()?;
    if flags & 0x8000 == 0 {
        return Err(DnsError::Malformed("not an answer"));
    }
    if flags & 0x0200 != 0 {
        return Ok(Answer::Truncated);
    }
    match (flags & 0x000f) as u8 {
        0 => {}
        // NXDOMAIN: the name does not exist, so it has no records.
        3 => return Ok(Answer::Records(Vec::new())),
        rcode => return Err(DnsError::ServerFailure(rcode)),
    }
    let questions = r.u16()?;
    let answers = r.u16()?;
    r.skip(4)?; // NSCOUNT, ARCOUNT
    for _ in 0..questions {
        r.skip_name()?;
        r.skip(4)?;
    }
    let mut records = Vec::new();
    for _ in 0..usize::from(answers).min(MAX_RECORDS) {
        r.skip_name()?;
        let rtype = r.u16()?;
        let class = r.u16()?;
        r.skip(4)?; // TTL
        let len = usize::from(r.u16()?);
        let data = r.take(len)?;
        if rtype != TYPE_TXT || class != CLASS_IN {
            // CNAMEs and the like on the way to the TXT records.
            continue;
        }
        let mut text = Vec::with_capacity(len);
        let mut rest = data;
        while let Some((&n, tail)) = rest.split_first() {
            let n = usize::from(n);
            if tail.len() < n {
                return Err(DnsError::Malformed("TXT string overruns its record"));
            }
            text.extend_from_slice(&tail[..n]);
            rest = &tail[n..];
        }
        // Values that are not text cannot be a `did=` entry; skip them.
        if let Ok(text) = String::from_utf8(text) {
            records.push(text);
        }
    }
    Ok(Answer::Records(records))
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DnsError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.msg.len())
            .ok_or(DnsError::Malformed("answer is truncated"))?;
        let out = &self.msg[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn skip(&mut self, n: usize) -> Result<(), DnsError> {
        self.take(n).map(|_| ())
    }

    fn u16(&mut self) -> Result<u16, DnsError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Skips a (possibly compressed) name. Only its length in this message matters here.
    fn skip_name(&mut self) -> Result<(), DnsError> {
        for _ in 0..128 {
            let len = self.take(1)?[0];
            match len >> 6 {
                0 if len == 0 => return Ok(()),
                0 => self.skip(usize::from(len))?,
                // A pointer ends the name as written here.
                3 => {
                    let low = self.take(1)?[0];
                    let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                    if target >= self.pos - 2 {
                        return Err(DnsError::Malformed("forward compression pointer"));
                    }
                    return Ok(());
                }
                _ => return Err(DnsError::Malformed("unknown label type")),
            }
        }
        Err(DnsError::Malformed("name has too many labels"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An answer to `query` with these TXT records (each a list of strings), as a server
    /// would write it: the question echoed, then the records named by a compression pointer.
    pub(crate) fn txt_answer(
        query: &[u8],
        records: &[&[&str]],
        rcode: u8,
        truncated: bool,
    ) -> Vec<u8> {
        let mut out = query[..2].to_vec();
        let mut flags: u16 = 0x8180 | u16::from(rcode);
        if truncated {
            flags |= 0x0200;
        }
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(&(records.len() as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&query[12..]);
        for strings in records {
            out.extend_from_slice(&[0xc0, 12]);
            out.extend_from_slice(&TYPE_TXT.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 60]);
            let data: Vec<u8> = strings
                .iter()
                .flat_map(|s| std::iter::once(s.len() as u8).chain(s.bytes()))
                .collect();
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(&data);
        }
        out
    }

    #[test]
    fn query_layout() {
        let q = build_query(0x1234, "_atproto.alice.example.com", TYPE_TXT).unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(q[12], 8);
        assert_eq!(&q[13..21], b"_atproto");
        assert_eq!(&q[q.len() - 5..], &[0, 0, 16, 0, 1]);
        assert!(build_query(1, "a..b", TYPE_TXT).is_err());
        assert!(build_query(1, &"a".repeat(64), TYPE_TXT).is_err());
    }

    #[test]
    fn reads_txt_records() {
        let q = build_query(7, "_atproto.alice.example.com", TYPE_TXT).unwrap();
        let a = txt_answer(&q, &[&["did=did:plc:abc"], &["v=spf1 ", "-all"]], 0, false);
        assert_eq!(
            parse_txt_answer(&a, 7).unwrap(),
            Answer::Records(vec!["did=did:plc:abc".into(), "v=spf1 -all".into()])
        );
        assert!(parse_txt_answer(&a, 8).is_err());
        let nx = txt_answer(&q, &[], 3, false);
        assert_eq!(parse_txt_answer(&nx, 7).unwrap(), Answer::Records(vec![]));
        let fail = txt_answer(&q, &[], 2, false);
        assert_eq!(parse_txt_answer(&fail, 7), Err(DnsError::ServerFailure(2)));
        let tc = txt_answer(&q, &[], 0, true);
        assert_eq!(parse_txt_answer(&tc, 7).unwrap(), Answer::Truncated);
    }

    #[test]
    fn hostile_answers_fail_cleanly() {
        let q = build_query(7, "_atproto.alice.example.com", TYPE_TXT).unwrap();
        let a = txt_answer(&q, &[&["did=did:plc:abc"]], 0, false);
        for cut in 0..a.len() {
            let _ = parse_txt_answer(&a[..cut], 7);
        }
        // A pointer to itself (a loop) is refused.
        let mut looped = a.clone();
        let at = q.len();
        looped[at] = 0xc0;
        looped[at + 1] = at as u8;
        assert!(parse_txt_answer(&looped, 7).is_err());
        // A TXT string longer than its record.
        let mut long = a.clone();
        let string_len_at = long.len() - "did=did:plc:abc".len() - 1;
        long[string_len_at] = 200;
        assert!(parse_txt_answer(&long, 7).is_err());
    }

    #[test]
    fn resolv_conf() {
        let servers = parse_resolv_conf(
            "# comment\nnameserver 10.0.0.2\nsearch example.com\nnameserver ::1\nnameserver fe80::1%eth0\n",
        );
        assert_eq!(
            servers,
            vec![
                "10.0.0.2:53".parse::<SocketAddr>().unwrap(),
                "[::1]:53".parse::<SocketAddr>().unwrap()
            ]
        );
    }
}
