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
"""

from django.db.backends.postgresql import base, operations

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


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
