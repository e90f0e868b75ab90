//! Excel workbooks: every ticket of a range, and the report's tables. Cells with text are always
//! written as strings (never formulas), times as real Excel date-times in the given time zone.

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::{ExportError, Report};
use crate::domain::texts::default_text;
use crate::domain::{Language, Staff, Ticket, Timestamp};

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("sheet.tickets", "Заявки", "Заявки", "Tickets"),
    ("sheet.summary", "Сводка", "Зведення", "Summary"),
    ("sheet.days", "По дням", "По днях", "Per day"),
    ("sheet.categories", "Категории", "Категорії", "Categories"),
    ("sheet.departments", "Отделы", "Відділи", "Departments"),
    ("sheet.consumables", "Расходники", "Витратні", "Consumables"),
    ("col.number", "Номер", "Номер", "Number"),
    ("col.created", "Создана", "Створена", "Created"),
    ("col.status", "Статус", "Статус", "Status"),
    ("col.priority", "Приоритет", "Пріоритет", "Priority"),
    ("col.category", "Категория", "Категорія", "Category"),
    ("col.requester", "Заявитель", "Заявник", "Requester"),
    ("col.department", "Отдел", "Відділ", "Department"),
    ("col.assignee", "Исполнитель", "Виконавець", "Assignee"),
    ("col.subject", "Тема", "Тема", "Subject"),
    (
        "col.first_response",
        "Первый ответ",
        "Перша відповідь",
        "First response",
    ),
    ("col.resolved", "Решена", "Вирішена", "Resolved"),
    ("col.rating", "Оценка", "Оцінка", "Rating"),
    ("col.date", "Дата", "Дата", "Date"),
    ("col.tickets", "Заявок", "Заявок", "Tickets"),
    ("col.sku", "Артикул", "Артикул", "SKU"),
    ("col.name", "Наименование", "Найменування", "Name"),
    ("col.issued", "Выдано, шт.", "Видано, шт.", "Issued, units"),
    ("col.moves", "Выдач", "Видач", "Issues"),
    ("col.figure", "Показатель", "Показник", "Figure"),
    ("col.value", "Значение", "Значення", "Value"),
    ("sum.from", "С", "З", "From"),
    ("sum.to", "По", "По", "To"),
    (
        "sum.total",
        "Заявок за период",
        "Заявок за період",
        "Tickets in the period",
    ),
    (
        "sum.fr_median",
        "Первый ответ, медиана, ч",
        "Перша відповідь, медіана, год",
        "First response, median, h",
    ),
    (
        "sum.fr_p90",
        "Первый ответ, 90-й перцентиль, ч",
        "Перша відповідь, 90-й перцентиль, год",
        "First response, 90th percentile, h",
    ),
    (
        "sum.fr_count",
        "Заявок с ответом",
        "Заявок з відповіддю",
        "Tickets answered",
    ),
    (
        "sum.res_median",
        "Решение, медиана, ч",
        "Вирішення, медіана, год",
        "Resolution, median, h",
    ),
    (
        "sum.res_p90",
        "Решение, 90-й перцентиль, ч",
        "Вирішення, 90-й перцентиль, год",
        "Resolution, 90th percentile, h",
    ),
    (
        "sum.res_count",
        "Решённых заявок",
        "Вирішених заявок",
        "Tickets resolved",
    ),
    ("sum.rating_count", "Оценок", "Оцінок", "Ratings"),
    (
        "sum.rating_avg",
        "Средняя оценка",
        "Середня оцінка",
        "Average rating",
    ),
    (
        "sum.sla_none",
        "Цели SLA не настроены",
        "Цілі SLA не налаштовані",
        "No SLA targets configured",
    ),
    (
        "sum.sla_response",
        "SLA первого ответа, % в срок",
        "SLA першої відповіді, % вчасно",
        "First-response SLA, % on time",
    ),
    (
        "sum.sla_resolve",
        "SLA решения, % в срок",
        "SLA вирішення, % вчасно",
        "Resolution SLA, % on time",
    ),
    ("none", "без отдела", "без відділу", "no department"),
];

fn tr(lang: Language, key: &str) -> &'static str {
    TEXTS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, ru, uk, en)| match lang {
            Language::Ru => *ru,
            Language::Uk => *uk,
            Language::En => *en,
        })
        .unwrap_or("?")
}

fn xerr(e: XlsxError) -> ExportError {
    ExportError::Xlsx(e.to_string())
}

/// Instant `t` as an Excel date-time in local time `tz`.
fn local(t: Timestamp, tz: Tz) -> Option<ExcelDateTime> {
    let utc = DateTime::from_timestamp(t, 0)?;
    let offset = tz
        .offset_from_utc_datetime(&utc.naive_utc())
        .fix()
        .local_minus_utc();
    ExcelDateTime::from_timestamp(t + i64::from(offset)).ok()
}

fn header(ws: &mut Worksheet, cols: &[(&str, f64)], lang: Language) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (i, (key, width)) in cols.iter().enumerate() {
        let c = i as u16;
        ws.write_string_with_format(0, c, tr(lang, key), &bold)?;
        ws.set_column_width(c, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Every ticket as one row: number (`#N`), created, status in words, priority, category,
/// requester, department, assignee (display name), subject, first response, resolved, rating.
/// Oldest first.
pub fn tickets_xlsx(
    tickets: &[Ticket],
    staff: &[Staff],
    tz: Tz,
    lang: Language,
) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    write_tickets(ws, tickets, staff, tz, lang).map_err(xerr)?;
    wb.save_to_buffer().map_err(xerr)
}

fn write_tickets(
    ws: &mut Worksheet,
    tickets: &[Ticket],
    staff: &[Staff],
    tz: Tz,
    lang: Language,
) -> Result<(), XlsxError> {
    ws.set_name(tr(lang, "sheet.tickets"))?;
    let cols = [
        ("col.number", 8.0),
        ("col.created", 17.0),
        ("col.status", 16.0),
        ("col.priority", 10.0),
        ("col.category", 16.0),
        ("col.requester", 24.0),
        ("col.department", 18.0),
        ("col.assignee", 18.0),
        ("col.subject", 40.0),
        ("col.first_response", 17.0),
        ("col.resolved", 17.0),
        ("col.rating", 8.0),
    ];
    header(ws, &cols, lang)?;
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let mut sorted: Vec<&Ticket> = tickets.iter().collect();
    sorted.sort_by_key(|t| t.id);
    let mut row = 0u32;
    for t in sorted {
        row += 1;
        ws.write_string(row, 0, t.number())?;
        let mut time = |col: u16, at: Option<Timestamp>| -> Result<(), XlsxError> {
            if let Some(dt) = at.and_then(|a| local(a, tz)) {
                ws.write_datetime_with_format(row, col, &dt, &when)?;
            }
            Ok(())
        };
        time(1, Some(t.created_at))?;
        time(9, t.first_response_at)?;
        time(10, t.resolved_at)?;
        ws.write_string(
            row,
            2,
            default_text(lang, &format!("status.{}", t.status.as_str())),
        )?;
        ws.write_string(row, 3, t.priority.as_str())?;
        ws.write_string(row, 4, t.category.as_str())?;
        ws.write_string(row, 5, &t.requester_name)?;
        if let Some(d) = &t.department {
            ws.write_string(row, 6, d)?;
        }
        if let Some(a) = &t.assignee {
            let name = staff
                .iter()
                .find(|s| &s.login == a)
                .map(|s| s.display_name.as_str())
                .unwrap_or(a);
            ws.write_string(row, 7, name)?;
        }
        ws.write_string(row, 8, &t.subject)?;
        if let Some(r) = t.rating {
            ws.write_number(row, 11, f64::from(r))?;
        }
    }
    ws.autofilter(0, 0, row, cols.len() as u16 - 1)?;
    Ok(())
}

/// The report's tables: a summary sheet, then tickets per day, per category, per department
/// and consumables issued.
pub fn summary_xlsx(r: &Report, lang: Language) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    write_summary(&mut wb, r, lang).map_err(xerr)?;
    wb.save_to_buffer().map_err(xerr)
}

fn write_summary(wb: &mut Workbook, r: &Report, lang: Language) -> Result<(), XlsxError> {
    let day_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let hours_fmt = Format::new().set_num_format("0.00");
    let hours = |s: Option<i64>| s.map(|s| s as f64 / 3600.0);
    let date = |d: chrono::NaiveDate| {
        use chrono::Datelike;
        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
    };

    let ws = wb.add_worksheet();
    ws.set_name(tr(lang, "sheet.summary"))?;
    header(ws, &[("col.figure", 40.0), ("col.value", 14.0)], lang)?;
    let mut row = 0u32;
    let mut put = |ws: &mut Worksheet, key: &str, v: Option<f64>, f: Option<&Format>| {
        row += 1;
        ws.write_string(row, 0, tr(lang, key))?;
        match (v, f) {
            (Some(v), Some(f)) => {
                ws.write_number_with_format(row, 1, v, f)?;
            }
            (Some(v), None) => {
                ws.write_number(row, 1, v)?;
            }
            _ => {}
        }
        Ok::<u32, XlsxError>(row)
    };
    let rr = put(ws, "sum.from", None, None)?;
    ws.write_datetime_with_format(rr, 1, &date(r.from_day)?, &day_fmt)?;
    let rr = put(ws, "sum.to", None, None)?;
    ws.write_datetime_with_format(rr, 1, &date(r.to_day)?, &day_fmt)?;
    put(ws, "sum.total", Some(r.total as f64), None)?;
    put(
        ws,
        "sum.fr_count",
        Some(r.first_response.count as f64),
        None,
    )?;
    put(
        ws,
        "sum.fr_median",
        hours(r.first_response.median),
        Some(&hours_fmt),
    )?;
    put(
        ws,
        "sum.fr_p90",
        hours(r.first_response.p90),
        Some(&hours_fmt),
    )?;
    put(ws, "sum.res_count", Some(r.resolution.count as f64), None)?;
    put(
        ws,
        "sum.res_median",
        hours(r.resolution.median),
        Some(&hours_fmt),
    )?;
    put(ws, "sum.res_p90", hours(r.resolution.p90), Some(&hours_fmt))?;
    put(ws, "sum.rating_count", Some(r.ratings.count as f64), None)?;
    put(ws, "sum.rating_avg", r.ratings.average, Some(&hours_fmt))?;
    match &r.sla {
        None => {
            put(ws, "sum.sla_none", None, None)?;
        }
        Some(s) => {
            put(
                ws,
                "sum.sla_response",
                s.response.percent(),
                Some(&hours_fmt),
            )?;
            put(ws, "sum.sla_resolve", s.resolve.percent(), Some(&hours_fmt))?;
        }
    }

    let ws = wb.add_worksheet();
    ws.set_name(tr(lang, "sheet.days"))?;
    header(ws, &[("col.date", 12.0), ("col.tickets", 10.0)], lang)?;
    for (i, (d, n)) in r.per_day.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_datetime_with_format(row, 0, &date(*d)?, &day_fmt)?;
        ws.write_number(row, 1, *n as f64)?;
    }

    let ws = wb.add_worksheet();
    ws.set_name(tr(lang, "sheet.categories"))?;
    header(ws, &[("col.category", 20.0), ("col.tickets", 10.0)], lang)?;
    for (i, (c, n)) in r.per_category.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, c.as_str())?;
        ws.write_number(row, 1, *n as f64)?;
    }

    let ws = wb.add_worksheet();
    ws.set_name(tr(lang, "sheet.departments"))?;
    header(ws, &[("col.department", 30.0), ("col.tickets", 10.0)], lang)?;
    for (i, (d, n)) in r.per_department.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, d.as_deref().unwrap_or(tr(lang, "none")))?;
        ws.write_number(row, 1, *n as f64)?;
    }

    let ws = wb.add_worksheet();
    ws.set_name(tr(lang, "sheet.consumables"))?;
    header(
        ws,
        &[
            ("col.sku", 16.0),
            ("col.name", 36.0),
            ("col.issued", 12.0),
            ("col.moves", 10.0),
        ],
        lang,
    )?;
    for (i, c) in r.consumption.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &c.sku)?;
        ws.write_string(row, 1, &c.name)?;
        ws.write_number(row, 2, c.quantity as f64)?;
        ws.write_number(row, 3, c.moves as f64)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_carry_the_offset() {
        let tz = chrono_tz::Europe::Moscow;
        // 2026-03-01 09:00 UTC = 12:00 Moscow.
        let t = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        let want = ExcelDateTime::from_ymd(2026, 3, 1)
            .unwrap()
            .and_hms(12, 0, 0)
            .unwrap();
        assert_eq!(local(t, tz).unwrap().to_excel(), want.to_excel());
    }

    #[test]
    fn every_text_has_three_languages() {
        for (k, ru, uk, en) in TEXTS {
            assert!(!ru.is_empty() && !uk.is_empty() && !en.is_empty(), "{k}");
        }
        for lang in Language::ALL {
            for (k, ..) in TEXTS.iter().filter(|(k, ..)| k.starts_with("sheet.")) {
                let name = tr(lang, k);
                assert!(
                    name.chars().count() <= 31
                        && !name.contains(['[', ']', ':', '*', '?', '/', '\\'])
                );
            }
        }
    }
}
