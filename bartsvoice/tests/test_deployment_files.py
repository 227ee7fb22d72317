"""The files in deploy/ agree with the code: the environment template passes `check --deploy` once its secrets are
filled in, names only variables the settings read, and the units run what the Procfile runs."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

DEPLOY = Path(settings.BASE_DIR) / "deploy"


def template_env() -> dict[str, str]:
    env = {}
    for line in (DEPLOY / "bartsvoice.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


def test_the_environment_template_is_production_ready(tmp_path):
    env = template_env()
    assert env["DEBUG"] == "false" and env["LOG_FORMAT"] == "json"
    filled = {key: secrets.token_urlsafe(50) if value == "change-me" else value for key, value in env.items()}
    filled.update(
        VAR_DIR=str(tmp_path),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        DATABASE_URL="sqlite:///:memory:",
        PATH="/usr/bin:/bin",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=filled,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_template_names_only_variables_the_settings_know():
    source = (Path(settings.BASE_DIR) / "bartsvoice" / "settings.py").read_text()
    known = set(re.findall(r'env_(?:str|bool|int|float|list)\("([A-Z_0-9]+)"', source))
    known |= {"PROMETHEUS_MULTIPROC_DIR", "GOOGLE_APPLICATION_CREDENTIALS"}  # read by libraries
    assert set(template_env()) - known == set()


def test_units_read_the_environment_file_and_run_the_procfile_commands():
    procfile = dict(
        line.split(": ", 1) for line in (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines() if line.strip()
    )
    units = {
        "web": DEPLOY / "systemd" / "bartsvoice-web@.service",
        "worker": DEPLOY / "systemd" / "bartsvoice-worker.service",
        "beat": DEPLOY / "systemd" / "bartsvoice-beat.service",
    }
    for kind, unit in units.items():
        text = unit.read_text()
        assert "EnvironmentFile=/etc/bartsvoice/bartsvoice.env" in text
        exec_start = re.search(r"^ExecStart=(.*)$", text, re.M).group(1)
        program = procfile[kind].split()[:3] if kind == "web" else procfile[kind].split()[:4]
        assert " ".join(program[1:]) in exec_start, (kind, exec_start)
    assert "-b 127.0.0.1" in units["web"].read_text()  # only nginx reaches daphne


def test_the_metrics_directory_is_wiped_before_the_processes_that_write_it_start():
    reset = (DEPLOY / "systemd" / "bartsvoice-metrics.service").read_text()
    assert "Type=oneshot" in reset and "PartOf=bartsvoice.target" in reset
    assert "ExecStart=/srv/bartsvoice/.venv/bin/python -m bartsvoice.metrics_dir" in reset
    tmpfiles = (DEPLOY / "systemd" / "bartsvoice.tmpfiles.conf").read_text()
    directory = re.search(r"^d (/run/\S+)", tmpfiles, re.M).group(1)
    assert f"PROMETHEUS_MULTIPROC_DIR={directory}" in (DEPLOY / "bartsvoice.env.example").read_text()
    assert f"ReadWritePaths={directory}" in reset
    for unit in ("bartsvoice-web@.service", "bartsvoice-worker.service"):
        text = (DEPLOY / "systemd" / unit).read_text()
        after = re.search(r"^After=(.*)$", text, re.M).group(1).split()
        wants = re.search(r"^Wants=(.*)$", text, re.M).group(1).split()
        assert "bartsvoice-metrics.service" in after and "bartsvoice-metrics.service" in wants, unit
        assert directory in re.search(r"^ReadWritePaths=(.*)$", text, re.M).group(1).split(), unit
