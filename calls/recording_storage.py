"""Where our own call recordings are stored: Django's storage alias "recordings" (settings.STORAGES).

By default a FileSystemStorage in MEDIA_ROOT; RECORDINGS_STORAGE_BACKEND / RECORDINGS_STORAGE_OPTIONS (env) name any
other Storage class, e.g. django-storages' S3 backend, without code changes. Resolved on each use rather than once
at import, so settings changed in tests (override_settings(STORAGES=...)) take effect.
"""

from __future__ import annotations

from django.core.files.storage import Storage, storages

RECORDINGS_STORAGE_ALIAS = "recordings"


def recordings_storage() -> Storage:
    """The storage our recordings are written to, served from and deleted from."""
    return storages[RECORDINGS_STORAGE_ALIAS]
