"""Housekeeping of PROMETHEUS_MULTIPROC_DIR, where the processes of one host pool their metrics.

prometheus-client keeps each process's figures in files named after its pid and requires the directory to be
wiped before the processes start (a stale file is read as if its process still ran). Two steps here:

- `wipe`, before any process of the host starts: `python -m bartsvoice.metrics_dir` (the systemd unit
  bartsvoice-metrics.service runs it, ordered before the web and worker units);
- `forget_dead_processes`, by every process as it starts (bartsvoice.metrics): the "in progress" gauges of
  processes that are gone without saying so (killed, crashed) stop counting. Their counters stay, so the
  totals do not drop when one daphne of several restarts.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# prometheus-client's file names: <type>[_<gauge mode>]_<pid>.db
_FILE = re.compile(r"^[a-z]+(?:_[a-z]+)?_(\d+)\.db$")
_LIVE_GAUGE = re.compile(r"^gauge_live[a-z]*_(\d+)\.db$")


def wipe(directory: str | Path) -> int:
    """Remove every metrics file (only those: a mistyped path loses nothing else); returns how many."""
    removed = 0
    for path in Path(directory).glob("*.db"):
        if _FILE.match(path.name):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def forget_dead_processes(directory: str | Path) -> list[int]:
    """Drop the live gauges of processes that no longer run on this host; returns their pids."""
    from prometheus_client import multiprocess

    dead = sorted(
        {
            int(match.group(1))
            for path in Path(directory).glob("gauge_live*.db")
            if (match := _LIVE_GAUGE.match(path.name)) and not _running(int(match.group(1)))
        }
    )
    forgotten = []
    for pid in dead:
        try:
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except OSError:
            continue  # a process that may not write there (beat) leaves it to the next web or worker process
        forgotten.append(pid)
    return forgotten


def main() -> int:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not directory:
        print("PROMETHEUS_MULTIPROC_DIR is not set: each process keeps its own metrics, nothing to wipe")
        return 0
    if not Path(directory).is_dir():
        print(f"PROMETHEUS_MULTIPROC_DIR={directory} is not a directory", file=sys.stderr)
        return 1
    print(f"removed {wipe(directory)} metrics files from {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
