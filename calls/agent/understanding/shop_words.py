"""The shop's own words, from the database: its active services (with their compiled vocabulary) and the names
of its upcoming closures. Read on every caller line, so kept in each process.

A process's copy is checked against a generation stamp in Django's cache (Redis, shared by all processes), which
any saved or deleted ServiceType or Closure renews (now and again after commit, so a line read between the save
and the commit cannot keep the old list). QuerySet.update() sends no signal: such changes are seen within
MAX_AGE seconds. Without Redis, MAX_AGE alone bounds how stale a copy can be.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from calls.agent.understanding.named_days import closure_days
from calls.agent.understanding.services import Vocabulary, active_services
from scheduling.models import Closure, ServiceType

GENERATION_KEY = "understanding:shop-words"
MAX_AGE = 60.0


@dataclass(frozen=True)
class ShopWords:
    services: list
    vocabulary: Vocabulary
    closures: dict[str, date]
    today: date
    generation: str
    built: float


_lock = threading.Lock()
_copy: ShopWords | None = None


def _generation() -> str:
    stamp = cache.get(GENERATION_KEY)
    if stamp is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
        stamp = cache.get(GENERATION_KEY)
    return stamp or "no-shared-cache"


def shop_words(today: date) -> ShopWords:
    """The services and closure names as of now; rebuilt when the stamp moved, the day changed or MAX_AGE passed."""
    global _copy
    generation = _generation()
    copy = _copy
    if (
        copy is not None
        and (copy.generation, copy.today) == (generation, today)
        and (time.monotonic() - copy.built < MAX_AGE)
    ):
        return copy
    services, vocabulary = active_services()
    copy = ShopWords(services, vocabulary, closure_days(today), today, generation, time.monotonic())
    with _lock:
        _copy = copy
    return copy


def renew() -> None:
    """Every process reads the shop's words again on its next line."""
    global _copy
    with _lock:
        _copy = None
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


@receiver(post_save, sender=ServiceType, dispatch_uid="understanding-services-saved")
@receiver(post_delete, sender=ServiceType, dispatch_uid="understanding-services-deleted")
@receiver(post_save, sender=Closure, dispatch_uid="understanding-closures-saved")
@receiver(post_delete, sender=Closure, dispatch_uid="understanding-closures-deleted")
def _changed(sender, **kwargs) -> None:
    renew()
    transaction.on_commit(renew)
