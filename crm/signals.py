"""Keep the phone-lookup cache honest: any change to a customer drops its cached entries."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from crm.models import Customer
from crm.services import invalidate_customer_phone


@receiver(pre_save, sender=Customer)
def _remember_old_phone(sender, instance, **kwargs):
    if instance.pk:
        instance._old_phone = Customer.objects.filter(pk=instance.pk).values_list("phone", flat=True).first()


@receiver(post_save, sender=Customer)
def _drop_cache_on_save(sender, instance, **kwargs):
    invalidate_customer_phone(instance.phone)
    old = getattr(instance, "_old_phone", None)
    if old and old != instance.phone:
        invalidate_customer_phone(old)


@receiver(post_delete, sender=Customer)
def _drop_cache_on_delete(sender, instance, **kwargs):
    invalidate_customer_phone(instance.phone)
