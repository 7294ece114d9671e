//! Inline SVG charts, drawn on the server (no script, no CDN): the calls-per-minute bars,
//! the best-time heat map and the funnel. Every mark has a `<title>` with its figures, so a
//! hover shows them and a screen reader reads them.

use maud::{html, Markup};
use outdial_core::report::{BestTime, Funnel};

/// Bars of `values` (one a minute, oldest first), scaled to the largest.
pub fn sparkline(values: &[u64]) -> Markup {
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let (w, h) = (6.0_f64, 60.0_f64);
    let width = w * values.len() as f64;
    html! {
        svg #per-minute width=(width) height=(h + 14.0) viewBox={ "0 0 " (width) " " (h + 14.0) } role="img" {
            title { "Calls per minute over the last hour (largest: " (max) ")" }
            @for (i, v) in values.iter().enumerate() {
                @let bar = h * (*v as f64) / (max as f64);
                rect x=(i as f64 * w) y=(h - bar) width=(w - 1.0) height=(bar) fill="#2563eb" {
                    title { (values.len() - i) " min ago: " (v) " calls" }
                }
            }
            text x="0" y=(h + 12.0) font-size="10" { "−60 min" }
            text x=(width - 30.0) y=(h + 12.0) font-size="10" { "now" }
        }
    }
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The weekday × hour grid of human-contact rates (darker: higher), in the leads' local
/// time; empty cells had no dial.
pub fn heat_map(b: &BestTime) -> Markup {
    let (cw, ch, left, top) = (26.0_f64, 18.0_f64, 34.0_f64, 14.0_f64);
    let width = left + 24.0 * cw;
    let height = top + 7.0 * ch;
    html! {
        svg #heat-map width=(width) height=(height) viewBox={ "0 0 " (width) " " (height) } role="img" {
            title { "Human-contact rate by the lead's local weekday and hour" }
            @for hour in 0..24u32 {
                text x=(left + hour as f64 * cw + 4.0) y="10" font-size="9" { (hour) }
            }
            @for (row, day) in WEEKDAYS.iter().enumerate() {
                text x="0" y=(top + row as f64 * ch + 13.0) font-size="10" { (day) }
                @for hour in 0..24u32 {
                    @let cell = b.cells.iter().find(|c| c.weekday == *day && c.hour == hour);
                    @let x = left + hour as f64 * cw;
                    @let y = top + row as f64 * ch;
                    @match cell {
                        Some(c) => {
                            @let rate = c.human_rate.value.unwrap_or(0.0);
                            rect x=(x) y=(y) width=(cw - 1.0) height=(ch - 1.0)
                                fill={ "rgba(21,128,61," (format!("{:.3}", 0.1 + 0.9 * rate)) ")" }
                                data-dials=(c.dials) {
                                title { (day) " " (hour) ":00 — " (c.human) " human of " (c.dials) " dials (" (c.human_rate.percent()) ")" }
                            }
                        }
                        None => {
                            rect x=(x) y=(y) width=(cw - 1.0) height=(ch - 1.0) fill="#f3f4f6" {
                                title { (day) " " (hour) ":00 — no dials" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The funnel's stages as horizontal bars, scaled to the first stage.
pub fn funnel(f: &Funnel) -> Markup {
    let first = f.stages.first().map(|s| s.leads).unwrap_or(0).max(1);
    let (bar_w, bar_h, left) = (400.0_f64, 20.0_f64, 80.0_f64);
    let height = bar_h * f.stages.len() as f64 + 4.0;
    html! {
        svg #funnel width=(left + bar_w + 120.0) height=(height) viewBox={ "0 0 " (left + bar_w + 120.0) " " (height) } role="img" {
            title { "Campaign funnel" }
            @for (i, s) in f.stages.iter().enumerate() {
                @let w = bar_w * s.leads as f64 / first as f64;
                @let y = i as f64 * bar_h;
                text x="0" y=(y + 14.0) font-size="11" { (s.stage) }
                rect x=(left) y=(y + 2.0) width=(w) height=(bar_h - 4.0) fill="#7c3aed" {
                    title { (s.stage) ": " (s.leads) " leads (" (s.of_previous.percent()) " of the previous stage)" }
                }
                text x=(left + w + 6.0) y=(y + 14.0) font-size="11" { (s.leads) " · " (s.of_previous.percent()) }
            }
        }
    }
}
