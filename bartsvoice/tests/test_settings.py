"""Settings come from the environment and refuse what would be unsafe or ambiguous."""

import os
import re
import secrets
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

SHOW_DEBUG = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
SHOW_KEY = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
# What a production deployment sets (README, "Production"); SECRET_KEY is added per test.
PRODUCTION = {
    "DEBUG": "false", "ALLOWED_HOSTS": "shop.example.com", "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "PUBLIC_BASE_URL": "https://shop.example.com", "SECURE_SSL_REDIRECT": "true", "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true", "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true", "TRUST_X_FORWARDED_PROTO": "true",
}  # fmt: skip
_OURS = ("SECRET_KEY", "DEBUG", "REDIS_URL", "DATABASE_URL", "VAR_DIR", "ALLOW_DEBUG_ON_NETWORK", "HOST", "PORT")


def _run(args: list[str], **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in _OURS and not k.startswith("SECURE_")}
    return subprocess.run(
        [sys.executable, *args],
        env={**clean, "DJANGO_SETTINGS_MODULE": "bartsvoice.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _load_settings(code: str = SHOW_DEBUG, **env) -> subprocess.CompletedProcess:
    env.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bartsvoice-var-"))
    return _run(["-c", code], **env)


def test_debug_is_off_unless_turned_on():
    assert _load_settings().stdout.strip() == "False"
    assert _load_settings(DEBUG="true").stdout.strip() == "True"


def test_without_secret_key_each_install_makes_its_own_random_key_once(tmp_path):
    one, other = tmp_path / "one", tmp_path / "other"
    first = _load_settings(SHOW_KEY, VAR_DIR=str(one))
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50 and "insecure" not in key
    # A restart of the same install (and its worker and beat) uses the same key...
    assert _load_settings(SHOW_KEY, VAR_DIR=str(one), DEBUG="true").stdout.strip() == key
    assert (one / "secret_key").read_text().strip() == key
    assert stat.S_IMODE((one / "secret_key").stat().st_mode) == 0o600  # readable by its owner only
    # ... another install has another one.
    assert _load_settings(SHOW_KEY, VAR_DIR=str(other)).stdout.strip() not in ("", key)


def test_processes_starting_together_agree_on_the_key(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SHOW_KEY],
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            text=True,
            env={
                **{k: v for k, v in os.environ.items() if k not in _OURS},
                "DJANGO_SETTINGS_MODULE": "bartsvoice.settings",
                "VAR_DIR": str(tmp_path),
            },
        )
        for _ in range(4)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(keys) == 1 and "" not in keys
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no temporary files left


def test_secret_key_from_the_environment_wins_and_nothing_is_written(tmp_path):
    result = _load_settings(SHOW_KEY, VAR_DIR=str(tmp_path), SECRET_KEY="k" * 50)
    assert result.stdout.strip() == "k" * 50
    assert not (tmp_path / "secret_key").exists()


def test_the_templates_placeholder_is_refused_as_a_secret(tmp_path):
    """deploy/bartsvoice.env.example ships `change-me`: a host started with it unedited would sign sessions and
    media-stream tokens with a key anyone can read in the repository."""
    template = (Path(settings.BASE_DIR) / "deploy" / "bartsvoice.env.example").read_text()
    assert "\nSECRET_KEY=change-me\n" in template and "\nMETRICS_TOKEN=change-me\n" in template
    for name in ("SECRET_KEY", "METRICS_TOKEN"):
        result = _load_settings(SHOW_KEY, VAR_DIR=str(tmp_path), **{name: "change-me"})
        assert result.returncode != 0 and f"{name} is still the placeholder" in result.stderr, name


def test_an_unwritable_var_dir_without_secret_key_is_refused_clearly(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = _load_settings(SHOW_KEY, VAR_DIR=str(blocker / "var"))
    assert result.returncode != 0 and "set SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_with_the_production_variables(tmp_path):
    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50), "VAR_DIR": str(tmp_path)}
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # The variables are what makes it clean: without the TLS ones the same check fails.
    bare = {k: v for k, v in env.items() if not k.startswith("SECURE_") and not k.endswith("_COOKIE_SECURE")}
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **bare)
    assert result.returncode != 0
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stderr + result.stdout


def test_debug_off_with_a_secret_key_starts():
    result = _load_settings(DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="shop.example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_junk_values_are_refused_with_the_variable_named():
    result = _load_settings(DEBUG="maybe")
    assert result.returncode != 0 and "DEBUG must be true or false" in result.stderr
    result = _load_settings(SHOP_TIMEZONE="Mars/Olympus")
    assert result.returncode != 0 and "SHOP_TIMEZONE" in result.stderr


def test_embedded_default_needs_no_servers():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_BROKER_URL)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "bartsvoice.settings"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "channels.layers.InMemoryChannelLayer",
        "filesystem://",
    ]


def test_a_debug_web_process_refuses_to_listen_on_a_network(tmp_path):
    for args in (
        ["-m", "bartsvoice.web", "-b", "0.0.0.0", "-p", "0", "bartsvoice.asgi:application"],
        ["-m", "bartsvoice.devserver"],
    ):
        result = _run(args, DEBUG="true", HOST="0.0.0.0", VAR_DIR=str(tmp_path))
        assert result.returncode == 2, result.stderr
        assert "DEBUG is on, so this server only listens on this machine" in result.stderr


@pytest.mark.parametrize(("argv", "hosts"), [
    (["-b", "0.0.0.0", "-p", "8000", "app"], ["0.0.0.0"]),
    (["app"], ["127.0.0.1"]),
    (["-p", "8000", "app"], ["127.0.0.1"]),
    (["--fd", "3", "app"], []),
    (["-u", "var/web.sock", "app"], []),
    (["-e", "tcp:8000", "app"], ["0.0.0.0"]),
    (["-e", "tcp:port=8000:interface=\\:\\:1", "app"], ["::1"]),
])  # fmt: skip
def test_listening_hosts_follow_daphnes_arguments(argv, hosts):
    from bartsvoice.web import listening_hosts

    assert listening_hosts(argv) == hosts


def test_bind_refusal_rules():
    from bartsvoice.bind_guard import bind_refusal

    assert bind_refusal(["0.0.0.0"], debug=True, allowed=False)
    assert bind_refusal(["192.168.1.20", "127.0.0.1"], debug=True, allowed=False)
    assert not bind_refusal(["127.0.0.1", "::1", "localhost", "127.0.0.2"], debug=True, allowed=False)
    assert not bind_refusal(["0.0.0.0"], debug=True, allowed=True)
    assert not bind_refusal(["0.0.0.0"], debug=False, allowed=False)


async def test_a_debug_app_answers_only_on_loopback():
    from bartsvoice.bind_guard import loopback_only

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def call(server, kind="http"):
        sent = []

        async def receive():
            return {"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request"}

        async def send(message):
            sent.append(message)

        await loopback_only(app)({"type": kind, "server": server}, receive, send)
        return sent

    assert (await call(("127.0.0.1", 8000)))[0]["status"] == 200
    assert (await call(None))[0]["status"] == 200  # a unix socket
    refused = await call(("192.168.1.20", 8000))
    assert refused[0]["status"] == 403 and b"DEBUG is on" in refused[1]["body"]
    assert await call(("10.0.0.5", 8000), "websocket") == [{"type": "websocket.close", "code": 1008}]


ASK_THE_APP = """
import asyncio
from bartsvoice.asgi import application

async def ask(server):
    sent, bodies = [], [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if bodies:
            return bodies.pop()
        await asyncio.Event().wait()  # the client stays connected until the answer is sent

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/healthz", "raw_path": b"/healthz", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1")], "server": server, "client": ("192.0.2.99", 50000),
             "scheme": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "root_path": ""}
    await application(scope, receive, send)
    return sent[0]["status"]

print(asyncio.run(ask(("192.0.2.10", 8000))), asyncio.run(ask(("127.0.0.1", 8000))))
"""


def test_the_asgi_app_of_a_debug_process_answers_only_on_loopback(tmp_path):
    """Servers started some other way (`daphne -b 0.0.0.0`, `runserver 0.0.0.0:8000`) get the same refusal per
    request: a request that reached a network address gets a 403, one that reached loopback an answer."""
    env = {"VAR_DIR": str(tmp_path), "VOICE_WARMUP": "false"}
    for extra, answers in (
        ({"DEBUG": "true"}, "403 200"),
        ({"DEBUG": "true", "ALLOW_DEBUG_ON_NETWORK": "true"}, "200 200"),
        ({"DEBUG": "false"}, "200 200"),
    ):
        result = _run(["-c", ASK_THE_APP], **env, **extra)
        assert result.stdout.split()[-2:] == answers.split(), (extra, result.stderr[-2000:])


def test_error_reports_hide_urls_with_passwords(settings):
    from django.views.debug import get_default_exception_reporter_filter

    settings.DATABASE_URL = "postgres://shop:hunter2@db/shop"
    settings.REDIS_URL = "redis://:hunter2@cache:6379/0"
    # Only for the report: the test's own cache must work again before its teardown empties it.
    with override_settings(CACHES={"default": {"BACKEND": "x", "LOCATION": "redis://:hunter2@cache:6379/0"}}):
        shown = repr(get_default_exception_reporter_filter().get_safe_settings())
    assert "hunter2" not in shown


def test_the_readme_configuration_table_lists_every_variable():
    source = (Path(settings.BASE_DIR) / "bartsvoice" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|float|list)\("([A-Z_0-9]+)"', source))
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([A-Z][A-Z_0-9]+)`", table))
    assert read - listed == set(), "settings read variables the README's table does not list"
