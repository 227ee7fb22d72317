"""Django's `flush`, without the post_migrate signal when the test database kept the content types and permissions
(bartsvoice/tests/testdb/base.py): its receivers would only find every row there already."""

from django.core.management.commands import flush
from django.db import connections

from bartsvoice.tests.testdb.base import DatabaseOperations


class Command(flush.Command):
    def handle(self, **options):
        ops = connections[options["database"]].ops
        if isinstance(ops, DatabaseOperations) and ops.keeps_migrated_rows(
            reset_sequences=options.get("reset_sequences", True)  # flush's own default
        ):
            options["inhibit_post_migrate"] = True
        super().handle(**options)
