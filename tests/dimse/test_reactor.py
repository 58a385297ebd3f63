"""pynetdicom's association loops wait for their work (``pacs.dimse.reactor``) instead of sleeping blind.

The waits are checked on their own, with sockets and queues of this process, and then on real
associations: requests served, and each loop's idle turns taken by the waits, not by ``time.sleep``.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from types import SimpleNamespace

import pynetdicom.association
import pynetdicom.dul
import pytest
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.sop_class import Verification

from pacs.dimse import reactor
from tests.conftest import wait_until
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE

# Far longer than the waits under test ever take when woken: a wait that returns well before it
# was woken, not by its timeout.
LONG_WAIT = 5.0


def _fake_dul(sock: socket.socket) -> SimpleNamespace:
    return SimpleNamespace(socket=SimpleNamespace(socket=sock, _is_connected=True), to_provider_queue=queue.Queue())


def _after(delay: float, action) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Timer(delay, action)
    thread.start()
    return thread


def test_the_loops_reactor_waits_for_still_sleep_in_this_pynetdicom():
    # A pynetdicom that no longer polls would leave the waits unused: this says so rather than hides it.
    assert "sleep" in DULServiceProvider.run_reactor.__code__.co_names
    assert "sleep" in Association._run_reactor.__code__.co_names


@pytest.fixture
def sockets():  # type: ignore[no-untyped-def]
    """A connected pair: the DUL's end and its peer's; both closed after the test."""
    ours, peer = socket.socketpair()
    yield ours, peer
    ours.close()
    peer.close()


def test_dul_wait_ends_when_data_arrives_on_the_socket(sockets):
    ours, peer = sockets
    dul = _fake_dul(ours)
    timer = _after(0.05, lambda: peer.sendall(b"\x04"))
    started = time.monotonic()
    reactor.dul_wait(dul, LONG_WAIT)  # type: ignore[arg-type]
    waited = time.monotonic() - started
    timer.join()
    assert waited < LONG_WAIT / 2
    assert ours.recv(1) == b"\x04"


def test_dul_wait_ends_when_a_pdu_is_queued_for_sending(sockets):
    ours, peer = sockets
    dul = _fake_dul(ours)
    primitive = P_DATA()
    timer = _after(0.05, lambda: reactor._send_pdu_and_wake(dul, primitive))  # type: ignore[arg-type]
    started = time.monotonic()
    reactor.dul_wait(dul, LONG_WAIT)  # type: ignore[arg-type]
    waited = time.monotonic() - started
    timer.join()
    assert waited < LONG_WAIT / 2
    assert dul.to_provider_queue.get_nowait() is primitive


def test_dul_wait_returns_at_once_when_a_pdu_is_already_queued(sockets):
    ours, peer = sockets
    dul = _fake_dul(ours)
    dul.to_provider_queue.put(P_DATA())
    started = time.monotonic()
    reactor.dul_wait(dul, LONG_WAIT)  # type: ignore[arg-type]
    assert time.monotonic() - started < LONG_WAIT / 2


def test_dul_wait_times_out_when_nothing_happens(sockets):
    ours, peer = sockets
    started = time.monotonic()
    reactor.dul_wait(_fake_dul(ours), 0.2)  # type: ignore[arg-type]
    assert time.monotonic() - started >= 0.15


def test_dul_wait_sleeps_plainly_on_a_socket_pynetdicom_no_longer_reads():
    # A closed peer makes the socket readable for ever: waiting on it would spin.
    ours, peer = socket.socketpair()
    peer.close()
    try:
        dul = _fake_dul(ours)
        dul.socket._is_connected = False
        started = time.monotonic()
        reactor.dul_wait(dul, 0.2)  # type: ignore[arg-type]
        assert time.monotonic() - started >= 0.15
    finally:
        ours.close()


def test_association_wait_ends_when_a_message_is_decoded():
    association = SimpleNamespace(dimse=SimpleNamespace(msg_queue=queue.Queue()))
    timer = _after(0.05, lambda: association.dimse.msg_queue.put((1, "message")))
    started = time.monotonic()
    reactor.association_wait(association, LONG_WAIT)  # type: ignore[arg-type]
    waited = time.monotonic() - started
    timer.join()
    assert waited < LONG_WAIT / 2
    assert association.dimse.msg_queue.get_nowait() == (1, "message")


def test_association_wait_passes_on_the_wake_up_of_a_put_another_reader_waits_for():
    """A requestor's send_c_* blocks in get() while its reactor waits here: the one put must reach the get."""
    association = SimpleNamespace(dimse=SimpleNamespace(msg_queue=queue.Queue()))
    messages = association.dimse.msg_queue
    waiter_ready = threading.Event()
    stop = threading.Event()

    def reactor_loop() -> None:
        waiter_ready.set()
        while not stop.is_set():
            reactor.association_wait(association, 0.5)  # long waits: the get must not depend on their end

    thread = threading.Thread(target=reactor_loop, daemon=True)
    thread.start()
    waiter_ready.wait()
    time.sleep(0.05)
    got = []
    getter = threading.Thread(target=lambda: got.append(messages.get(timeout=LONG_WAIT)), daemon=True)
    getter.start()
    time.sleep(0.05)
    messages.put((1, "response"))
    getter.join(LONG_WAIT / 2)
    stop.set()
    thread.join()
    assert got == [(1, "response")]


def test_other_sleeps_of_pynetdicom_stay_plain_sleeps():
    reactor.reactor_waits_install()
    started = time.monotonic()
    pynetdicom.association.time.sleep(0.1)
    assert time.monotonic() - started >= 0.09
    assert pynetdicom.association.time.monotonic is time.monotonic


class _FakeReactor(threading.Thread):
    """Stands for an Association: the thread its reactor runs in, with the two flags the checkpoint keeps."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self._is_paused = False
        self._kill = False
        self.checkpoint = reactor._ReactorCheckpoint(self)  # type: ignore[arg-type]


def _in_other_thread(action) -> None:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=action)
    thread.start()
    thread.join(LONG_WAIT)


def test_a_sender_that_clears_just_after_the_reactor_passed_the_checkpoint_waits_for_the_next_one():
    fake = _FakeReactor()
    # The reactor's turn, as in Association._run_reactor, up to the instant pynetdicom's race needs:
    fake._is_paused = True
    assert fake.checkpoint.wait()
    # ...a sender clears now, before the reactor has said it is running again.
    _in_other_thread(fake.checkpoint.clear)
    assert fake._is_paused is False, "the sender would send while the reactor takes one more turn"

    reached = threading.Event()

    def rest_of_the_turn() -> None:
        fake._is_paused = False
        fake._is_paused = True  # the next turn
        reached.set()
        fake.checkpoint.wait()
        fake._is_paused = False

    reactor_turn = threading.Thread(target=rest_of_the_turn, daemon=True)
    reactor_turn.start()
    reached.wait(LONG_WAIT)
    wait_until(lambda: fake._is_paused or not reactor_turn.is_alive(), timeout=LONG_WAIT, interval=0.001)
    assert fake._is_paused and reactor_turn.is_alive(), "paused at the checkpoint, where the sender may send"
    fake.checkpoint.set()
    reactor_turn.join(LONG_WAIT)
    assert not reactor_turn.is_alive()


def test_a_reactor_woken_and_closed_again_before_it_ran_stays_paused():
    fake = _FakeReactor()
    _in_other_thread(fake.checkpoint.clear)
    waiting = threading.Thread(target=fake.checkpoint.wait, daemon=True)
    waiting.start()
    wait_until(lambda: fake._is_paused, timeout=LONG_WAIT, interval=0.001)

    def set_then_clear_again() -> None:  # one send ends, the next begins
        fake.checkpoint.set()
        fake.checkpoint.clear()

    _in_other_thread(set_then_clear_again)
    waiting.join(0.2)
    assert waiting.is_alive(), "the closed checkpoint still holds the reactor"
    wait_until(lambda: fake._is_paused, timeout=LONG_WAIT, interval=0.001)
    assert fake._is_paused, "the second sender sees the reactor paused and may go on"
    fake.checkpoint.set()
    waiting.join(LONG_WAIT)


def test_the_reactor_clearing_its_own_checkpoint_keeps_it_paused():
    # pynetdicom pauses before a handler runs and before the reactor releases on a network timeout;
    # a send from there must not wait for a pause that its own thread would have to reach.
    fake = _FakeReactor()
    fake._is_paused = True
    fake.run = fake.checkpoint.clear  # type: ignore[method-assign]
    fake.start()
    fake.join(LONG_WAIT)
    assert fake._is_paused


def test_a_killed_reactor_stays_paused_for_a_late_sender():
    fake = _FakeReactor()
    fake._kill, fake._is_paused = True, True
    _in_other_thread(fake.checkpoint.clear)
    assert fake._is_paused, "a sender would wait for ever for a reactor that has stopped"


def test_real_associations_get_the_checkpoint():
    reactor.reactor_waits_install()
    association = Association(AE(), "requestor")
    assert isinstance(association._reactor_checkpoint, reactor._ReactorCheckpoint)
    assert association._reactor_checkpoint.is_set()


@pytest.mark.django_db(transaction=True)
def test_real_associations_take_their_idle_turns_in_the_waits(archive, modality, monkeypatch):
    waits = {"dul": 0, "association": 0}
    dul_wait, association_wait = reactor.dul_wait, reactor.association_wait

    def counted_dul_wait(dul, seconds):  # type: ignore[no-untyped-def]
        waits["dul"] += 1
        dul_wait(dul, seconds)

    def counted_association_wait(association, seconds):  # type: ignore[no-untyped-def]
        waits["association"] += 1
        association_wait(association, seconds)

    monkeypatch.setattr(reactor, "dul_wait", counted_dul_wait)
    monkeypatch.setattr(reactor, "association_wait", counted_association_wait)
    assert isinstance(pynetdicom.dul.time, reactor._WaitingTime), "the archive's AE installs the waits"

    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(Verification)
    # A response whose wake-up the requestor's reactor took sat in the queue until this timeout.
    ae.dimse_timeout = 5
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    statuses, slowest = [], 0.0
    for _ in range(100):
        started = time.monotonic()
        statuses.append(association.send_c_echo().get("Status"))
        slowest = max(slowest, time.monotonic() - started)
    association.release()
    assert statuses == [0x0000] * 100
    assert slowest < ae.dimse_timeout, "a response waited for the DIMSE timeout: its wake-up was lost"
    # Both ends of the association run in this process: four loops, each idle between the echoes.
    assert waits["dul"] >= 100
    assert waits["association"] >= 100
