"""The retention task removes old transcripts and recordings, and only old ones; every run is on record."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from calls.models import Call, ToolCall, Turn
from crm.models import Customer
from privacy.models import RetentionRun
from privacy.retention import RetentionPolicy, purge_old_call_data
from privacy.tests.conftest import recording_sid

pytestmark = pytest.mark.django_db

POLICY = RetentionPolicy(transcript_days=30, recording_days=7, batch_size=2)  # small batches: several rounds


def test_old_transcripts_and_recordings_go_recent_ones_stay(make_call, maria, recordings):
    old = [make_call(days_ago=40, customer=maria, recording_url=recordings.add(recording_sid())) for _ in range(3)]
    middle = make_call(days_ago=10, recording_url=recordings.add(recording_sid()))  # recording old, transcript not
    recent = make_call(days_ago=1, recording_url=recordings.add(recording_sid()))
    keep_recordings = set(recordings.recordings) - {
        url.rsplit("/", 1)[1] for url in [c.recording_url for c in [*old, middle]]
    }

    run = purge_old_call_data(policy=POLICY)

    assert (run.turns_deleted, run.tool_calls_deleted, run.calls_cleared) == (6, 3, 3)
    assert (run.recordings_deleted, run.recordings_failed) == (4, 0)
    assert run.finished_at is not None and run.error == ""
    assert RetentionRun.objects.get() == run
    for call in old:
        call.refresh_from_db()
        assert not call.turns.exists() and not call.tool_calls.exists()
        assert call.summary == "" and call.recording_url == ""
        assert call.from_number == "***0142" and call.to_number == "***0100"
        assert call.outcome == Call.Outcome.BOOKED and call.customer == maria  # figures and links stay
    middle.refresh_from_db()
    assert middle.turns.count() == 2 and middle.summary and middle.recording_url == ""
    assert middle.from_number == "+13125550142"
    recent.refresh_from_db()
    assert recent.turns.count() == 2 and recent.tool_calls.count() == 1 and recent.recording_url
    assert recordings.recordings == keep_recordings  # only the recent call's recording is left at Twilio
    assert Customer.objects.filter(pk=maria.pk, first_name="Maria").exists()

    again = purge_old_call_data(policy=POLICY)  # nothing left to do
    assert (again.turns_deleted, again.tool_calls_deleted, again.calls_cleared, again.recordings_deleted) == (0,) * 4


def test_a_recording_twilio_will_not_delete_keeps_its_link_for_the_next_run(make_call, recordings):
    call = make_call(days_ago=40, recording_url=recordings.add(recording_sid()))
    recordings.failing = True
    run = purge_old_call_data(policy=POLICY)
    assert (run.recordings_deleted, run.recordings_failed) == (0, 1)
    call.refresh_from_db()
    assert call.recording_url and not call.turns.exists()

    recordings.failing = False
    run = purge_old_call_data(policy=POLICY)
    assert (run.recordings_deleted, run.recordings_failed) == (1, 0)
    call.refresh_from_db()
    assert call.recording_url == ""


def test_without_twilio_configured_recordings_are_kept_and_counted(make_call, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    call = make_call(
        days_ago=40, recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "a" * 32
    )
    run = purge_old_call_data(policy=POLICY)
    assert run.recordings_failed == 1
    call.refresh_from_db()
    assert call.recording_url


def test_a_link_that_is_not_a_twilio_recording_is_forgotten(make_call, recordings):
    call = make_call(days_ago=40, recording_url="https://files.example.com/call.wav")
    run = purge_old_call_data(policy=POLICY)
    assert run.recordings_deleted == 1 and recordings.deleted == []
    call.refresh_from_db()
    assert call.recording_url == ""


def test_a_recording_already_gone_at_twilio_counts_as_deleted(make_call, recordings):
    call = make_call(days_ago=40, recording_url=recordings.add(recording_sid()))
    recordings.recordings.clear()  # deleted in the Twilio console meanwhile: 404
    assert purge_old_call_data(policy=POLICY).recordings_deleted == 1
    call.refresh_from_db()
    assert call.recording_url == ""


def test_the_task_is_scheduled_daily_and_runs_with_the_settings(make_call, settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-old-call-data"]
    assert entry["task"] == "privacy.purge_old_call_data"
    from bartsvoice.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery finds privacy.tasks
    assert "privacy.purge_old_call_data" in app.tasks
    settings.RETENTION_DAYS, settings.RECORDING_RETENTION_DAYS = 5, 5
    old, recent = make_call(days_ago=6), make_call(days_ago=4)
    run_id = app.tasks["privacy.purge_old_call_data"].apply().get()
    run = RetentionRun.objects.get(pk=run_id)
    assert run.turns_deleted == 2
    assert abs((run.started_at - run.transcripts_before) - timedelta(days=5)) < timedelta(seconds=1)
    assert not Turn.objects.filter(call=old).exists() and Turn.objects.filter(call=recent).count() == 2
    assert ToolCall.objects.filter(call=recent).exists()


def test_the_command_runs_it_by_hand(make_call, capsys):
    make_call(days_ago=400)
    call_command("purge_call_data")
    assert "2 turns" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("env", "message"),
    [({"RETENTION_DAYS": "0"}, "at least 1"), ({"RETENTION_DAYS": "30", "RECORDING_RETENTION_DAYS": "60"}, "between")],
)
def test_settings_refuse_a_nonsense_policy(env, message, monkeypatch):
    import importlib

    import bartsvoice.settings as settings_module

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        importlib.reload(settings_module)
    monkeypatch.undo()
    importlib.reload(settings_module)
    assert settings.RETENTION_DAYS >= 1
