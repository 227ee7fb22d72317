import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")

app = Celery("bartsvoice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import bartsvoice.celery_metrics  # noqa: E402, F401 - connects the queue-lag signals


@after_setup_logger.connect
@after_setup_task_logger.connect
def _mask_phone_numbers(logger, **kwargs):
    from bartsvoice.log_format import add_call_context
    from bartsvoice.log_privacy import mask_handlers

    add_call_context(logger)
    mask_handlers(logger)
