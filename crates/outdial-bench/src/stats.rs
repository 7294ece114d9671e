//! Figures: repeated samples of one measure, and a table row that sets ours beside a floor.

/// Which way a measure is better, so the ratio can be read the same way for every row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Throughput (rows/s, calls/s): the ratio is ours ÷ floor, 1.0 = as fast as the floor.
    Higher,
    /// Time or latency (s, ms): the ratio is ours ÷ floor, 1.0 = as fast as the floor, 2.0 =
    /// twice the floor's time.
    Lower,
}

/// Repeated samples of one measure, in `unit`.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// Each run's figure, in run order.
    pub values: Vec<f64>,
}

impl Samples {
    /// Adds one run's figure.
    pub fn push(&mut self, v: f64) {
        self.values.push(v);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        v
    }

    /// Smallest figure; NaN when empty.
    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    /// Largest figure; NaN when empty.
    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }

    /// Median figure (the lower middle for an even count); NaN when empty.
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return f64::NAN;
        }
        v[(v.len() - 1) / 2]
    }

    /// `min / median / max` with `digits` decimals.
    pub fn summary(&self) -> String {
        if self.values.is_empty() {
            return "—".into();
        }
        let f = |x: f64| fmt_num(x);
        format!(
            "{} / {} / {}",
            f(self.min()),
            f(self.median()),
            f(self.max())
        )
    }
}

/// A figure with a precision that suits its size: 3 significant digits below 100, none
/// after the point above.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// One line of a workload's table: our figure and, where one exists, the floor's figure on
/// the same input in the same run.
#[derive(Debug, Clone)]
pub struct Row {
    /// The case, e.g. `1,000,000 rows, VICIdial, SQLite`.
    pub case: String,
    /// The unit of both figures, e.g. `rows/s`, `ms`.
    pub unit: String,
    /// Which way is better.
    pub better: Better,
    /// outdial's figures.
    pub ours: Samples,
    /// The floor's name and figures, if the workload has one.
    pub floor: Option<(String, Samples)>,
    /// The goal this row is judged against, in words (`≥ 0.5 of the floor`), if any.
    pub goal: Option<String>,
    /// Anything else measured beside it (peak RSS, p99), free text.
    pub extra: String,
}

impl Row {
    /// A row without a floor.
    pub fn alone(case: impl Into<String>, unit: &str, better: Better, ours: Samples) -> Row {
        Row {
            case: case.into(),
            unit: unit.into(),
            better,
            ours,
            floor: None,
            goal: None,
            extra: String::new(),
        }
    }

    /// Sets the floor.
    pub fn against(mut self, name: impl Into<String>, floor: Samples) -> Row {
        self.floor = Some((name.into(), floor));
        self
    }

    /// Sets the goal's words.
    pub fn goal(mut self, goal: impl Into<String>) -> Row {
        self.goal = Some(goal.into());
        self
    }

    /// Sets the extra figures' words.
    pub fn extra(mut self, extra: impl Into<String>) -> Row {
        self.extra = extra.into();
        self
    }

    /// ours ÷ floor on the medians (see [`Better`] for how to read it); `None` without a
    /// floor.
    pub fn ratio(&self) -> Option<f64> {
        self.floor
            .as_ref()
            .map(|(_, f)| self.ours.median() / f.median())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max_and_ratio() {
        let mut s = Samples::default();
        for v in [5.0, 1.0, 3.0, 4.0] {
            s.push(v);
        }
        assert_eq!((s.min(), s.median(), s.max()), (1.0, 3.0, 5.0));
        let mut f = Samples::default();
        f.push(6.0);
        let row = Row::alone("c", "rows/s", Better::Higher, s).against("floor", f);
        assert_eq!(row.ratio(), Some(0.5));
        assert_eq!(fmt_num(1234.4), "1234");
        assert_eq!(fmt_num(0.01234), "0.012");
    }
}
