//! How messages, times, owners and tables are written for people.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::unistd::{Gid, Group, Uid, User};

/// Writes one message as a line (the format `ipcq recv --help` documents).
pub(crate) fn write_message<W: Write + ?Sized>(
    out: &mut W,
    mtype: i64,
    body: &[u8],
) -> io::Result<()> {
    writeln!(out, "{}", message_line(mtype, body))
}

/// One message as a line, without the newline.
pub(crate) fn message_line(mtype: i64, body: &[u8]) -> String {
    let size = byte_count(body.len());
    if body.is_empty() {
        return format!("mtype {mtype}, {size}");
    }
    match std::str::from_utf8(body) {
        Ok(text) => format!("mtype {mtype}, {size}: {}", escape(text)),
        Err(_) => format!("mtype {mtype}, {size}, hex: {}", hex(body)),
    }
}

/// `1 byte`, `2 bytes`.
pub(crate) fn byte_count(n: usize) -> String {
    counted(n as u64, "byte")
}

/// `1 message`, `0 messages`: a count and a noun that takes an s.
pub(crate) fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn listed<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

/// Text with the backslash and control characters escaped, so that it stays
/// on one line and cannot drive the terminal: besides the C0 and C1 controls,
/// the Unicode line and paragraph separators (which line splitters such as
/// Python's `splitlines` break at) and the bidirectional formatting
/// characters (which reorder what a terminal shows).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || is_layout_format(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// The line and paragraph separators, and the bidirectional formatting
/// characters (embeddings, overrides, isolates and marks).
fn is_layout_format(c: char) -> bool {
    matches!(
        c,
        '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Lowercase hex, two digits a byte, no separators (what `xxd -r -p` reads back).
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Seconds since the epoch, or `None` for "never".
pub(crate) fn unix_seconds(time: Option<SystemTime>) -> Option<i64> {
    time.map(|t| match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    })
}

/// A time as `2025-11-29 04:21:07 UTC (3 s ago)`, or `never`.
pub(crate) fn time_and_age(time: Option<SystemTime>, now: SystemTime) -> String {
    let Some(secs) = unix_seconds(time) else {
        return "never".into();
    };
    let age = match time.and_then(|t| now.duration_since(t).ok()) {
        Some(age) => format!(" ({} ago)", short_duration(age)),
        None => String::new(),
    };
    format!("{}{age}", utc(secs))
}

/// A time in UTC as `2025-11-29 04:21:07 UTC`: the tool reads no time zone files.
pub(crate) fn utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let second_of_day = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `3 s`, `4 min`, `2 h`, `5 d`: coarse on purpose, the kernel keeps whole seconds.
pub(crate) fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// Looks up user and group names once each.
#[derive(Default)]
pub(crate) struct Names {
    users: HashMap<u32, Option<String>>,
    groups: HashMap<u32, Option<String>>,
}

impl Names {
    /// The user name of `uid`, if the system knows it.
    pub(crate) fn user(&mut self, uid: u32) -> Option<String> {
        self.users
            .entry(uid)
            .or_insert_with(|| {
                User::from_uid(Uid::from_raw(uid))
                    .ok()
                    .flatten()
                    .map(|u| u.name)
            })
            .clone()
    }

    /// The group name of `gid`, if the system knows it.
    pub(crate) fn group(&mut self, gid: u32) -> Option<String> {
        self.groups
            .entry(gid)
            .or_insert_with(|| {
                Group::from_gid(Gid::from_raw(gid))
                    .ok()
                    .flatten()
                    .map(|g| g.name)
            })
            .clone()
    }
}

/// `1000 (alice)`, or `1000` when the id has no name.
pub(crate) fn id_and_name(id: u32, name: Option<String>) -> String {
    match name {
        Some(name) => format!("{id} ({name})"),
        None => id.to_string(),
    }
}

/// Which side of its column a cell keeps to.
#[derive(Clone, Copy)]
pub(crate) enum Align {
    Left,
    Right,
}

/// Writes rows under a header in columns two spaces apart.
pub(crate) fn write_table<W: Write + ?Sized>(
    out: &mut W,
    header: &[(&str, Align)],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, (cell, ((_, align), width))) in cells.zip(header.iter().zip(&widths)).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = width.saturating_sub(cell.chars().count());
            match align {
                Align::Left => {
                    text.push_str(cell);
                    text.extend(std::iter::repeat_n(' ', pad));
                }
                Align::Right => {
                    text.extend(std::iter::repeat_n(' ', pad));
                    text.push_str(cell);
                }
            }
        }
        text.trim_end().to_owned()
    };
    writeln!(out, "{}", line(&mut header.iter().map(|(h, _)| *h)))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_text_binary_and_empty_messages() {
        assert_eq!(message_line(7, b"hello"), "mtype 7, 5 bytes: hello");
        assert_eq!(message_line(1, b"x"), "mtype 1, 1 byte: x");
        assert_eq!(message_line(3, b""), "mtype 3, 0 bytes");
        assert_eq!(
            message_line(2, &[0x00, 0xff, 0x41]),
            "mtype 2, 3 bytes, hex: 00ff41"
        );
        assert_eq!(
            message_line(9, "a\\b\nc\t\u{1b}[2J é".as_bytes()),
            "mtype 9, 13 bytes: a\\\\b\\nc\\t\\u{1b}[2J é"
        );
        // Separators that split lines elsewhere, and a right-to-left override.
        let text = "one\u{2028}two\u{2029}\u{202e}evil\u{2066}";
        assert_eq!(
            escape(text),
            "one\\u{2028}two\\u{2029}\\u{202e}evil\\u{2066}"
        );
        assert_eq!(escape(text).lines().count(), 1);
        assert_eq!(escape("ok \u{200b} é"), "ok \u{200b} é");
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn aligns_tables() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &[("NAME", Align::Left), ("N", Align::Right)],
            &[
                vec!["a".into(), "100".into()],
                vec!["long".into(), "2".into()],
            ],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME    N\na     100\nlong    2\n"
        );
    }
}
