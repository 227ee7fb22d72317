"""Duckling, set up once per process: time expressions, numbers, ordinals, durations and phone numbers.

Duckling (Facebook's parser, compiled from Haskell; the `pyduckling-native-phihos` wheel) reads a line against a
reference time in the shop's time zone. Its time-zone table loads from the system zoneinfo, or from the `tzdata`
wheel where a machine has none. Results are turned into frozen `Entity` values at once, so nothing outside this
module sees Duckling's dictionaries or its character offsets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from calls.agent.understanding import prefilter

DIMENSIONS = ("time", "number", "ordinal", "duration", "phone-number")
LANGUAGES = ("EN", "ES")
_SYSTEM_ZONEINFO = Path("/usr/share/zoneinfo")


@dataclass(frozen=True)
class Entity:
    dim: str  # "time", "number", "ordinal", "duration", "phone-number"
    text: str  # the words it was read from, as given (Duckling's own copy garbles non-ASCII)
    start: int
    end: int
    value: dict[str, Any]


class DucklingUnavailable(RuntimeError):
    pass


def zoneinfo_dir(zone: str) -> Path:
    """The Olson folder holding `zone`: the system's, else the tzdata wheel's."""
    if (_SYSTEM_ZONEINFO / zone).is_file():
        return _SYSTEM_ZONEINFO
    try:
        import tzdata
    except ImportError:
        tzdata = None
    if tzdata is not None:
        folder = Path(tzdata.__file__).parent / "zoneinfo"
        if (folder / zone).is_file():
            return folder
    # Duckling aborts the whole process on a missing folder, so this is checked here, in Python.
    raise DucklingUnavailable(f"no zoneinfo file for {zone!r} (install the tzdata package)")


class _Duckling:
    """The Haskell side's handles: one time-zone table, one locale per language."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tzdb: dict[Path, Any] = {}
        self._locales: dict[str, Any] = {}
        self._dims: dict[tuple[str, ...], Any] = {}
        self._folders: dict[str, Path] = {}

    def handles(self, zone: str, lang: str, dims: tuple[str, ...]) -> tuple[Any, Any, Any]:
        folder = self._folders.get(zone)
        if folder is None:  # (looked up once per zone: a file check per line shows in the line's time)
            folder = self._folders[zone] = zoneinfo_dir(zone)
        with self._lock:
            import duckling

            if folder not in self._tzdb:
                self._tzdb[folder] = duckling.load_time_zones(str(folder))
            if lang not in self._locales:
                if lang not in LANGUAGES:
                    raise ValueError(f"unsupported language {lang!r}; one of {', '.join(LANGUAGES)}")
                self._locales[lang] = duckling.default_locale_lang(duckling.parse_lang(lang))
            if dims not in self._dims:
                self._dims[dims] = duckling.parse_dimensions(list(dims))
            return self._tzdb[folder], self._locales[lang], self._dims[dims]


_DUCKLING = _Duckling()
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # for dimensions that do not depend on the day


def _zone_name(now: datetime) -> str:
    if isinstance(now.tzinfo, ZoneInfo):
        return now.tzinfo.key
    from django.conf import settings

    return settings.SHOP_TIMEZONE


def parse(
    text: str, *, now: datetime | None = None, lang: str = "EN", dims: tuple[str, ...] = DIMENSIONS
) -> tuple[Entity, ...]:
    """Duckling's reading of `text` relative to `now` (aware; its zone is the shop's), longest entities first
    where they overlap, in order of position otherwise."""
    now = now or _EPOCH
    zone = _zone_name(now) if now is not _EPOCH else "UTC"
    return _parse(text, int(now.timestamp()), zone, lang.upper(), tuple(dims))


@lru_cache(maxsize=512)
def _parse(text: str, timestamp: int, zone: str, lang: str, dims: tuple[str, ...]) -> tuple[Entity, ...]:
    import duckling

    if not text.strip():
        return ()
    if lang == "EN" and not prefilter.may_hold(text.lower(), dims):
        return ()  # no word Duckling could read as one of `dims`: milliseconds saved on most lines
    tzdb, locale, dimensions = _DUCKLING.handles(zone, lang, dims)
    context = duckling.Context(duckling.parse_ref_time(tzdb, zone, timestamp), locale)
    found = duckling.parse(text, context, dimensions, False)
    # Offsets are in characters; the body is re-cut from our own string.
    return tuple(
        Entity(dim=e["dim"], text=text[e["start"] : e["end"]], start=e["start"], end=e["end"], value=e["value"])
        for e in sorted(found, key=lambda e: (e["start"], -e["end"]))
    )


def warm_up(zone: str = "", langs: tuple[str, ...] = ("EN",)) -> None:
    """Load the time-zone table and each language's rules now rather than on a caller's first line."""
    if not zone:
        from django.conf import settings

        zone = settings.SHOP_TIMEZONE
    for lang in langs:
        parse("tomorrow at 9:30", now=datetime.now(ZoneInfo(zone)), lang=lang)
