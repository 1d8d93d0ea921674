"""Capture what handlers write to stdout (Powertools logs, EMF metrics) into the active sinks.

Powertools binds its StreamHandler to whatever `sys.stdout` is when a handler module creates its
Logger, and keeps that logging.Logger per service name for the life of the process. One process-wide
stream (`CAPTURE`) is therefore installed as stdout while handler modules are imported and invoked:
it outlives every router, and each router activates its own `LogSink` to receive the lines.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class LogSink:
    """The lines one router's handlers wrote, in order of completion."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []

    def add(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    @property
    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def json_records(self) -> list[dict[str, Any]]:
        """Every line that is a JSON object (structured logs and EMF documents), parsed."""
        records = []
        for line in self.lines:
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def text(self) -> str:
        return "\n".join(self.lines)

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()


class CapturingStream(io.TextIOBase):
    """A text stream that hands each complete line to every active sink and keeps nothing itself.

    `print` writes its text and its newline in separate calls and threads interleave, so partial
    lines are buffered per thread until their newline arrives.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._sinks: list[LogSink] = []
        self._partial = threading.local()

    @contextmanager
    def activate(self, sink: LogSink) -> Iterator[LogSink]:
        with self._lock:
            self._sinks.append(sink)
        try:
            yield sink
        finally:
            with self._lock:
                self._sinks.remove(sink)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pending: str = getattr(self._partial, "text", "") + text
        *complete, rest = pending.split("\n")
        self._partial.text = rest
        if complete:
            with self._lock:
                sinks = list(self._sinks)
            for line in complete:
                for sink in sinks:
                    sink.add(line)
        return len(text)

    def flush(self) -> None:
        # Lines are delivered when complete; a partial line waits for its newline.
        return


CAPTURE = CapturingStream()
