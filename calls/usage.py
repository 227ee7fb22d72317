"""What one call used of each paid service, and what that costs at the configured prices.

The session meters its providers while the call runs (audio seconds sent to the recogniser, characters sent to the
synthesiser, the language model's tokens as the API reports them) and hands a `CallUsage` to
`calls.services.record_usage` at the end, which adds the phone line's billed minutes and stores the cost. Prices
are per provider (settings `PRICE_*`, see DEPLOYMENT.md); the offline providers (pocketsphinx, eSpeak NG, the rule
brain) have no price, so their usage is counted at zero cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

STT = "stt"  # quantity: audio seconds
TTS = "tts"  # quantity: characters
LLM_INPUT = "llm_input"  # quantity: tokens
LLM_OUTPUT = "llm_output"  # quantity: tokens
TELEPHONY = "telephony"  # quantity: billed minutes (each started minute counts)

ITEM_LABELS = {
    STT: "Speech recognition",
    TTS: "Speech synthesis",
    LLM_INPUT: "Language model input",
    LLM_OUTPUT: "Language model output",
    TELEPHONY: "Phone line",
}
PROVIDER_LABELS = {
    "deepgram": "Deepgram",
    "openai": "OpenAI",
    "twilio": "Twilio",
    "sphinx": "pocketsphinx, offline",
    "espeak": "eSpeak NG, offline",
    "rules": "rule-based, offline",
    "instant": "instant, test",
}
UNITS = {STT: "s of audio", TTS: "characters", LLM_INPUT: "tokens", LLM_OUTPUT: "tokens", TELEPHONY: "min"}
CENT_FRACTIONS = Decimal("0.00001")  # costs are kept to 1/1000 of a cent


@dataclass
class CallUsage:
    """Quantities per (item, provider), summed as the call goes. Mutated on the event loop only."""

    quantities: dict[tuple[str, str], float] = field(default_factory=dict)

    def add(self, item: str, provider: str, quantity: float) -> None:
        if quantity:
            key = (item, provider)
            self.quantities[key] = self.quantities.get(key, 0) + quantity

    def total(self, item: str) -> float:
        return sum(q for (name, _), q in self.quantities.items() if name == item)

    def lines(self) -> list[dict]:
        """JSON-ready, in a stable order: what Call.usage_lines stores."""
        order = list(ITEM_LABELS)
        keys = sorted(self.quantities, key=lambda k: (order.index(k[0]) if k[0] in order else len(order), k[1]))
        return [{"item": item, "provider": provider, "quantity": round(self.quantities[(item, provider)], 3)}
                for item, provider in keys]  # fmt: skip


def unit_price(item: str, provider: str) -> Decimal:
    """USD per unit of `item` from `provider`; zero for a provider with no price (the offline ones)."""
    per_unit = {
        (STT, "deepgram"): settings.PRICE_DEEPGRAM_STT_PER_MINUTE / 60,
        (TTS, "deepgram"): settings.PRICE_DEEPGRAM_TTS_PER_1K_CHARACTERS / 1000,
        (LLM_INPUT, "openai"): settings.PRICE_OPENAI_INPUT_PER_1M_TOKENS / 1_000_000,
        (LLM_OUTPUT, "openai"): settings.PRICE_OPENAI_OUTPUT_PER_1M_TOKENS / 1_000_000,
        (TELEPHONY, "twilio"): settings.PRICE_TELEPHONY_PER_MINUTE,
    }.get((item, provider), 0.0)
    return Decimal(str(per_unit))


@dataclass(frozen=True)
class CostLine:
    item: str
    provider: str
    quantity: float
    cost: Decimal

    @property
    def label(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)

    @property
    def provider_label(self) -> str:
        return PROVIDER_LABELS.get(self.provider, self.provider)

    @property
    def unit(self) -> str:
        return UNITS.get(self.item, "")


def priced(lines: list[dict]) -> list[CostLine]:
    """Stored usage lines with their cost at today's prices."""
    return [
        CostLine(
            line["item"],
            line["provider"],
            line["quantity"],
            (unit_price(line["item"], line["provider"]) * Decimal(str(line["quantity"]))).quantize(
                CENT_FRACTIONS, ROUND_HALF_UP
            ),
        )
        for line in lines
    ]


def total_cost(lines: list[CostLine]) -> Decimal:
    return sum((line.cost for line in lines), Decimal(0)).quantize(CENT_FRACTIONS, ROUND_HALF_UP)


def stored_lines(lines: list[CostLine]) -> list[dict]:
    """JSON for Call.usage_lines: each line keeps the cost it had at the day's prices."""
    return [{"item": li.item, "provider": li.provider, "quantity": li.quantity, "cost": str(li.cost)} for li in lines]


def lines_from_storage(stored: list[dict]) -> list[CostLine]:
    return [CostLine(d["item"], d["provider"], d["quantity"], Decimal(d.get("cost") or "0")) for d in stored or []]


def billed_minutes(seconds: float | None) -> int:
    return math.ceil(seconds / 60) if seconds and seconds > 0 else 0
