"""Helpers for the management commands that work through many rows."""

import time


class Progress:
    """A one-line text progress bar with counts.

    On a terminal it is redrawn in place (at most ten times a second, so drawing costs
    nothing next to the work); elsewhere (logs, captured output) it prints a line at each
    tenth of the way, so a long run still shows signs of life without flooding the log.
    """

    def __init__(self, stream, label: str, total: int, width: int = 30):
        # `stream` is a command's self.stdout (Django's OutputWrapper, hence `ending=""`).
        self.stream, self.label, self.total, self.width = stream, label, total, width
        self.done = 0
        self.extra = ""
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._drawn_at = 0.0
        self._tenths = 0

    def advance(self, n: int = 1, extra: str = "") -> None:
        self.done += n
        self.extra = extra or self.extra
        if self.tty:
            now = time.monotonic()
            if now - self._drawn_at >= 0.1 or self.done >= self.total:
                self._drawn_at = now
                self.stream.write("\r" + self._line(), ending="")
                self.stream.flush()
        elif self.total and self.done * 10 // self.total > self._tenths:
            self._tenths = self.done * 10 // self.total
            self.stream.write(self._line() + "\n", ending="")

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\r" + self._line() + "\n", ending="")
        elif self._tenths < 10:
            self.stream.write(self._line() + "\n", ending="")
        self._tenths = 10
        self.stream.flush()

    def _line(self) -> str:
        share = min(1.0, self.done / self.total) if self.total else 1.0
        filled = round(share * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        tail = f" · {self.extra}" if self.extra else ""
        return f"{self.label} [{bar}] {self.done:,}/{self.total:,}{tail}"
