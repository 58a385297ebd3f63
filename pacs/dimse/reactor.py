"""pynetdicom's two threads per association wait for their work instead of polling every millisecond.

Each pynetdicom association runs two loops: the DUL thread (socket in, PDUs out) and the association
thread (DIMSE messages to the service handlers). When idle, each sleeps a fixed millisecond
(``time.sleep`` in ``DULServiceProvider.run_reactor`` and ``Association._run_reactor``) and looks again.
A C-STORE therefore waits for up to three of those sleeps on its way: the request's last PDU to the
DUL thread, the decoded message to the association thread, the response back to the DUL thread. With
``storescu`` sending one instance after another that was about a fifth of each instance's time, and an
idle association still woke 2,000 times a second.

:func:`reactor_waits_install` swaps the ``time`` module those two pynetdicom modules see for one whose
``sleep``, called from exactly those two loops, waits for the loop's own work: the DUL thread for data
on its socket or a PDU queued for sending, the association thread for a decoded DIMSE message. Either
wait still ends after the same millisecond at the latest, so everything else those loops check each
turn (timers, release and abort requests, the stop flags) is seen as soon as before; only the work
they wait for is seen sooner. Every other ``sleep`` pynetdicom calls is left as it is.

It also closes a race of pynetdicom's own that faster waits made visible. A thread that sends on an
association (``send_c_*``, ``release``) first pauses its reactor: it clears ``_reactor_checkpoint`` and
waits for ``_is_paused``. The reactor sets ``_is_paused`` just before it waits at the checkpoint and
resets it just after; a sender that clears the checkpoint in between sees the stale flag, sends, and the
reactor goes on through one more turn, where it may take the response off the queue ("Received
unexpected C-ECHO service message") and leave the sender waiting for the DIMSE timeout. CI saw it once
in 100 C-ECHOs. :class:`_ReactorCheckpoint` makes clearing and pausing one step: a sender's clear marks
the reactor as not paused, and only the reactor's wait at the checkpoint marks it paused again.
"""

from __future__ import annotations

import os
import queue
import select
import ssl
import sys
import threading
import time
import weakref
from types import CodeType
from typing import Any

import pynetdicom.association
import pynetdicom.dul
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider

_DUL_LOOP: CodeType = DULServiceProvider.run_reactor.__code__
_ASSOCIATION_LOOP: CodeType = Association._run_reactor.__code__
_install_lock = threading.Lock()


class _Waker:
    """A pipe the DUL thread can wait on beside its socket; written when a PDU is queued for sending."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        # Set by the DUL thread only while it waits: a queued PDU writes to the pipe only then.
        self.waiting = False
        weakref.finalize(self, _close_fds, self.read_fd, self.write_fd)

    def wake(self) -> None:
        if self.waiting:
            try:
                os.write(self.write_fd, b"\0")
            except (BlockingIOError, OSError):
                pass  # the pipe is full: the waiting thread is being woken already

    def drain(self) -> None:
        try:
            while os.read(self.read_fd, 64):
                pass
        except (BlockingIOError, OSError):
            pass


def _close_fds(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _waker_of(dul: DULServiceProvider) -> _Waker:
    waker = dul.__dict__.get("_pacs_waker")
    if waker is None:
        waker = dul.__dict__["_pacs_waker"] = _Waker()
    return waker


def dul_wait(dul: DULServiceProvider, seconds: float) -> None:
    """Wait at most ``seconds`` for data on the DUL's socket or a PDU queued for it to send."""
    association_socket = dul.socket
    raw = getattr(association_socket, "socket", None)
    # A socket pynetdicom no longer reads (closed, or its peer gone) would be readable at once, each turn.
    if raw is None or raw.fileno() < 0 or not getattr(association_socket, "_is_connected", False):
        time.sleep(seconds)
        return
    if isinstance(raw, ssl.SSLSocket) and raw.pending():
        return  # decrypted bytes already buffered: select would not see them
    waker = _waker_of(dul)
    waker.waiting = True
    try:
        # Checked after announcing the wait: a PDU queued before this line is seen here, one queued
        # after it writes to the pipe.
        if not dul.to_provider_queue.empty():
            return
        try:
            select.select([raw, waker.read_fd], [], [], seconds)
        except (OSError, ValueError):
            pass  # the socket closed meanwhile: the loop's own check reports it
    finally:
        waker.waiting = False
        waker.drain()


def association_wait(association: Association, seconds: float) -> None:
    """Wait at most ``seconds`` for a decoded DIMSE message for the association's reactor to serve.

    The reactor is not the queue's only reader: while a requestor's ``send_c_*`` waits for its response
    in ``get_msg(block=True)``, the reactor waits here too, and a put wakes one waiter only. That may be
    this one, even when its wait reports a timeout (a notification that races the timeout is spent all
    the same). So whatever ends this wait, a message found in the queue passes the wake-up on; without
    it 1 C-ECHO in 50 on one association sat in the queue until the DIMSE timeout, 30 s.
    """
    messages: queue.Queue[Any] = association.dimse.msg_queue
    with messages.not_empty:
        if not messages.queue:
            messages.not_empty.wait(seconds)
            if messages.queue:
                messages.not_empty.notify()


class _WaitingTime:
    """The ``time`` module as pynetdicom's association and DUL modules see it once installed."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        caller = sys._getframe(1).f_code
        if caller is _DUL_LOOP:
            dul = threading.current_thread()
            if isinstance(dul, DULServiceProvider):
                dul_wait(dul, seconds)
                return
        elif caller is _ASSOCIATION_LOOP:
            association = threading.current_thread()
            if isinstance(association, Association):
                association_wait(association, seconds)
                return
        time.sleep(seconds)


class _ReactorCheckpoint:
    """``Association._reactor_checkpoint``: an Event whose clear and wait also keep ``_is_paused`` true."""

    def __init__(self, association: Association) -> None:
        self._association = association
        self._changed = threading.Condition(threading.Lock())
        self._open = True

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()

    def clear(self) -> None:
        association = self._association
        with self._changed:
            if not self._open:
                return  # already closed: the reactor is at the checkpoint or on its way there
            self._open = False
            # The reactor's own thread clears it only while it is paused (pynetdicom sets the flag before
            # a handler runs or it releases); a reactor that was killed never pauses again.
            if threading.current_thread() is not association and not association._kill:
                association._is_paused = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._changed:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._open:
                # Said under the lock a sender clears with, on every turn: a sender that closed the
                # checkpoint again while this thread was waking up sees it paused.
                self._association._is_paused = True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._open


_original_association_init = Association.__init__


def _association_init_with_checkpoint(self: Association, *args: Any, **kwargs: Any) -> None:
    _original_association_init(self, *args, **kwargs)
    self._reactor_checkpoint = _ReactorCheckpoint(self)  # type: ignore[assignment]


_original_send_pdu = DULServiceProvider.send_pdu


def _send_pdu_and_wake(self: DULServiceProvider, primitive: Any) -> None:
    _original_send_pdu(self, primitive)
    waker = self.__dict__.get("_pacs_waker")
    if waker is not None:
        waker.wake()


def reactor_waits_install() -> None:
    """Make every pynetdicom association in this process wait for work (idempotent)."""
    with _install_lock:
        if isinstance(pynetdicom.dul.time, _WaitingTime):
            return
        waiting_time = _WaitingTime()
        pynetdicom.dul.time = waiting_time  # type: ignore[attr-defined]
        pynetdicom.association.time = waiting_time  # type: ignore[attr-defined]
        DULServiceProvider.send_pdu = _send_pdu_and_wake  # type: ignore[method-assign]
        Association.__init__ = _association_init_with_checkpoint  # type: ignore[method-assign]
