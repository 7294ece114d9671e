//! Reports by time: the interval report (local hours or days) and the best-time heat map.

use super::*;

/// One bucket of the interval report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalRow {
    /// The bucket's local start: `2026-03-08` for a day, `2026-03-08T02:00` for an hour.
    pub bucket: String,
    /// Its start as an instant with the zone's offset (`None` for lead-local buckets).
    pub start: Option<DateTime<FixedOffset>>,
    /// Its end (exclusive), with the offset then (`None` for lead-local buckets).
    pub end: Option<DateTime<FixedOffset>>,
    /// Its length in hours (23 or 25 on a clock-change day; `None` for lead-local buckets).
    pub hours: Option<f64>,
    /// The attempts in it.
    pub attempts: AttemptCounts,
    /// Answered ÷ dials.
    pub connect_rate: Rate,
    /// Human contacts ÷ dials.
    pub contact_rate: Rate,
}

/// The interval report: the attempt figures per local hour or day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// The filters.
    pub filters: Filters,
    /// Hours or days.
    pub granularity: Granularity,
    /// One row per bucket, in time order. In a fixed zone every bucket of the range is
    /// listed, empty or not (the first and last are cut at `from` and `to`); lead-local
    /// buckets run from the first to the last with an attempt.
    pub rows: Vec<IntervalRow>,
}

/// The local start of the bucket holding local time `t`.
fn bucket_start(t: NaiveDateTime, g: Granularity) -> NaiveDateTime {
    match g {
        Granularity::Day => t.date().and_time(NaiveTime::MIN),
        Granularity::Hour => t
            .date()
            .and_time(NaiveTime::from_hms_opt(t.hour(), 0, 0).expect("valid hour")),
    }
}

fn bucket_label(t: NaiveDateTime, g: Granularity) -> String {
    match g {
        Granularity::Day => t.format("%Y-%m-%d").to_string(),
        Granularity::Hour => t.format("%Y-%m-%dT%H:00").to_string(),
    }
}

/// The instant a fixed-zone bucket holding `at` ends: the next local day's or hour's start;
/// for an hour repeated by a fall-back change, the end of the first occurrence.
fn bucket_end(tz: Tz, at: DateTime<Utc>, g: Granularity) -> DateTime<Utc> {
    let local = at.with_timezone(&tz).naive_local();
    let start = bucket_start(local, g);
    let next = match g {
        Granularity::Day => start + Duration::days(1),
        Granularity::Hour => start + Duration::hours(1),
    };
    let end = local_instant(tz, next.date(), next.time());
    if g == Granularity::Hour {
        if let LocalResult::Ambiguous(a, b) = tz.from_local_datetime(&start) {
            // A repeated local hour (fall back): its first occurrence ends where the second
            // begins.
            let second = a.with_timezone(&Utc).max(b.with_timezone(&Utc));
            if at < second {
                return second;
            }
        }
    }
    end
}

/// The interval report.
pub fn interval(input: &ReportInput<'_>, granularity: Granularity) -> Interval {
    let ctx = Ctx::new(input);
    let q = input.query;
    let mut rows = Vec::new();
    if let Some(tz) = ctx.fixed_zone() {
        // Walk the range bucket by bucket: each boundary an instant, so nothing repeats.
        let mut bounds = Vec::new();
        let mut t = q.from;
        while t < q.to {
            let end = bucket_end(tz, t, granularity).min(q.to);
            bounds.push((t, end));
            t = end;
        }
        let mut counts = vec![AttemptCounts::default(); bounds.len()];
        for a in input.attempts {
            let i = bounds.partition_point(|(_, end)| *end <= a.reserved_at);
            if let Some(c) = counts.get_mut(i) {
                if bounds[i].0 <= a.reserved_at {
                    c.add(a, ctx.class(a));
                }
            }
        }
        for ((start, end), c) in bounds.into_iter().zip(counts) {
            let ls = start.with_timezone(&tz);
            let le = end.with_timezone(&tz);
            rows.push(IntervalRow {
                bucket: bucket_label(ls.naive_local(), granularity),
                start: Some(ls.fixed_offset()),
                end: Some(le.fixed_offset()),
                hours: Some((end - start).num_seconds() as f64 / 3600.0),
                connect_rate: c.connect_rate(),
                contact_rate: c.contact_rate(),
                attempts: c,
            });
        }
    } else {
        let mut by_label: BTreeMap<NaiveDateTime, AttemptCounts> = BTreeMap::new();
        for a in input.attempts {
            let local = a.reserved_at.with_timezone(&ctx.lead_zone(a)).naive_local();
            by_label
                .entry(bucket_start(local, granularity))
                .or_default()
                .add(a, ctx.class(a));
        }
        if let (Some(first), Some(last)) = (
            by_label.keys().next().copied(),
            by_label.keys().next_back().copied(),
        ) {
            let step = match granularity {
                Granularity::Day => Duration::days(1),
                Granularity::Hour => Duration::hours(1),
            };
            let mut t = first;
            while t <= last {
                let c = by_label.get(&t).copied().unwrap_or_default();
                rows.push(IntervalRow {
                    bucket: bucket_label(t, granularity),
                    start: None,
                    end: None,
                    hours: None,
                    connect_rate: c.connect_rate(),
                    contact_rate: c.contact_rate(),
                    attempts: c,
                });
                t += step;
            }
        }
    }
    Interval {
        filters: filters(&ctx),
        granularity,
        rows,
    }
}

/// One cell of the best-time heat map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestTimeCell {
    /// The lead's local weekday (`Mon` … `Sun`).
    pub weekday: &'static str,
    /// The lead's local hour, 0–23.
    pub hour: u32,
    /// Dials in the cell.
    pub dials: u64,
    /// Human contacts in the cell.
    pub human: u64,
    /// Human contacts ÷ dials.
    pub human_rate: Rate,
}

/// The best-time-to-call heat map: human-contact rate by the lead's local weekday × hour.
/// It informs; it never widens a calling window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestTime {
    /// The filters (the zone does not apply: cells are always lead-local).
    pub filters: Filters,
    /// Cells with at least one dial, Monday first, by hour.
    pub cells: Vec<BestTimeCell>,
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

/// The best-time heat map.
pub fn best_time(input: &ReportInput<'_>) -> BestTime {
    let ctx = Ctx::new(input);
    let mut cells: BTreeMap<(u32, u32), (u64, u64)> = BTreeMap::new();
    for a in input.attempts {
        let c = ctx.class(a);
        if !c.dial {
            continue;
        }
        let local = a.reserved_at.with_timezone(&ctx.lead_zone(a));
        let cell = cells
            .entry((local.weekday().num_days_from_monday(), local.hour()))
            .or_default();
        cell.0 += 1;
        cell.1 += u64::from(c.human);
    }
    BestTime {
        filters: filters(&ctx),
        cells: best_time_cells(cells),
    }
}

/// The heat map's cells from counts by (weekday from Monday, hour): `(dials, human)`.
pub(super) fn best_time_cells(cells: BTreeMap<(u32, u32), (u64, u64)>) -> Vec<BestTimeCell> {
    cells
        .into_iter()
        .map(|((d, h), (dials, human))| BestTimeCell {
            weekday: weekday_name(
                Weekday::try_from(d as u8).expect("num_days_from_monday is 0..7"),
            ),
            hour: h,
            dials,
            human,
            human_rate: Rate::of(human, dials),
        })
        .collect()
}
