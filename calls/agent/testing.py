"""Drive a brain with text lines, as the session would: for tests and the text simulator."""

from __future__ import annotations

from calls.agent.base import Brain
from calls.agent.context import CallContext


async def run_conversation(ctx: CallContext, brain: Brain, lines: list[str], *, greet: bool = True,
                           stop_when_done: bool = True) -> list[tuple[str, str]]:
    """Greet, then answer each caller line; returns [(speaker, text)] with speakers "agent" and "caller".

    Turn indexes advance like the session's (caller turn, then agent turn), so ToolCall rows carry the index of
    the agent turn they belong to. With stop_when_done, lines after a hang-up or transfer are not sent.
    """
    transcript: list[tuple[str, str]] = []

    async def agent(pieces) -> None:
        transcript.append(("agent", "".join([p async for p in pieces]).strip()))

    if greet:
        await agent(brain.greet(ctx))
        ctx.turn_index += 1
    for line in lines:
        if stop_when_done and (ctx.end_requested or ctx.transfer_requested):
            break
        transcript.append(("caller", line))
        ctx.turn_index += 1
        await agent(brain.respond(ctx, line))
        ctx.turn_index += 1
    return transcript
