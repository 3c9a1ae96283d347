"""Small facts about processes and sizes that several domains need."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this machine (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def remove_dead_partials(parent: Path, pattern: str) -> None:
    """Delete the half-made folders ``pattern`` (names ending ``-<pid>``) of dead processes.

    A process killed outright (SIGKILL, a crash) leaves what it was writing; a folder whose
    process is alive is being written now and is left alone.
    """
    for partial in parent.glob(pattern):
        pid = partial.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not pid_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def size_text(size: int) -> str:
    """Return a size for people in GB, MB or KB (1 MB = 1,048,576 bytes), locale's decimals."""
    from flask_babel import format_decimal

    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{format_decimal(round(size / factor, 1))} {unit}"
    return f"{format_decimal(max(0.1, round(size / 1024, 1)))} KB" if size else "0 MB"
