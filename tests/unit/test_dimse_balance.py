"""The association counts that ``manage.py dimse --processes`` shares between its service processes."""

from __future__ import annotations

import os
import time

import pytest

from pacs.dimse.balance import HeldCount, ProcessLoads


def test_a_count_changed_in_a_forked_process_is_seen_by_the_others():
    loads = ProcessLoads(2)
    pid = os.fork()
    if pid == 0:
        try:
            load = loads.of_process(1)
            load.started()
            load.started()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    mine = loads.of_process(0)
    assert mine.others() == [2]
    assert mine.least_busy()
    assert not loads.of_process(1).least_busy()


def test_the_busier_process_waits_its_turn_for_a_while_only():
    loads = ProcessLoads(2)
    busy, idle = loads.of_process(0), loads.of_process(1)
    busy.started()

    started = time.monotonic()
    idle.wait_for_turn(limit=5.0)
    assert time.monotonic() - started < 1.0  # the least busy process goes at once

    started = time.monotonic()
    busy.wait_for_turn(limit=0.2)
    assert time.monotonic() - started >= 0.15  # the busier one leaves the connection to the other first

    idle.started()
    started = time.monotonic()
    busy.wait_for_turn(limit=5.0)
    assert time.monotonic() - started < 1.0  # equally busy: no wait


def test_a_held_count_is_given_back_once():
    load = ProcessLoads(2).of_process(0)
    load.started()
    held = HeldCount(load)
    held.release()
    held.release()  # the connection closed, then the association thread ended
    assert load.serving == 0


def test_a_process_index_outside_the_group_is_refused():
    with pytest.raises(ValueError, match="outside"):
        ProcessLoads(2).of_process(2)
