//! Terminal tables (`text` and `wide`): borderless, kubectl-like, never wrapped so the output
//! is the same on every terminal.
//!
//! The lines are comfy-table's, but rows are written as they are made: building the whole
//! table first (cells, styles, the laid-out text and the printed string, all at once) took
//! about three times the memory of the report on large scans. Column widths come from a first
//! pass; plain ASCII rows are then padded here, and any other row (colours, line breaks,
//! wide or control characters) is laid out by comfy-table as a one-row table with those
//! widths, which gives the lines the whole table would have given.

use std::io::Write;

use anyhow::Result;
use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Table, Width, presets};
use scanner_core::{ApiStatus, Report};

use super::columns::{Column, NONE};
use super::{RenderOptions, summary};

/// A row's cells and its colour, if it is coloured.
pub(super) type Row = (Vec<String>, Option<Color>);

/// The length of the ANSI escape sequences (`ESC [ ... letter`) that open `text`.
fn leading_escapes(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while bytes.get(i) == Some(&0x1b) && bytes.get(i + 1) == Some(&b'[') {
        let Some(end) = bytes[i + 2..].iter().position(u8::is_ascii_alphabetic) else {
            break;
        };
        i += end + 3;
    }
    i
}

/// comfy-table pads the first and last column with a space; drop the first column's pad and
/// the line's trailing blanks. A coloured row opens with its colour code, so the pad is looked
/// for after it (stripping only a leading space shifted coloured rows one column right of the
/// header), and blanks before the closing reset code are trailing blanks too.
fn write_line(line: &str, out: &mut dyn Write) -> Result<()> {
    let line = line.trim_end();
    let open = leading_escapes(line);
    let (codes, rest) = line.split_at(open);
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    // The closing codes: the shortest tail made only of escape sequences.
    let close = rest
        .rfind('\x1b')
        .filter(|&i| leading_escapes(&rest[i..]) == rest.len() - i)
        .map_or(rest.len(), |mut i| {
            while let Some(j) = rest[..i].rfind('\x1b') {
                if leading_escapes(&rest[j..i]) == i - j {
                    i = j;
                } else {
                    break;
                }
            }
            i
        });
    let (body, closing) = rest.split_at(close);
    writeln!(out, "{codes}{}{closing}", body.trim_end())?;
    Ok(())
}

fn new_table(color: bool) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if color {
        table.enforce_styling();
    }
    table
}

fn styled(text: String, color: Option<Color>) -> Cell {
    let cell = Cell::new(text);
    match color {
        Some(c) => cell.fg(c),
        None => cell,
    }
}

/// Text comfy-table measures as its length: printable ASCII.
fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// A cell's width as comfy-table computes it for a column: its widest line, at least 1.
fn cell_width(text: &str) -> usize {
    if is_plain(text) {
        return text.len().clamp(1, usize::from(u16::MAX));
    }
    let mut table = Table::new();
    table.add_row([text]);
    table
        .column_max_content_widths()
        .first()
        .map_or(1, |&w| usize::from(w))
}

/// Writes a borderless table (the header first, when given), reading the rows twice: once for
/// the column widths, once to write them.
pub(super) fn write_table<I>(
    header: Option<Vec<String>>,
    rows: impl Fn() -> I,
    color: bool,
    out: &mut dyn Write,
) -> Result<()>
where
    I: Iterator<Item = Row>,
{
    let mut widths: Vec<usize> = Vec::new();
    let mut measure = |cells: &[String]| {
        if widths.len() < cells.len() {
            widths.resize(cells.len(), 0);
        }
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(cell_width(c));
        }
    };
    if let Some(h) = &header {
        measure(h);
    }
    for (cells, _) in rows() {
        measure(&cells);
    }
    // A column as wide as comfy-table's limit cannot be given as a fixed width (padding
    // included): lay out the whole table at once, as it always could.
    let Some(fixed) = widths
        .iter()
        .map(|&w| u16::try_from(w + 2).ok())
        .collect::<Option<Vec<u16>>>()
    else {
        let mut table = new_table(color);
        if let Some(h) = header {
            table.set_header(h);
        }
        for (cells, c) in rows() {
            table.add_row(cells.into_iter().map(|t| styled(t, c)));
        }
        for line in table.to_string().lines() {
            write_line(line, out)?;
        }
        return Ok(());
    };
    let mut line = String::new();
    let mut row = |cells: Vec<String>, c: Option<Color>, out: &mut dyn Write| -> Result<()> {
        if c.is_none() && cells.len() == widths.len() && cells.iter().all(|t| is_plain(t)) {
            line.clear();
            for (text, &w) in cells.iter().zip(&widths) {
                line.push(' ');
                line.push_str(text);
                line.extend(std::iter::repeat_n(' ', w - text.len() + 1));
            }
            return write_line(&line, out);
        }
        let mut table = new_table(color);
        table.add_row(cells.into_iter().map(|t| styled(t, c)));
        for (i, &w) in fixed.iter().enumerate() {
            if let Some(column) = table.column_mut(i) {
                column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w)));
            }
        }
        for l in table.to_string().lines() {
            write_line(l, out)?;
        }
        Ok(())
    };
    if let Some(h) = header {
        row(h, None, out)?;
    }
    for (cells, c) in rows() {
        row(cells, c, out)?;
    }
    Ok(())
}

pub fn render(
    report: &Report,
    opts: &RenderOptions,
    columns: &[Column],
    out: &mut dyn Write,
) -> Result<()> {
    if !report.findings.is_empty() {
        let header = opts
            .headers
            .then(|| columns.iter().map(|c| c.header().to_owned()).collect());
        let rows = || {
            report.findings.iter().map(|f| {
                let color = match f.status {
                    ApiStatus::Removed | ApiStatus::Unknown => Some(Color::Red),
                    ApiStatus::Deprecated => Some(Color::Yellow),
                    _ => None,
                };
                let cells = columns
                    .iter()
                    .map(|c| c.cell(f).unwrap_or_else(|| NONE.to_owned()))
                    .collect();
                (cells, color.filter(|_| opts.color))
            })
        };
        write_table(header, rows, opts.color, out)?;
        writeln!(out)?;
    }
    for (title, lines) in super::cluster_sections(report) {
        writeln!(out, "{title}:")?;
        for line in lines {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    if let Some((title, rows, not_run)) = super::readiness_rows(report) {
        writeln!(out, "{title}:")?;
        if rows.is_empty() {
            writeln!(out, "  nothing found")?;
        } else {
            let header = opts.headers.then(|| {
                ["SEVERITY", "CODE", "HOP", "OBJECT", "MESSAGE"]
                    .map(str::to_owned)
                    .to_vec()
            });
            let table_rows = || {
                rows.iter().map(|row| {
                    let color = match row[0].as_str() {
                        "blocker" => Some(Color::Red),
                        "warning" => Some(Color::Yellow),
                        _ => None,
                    };
                    let cells = row
                        .iter()
                        .map(|c| {
                            if c.is_empty() {
                                "-".to_owned()
                            } else {
                                c.clone()
                            }
                        })
                        .collect();
                    (cells, color.filter(|_| opts.color))
                })
            };
            write_table(header, table_rows, opts.color, out)?;
        }
        for n in not_run {
            writeln!(out, "  not run: {n}")?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", summary(report))?;
    Ok(())
}
