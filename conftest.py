import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clean_cache():
    """Every test starts with an empty cache (tests run against a dedicated Redis database)."""
    cache.clear()
    yield
    cache.clear()
