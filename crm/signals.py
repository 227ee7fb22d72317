"""Keep the phone-lookup cache honest: any change to a customer drops its cached entries."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from crm.models import Customer
from crm.services import invalidate_customer_phone


def _invalidate(*phones: str) -> None:
    """Drop now, and again after commit.

    The second drop matters: between the save and the commit, a lookup on another connection still
    sees the old rows and would cache them (a "no such customer" for a just-registered caller) for
    the whole cache lifetime.
    """
    phones = tuple(p for p in dict.fromkeys(phones) if p)
    for phone in phones:
        invalidate_customer_phone(phone)

    def after_commit():
        for phone in phones:
            invalidate_customer_phone(phone)

    transaction.on_commit(after_commit)


@receiver(pre_save, sender=Customer)
def _remember_old_phone(sender, instance, **kwargs):
    instance._old_phone = None
    if instance.pk:
        instance._old_phone = Customer.objects.filter(pk=instance.pk).values_list("phone", flat=True).first()


@receiver(post_save, sender=Customer)
def _drop_cache_on_save(sender, instance, **kwargs):
    _invalidate(instance.phone, getattr(instance, "_old_phone", None))


@receiver(post_delete, sender=Customer)
def _drop_cache_on_delete(sender, instance, **kwargs):
    _invalidate(instance.phone)
