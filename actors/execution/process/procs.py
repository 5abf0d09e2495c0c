"""A child process as the parent watches and kills it: the only module that imports ``psutil``.

``Proc`` wraps one child: is it alive, its resident memory (alone, or with its descendants,
listed again every ``TREE_REFRESH`` s since listing reads every process of the machine),
and killing it with its whole tree. Nothing here reaps a child: the executor joins it and
reads its exit code (``spawn.ChildProcess``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil

__all__ = ["TREE_REFRESH", "Proc", "ProcGone", "kill_group"]

TREE_REFRESH = 1.0  # seconds between two listings of a child's descendants

ProcGone = psutil.Error
"""What ``Proc`` raises for a process that vanished (only from the constructor and ``rss``)."""


class Proc:
    """One child process, by pid.

    Raises:
        ProcGone: (constructor) no such process.
    """

    def __init__(self, pid: int) -> None:
        self._ps = psutil.Process(pid)
        self._tree: list[psutil.Process] = []
        self._tree_at = 0.0

    def alive(self) -> bool:
        """True while the process runs (a zombie is dead; nothing is reaped here)."""
        return _alive(self._ps)

    def rss(self) -> int:
        """Resident bytes of the process alone.

        Raises:
            ProcGone: it vanished.
        """
        return int(self._ps.memory_info().rss)

    def tree_rss(self) -> int:
        """Resident bytes of the process and its descendants (one that is gone counts 0)."""
        now = time.monotonic()
        if now >= self._tree_at:
            self._tree_at = now + TREE_REFRESH
            with contextlib.suppress(psutil.Error):
                self._tree = self._ps.children(recursive=True)
        total = 0
        for proc in (self._ps, *self._tree):
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def wait_dead(self, timeout: float) -> bool:
        """Wait until it is dead, at most ``timeout`` s; False if it still runs."""
        deadline = time.monotonic() + timeout
        while _alive(self._ps):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def kill_tree(self, term_wait: float) -> None:
        """SIGTERM the process and all its descendants, SIGKILL those alive ``term_wait`` later
        (``term_wait`` 0: SIGKILL at once). Blocks up to ``term_wait``.

        Descendants are listed first, while the parent still links them.
        """
        try:
            victims = [*self._ps.children(recursive=True), self._ps]
        except psutil.Error:
            victims = [self._ps]
        for victim in victims:
            with contextlib.suppress(psutil.Error):
                if term_wait > 0:
                    victim.terminate()
                else:
                    victim.kill()
        deadline = time.monotonic() + term_wait
        alive = [v for v in victims if _alive(v)]
        while alive and time.monotonic() < deadline:
            time.sleep(0.01)
            alive = [v for v in alive if _alive(v)]
        for victim in alive:
            with contextlib.suppress(psutil.Error):
                victim.kill()


def _alive(ps: psutil.Process) -> bool:
    try:
        return bool(ps.is_running() and ps.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def kill_group(pid: int) -> None:
    """SIGKILL what is left of a dead child's process group (the child made itself its leader)."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
