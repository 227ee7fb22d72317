"""The test database backend (bartsvoice/tests/testdb): the flush between transactional tests (the database as
migrating left it afterwards, without the post_migrate signal), and closed connections kept for the next one to
take."""

import threading
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import NotSupportedError, connection, connections
from django.db.models.signals import post_migrate

from bartsvoice.tests.factories import ADVISORS, MANAGERS, UserFactory, build_shop, local
from bartsvoice.tests.testdb.base import KEPT_TABLES
from crm.models import Customer
from scheduling.models import Appointment

HOUR = timedelta(hours=1)
MIGRATED = {"auth_group", "auth_group_permissions"}  # the tables the data migrations write (the staff roles)
pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the test database backend is PostgreSQL's")


def _rows() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - Django's tables
            counts[table] = cursor.fetchone()[0]
        return counts


def _roles() -> dict[tuple[int, str], set[int]]:
    return {(g.pk, g.name): set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}


def test_the_test_database_starts_with_the_roles_the_migrations_made(db):
    """Whatever ran before in this process: a non-transactional test sees the data migrations' rows."""
    assert {name for _, name in _roles()} == {ADVISORS, MANAGERS}
    assert Group.objects.get(name=MANAGERS).permissions.filter(codename="change_servicetype").exists()


@pytest.mark.django_db(transaction=True)
def test_a_tests_flush_leaves_the_database_as_migrating_left_it(customer, vehicle):
    migrated = _roles()  # the previous flush (or migrating) left them
    assert {name for _, name in migrated} == {ADVISORS, MANAGERS}
    kept = (list(ContentType.objects.values_list("pk", "app_label", "model").order_by("pk")),
            list(Permission.objects.values_list("pk", "content_type", "codename").order_by("pk")))  # fmt: skip
    shop = build_shop()
    start = local(date(2031, 3, 3), 9)
    appointment = Appointment.objects.create(customer=customer, vehicle=vehicle, start=start, end=start + HOUR)
    appointment.service_types.set(shop.services.values())  # rows that point at rows: deleted in one go
    UserFactory(roles=[ADVISORS])
    # A test that changes the roles: one loses a permission, the other is gone, a new one appears.
    Group.objects.get(name=MANAGERS).permissions.remove(Permission.objects.get(codename="change_servicetype"))
    Group.objects.filter(name=ADVISORS).delete()
    Group.objects.create(name="Night shift")
    signals: list[str] = []

    def heard(sender, **kwargs):
        signals.append(sender.label)

    post_migrate.connect(heard)
    try:
        call_command("flush", verbosity=0, interactive=False, reset_sequences=False)  # as after a test
    finally:
        post_migrate.disconnect(heard)

    assert _roles() == migrated  # the same rows, ids included, as migrating made them
    assert {table: n for table, n in _rows().items() if n and table not in KEPT_TABLES | MIGRATED} == {}
    assert list(ContentType.objects.values_list("pk", "app_label", "model").order_by("pk")) == kept[0]
    assert list(Permission.objects.values_list("pk", "content_type", "codename").order_by("pk")) == kept[1]
    assert signals == []


@pytest.mark.django_db(transaction=True)
def test_a_flush_that_would_reset_sequences_is_refused(customer):
    with pytest.raises(NotSupportedError, match="cannot reset sequences"):
        call_command("flush", verbosity=0, interactive=False)  # the command's default: reset_sequences
    assert Customer.objects.get() == customer


def _in_a_thread(work):
    """What `work` returns, run in a thread of its own (its own Django connection, closed at the end)."""
    results = []

    def run():
        try:
            results.append(work())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return results[0]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _in_a_transaction_left_open() -> int:
    connection.set_autocommit(False)
    return _backend_pid()


@pytest.mark.django_db(transaction=True)
def test_a_closed_connection_is_taken_by_the_next_one_unless_a_transaction_was_open():
    first = _in_a_thread(_backend_pid)
    assert _in_a_thread(_backend_pid) == first  # the same server session: the socket was kept

    left_open = _in_a_thread(_in_a_transaction_left_open)
    assert left_open == first  # (it took the idle one)
    after = _in_a_thread(_backend_pid)
    assert after != left_open  # that one was closed, not kept: its transaction went with it

    connection.close_pool()  # before a test database is dropped: none stays open
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [after])
        assert cursor.fetchone()[0] == 0
    assert _in_a_thread(_backend_pid) not in (first, after)
