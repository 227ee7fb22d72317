"""Database work from async code (the media socket, the session's writer)."""

from asgiref.sync import sync_to_async
from django.db import close_old_connections


def _run_and_tidy(fn, args, kwargs):
    try:
        return fn(*args, **kwargs)
    finally:
        # Worker threads live on; honour CONN_MAX_AGE for the connection they hold, as a request would.
        close_old_connections()


async def in_db_thread(fn, /, *args, **kwargs):
    """Run a synchronous ORM function in a worker thread (never on the event loop)."""
    return await sync_to_async(_run_and_tidy, thread_sensitive=False)(fn, args, kwargs)
