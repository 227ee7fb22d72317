"""`manage.py eval_scenarios [PATH...] [--brain rules] [--audio] [--json FILE]`: the scenario suite.

Runs on a database of its own, next to the configured one (`<name>_evals` on PostgreSQL, `<file>-evals.sqlite3`
on SQLite), created and migrated on first use and emptied before every scenario: the configured database and
its data are never touched. The cache is a private in-memory one for the same reason. One line per scenario,
the failures grouped by reason, then the pass rate as the last line. Run on the whole suite (no PATH, no -k),
it exits 1 when the pass rate is below the floor in calls/evals/thresholds.toml.
"""

from __future__ import annotations

import json
import logging
import re
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.test import override_settings

from calls.evals.runner import run_suite, thresholds
from calls.evals.scenario import load_scenarios
from calls.evals.yamlio import ScenarioError

_LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "evals"}}


@contextmanager
def eval_database(alias: str = "default"):
    """Point `alias` at the suite's own database for the duration, creating and migrating it as needed."""
    conn = connections[alias]
    settings_dict = conn.settings_dict
    name = str(settings_dict["NAME"])
    if conn.vendor == "sqlite":
        if name == ":memory:" or name.startswith("file:"):
            raise CommandError("eval_scenarios needs a file-based SQLite database or PostgreSQL")
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        test_name = str(path.with_name(f"{path.stem}-evals.sqlite3"))
        # A scratch database: a crash may lose it, so skip the fsync of every commit (the suite's main cost).
        settings_dict.setdefault("OPTIONS", {})["init_command"] = "PRAGMA synchronous=OFF"
    else:
        test_name = f"{name}_evals"
    settings_dict.setdefault("TEST", {})["NAME"] = test_name
    settings_dict["CONN_MAX_AGE"] = 0  # worker threads come and go with each scenario's event loop
    conn.close()
    old_name = conn.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True, serialize=False)
    try:
        yield test_name
    finally:
        conn.creation.destroy_test_db(old_name, verbosity=0, keepdb=True)


@contextmanager
def _quiet(*names: str):
    """The agent's INFO logs (DTMF, model loading) would bury the one-line-per-scenario report."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(lg.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class Command(BaseCommand):
    help = "Run the caller scenarios (calls/evals/scenarios) against the agent and print the pass rate."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="Scenario files or folders (default: the whole suite)")
        parser.add_argument("--brain", default="rules", help="Brain to evaluate (default: rules)")
        parser.add_argument(
            "--audio",
            action="store_true",
            help="Speak each caller line with eSpeak NG and recognise it with pocketsphinx",
        )
        parser.add_argument("--json", dest="json_file", help="Also write every result and transcript to FILE")
        parser.add_argument("-k", dest="pattern", help="Only scenarios whose id matches this regular expression")
        parser.add_argument("--transcripts", action="store_true", help="Print the transcript of each failure")
        parser.add_argument(
            "--all-transcripts", action="store_true", help="Print the transcript of every scenario, passed or not"
        )

    def handle(self, *args, paths, brain, audio, json_file, pattern, transcripts, all_transcripts, **options):
        try:
            scenarios = load_scenarios(paths)
        except ScenarioError as exc:
            raise CommandError(str(exc)) from None
        if pattern:
            try:
                wanted = re.compile(pattern)
            except re.error as exc:
                raise CommandError(f"-k: {exc}") from None
            scenarios = [sc for sc in scenarios if wanted.search(sc.id)]
            if not scenarios:
                raise CommandError(f"-k: no scenario id matches {pattern!r}")
        if json_file:
            try:
                Path(json_file).open("a").close()  # fail now, not after the whole run
            except OSError as exc:
                raise CommandError(f"--json: cannot write {json_file}: {exc.strerror}") from None

        def progress(result):
            self.stdout.write(result.line())
            if all_transcripts or (transcripts and not result.passed):
                for who, text in result.transcript:
                    self.stdout.write(f"      {who.upper():6} {text}")
            self.stdout.flush()

        with eval_database(), override_settings(CACHES=_LOCAL_CACHE), _quiet("calls", "scheduling", "crm"):
            suite = run_suite(scenarios, brain=brain, audio=audio, progress=progress)

        groups = suite.failure_groups()
        if groups:
            self.stdout.write("failures by reason:")
            for code, count, ids in groups:
                shown = ", ".join(ids[:4]) + (f", … (+{len(ids) - 4})" if len(ids) > 4 else "")
                self.stdout.write(f"  {count:3d}  {code}: {shown}")
        if json_file:
            Path(json_file).write_text(
                json.dumps(suite.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        self.stdout.write(suite.summary())
        floor = thresholds().get("audio" if audio else "text")
        if not paths and not pattern and floor is not None and suite.pass_rate < floor:
            raise CommandError(
                f"pass rate {suite.pass_rate:.1%} is below the floor of {floor:.1%} (calls/evals/thresholds.toml)"
            )
