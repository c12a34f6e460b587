"""Progress lines for long steps (they end up in the KFP task log, so no terminal tricks)."""

import time


class Progress:
    """Prints ``<what> n/total (p%)`` about every 10% and at the end."""

    def __init__(self, what: str, total: int):
        self.what, self.total, self.done = what, total, 0
        self.step = max(1, total // 10)
        self.started = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done % self.step == 0 or self.done == self.total:
            elapsed = time.monotonic() - self.started
            percent = 100 * self.done // max(1, self.total)
            print(f"{self.what} {self.done}/{self.total} ({percent}%, {elapsed:.1f}s)", flush=True)
