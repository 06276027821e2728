//! `ipcq watch KEY`: a line per refresh with depth, bytes, rate and a sparkline.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use ipcq::QueueStat;

use crate::cli::WatchArgs;
use crate::failure::{Failure, Outcome};
use crate::format::short_duration;
use crate::signals::Interrupts;

/// How many depths the sparkline shows.
const SPARK_WIDTH: usize = 20;
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Prints a line per interval until `--count` lines or SIGINT/SIGTERM (exit 0).
pub(crate) fn run(args: &WatchArgs) -> Outcome {
    let queue = args.key.key.open()?;
    let interrupts = Interrupts::catch(None)?;
    let start = Instant::now();
    let mut depths = VecDeque::with_capacity(SPARK_WIDTH);
    let mut previous: Option<(Instant, QueueStat)> = None;
    let mut refreshes = 0u64;
    loop {
        let removed = || Failure::new(format!("{} was removed while being watched", args.key.key));
        let stat = match queue.stat() {
            Ok(stat) => stat,
            Err(e) if e.is_removed() || e.is_not_found() => return Err(removed()),
            // Without read permission, as `stat` does: /proc/sysvipc/msg has
            // everything but the capacity.
            Err(ipcq::Error::PermissionDenied { .. }) => ipcq::list()?
                .into_iter()
                .find(|s| s.id == queue.id())
                .ok_or_else(removed)?,
            Err(e) => return Err(e.into()),
        };
        let now = Instant::now();
        if depths.len() == SPARK_WIDTH {
            depths.pop_front();
        }
        depths.push_back(stat.messages);
        let line = refresh_line(
            now - start,
            &stat,
            previous.as_ref().map(|(t, s)| (now - *t, s)),
            SystemTime::now(),
            &depths,
        );
        let mut out = io::stdout().lock();
        match writeln!(out, "{line}").and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => {
                return Err(Failure::new(format!(
                    "cannot write to standard output: {e}"
                )));
            }
        }
        drop(out);
        refreshes += 1;
        if args.count.is_some_and(|count| refreshes >= count) {
            return Ok(());
        }
        previous = Some((now, stat));
        if interrupts.wait(args.interval).is_some() {
            return Ok(());
        }
    }
}

/// One refresh: `t=3s  depth 5 (+2)  bytes 120/16384 (0.7%)  net +2.0/s  send 0 s ago pid 12  recv never  ▁▂▅`.
fn refresh_line(
    elapsed: Duration,
    stat: &QueueStat,
    previous: Option<(Duration, &QueueStat)>,
    now: SystemTime,
    depths: &VecDeque<u64>,
) -> String {
    let (change, rate) = match previous {
        Some((dt, before)) => {
            let delta = stat.messages as i128 - before.messages as i128;
            let secs = dt.as_secs_f64();
            let rate = if secs > 0.0 {
                format!("{:+.1}/s", delta as f64 / secs)
            } else {
                "-".into()
            };
            (format!(" ({delta:+})"), rate)
        }
        None => (String::new(), "-".into()),
    };
    let capacity = if stat.capacity == 0 {
        String::new()
    } else {
        format!(
            "/{} ({:.1}%)",
            stat.capacity,
            stat.bytes as f64 * 100.0 / stat.capacity as f64
        )
    };
    let last = |time: Option<SystemTime>, pid: i32| match time {
        None => "never".to_owned(),
        Some(t) => {
            let age = now.duration_since(t).unwrap_or(Duration::ZERO);
            format!("{} ago by pid {pid}", short_duration(age))
        }
    };
    format!(
        "t={:.1}s  depth {}{change}  bytes {}{capacity}  net {rate}  send {}  recv {}  {}",
        elapsed.as_secs_f64(),
        stat.messages,
        stat.bytes,
        last(stat.last_send, stat.last_send_pid),
        last(stat.last_recv, stat.last_recv_pid),
        sparkline(depths)
    )
}

/// The depths as bars scaled to the largest; 0 is always the lowest bar.
fn sparkline(depths: &VecDeque<u64>) -> String {
    let max = depths.iter().copied().max().unwrap_or(0);
    depths
        .iter()
        .map(|&d| {
            if max == 0 {
                SPARKS[0]
            } else {
                // Any non-zero depth gets at least the second bar, so it never looks empty.
                let level = (u128::from(d) * 7).div_ceil(u128::from(max));
                SPARKS[level as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_the_sparkline() {
        let depths: VecDeque<u64> = [0, 1, 7, 14, 3].into_iter().collect();
        assert_eq!(sparkline(&depths), "▁▂▅█▃");
        assert_eq!(sparkline(&[0, 0].into_iter().collect()), "▁▁");
        assert_eq!(sparkline(&VecDeque::new()), "");
        assert_eq!(sparkline(&[u64::MAX, 1].into_iter().collect()), "█▂");
    }
}
