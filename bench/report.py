"""The results table: each metric for both servers, their ratio, the target and whether it is met.

The ratio is always ours ÷ Orthanc. For a throughput (higher is better) the target is a least ratio,
for a latency (lower is better) a greatest ratio, sometimes with an absolute ceiling as well. Only
measured numbers appear; a metric a server could not be measured on shows why instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    ratio_target: float | None = None
    ceiling: float | None = None  # ours must stay under this, in ``unit``

    def target_text(self) -> str:
        parts = []
        if self.ceiling is not None:
            parts.append(f"< {self.ceiling:g} {self.unit}")
        if self.ratio_target is not None:
            parts.append(f"{'≥' if self.higher_is_better else '≤'} {self.ratio_target:g}× Orthanc")
        return " and ".join(parts) or "—"


@dataclass
class Measurement:
    """One number for one server, or why there is none; ``note`` qualifies a number (sizes, failures)."""

    value: float | None = None
    note: str = ""
    error: str | None = None


@dataclass
class ServerResults:
    """All measurements of one server, with per-query details and remarks."""

    name: str
    measurements: dict[str, Measurement] = field(default_factory=dict)
    query_details: dict[str, list[tuple[str, float, int]]] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)

    def get(self, key: str) -> Measurement:
        return self.measurements.get(key, Measurement(error="not measured"))


def metrics(*, ct_slices: int, small_size: str, with_dimse: bool, ct_by_stow: bool) -> list[Metric]:
    """The table's rows for this run."""
    rows = [
        Metric("stow_1", f"STOW-RS, 1 client ({small_size} instances)", "inst/s", True, 1.5),
        Metric("stow_4", f"STOW-RS, 4 clients ({small_size} instances)", "inst/s", True, 1.5),
    ]
    if ct_by_stow:
        rows.append(Metric("stow_ct", f"STOW-RS, 4 clients ({ct_slices} CT slices 512×512)", "inst/s", True))
    rows += [
        Metric("qido_median", "QIDO-RS study search, median", "ms", False),
        Metric("qido_p95", "QIDO-RS study search, p95", "ms", False, 0.5),
        Metric("metadata_first", f"WADO-RS series metadata ({ct_slices} inst.), first request", "ms", False),
        Metric("metadata", f"WADO-RS series metadata ({ct_slices} inst.), median", "ms", False, 0.1, 200),
        Metric("frames", "WADO-RS frames, 1 per request, 6 connections", "frames/s", True, 2.0),
    ]
    if with_dimse:
        rows += [
            Metric("cstore_1", f"C-STORE, 1 association ({ct_slices} CT slices 512×512)", "inst/s", True, 1.5),
            Metric("cstore_4", f"C-STORE, 4 associations ({small_size} instances)", "inst/s", True, 1.5),
            Metric("cfind_median", "C-FIND study level, median (findscu run)", "ms", False),
            Metric("cmove", f"C-MOVE to storescp ({ct_slices} CT slices)", "inst/s", True, 1.0),
        ]
    return rows


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _cell(measurement: Measurement) -> str:
    if measurement.value is None:
        reason = measurement.error or "no value"
        return f"n/a ({reason[:40]}…)" if len(reason) > 40 else f"n/a ({reason})"
    return _number(measurement.value) + (" *" if measurement.note else "")


def table_rows(rows: list[Metric], ours: ServerResults | None, orthanc: ServerResults | None) -> list[list[str]]:
    """Header and one line per metric: metric, ours, Orthanc, ratio, target, met?"""
    lines = [["metric", "ours", "Orthanc", "ratio", "target", "met?"]]
    for metric in rows:
        mine = ours.get(metric.key) if ours else Measurement(error="not run")
        theirs = orthanc.get(metric.key) if orthanc else Measurement(error="not run")
        ratio = mine.value / theirs.value if mine.value is not None and theirs.value else None
        met = "—"
        if metric.ratio_target is not None or metric.ceiling is not None:
            checks = []
            if metric.ceiling is not None:
                checks.append(mine.value < metric.ceiling if mine.value is not None else None)
            if metric.ratio_target is not None:
                if ratio is None:
                    checks.append(None)
                elif metric.higher_is_better:
                    checks.append(ratio >= metric.ratio_target)
                else:
                    checks.append(ratio <= metric.ratio_target)
            met = "n/a" if None in checks else ("yes" if all(checks) else "no")
        lines.append(
            [
                f"{metric.label} [{metric.unit}]",
                _cell(mine),
                _cell(theirs),
                f"{ratio:.2f}×" if ratio is not None else "—",
                metric.target_text(),
                met,
            ]
        )
    return lines


def text_table(lines: list[list[str]]) -> str:
    widths = [max(len(line[column]) for line in lines) for column in range(len(lines[0]))]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def markdown_table(lines: list[list[str]], *, right_aligned: tuple[int, ...] = (1, 2, 3)) -> str:
    """``lines`` (a header, then rows) as a Markdown table, numbers in ``right_aligned`` columns."""

    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    rule = ["---:" if column in right_aligned else "---" for column in range(len(lines[0]))]
    return "\n".join([row(lines[0]), row(rule), *map(row, lines[1:])])


def notes(rows: list[Metric], results: list[ServerResults]) -> list[str]:
    """The footnotes of starred cells, the errors too long for a cell, and each server's remarks."""
    out = []
    for server in results:
        for metric in rows:
            measurement = server.get(metric.key)
            if measurement.value is not None and measurement.note:
                out.append(f"{server.name}, {metric.label}: {measurement.note}")
            elif measurement.value is None and measurement.error and len(measurement.error) > 40:
                out.append(f"{server.name}, {metric.label}: {measurement.error}")
        out += [f"{server.name}: {remark}" for remark in server.remarks]
    return out


def query_details_markdown(results: list[ServerResults]) -> str:
    """Per kind of query (QIDO-RS, C-FIND), each query's median time and matches on each server."""
    sections = []
    kinds: list[str] = []
    for server in results:
        kinds += [kind for kind in server.query_details if kind not in kinds]
    for kind in kinds:
        queries: list[str] = []
        for server in results:
            queries += [query for query, _, _ in server.query_details.get(kind, []) if query not in queries]
        lines = [["query"] + [f"{server.name}: median ms (matches)" for server in results]]
        for query in queries:
            cells = [f"`{query}`"]
            for server in results:
                found = [(ms, count) for name, ms, count in server.query_details.get(kind, []) if name == query]
                cells.append(f"{found[0][0]:.1f} ({found[0][1]})" if found else "n/a")
            lines.append(cells)
        right = tuple(range(1, len(results) + 1))
        sections.append(f"#### {kind}\n\n{markdown_table(lines, right_aligned=right)}")
    return "\n\n".join(sections)


def query_mismatches(results: list[ServerResults]) -> list[str]:
    """Queries whose number of matches differs between servers: their timings are not comparable."""
    out = []
    for kind in {kind for server in results for kind in server.query_details}:
        counts: dict[str, dict[str, int]] = {}
        for server in results:
            for query, _, matches in server.query_details.get(kind, []):
                counts.setdefault(query, {})[server.name] = matches
        for query, by_server in counts.items():
            if len(set(by_server.values())) > 1:
                found = ", ".join(f"{name} {matches}" for name, matches in by_server.items())
                out.append(f"{kind} `{query}` matched different numbers of studies: {found}")
    return sorted(out)
