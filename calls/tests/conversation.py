"""Drive a brain with text lines, as the session would, for the agent tests."""

from __future__ import annotations

from calls.agent.actions import Action, EndCall, Transfer, record_action
from calls.agent.base import Brain
from calls.agent.context import CallContext


async def run_conversation(
    ctx: CallContext, brain: Brain, lines: list[str], *, greet: bool = True, stop_when_done: bool = True
) -> list[tuple[str, object]]:
    """Greet, then answer each caller line; returns [(speaker, text)] with speakers "agent" and "caller", and
    ("action", Transfer | EndCall) after a reply that asked for one.

    Turn indexes advance like the session's (caller turn, then agent turn), so ToolCall rows carry the index of
    the agent turn they belong to. With stop_when_done, lines after a hang-up or transfer are not sent.
    """
    transcript: list[tuple[str, object]] = []

    async def agent(pieces) -> Action | None:
        text, action = [], None
        async for piece in pieces:
            if isinstance(piece, str):
                text.append(piece)
            else:
                action = piece
        transcript.append(("agent", "".join(text).strip()))
        if action is not None:
            transcript.append(("action", action))
            record_action(ctx, action)
        return action

    done = await agent(brain.greet(ctx)) if greet else None
    if greet:
        ctx.turn_index += 1
    for line in lines:
        if stop_when_done and done is not None:
            break
        transcript.append(("caller", line))
        ctx.turn_index += 1
        done = await agent(brain.respond(ctx, line))
        ctx.turn_index += 1
    return transcript


def last_action(transcript) -> Action | None:
    """The action the conversation ended on (None when its last reply asked for nothing)."""
    for speaker, what in reversed(transcript):
        if speaker == "action":
            return what
        if speaker == "agent":
            return None
    return None


def ended(transcript) -> bool:
    return isinstance(last_action(transcript), EndCall)


def transferred(transcript) -> Transfer | None:
    action = last_action(transcript)
    return action if isinstance(action, Transfer) else None
