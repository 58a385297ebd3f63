"""Associations spread over the service processes of ``manage.py dimse --processes N`` by how busy each is.

The processes accept from one shared listening socket; left alone, whichever polls first takes a new
connection, and associations that arrive together fall to chance (3 of 4 modalities on one process of 2,
often). Each process therefore publishes how many associations it serves in a small block of memory
shared by the group (an anonymous mapping made before the fork), and one that serves more than another
waits a moment before it accepts, so that the less busy process takes the connection. The wait is short
and bounded: a process that cannot accept (stuck, or stopping) delays nothing for long.

A connection counts from its accept until it closes or its association thread ends, whichever comes
first: a thread can outlive its connection (pynetdicom waits the ACSE timeout for the A-ASSOCIATE-RQ of a
connection already closed, unless ``server.py`` ends that wait), and it must not make its process look busy.
"""

from __future__ import annotations

import mmap
import threading
import time

# How long a busier process leaves a new connection to the less busy ones before it takes it itself.
ACCEPT_YIELD_SECONDS = 0.05
_RECHECK_SECONDS = 0.002
_COUNTER_BYTES = 8


class ProcessLoads:
    """The association counts of a group of service processes; made by the parent, before the fork."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        # MAP_SHARED (the default): the children's writes are seen by each other after the fork.
        self._memory = mmap.mmap(-1, processes * _COUNTER_BYTES)
        self._counts = memoryview(self._memory).cast("q")

    def of_process(self, index: int) -> ProcessLoad:
        """The view of process ``index`` (0-based): its own count to change, the others' to read."""
        if not 0 <= index < self.processes:
            raise ValueError(f"process index {index} is outside 0..{self.processes - 1}")
        return ProcessLoad(self._counts, index)


class ProcessLoad:
    """One process's count of the associations it serves, beside its siblings' counts."""

    def __init__(self, counts: memoryview, index: int) -> None:
        self._counts = counts
        self.index = index
        self._lock = threading.Lock()  # the acceptor and the association threads change the count

    @property
    def serving(self) -> int:
        return int(self._counts[self.index])

    def others(self) -> list[int]:
        return [int(count) for position, count in enumerate(self._counts) if position != self.index]

    def started(self) -> None:
        with self._lock:
            self._counts[self.index] += 1

    def ended(self) -> None:
        with self._lock:
            self._counts[self.index] = max(0, self._counts[self.index] - 1)

    def least_busy(self) -> bool:
        """Whether no sibling serves fewer associations than this process."""
        mine = self.serving
        return all(mine <= other for other in self.others())

    def wait_for_turn(self, *, limit: float = ACCEPT_YIELD_SECONDS) -> None:
        """Return once this process is among the least busy, or after ``limit`` seconds."""
        deadline = time.monotonic() + limit
        while not self.least_busy() and time.monotonic() < deadline:
            time.sleep(_RECHECK_SECONDS)


class HeldCount:
    """The one count an accepted connection adds to its process's load, given back exactly once."""

    def __init__(self, load: ProcessLoad) -> None:
        self._load = load
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if not self._held:
                return
            self._held = False
        self._load.ended()
