from celery import shared_task

from privacy.retention import purge_old_call_data


@shared_task(name="privacy.purge_old_call_data", ignore_result=True)
def purge_old_call_data_task() -> int:
    """Beat runs this daily (settings.CELERY_BEAT_SCHEDULE); returns the RetentionRun's id."""
    return purge_old_call_data().pk
