"""Celery tasks of the calls app."""

from celery import shared_task


@shared_task(ignore_result=True)
def send_text(text_id: int) -> str:
    """Send one queued text (calls.texts); a second delivery finds it no longer queued."""
    from calls import texts

    return texts.send(text_id)
