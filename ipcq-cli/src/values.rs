//! Value parsers for options other than KEY: modes, owners, durations.

use std::time::Duration;

use ipcq::Error;
use ipcq::service::Credentials;

/// Parses a permission mode in octal: `600`, `0600`, `0o600`.
///
/// # Errors
///
/// When the text is not octal or has bits beyond `0777`.
pub(crate) fn parse_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(format!(
            "`{text}` is not an octal mode: write permission bits such as 600 or 0640"
        ));
    }
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!(
            "mode {text} is out of range: a queue has only the permission bits 000 to 777"
        )),
    }
}

/// Parses an owner as chown takes one: `USER`, `USER:GROUP` or `:GROUP`, each
/// a name or a number. A user alone brings its primary group; a group alone
/// keeps this process's user.
///
/// # Errors
///
/// When a name is unknown, or a numeric uid without a passwd entry comes
/// without a group.
pub(crate) fn parse_owner(text: &str) -> Result<Credentials, String> {
    let (user, group) = match text.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (text, None),
    };
    let user = Some(user).filter(|u| !u.is_empty());
    let group = group.filter(|g| !g.is_empty());
    if user.is_none() && group.is_none() {
        return Err("give a user, a user:group or a :group, as chown takes them".into());
    }
    Credentials::resolve(user, group).map_err(lookup_error)
}

/// Parses a user, a name or a number, into its uid.
///
/// # Errors
///
/// When no user has the name.
pub(crate) fn parse_user(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(uid) => Ok(uid),
        Err(_) => Credentials::resolve(Some(text), None)
            .map(|c| c.uid)
            .map_err(lookup_error),
    }
}

/// Why a user or group could not be looked up, without the library's
/// "cannot drop privileges" context, which is not what this is.
fn lookup_error(error: Error) -> String {
    match error {
        Error::NotFound { what, .. } => what,
        other => other.to_string(),
    }
}

/// Parses a duration: a number and a unit (`500ms`, `2s`, `1.5s`, `1m`, `1h`);
/// a bare number is seconds.
///
/// # Errors
///
/// When the text is not such a duration, or is negative or absurdly long.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration: write a number and a unit, such as 500ms, 2s, 1.5s or 1m"
        )
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds_per_unit = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    // A year is already longer than any wait anyone means; beyond it is a typo.
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .ok()
        .filter(|d| *d <= Duration::from_secs(366 * 24 * 3600))
        .ok_or_else(|| format!("duration `{text}` is out of range: at most a year"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_octal_modes() {
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0640"), Ok(0o640));
        assert_eq!(parse_mode("0o666"), Ok(0o666));
        assert_eq!(parse_mode("0"), Ok(0));
        for bad in ["", "8", "0x600", "1777", "rw-------", "-600"] {
            assert!(parse_mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "s", "-1s", "1x", "1..5s", "1e3s", "99999999h", "nan"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
