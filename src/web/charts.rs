//! Charts as server-rendered SVG: no script, no external asset, to scale, each bar with its
//! number on hover (`<title>`). Colours come from the stylesheet's palette.

use chrono::NaiveDate;
use maud::{Markup, html};

/// Vertical bars, one per day, with the count on hover and the first, middle and last dates
/// below.
pub fn day_chart(days: &[(NaiveDate, u64)]) -> Markup {
    const W: f64 = 900.0;
    const H: f64 = 160.0;
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1) as f64;
    let n = days.len().max(1) as f64;
    let slot = W / n;
    let bar = (slot * 0.8).max(0.5);
    let label_at = [0, days.len() / 2, days.len().saturating_sub(1)];
    html! {
        svg.chart viewBox={ "0 0 " (W) " " (H + 34.0) } width="100%" role="img" aria-label="tickets per day" {
            line x1="0" y1=(H) x2=(W) y2=(H) stroke="#d9dde2" {}
            text x="0" y="10" font-size="11" fill="#5b6670" { (max as u64) }
            @for (i, (d, c)) in days.iter().enumerate() {
                @let h = *c as f64 * (H - 14.0) / max;
                rect x=(format!("{:.2}", i as f64 * slot + (slot - bar) / 2.0)) y=(format!("{:.2}", H - h))
                    width=(format!("{bar:.2}")) height=(format!("{h:.2}")) fill="#1f6feb" {
                    title { (d) ": " (c) }
                }
            }
            @for i in label_at {
                @if let Some((d, _)) = days.get(i) {
                    @let anchor = if i == 0 { "start" } else if i + 1 == days.len() { "end" } else { "middle" };
                    @let x = if i == 0 { 0.0 } else if i + 1 == days.len() { W } else { i as f64 * slot + slot / 2.0 };
                    text x=(format!("{x:.2}")) y=(H + 16.0) font-size="12" text-anchor=(anchor) fill="#5b6670" { (d) }
                }
            }
        }
    }
}

/// A horizontal bar for a table row, `n` of `max`.
pub fn hbar(n: u64, max: u64) -> Markup {
    let w = n as f64 * 200.0 / max.max(1) as f64;
    html! {
        svg.hbar viewBox="0 0 200 12" width="200" height="12" preserveAspectRatio="none" role="img" aria-label=(n) {
            rect x="0" y="0" width=(format!("{w:.1}")) height="12" fill="#1f6feb" {}
        }
    }
}

/// Two bars per day (e.g. created and resolved), with a legend.
pub fn paired_day_chart(days: &[(NaiveDate, u64, u64)], labels: (&str, &str)) -> Markup {
    const W: f64 = 700.0;
    const H: f64 = 120.0;
    const COLORS: (&str, &str) = ("#1f6feb", "#2da44e");
    let max = days.iter().map(|d| d.1.max(d.2)).max().unwrap_or(0).max(1) as f64;
    let slot = W / days.len().max(1) as f64;
    let bar = (slot * 0.38).max(0.5);
    let y = |c: u64| H - c as f64 * (H - 14.0) / max;
    html! {
        svg.chart.pairs viewBox={ "0 0 " (W) " " (H + 40.0) } width="100%" role="img" aria-label={ (labels.0) " / " (labels.1) } {
            line x1="0" y1=(H) x2=(W) y2=(H) stroke="#d9dde2" {}
            text x="0" y="10" font-size="11" fill="#5b6670" { (max as u64) }
            @for (i, (d, a, b)) in days.iter().enumerate() {
                @let x = i as f64 * slot + slot * 0.1;
                rect x=(format!("{x:.2}")) y=(format!("{:.2}", y(*a))) width=(format!("{bar:.2}"))
                    height=(format!("{:.2}", H - y(*a))) fill=(COLORS.0) {
                    title { (d) " — " (labels.0) ": " (a) }
                }
                rect x=(format!("{:.2}", x + bar)) y=(format!("{:.2}", y(*b))) width=(format!("{bar:.2}"))
                    height=(format!("{:.2}", H - y(*b))) fill=(COLORS.1) {
                    title { (d) " — " (labels.1) ": " (b) }
                }
                @if i == 0 || i + 1 == days.len() {
                    text x=(format!("{:.2}", x + bar)) y=(H + 15.0) font-size="11" text-anchor="middle" fill="#5b6670" { (d.format("%d.%m")) }
                }
            }
            rect x="0" y=(H + 25.0) width="10" height="10" fill=(COLORS.0) {}
            text x="14" y=(H + 34.0) font-size="11" fill="#5b6670" { (labels.0) }
            rect x="160" y=(H + 25.0) width="10" height="10" fill=(COLORS.1) {}
            text x="174" y=(H + 34.0) font-size="11" fill="#5b6670" { (labels.1) }
        }
    }
}

/// Labelled horizontal bars (label, count), to one scale.
pub fn bar_rows(id: &str, rows: &[(String, u64)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
    html! {
        table.bars id=(id) {
            tbody {
                @for (label, n) in rows {
                    tr { td { (label) } td.num { (n) } td { (hbar(*n, max)) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn charts_are_plain_svg_to_scale() {
        let days = [
            (d("2026-03-01"), 2),
            (d("2026-03-02"), 0),
            (d("2026-03-03"), 4),
        ];
        let svg = day_chart(&days).into_string();
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(
            svg.matches("</rect>").count(),
            3,
            "SVG elements are closed explicitly"
        );
        assert!(svg.contains("<title>2026-03-03: 4</title>"));
        assert!(svg.contains(r#"height="146.00""#), "{svg}");
        assert!(svg.contains(r#"height="73.00""#), "{svg}");
        assert!(!svg.contains("<script"));
        assert!(day_chart(&[]).into_string().contains("<svg"));
        assert!(hbar(5, 10).into_string().contains(r#"width="100.0""#));
    }

    #[test]
    fn paired_chart_has_two_bars_per_day_and_a_legend() {
        let days = [(d("2026-03-01"), 3, 1), (d("2026-03-02"), 0, 6)];
        let svg = paired_day_chart(&days, ("created", "resolved <b>")).into_string();
        assert_eq!(svg.matches("<rect").count(), 6, "4 bars + 2 legend keys");
        assert!(
            svg.contains("<title>2026-03-02 — resolved &lt;b&gt;: 6</title>"),
            "{svg}"
        );
        assert!(
            svg.contains(r#"height="106.00""#),
            "the largest bar is full height: {svg}"
        );
        assert!(svg.contains("01.03") && svg.contains("02.03"));
        let rows = bar_rows("p", &[("High".into(), 2), ("Low".into(), 4)]).into_string();
        assert!(rows.contains(r#"width="100.0""#) && rows.contains(r#"width="200.0""#));
    }
}
