"""The test suite's PostgreSQL backend: Django's own, with a flush that DELETEs instead of TRUNCATEs.

pytest-django empties every table after each transactional test (Django's `flush`). PostgreSQL's TRUNCATE
replaces each table's files (a few dozen tables, their indexes and TOAST tables), which costs ~0.1-0.5 s per
test; DELETE on the few rows a test leaves costs ~10 ms. Same end state: every table empty. The foreign keys
Django creates are DEFERRABLE INITIALLY DEFERRED and checked at the flush's commit, when every table is empty,
so the order does not matter (calls/evals/world.py wipes its tables the same way). Sequences are left alone,
as TRUNCATE without RESTART IDENTITY leaves them; a flush that resets them keeps Django's TRUNCATE.
"""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences:
            return super().sql_flush(style, tables, reset_sequences=True, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
