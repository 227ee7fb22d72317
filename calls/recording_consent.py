"""Recording consent: the notice said at the start of a recorded call, and hearing a caller decline it.

A caller declines by saying so in any turn ("please don't record this", "I don't want to be recorded", "stop
the recording", "I do not consent"); from then on nothing of the call is recorded and what was is dropped.
"""

from __future__ import annotations

import re

RECORDING_NOTICE = "This call may be recorded for quality. If you'd rather it wasn't, just say don't record."
RECORDING_DECLINED_TEXT = "Of course, this call is not being recorded. How can I help you?"
RECORDING_DECLINED_ACK = "Of course, this call is not being recorded."

_REC = r"record(?:ed|ing)?(?:\s+(?:me|us|it|this(?:\s+call)?))?\b"
_NEGATED_RECORDING = re.compile(
    "|".join(
        (
            rf"\b(?:do\s*n[o']?t|dont|never)\s+{_REC}",  # "don't record this call"
            rf"\b(?:do\s*n[o']?t|dont)\s+(?:want|wish|like)\s+(?:\w+\s+){{0,3}}?(?:to\s+)?(?:be\s+)?{_REC}",
            rf"\b(?:stop|turn\s+off|switch\s+off|no)\s+(?:the\s+)?{_REC}",  # "stop the recording"
            rf"\b(?:rather|prefer)\s+(?:not|you\s+didn'?t|it\s+wasn'?t)\s+(?:to\s+)?(?:be\s+)?{_REC}",
            rf"\bwithout\s+(?:a\s+|the\s+)?{_REC}",
            r"\bi\s+(?:do\s+not|don'?t)\s+consent\b",
        )
    ),
    re.IGNORECASE,
)
# "I don't want this call to be recorded, thanks" -> what is left is no request.
_FILLER = re.compile(r"\b(please|thanks?|thank you|okay|ok|so|and|but|also|this|call|the|it|that|yes|yeah)\b",
                     re.IGNORECASE)  # fmt: skip


def recording_notice() -> str:
    return RECORDING_NOTICE + " "  # a piece of the greeting: the brain's first sentence follows


def declined_request(text: str) -> str | None:
    """None when `text` does not decline the recording; otherwise what else the caller said ("" when nothing
    else, e.g. "please don't record this call"), to be answered as their turn."""
    match = _NEGATED_RECORDING.search(text or "")
    if match is None:
        return None
    rest = (text[: match.start()] + " " + text[match.end() :]).strip(" ,.;!?-")
    meaningful = _FILLER.sub(" ", re.sub(r"[^\w' ]", " ", rest)).split()
    return rest if len(meaningful) >= 2 else ""
