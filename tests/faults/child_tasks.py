"""Task functions for the fault tests (module level: the child processes import them).

Each notes its process id in ``options["pids"]`` (one line per attempt) before it
misbehaves, so a test can check that every child it killed is gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _note_pid(options: dict[str, Any]) -> None:
    with open(options["pids"], "a") as out:
        out.write(f"{os.getpid()}\n")


def pids(path: Path) -> list[int]:
    """The pids the attempts noted, in order."""
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def add(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, int]:
    return {"sum": int(options["a"]) + int(options["b"]), "pid": os.getpid()}


def segfault(ctx: Any, options: dict[str, Any], task: Any) -> int:
    """A real segmentation fault (reads address 0) on the first ``faults`` attempts."""
    _note_pid(options)
    if ctx.attempt <= int(options.get("faults", 1_000)):
        ctypes.string_at(0)
    return os.getpid()


def exit3(ctx: Any, options: dict[str, Any], task: Any) -> int:
    """``os._exit(3)`` on the first ``faults`` attempts."""
    _note_pid(options)
    if ctx.attempt <= int(options.get("faults", 1_000)):
        os._exit(3)
    return os.getpid()


def deaf_sleeper(ctx: Any, options: dict[str, Any], task: Any) -> str:
    """Ignores SIGTERM and the abort flag, then sleeps far past any timeout."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _note_pid(options)
    time.sleep(60)
    return "never"


def stop_myself(ctx: Any, options: dict[str, Any], task: Any) -> str:
    """Sends itself SIGSTOP at once: the whole child freezes (nobody sends SIGCONT)."""
    _note_pid(options)
    os.kill(os.getpid(), signal.SIGSTOP)
    return "resumed"


def sleeper(ctx: Any, options: dict[str, Any], task: Any) -> str:
    _note_pid(options)
    time.sleep(60)
    return "never"


def hog(ctx: Any, options: dict[str, Any], task: Any) -> int:
    """Allocate ``mb`` MiB in 50 MiB steps (pages written), on the first ``faults`` attempts."""
    _note_pid(options)
    held: list[bytearray] = []
    if ctx.attempt <= int(options.get("faults", 1_000)):
        for _ in range(int(options.get("mb", 400)) // 50):
            held.append(bytearray(b"x") * (50 << 20))
            time.sleep(0.05)
    return sum(map(len, held))


GRANDCHILD_HOG = "import time; held = bytearray(b'x') * (300 << 20); time.sleep(60)"


def hog_in_a_grandchild(ctx: Any, options: dict[str, Any], task: Any) -> str:
    """The child stays small; a process it started takes 300 MiB."""
    _note_pid(options)
    grandchild = subprocess.Popen([sys.executable, "-c", GRANDCHILD_HOG])
    with open(options["pids"], "a") as out:
        out.write(f"{grandchild.pid}\n")
    grandchild.wait()
    return "never"
