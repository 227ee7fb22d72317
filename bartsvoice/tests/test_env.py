"""Environment readers: a storage backend's options come as a JSON object, and junk is refused."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from bartsvoice.env import env_json_object


def test_a_json_object_is_read(monkeypatch):
    monkeypatch.setenv("SOME_OPTIONS", '{"bucket_name": "recs", "querystring_auth": true}')
    assert env_json_object("SOME_OPTIONS") == {"bucket_name": "recs", "querystring_auth": True}
    monkeypatch.setenv("SOME_OPTIONS", "  ")
    assert env_json_object("SOME_OPTIONS") == {}
    monkeypatch.delenv("SOME_OPTIONS")
    assert env_json_object("SOME_OPTIONS") == {}


@pytest.mark.parametrize("raw", ["[1, 2]", "bucket=recs", '"recs"', "{'bucket_name': 'recs'}"])
def test_anything_but_a_json_object_is_refused(monkeypatch, raw):
    monkeypatch.setenv("SOME_OPTIONS", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_OPTIONS must be a JSON object"):
        env_json_object("SOME_OPTIONS")
