"""Django's PostgreSQL backend with a cheaper flush between transactional tests, and one that leaves the database
as migrating left it.

pytest-django empties the tables after each transactional test (Django's `flush`, then the post_migrate signal).
Django's flush leaves every table empty, including the rows the data migrations made (the staff roles and their
permissions), so a test that expects them passed or failed depending on whether a transactional test had run
before it in that process. And it cost, on every test:

- TRUNCATE replaces each table's files (a few dozen tables, their indexes and TOAST tables): ~0.1-0.5 s a test.
  DELETE of the few rows a test leaves costs ~10 ms, with the same end state. The foreign keys Django creates are
  DEFERRABLE INITIALLY DEFERRED and checked at the flush's commit, so the order does not matter
  (calls/evals/world.py wipes its tables the same way).
- Content types and permissions are what migrating the models made: emptied, post_migrate writes them all again
  (~60 queries, ~0.1-0.3 s a test on a busy machine). They are kept in place, and the flush command skips
  post_migrate, whose only receivers (contenttypes, auth) would find every row already there. No test creates or
  deletes them.

So this flush DELETEs every table but those two, then puts back the rows the other tables had right after the test
database was migrated (copied then into the schema MIGRATED_SCHEMA, outside the search path: Django never sees it):
after every transactional test the database is as migrating left it, as it is for the other tests.

Sequences are left alone, as TRUNCATE without RESTART IDENTITY leaves them. A flush that resets them (`flush`'s own
default; pytest-django's `reset_sequences=True`, which no test uses) is refused: Django's would TRUNCATE everything,
and post_migrate would write the permissions again under other ids than the copied roles point at.

And closed connections are kept open for the next one to take. The tests run with CONN_MAX_AGE=0 (the Makefile), so
all database work in a worker thread (bartsvoice.db.in_db_thread, close_old_connections after each call) opens a
connection of its own: ~20 per scenario of the eval suite, 10-30 ms each on a busy machine, a third of the suite's
time. Django opens and closes them as before (same settings, the same connection_created signal and session setup);
only the socket is reused, and only one that is idle outside any transaction. A process keeps at most MAX_IDLE per
database; they are closed before the test database is dropped (close_pool, which Django calls then).
"""

import threading

from django.db import NotSupportedError
from django.db.backends.postgresql import base, creation, operations
from psycopg.pq import TransactionStatus

MAX_IDLE = 8
_idle: dict[tuple, list] = {}  # connection parameters -> open, idle psycopg connections
_idle_lock = threading.Lock()

KEPT_TABLES = frozenset({"django_content_type", "auth_permission"})
MIGRATED_SCHEMA = "testdb_migrated"
_migrated_tables: dict[str, list[str]] = {}  # database alias -> its tables that had rows after migrating


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences:
            raise NotSupportedError(
                "the test database's flush keeps what migrating made and cannot reset sequences "
                "(bartsvoice/tests/testdb/base.py); pass reset_sequences=False"
            )
        quote = self.quote_name
        flushed = [table for table in tables if table not in KEPT_TABLES]
        migrated = [table for table in _migrated_tables.get(self.connection.alias, ()) if table in flushed]
        copies = quote(MIGRATED_SCHEMA)
        return [
            *(f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(quote(table))};" for table in flushed),
            *(f"INSERT INTO {quote(table)} SELECT * FROM {copies}.{quote(table)};" for table in migrated),  # noqa: S608
        ]


class DatabaseCreation(creation.DatabaseCreation):
    def create_test_db(self, *args, **kwargs):
        name = super().create_test_db(*args, **kwargs)
        self.copy_migrated_rows()
        return name

    def copy_migrated_rows(self) -> None:
        """Copy what the tables hold now (just migrated) into MIGRATED_SCHEMA, for every flush to put back."""
        connection = self.connection
        quote = connection.ops.quote_name
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        copied = []
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote(MIGRATED_SCHEMA)} CASCADE")
            cursor.execute(f"CREATE SCHEMA {quote(MIGRATED_SCHEMA)}")
            for table in sorted(set(tables) - KEPT_TABLES):
                cursor.execute(f"SELECT EXISTS (SELECT FROM {quote(table)})")  # noqa: S608 - Django's own tables
                if cursor.fetchone()[0]:
                    cursor.execute(f"CREATE TABLE {quote(MIGRATED_SCHEMA)}.{quote(table)} AS TABLE {quote(table)}")
                    copied.append(table)
        _migrated_tables[connection.alias] = copied


def _reuse_key(conn_params: dict) -> tuple:
    # The adapters' context comes from a cache keyed by the time-zone settings: the same object for the same ones.
    return tuple(sorted((name, id(value) if name == "context" else value) for name, value in conn_params.items()))


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    creation_class = DatabaseCreation
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
