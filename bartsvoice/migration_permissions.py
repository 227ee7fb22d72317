"""Granting permissions to the staff roles from a data migration.

Django creates a model's permissions only after *all* migrations have run (the post_migrate signal), so a
migration that grants a permission added by itself or an earlier migration must create them first. These
helpers do both steps, with the historical models the migration is given.

Migrations import this module: it is part of their history. Keep what each function does unchanged; a new
behaviour is a new function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.management import create_permissions


@dataclass(frozen=True)
class Permissions:
    """Which permissions of one app: all of them, one model's (`model`), or the named ones (`codenames`);
    both given: the named ones of that model."""

    app_label: str
    model: str = ""
    codenames: tuple[str, ...] = ()

    def of(self, apps: Any) -> Any:
        """The matching Permission rows (a queryset of the historical model)."""
        permissions = apps.get_model("auth", "Permission").objects.filter(content_type__app_label=self.app_label)
        if self.model:
            permissions = permissions.filter(content_type__model=self.model)
        if self.codenames:
            permissions = permissions.filter(codename__in=self.codenames)
        return permissions


def create_permissions_now(apps: Any, schema_editor: Any, *app_labels: str) -> None:
    """Create the permissions these apps' models declare now, instead of after the last migration."""
    for label in app_labels:
        app_config = apps.get_app_config(label)
        app_config.models_module = True  # historical app configs have none; create_permissions skips those
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)


def grant_permissions(
    apps: Any,
    schema_editor: Any,
    grants: Mapping[str, Iterable[Permissions]],
    *,
    create_groups: bool = False,
) -> None:
    """Add the permissions to each role ({group name: permissions}), creating the permissions first.

    A role that does not exist is left out, unless `create_groups`. A named permission that does not exist is
    an error: a typo must not silently grant nothing.
    """
    selections = [selection for selected in grants.values() for selection in selected]
    create_permissions_now(apps, schema_editor, *dict.fromkeys(s.app_label for s in selections))
    for selection in selections:
        found = set(selection.of(apps).values_list("codename", flat=True))
        missing = set(selection.codenames) - found
        if missing:
            raise LookupError(f"no such {selection.app_label} permissions: {sorted(missing)}")
    Group = apps.get_model("auth", "Group")
    for name, selected in grants.items():
        if create_groups:
            groups = [Group.objects.get_or_create(name=name)[0]]
        else:
            groups = list(Group.objects.filter(name=name))
        for group in groups:
            for selection in selected:
                group.permissions.add(*selection.of(apps))


def revoke_permissions(apps: Any, grants: Mapping[str, Iterable[Permissions]]) -> None:
    """Take the permissions away from each role that exists (the reverse of grant_permissions)."""
    Group = apps.get_model("auth", "Group")
    for name, selected in grants.items():
        for group in Group.objects.filter(name=name):
            for selection in selected:
                group.permissions.remove(*selection.of(apps))
