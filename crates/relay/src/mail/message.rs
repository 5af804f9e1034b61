//! A [`Message`] as the bytes of an RFC 5322 email: headers (non-ASCII subjects as RFC 2047
//! encoded words), a plain-text body (7bit when ASCII, base64 otherwise, so any server
//! accepts it without 8BITMIME), CRLF line ends.

use base64::Engine;

use super::Message;

pub fn render(from: &str, hostname: &str, message: &Message) -> Vec<u8> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    // Header values never carry a line break of their own (no header injection).
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let subject = clean(&message.subject);
    let subject = if subject.is_ascii() {
        subject
    } else {
        format!("=?utf-8?B?{}?=", b64.encode(subject.as_bytes()))
    };
    let text = message.text.replace("\r\n", "\n");
    let (encoding, body) = if text.is_ascii() {
        ("7bit", text.replace('\n', "\r\n"))
    } else {
        let encoded = b64.encode(text.as_bytes());
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        ("base64", lines.join("\r\n"))
    };
    let id = crate::auth::random_id();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@{hostname}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n{body}\r\n",
        from = clean(from),
        to = clean(&message.to),
        date = rfc5322_date(crate::auth::now_secs()),
    )
    .into_bytes()
}

/// `Wed, 25 Nov 2026 20:50:37 +0000`.
fn rfc5322_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_795_639_837),
            "Wed, 25 Nov 2026 20:50:37 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn headers_cannot_be_injected_and_utf8_is_encoded() {
        let m = Message {
            to: "a@example.com\r\nBcc: x@example.com".to_owned(),
            subject: "Héllo".to_owned(),
            text: "code: ABCDE-23456\n".to_owned(),
        };
        let out = String::from_utf8(render("n@example.com", "pds.example.com", &m)).unwrap();
        assert!(!out.contains("\r\nBcc:"));
        assert!(out.contains("Subject: =?utf-8?B?SMOpbGxv?="));
        assert!(out.contains("Content-Transfer-Encoding: 7bit\r\n\r\ncode: ABCDE-23456\r\n"));
    }
}
