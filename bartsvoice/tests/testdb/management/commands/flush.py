"""Django's `flush`, without the post_migrate signal: the test database's flush (bartsvoice/tests/testdb/base.py)
leaves it as migrating left it, so post_migrate's receivers (contenttypes, auth) would only find every row there."""

from django.core.management.commands import flush
from django.db import connections

from bartsvoice.tests.testdb.base import DatabaseOperations


class Command(flush.Command):
    def handle(self, **options):
        if isinstance(connections[options["database"]].ops, DatabaseOperations):
            options["inhibit_post_migrate"] = True
        super().handle(**options)
