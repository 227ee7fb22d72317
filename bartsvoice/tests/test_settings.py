"""Settings come from the environment and refuse what would be unsafe or ambiguous."""

import os
import subprocess
import sys

from django.conf import settings

SHOW_DEBUG = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def _load_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "REDIS_URL", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-c", SHOW_DEBUG],
        env={**clean, "DJANGO_SETTINGS_MODULE": "bartsvoice.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_without_secret_key_refuses_to_start():
    result = _load_settings(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


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
