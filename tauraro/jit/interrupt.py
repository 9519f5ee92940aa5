"""The interrupt watcher: a thread that turns SIGINT into the flag compiled loops poll (docs/jit.md, interrupts)."""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket


class InterruptWatcher:
    """Turns SIGINT into a flag compiled code polls, while the main thread is inside native code.

    Python's C-level signal handler writes the signal number to the wakeup fd even while the main
    thread runs a ctypes call (which released the GIL); this thread reads it and sets the interrupt
    flag of every frame window. When compiled code returns, Python raises KeyboardInterrupt as usual.
    """

    def __init__(self, on_interrupt: Callable[[], None]) -> None:
        self.on_interrupt = on_interrupt  # runs on the watcher thread
        self.thread: threading.Thread | None = None
        self.sockets: tuple[socket.socket, socket.socket] | None = None
        self.previous_fd = -1

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            import socket  # on start only: 7 ms of imports a run whose loops never compile does not pay

            reader, writer = socket.socketpair()
            reader.setblocking(True)
            writer.setblocking(False)
            self.previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            return
        self.sockets = (reader, writer)
        self.thread = threading.Thread(target=self._watch, name="tauraro-interrupt", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        reader = self.sockets[0]
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                self.on_interrupt()

    def stop(self) -> None:
        if self.sockets is None:
            return
        try:
            signal.set_wakeup_fd(self.previous_fd)
        except (ValueError, OSError):
            pass
        reader, writer = self.sockets
        self.sockets = None
        try:
            writer.close()
            reader.shutdown(2)  # socket.SHUT_RDWR
        except OSError:
            pass
        reader.close()
