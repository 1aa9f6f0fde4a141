"""Rendering a report as a rich table, CSV or JSON, to the terminal or a file; charts as PNG."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from reports.queries import Report

FORMATS = ("table", "csv", "json")


def _iso(value: Any) -> Any:
    # Exact type checks: this runs for every cell of a million-row report. Times from the database are UTC.
    kind = type(value)
    if kind is dt.datetime or kind is dt.date:
        return value.isoformat()
    return value


def _human(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _cells(row: Any, fields: list[str], times: list[int]) -> list[Any]:
    """A row's values in field order: rows are mappings, or tuples already in field order."""
    cells = [row[name] for name in fields] if isinstance(row, Mapping) else list(row)
    for index in times:
        cells[index] = _iso(cells[index])
    return cells


@contextmanager
def _target(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    # Reports can name calls and people: readable by the operator only.
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        yield handle


def write(report: Report, fmt: str, output: Path | None, console: Console) -> int:
    """Render `report`; returns the number of rows (streamed, so memory stays flat for CSV and JSON)."""
    count = 0
    with _target(output) as handle:
        fields = report.fields
        # Times are the fields named `at`, `day`, `until` or `*_at`; only those need converting.
        times = [i for i, name in enumerate(fields) if name in ("at", "day", "until") or name.endswith("_at")]
        if fmt == "csv":
            writer = csv.writer(handle)
            writer.writerow(fields)
            for row in report.rows:
                writer.writerow(_cells(row, fields, times))
                count += 1
        elif fmt == "json":
            handle.write("[")
            for row in report.rows:
                cells = dict(zip(fields, _cells(row, fields, times), strict=True))
                handle.write(("," if count else "") + "\n  " + json.dumps(cells))
                count += 1
            handle.write("\n]\n" if count else "]\n")
        else:
            table = Table(title=report.title)
            for name in report.fields:
                table.add_column(name.replace("_", " "), overflow="fold")
            for row in report.rows:
                table.add_row(*(_human(value) for value in _cells(row, fields, [])))
                count += 1
            totals = ", ".join(f"{k.replace('_', ' ')} {_human(v)}" for k, v in report.totals.items())
            table.caption = f"{count:,} rows" + (f"; {totals}" if totals else "")
            target = console if output is None else Console(file=handle, width=200)
            target.print(table)
    return count


def chart(report_name: str, rows: list[Mapping[Any, Any]], path: Path) -> None:
    """A PNG a person can read at a glance: per-day volume and rates, or storage by tier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 4.5), dpi=110)
    if report_name == "processing":
        days = [str(r["day"]) for r in rows]
        axis.bar(days, [r["chunks"] or 0 for r in rows], color="#4c78a8", label="chunks")
        axis.set_ylabel("chunks per day")
        rates = axis.twinx()
        rates.plot(days, [r["processed_pct"] or 0 for r in rows], color="#e45756", marker="o", label="processed %")
        rates.plot(days, [r["replies_delivered_pct"] or 0 for r in rows], color="#54a24b", marker="s",
                   label="replies delivered %")  # fmt: skip
        rates.set_ylim(0, 105)
        rates.set_ylabel("%")
        rates.legend(loc="lower right")
        axis.set_title("Calls processing per day")
        figure.autofmt_xdate()
    else:
        labels = [f"{r['tier']} / {r['codec']}" for r in rows]
        axis.barh(labels, [r["bytes"] / 1e6 for r in rows], color="#4c78a8")
        for index, row in enumerate(rows):
            axis.text(row["bytes"] / 1e6, index, f" {row['objects']:,} objects", va="center")
        axis.set_xlabel("MB stored")
        axis.set_title("Stored recordings by tier and codec")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    path.write_bytes(buffer.getvalue())
