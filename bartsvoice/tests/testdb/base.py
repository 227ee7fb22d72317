"""Django's PostgreSQL backend with a cheaper flush between transactional tests.

pytest-django empties the tables after each transactional test (Django's `flush`, then the post_migrate signal).
Two costs, the same on every test, are avoided:

- TRUNCATE replaces each table's files (a few dozen tables, their indexes and TOAST tables): ~0.1-0.5 s a test.
  DELETE of the few rows a test leaves costs ~10 ms, with the same end state. The foreign keys Django creates are
  DEFERRABLE INITIALLY DEFERRED and checked at the flush's commit, when every table is empty, so the order does not
  matter (calls/evals/world.py wipes its tables the same way).
- Content types and permissions are what migrating the models made, not test data: emptied, post_migrate writes
  them all again (~60 queries, ~0.1-0.3 s a test on a busy machine). They are kept, and the flush command skips
  post_migrate, whose only receivers (contenttypes, auth) would find every row already there. No test creates or
  deletes them; the roles' permissions (auth_group_permissions) are emptied like any other data.

Sequences are left alone, as TRUNCATE without RESTART IDENTITY leaves them; a flush that resets them (any flush but
a test's, which passes reset_sequences=False) is Django's own: TRUNCATE of every table, then post_migrate.

And closed connections are kept open for the next one to take. The tests run with CONN_MAX_AGE=0 (the Makefile), so
all database work in a worker thread (bartsvoice.db.in_db_thread, close_old_connections after each call) opens a
connection of its own: ~20 per scenario of the eval suite, 10-30 ms each on a busy machine, a third of the suite's
time. Django opens and closes them as before (same settings, the same connection_created signal and session setup);
only the socket is reused, and only one that is idle outside any transaction. A process keeps at most MAX_IDLE per
database; they are closed before the test database is dropped (close_pool, which Django calls then).
"""

import threading

from django.db.backends.postgresql import base, operations
from psycopg.pq import TransactionStatus

MAX_IDLE = 8
_idle: dict[tuple, list] = {}  # connection parameters -> open, idle psycopg connections
_idle_lock = threading.Lock()

KEPT_TABLES = frozenset({"django_content_type", "auth_permission"})


class DatabaseOperations(operations.DatabaseOperations):
    def keeps_migrated_rows(self, *, reset_sequences: bool) -> bool:
        """Whether a flush with these options keeps the content types and permissions (see the module's doc)."""
        return not reset_sequences

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not self.keeps_migrated_rows(reset_sequences=reset_sequences):
            return super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
            if table not in KEPT_TABLES
        ]


def _reuse_key(conn_params: dict) -> tuple:
    # The adapters' context comes from a cache keyed by the time-zone settings: the same object for the same ones.
    return tuple(sorted((name, id(value) if name == "context" else value) for name, value in conn_params.items()))


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    _reuse_key: tuple | None = None

    def get_new_connection(self, conn_params):
        if "isolation_level" in self.settings_dict["OPTIONS"]:  # set up by Django's own code only
            self._reuse_key = None
            return super().get_new_connection(conn_params)
        self._reuse_key = _reuse_key(conn_params)
        with _idle_lock:
            idle = _idle.get(self._reuse_key)
            connection = idle.pop() if idle else None
        if connection is None or connection.closed or connection.broken:
            return super().get_new_connection(conn_params)
        self.isolation_level = base.IsolationLevel.READ_COMMITTED  # what Django's get_new_connection sets
        return connection

    def _close(self):
        connection = self.connection
        if (
            self._reuse_key is not None
            and not self.in_atomic_block  # Django keeps pointing at a connection closed in a transaction
            and not connection.closed
            and not connection.broken
            and connection.info.transaction_status == TransactionStatus.IDLE
        ):
            with _idle_lock:
                idle = _idle.setdefault(self._reuse_key, [])
                if len(idle) < MAX_IDLE:
                    idle.append(connection)
                    return None
        return super()._close()

    def close_pool(self):
        """Django calls this before it copies or drops a test database: no connection of ours may be open then."""
        with _idle_lock:
            connections = [c for idle in _idle.values() for c in idle]
            _idle.clear()
        for connection in connections:
            connection.close()
        super().close_pool()
