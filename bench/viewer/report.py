"""The viewer table: medians of the runs per viewer, the ratio ours ÷ OHIF, the targets of issue 4."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.report import markdown_table, text_table
from bench.viewer.browser import RunResult

FIRST_IMAGE_TARGET = 1.0
WHOLE_SERIES_TARGET = 3.0


@dataclass
class ViewerResults:
    """All runs of one viewer, or why it could not be run."""

    name: str
    runs: list[RunResult] = field(default_factory=list)
    error: str = ""
    remarks: list[str] = field(default_factory=list)

    # Whether the viewer has a progress indicator the benchmark reads (ours does; OHIF's is not read).
    has_progress: bool = False

    def applies(self, attribute: str) -> bool:
        return attribute != "progress_done" or self.has_progress

    def summary(self, attribute: str) -> tuple[float | None, bool]:
        """The median over the runs and whether it is only a lower bound.

        A run that did not reach the milestone counts with the time it was given up at: the median of
        those is a lower bound of the true median, shown as "> x s" rather than a number not earned.
        """
        runs = self.measured_runs
        if not runs or not self.applies(attribute):
            return None, False
        values = [getattr(run, attribute) for run in runs]
        if all(value is not None for value in values):
            return statistics.median(values), False
        bounds = [value if value is not None else run.ended for value, run in zip(values, runs, strict=True)]
        if any(bound is None for bound in bounds):
            return None, False
        return statistics.median(bounds), True

    @property
    def measured_runs(self) -> list[RunResult]:
        """The runs that measured something: a run whose page or viewer failed bounds nothing."""
        return [run for run in self.runs if not run.failed]

    def reached(self, attribute: str) -> str:
        runs = self.measured_runs
        short = [run.frames for run in runs if getattr(run, attribute) is None]
        failed = len(self.runs) - len(runs)
        text = f"{len(runs) - len(short)} of {len(runs)} runs"
        if short:
            text += (
                f", stopped at {min(short)} frames"
                if min(short) == max(short)
                else (f", stopped at {min(short)}–{max(short)} frames")
            )
        return text + (f"; {failed} failed" if failed else "")


@dataclass(frozen=True)
class Row:
    attribute: str
    label: str
    target: float


def rows(slices: int) -> list[Row]:
    return [
        Row("first_image", "first image drawn (canvas not blank)", FIRST_IMAGE_TARGET),
        Row("frames_done", f"all {slices} frames fetched (WADO-RS frames or series Pixel Data)", WHOLE_SERIES_TARGET),
        Row("progress_done", f"viewer's own progress at {slices} of {slices}", WHOLE_SERIES_TARGET),
    ]


def _cell(results: ViewerResults | None, attribute: str) -> str:
    if results is None:
        return "not run"
    if results.error:
        return "n/a (could not run)"
    if not results.applies(attribute):
        return "—"
    value, bound = results.summary(attribute)
    if value is None:
        return f"n/a ({results.reached(attribute)})"
    if bound:
        return f"> {value:.1f} s ({results.reached(attribute)})"
    failed = len(results.runs) - len(results.measured_runs)
    return f"{value:.2f} s" + (f" ({failed} of {len(results.runs)} runs failed)" if failed else "")


def _ratio(mine: tuple[float | None, bool], theirs: tuple[float | None, bool]) -> str:
    """ours ÷ OHIF; with one side a lower bound the ratio is a bound too, with both it is unknown."""
    (mine_value, mine_bound), (their_value, their_bound) = mine, theirs
    if mine_value is None or not their_value or (mine_bound and their_bound):
        return "—"
    prefix = "> " if mine_bound else "< " if their_bound else ""
    return f"{prefix}{mine_value / their_value:.2f}×"


def _met(mine: tuple[float | None, bool], target: float) -> str:
    value, bound = mine
    if value is None:
        return "n/a"
    if bound:
        return "no" if value >= target else "n/a"
    return "yes" if value < target else "no"


def table(slices: int, ours: ViewerResults | None, ohif: ViewerResults | None) -> list[list[str]]:
    """Header and one line per milestone: ours, OHIF, ratio, target, met?"""
    lines = [["from navigation start to", "ours", "OHIF + Orthanc", "ratio", "target", "met?"]]
    for row in rows(slices):
        mine = ours.summary(row.attribute) if ours and not ours.error else (None, False)
        theirs = ohif.summary(row.attribute) if ohif and not ohif.error else (None, False)
        lines.append(
            [
                row.label,
                _cell(ours, row.attribute),
                _cell(ohif, row.attribute),
                _ratio(mine, theirs),
                f"< {row.target:g} s",
                _met(mine, row.target),
            ]
        )
    return lines


def runs_markdown(results: list[ViewerResults]) -> str:
    """Each run of each viewer, for the reader who wants to see the spread, and each problem met."""
    lines = [
        [
            "viewer",
            "run",
            "page scripts ran",
            "first metadata",
            "first frame",
            "first image",
            "all frames fetched",
            "own progress complete",
            "frames",
            "remark",
        ]
    ]
    for viewer in results:
        for index, run in enumerate(viewer.runs, 1):
            lines.append(
                [
                    viewer.name,
                    str(index),
                    _seconds(run.dom_content_loaded),
                    _seconds(run.metadata),
                    _seconds(run.first_frame),
                    _seconds(run.first_image),
                    _seconds(run.frames_done),
                    _seconds(run.progress_done),
                    f"{run.frames}" + (f" ({run.frame_failures} failed)" if run.frame_failures else ""),
                    "; ".join(filter(None, [run.problem, _compressed(run)])),
                ]
            )
    return markdown_table(lines, right_aligned=(1, 2, 3, 4, 5, 6, 7, 8))


def _compressed(run: RunResult) -> str:
    if run.frame_encoding not in ("", "identity"):
        return f"frames came with Content-Encoding {run.frame_encoding}"
    return f"{run.frames_compressed} frames came compressed" if run.frames_compressed else ""


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "—"


def text(lines: list[list[str]]) -> str:
    return text_table(lines)


def markdown(lines: list[list[str]]) -> str:
    return markdown_table(lines, right_aligned=(1, 2, 3))
