"""The C-MOVE SCP's own parts: how destination statuses are counted, and the readahead of files."""

from __future__ import annotations

import pytest

from pacs.dimse.handlers.move_get import file_readahead
from pacs.dimse.move_scp import READAHEAD_DEPTH, _read_ahead, _store_status_category
from pacs.retrieve.instances import StoredInstance


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (0x0000, "Success"),
        (0xB000, "Warning"),
        (0xB007, "Warning"),
        (0xA700, "Failure"),
        (0xC123, "Failure"),  # "Cannot understand" covers 0xC000-0xCFFF
        (0x1234, None),  # not a Storage status: a failure, as pynetdicom counted it
        (None, None),  # nothing came back
    ],
)
def test_destination_statuses_are_counted_as_pynetdicom_did(status, category):
    assert _store_status_category(status) == category


def test_files_are_asked_for_a_few_instances_before_their_turn():
    count = READAHEAD_DEPTH + 3
    events: list[str] = []
    for number in _read_ahead(list(range(count)), lambda number: events.append(f"ahead {number}")):  # type: ignore[arg-type]
        events.append(f"turn {number}")
    assert events[:READAHEAD_DEPTH] == [f"ahead {number}" for number in range(READAHEAD_DEPTH)]
    for number in range(count):
        assert events.index(f"ahead {number}") < events.index(f"turn {number}")
    assert events.count("ahead 0") == 1 and len([event for event in events if event.startswith("ahead")]) == count
    # Each is asked for READAHEAD_DEPTH turns before its own.
    assert events.index(f"ahead {READAHEAD_DEPTH}") == events.index("turn 0") - 1


def test_nothing_is_read_ahead_once_the_sub_association_has_ended():
    count = READAHEAD_DEPTH * 3
    asked: list[int] = []
    association_open = [True]
    for number in _read_ahead(list(range(count)), asked.append, lambda: association_open[0]):  # type: ignore[arg-type]
        if number == 2:
            association_open[0] = False
    assert asked == list(range(READAHEAD_DEPTH + 3))


def test_readahead_of_a_missing_file_is_no_error(settings, tmp_path):
    settings.PACS_STORAGE_ROOT = tmp_path
    instance = StoredInstance(
        pk=1,
        study_uid="1",
        series_uid="2",
        sop_uid="3",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        transfer_syntax_uid="1.2.840.10008.1.2.1",
        file_path="gone/3.dcm",
        file_size=0,
        number_of_frames=1,
    )
    file_readahead(instance)
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "3.dcm").write_bytes(b"\0" * 1000)
    file_readahead(instance)
