"""PROMETHEUS_MULTIPROC_DIR housekeeping (bartsvoice/metrics_dir.py), with the files real processes leave."""

import os
import subprocess
import sys

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from bartsvoice.metrics_dir import wipe


def in_a_process(directory, code: str) -> None:
    """Run `code` (with `metrics` = bartsvoice.metrics) in a process of its own writing to `directory`."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", f"from bartsvoice import metrics\n{code}"], env=env, check=True, timeout=60)


def pooled(directory) -> dict[str, float]:
    """What /metrics shows from the directory: each sample summed over its labels."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    totals: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0) + sample.value
    return totals


KILLED_MID_CALL = """
metrics.CALLS_IN_PROGRESS.labels("inbound").inc()  # a call is being served...
metrics.call_finished(direction="inbound", outcome="booked", status="completed")
import os
os._exit(0)  # ...when the process is killed: no exit handlers run
"""


def test_a_killed_process_stops_counting_in_progress_once_another_starts_and_its_counts_stay(tmp_path):
    in_a_process(tmp_path, KILLED_MID_CALL)
    assert pooled(tmp_path)["bartsvoice_calls_in_progress"] == 1  # what prometheus-client alone would show forever

    in_a_process(tmp_path, "metrics.call_finished(direction='inbound', outcome='info', status='completed')")
    figures = pooled(tmp_path)
    assert figures.get("bartsvoice_calls_in_progress", 0) == 0  # the killed process's gauge is gone
    assert figures["bartsvoice_calls_total"] == 2  # both processes' calls, the killed one's included


def test_wipe_removes_the_metrics_files_and_nothing_else(tmp_path):
    in_a_process(tmp_path, "metrics.call_finished(direction='inbound', outcome='info', status='completed')")
    in_a_process(tmp_path, "metrics.reminder_result('confirmed')")
    (tmp_path / "notes.db").write_text("not ours")  # e.g. PROMETHEUS_MULTIPROC_DIR pointed at the wrong place
    (tmp_path / "keep.txt").write_text("not ours")
    assert wipe(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "notes.db"]


def test_the_command_says_what_it_did(tmp_path):
    command = [sys.executable, "-m", "bartsvoice.metrics_dir"]
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    unset = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert unset.returncode == 0 and "not set" in unset.stdout
    missing = subprocess.run(command, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "nowhere")},
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 1 and "is not a directory" in missing.stderr
