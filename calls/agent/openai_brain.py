"""The language-model brain: OpenAI chat completions, streamed, with tool calling over the one tool registry.

The model only ever acts through `calls.agent.tools.run_tool`, so the authorisation, the validation and the
ToolCall log are exactly the rule policy's. Text is yielded as it streams (the session cuts it into sentences and
speaks each as soon as it is whole); tool calls are put together per index and run concurrently; a Transfer or
EndCall comes out of the tools' results through `action_from_tool`, as with the rule brain.

The greeting is the rule policy's (instant, and it binds a known caller). When the API fails -- an error, a
timeout, no first token within OPENAI_FIRST_TOKEN_MS -- the rule policy takes over for the rest of the call from
what the tools established (calls.agent.handoff), the Call's summary says so, and the caller is still served.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings

from bartsvoice import metrics
from calls.agent.actions import Action, EndCall, ReplyPiece, Transfer, action_from_tool
from calls.agent.base import Anticipation, Brain
from calls.agent.context import CallContext
from calls.agent.handoff import ToolMemory, seed_rule_state

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 5  # tool rounds per caller turn; then the model must answer in words
HISTORY_MESSAGES = 40  # oldest turns are dropped beyond this (the system prompt always stays)
FILLER_AFTER_S = 0.7  # tools slower than this get a short spoken filler
FILLER = "One moment."
NEXT_TOKEN_S = 10.0  # a stream that stops mid-way for this long has failed
CHARS_PER_TOKEN = 4  # English text and JSON average about four characters per token
ACTION_WORDS = {
    Transfer: "One moment, I'm transferring you to a service advisor.",
    EndCall: "Thanks for calling. Goodbye!",
}
OUTBOUND_GOODBYE = "Thanks, have a great day. Goodbye!"  # the shop called: nobody "called" the shop


class BrainFailed(Exception):
    """The API could not give an answer in time."""


_CLIENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _shared_client():
    """One client (and connection pool) per event loop: the calls a process serves share connections to the API."""
    from openai import AsyncOpenAI

    loop = asyncio.get_running_loop()
    client = _CLIENTS.get(loop)
    if client is None:
        client = _CLIENTS[loop] = AsyncOpenAI(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL or None,
            timeout=float(settings.OPENAI_TIMEOUT_SECONDS),
            max_retries=settings.OPENAI_MAX_RETRIES,
        )
    return client


class OpenAIBrain(Brain):
    name = "openai"

    def __init__(self, *, client=None, model: str | None = None, first_token_s: float | None = None):
        self._client = client
        self.model = model or settings.OPENAI_MODEL
        self.first_token_s = settings.OPENAI_FIRST_TOKEN_MS / 1000 if first_token_s is None else first_token_s
        self._prompt: asyncio.Future | None = None
        self._memory = ToolMemory()
        self.fallback: Brain | None = None
        # "estimated": requests closed before their usage chunk, counted from their characters.
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "requests": 0, "estimated": 0}

    def token_usage(self) -> tuple[int, int]:
        return self.usage["prompt_tokens"], self.usage["completion_tokens"]

    def client(self):
        return self._client if self._client is not None else _shared_client()

    # ------------------------------------------------------------------ the Brain interface
    def warm_up(self) -> None:
        """Import the client library now rather than on the first call's first turn, and the rule policy: it says
        every greeting (importing it and its flows holds the event loop for a few hundred ms, every call waits)."""
        import openai  # noqa: F401

        import calls.agent.policy
        import calls.agent.prompt  # noqa: F401

    async def greet(self, ctx: CallContext) -> AsyncIterator[ReplyPiece]:
        from calls.agent.policy import RuleBrain

        async for piece in RuleBrain().greet(ctx):
            yield piece
        self._start_prompt(ctx)  # ready by the caller's first words (after the greeting, not competing with it)

    def respond(self, ctx: CallContext, caller_text: str) -> AsyncIterator[ReplyPiece]:
        return self._respond(ctx, caller_text)

    def anticipate(self, ctx: CallContext, caller_text: str) -> Anticipation | None:
        if self.fallback is not None:
            return None  # the rule policy answers now: nothing slow to start early
        return _Draft(self, ctx, caller_text)

    async def _respond(
        self, ctx: CallContext, caller_text: str, draft: _Draft | None = None
    ) -> AsyncIterator[ReplyPiece]:
        if self.fallback is not None:
            if draft is not None:
                draft.discard()
            async for piece in self.fallback.respond(ctx, caller_text):
                yield piece
            return
        mark = len(ctx.history)
        ctx.history.append({"role": "user", "content": caller_text})
        self._memory.written = []
        spoke = False
        try:
            async for piece in self._converse(ctx, draft):
                spoke = spoke or isinstance(piece, str)
                yield piece
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever broke, the rule policy answers this caller
            reason = _reason(exc)
        finally:
            if draft is not None:
                draft.discard()  # (done by now, unless the reply was cut short)
        opening = self._take_over(ctx, reason)
        del ctx.history[mark:]  # the rule policy keeps its own record of this turn
        if opening:
            yield (" " if spoke else "") + opening
        async for piece in self.fallback.respond(ctx, caller_text):
            if opening and isinstance(piece, str):
                piece = " " + piece.lstrip()
                opening = ""
            yield piece

    def interrupted(self, ctx: CallContext, spoken_text: str) -> None:
        if self.fallback is not None:
            self.fallback.interrupted(ctx, spoken_text)
            return
        for message in reversed(ctx.history):
            if message.get("role") == "assistant" and not message.get("tool_calls"):
                message["content"] = spoken_text
                break

    # ------------------------------------------------------------------ the conversation
    def _start_prompt(self, ctx: CallContext) -> None:
        if self._prompt is None:
            from bartsvoice.db import in_db_thread
            from calls.agent.prompt import build_system_prompt

            self._prompt = asyncio.ensure_future(in_db_thread(build_system_prompt, ctx))

    async def _system_prompt(self, ctx: CallContext) -> str:
        self._start_prompt(ctx)
        return await asyncio.shield(self._prompt)

    async def _converse(self, ctx: CallContext, draft: _Draft | None = None) -> AsyncIterator[ReplyPiece]:
        from calls.agent.tools import registry as tools

        system = await self._system_prompt(ctx)
        specs = tools.openai_tools()
        rounds = 0
        said = filled = False
        while True:
            may_use_tools = rounds < MAX_TOOL_ROUNDS
            text: list[str] = []
            calls: dict[int, dict[str, str]] = {}
            if draft is not None and rounds == 0:
                completion = draft.replay(calls)  # asked for while the caller's turn was still ending
            else:
                completion = self._stream(system, ctx.history, specs, may_use_tools, calls)
            async for piece in completion:
                text.append(piece)
                said = True
                yield piece
            content = "".join(text)
            if not calls or not may_use_tools:
                if not content:
                    raise BrainFailed("the model answered nothing")
                ctx.history.append({"role": "assistant", "content": content})
                return
            ordered = [calls[i] for i in sorted(calls)]
            ctx.history.append(
                {
                    "role": "assistant",
                    "content": content or None,
                    "tool_calls": [
                        {
                            "id": c["id"],
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["arguments"]},
                        }
                        for c in ordered
                    ],
                }
            )
            actions: list[Action] = []
            async for piece in self._run_tools(ctx, ordered, actions, filler=not (said or filled)):
                filled = True  # a filler is no answer: the model (or the action's own words) still speaks
                yield piece
            rounds += 1
            if actions:
                # The session hands over or hangs up once this is spoken; no need to ask the model for more.
                if not said:
                    yield _action_words(ctx, actions[0])
                for action in actions:
                    yield action
                return

    async def _stream(
        self, system: str, history: list[dict], specs: list[dict], may_use_tools: bool, calls: dict[int, dict[str, str]]
    ) -> AsyncIterator[str]:
        """One completion request: yields text as it streams, fills `calls` by index."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.first_token_s
        messages = [{"role": "system", "content": system}, *_recent(history)]
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.3,
        }
        if specs:
            request["tools"] = specs
            request["tool_choice"] = "auto" if may_use_tools else "none"
            if may_use_tools:
                request["parallel_tool_calls"] = True
        self.usage["requests"] += 1
        stream = await asyncio.wait_for(_create_stream(self.client(), request), max(0.01, deadline - loop.time()))
        first = False
        metered = False
        streamed = 0  # characters of text and tool arguments, for an estimate if the usage chunk never comes
        chunks = aiter(stream)
        try:
            while True:
                timeout = NEXT_TOKEN_S if first else max(0.01, deadline - loop.time())
                try:
                    async with asyncio.timeout(timeout):  # (wait_for would make a task per chunk)
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                usage = chunk.get("usage")
                if usage:
                    metered = True
                    self.usage["prompt_tokens"] += usage.get("prompt_tokens") or 0
                    self.usage["completion_tokens"] += usage.get("completion_tokens") or 0
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    for tc in delta.get("tool_calls") or ():
                        first = True
                        entry = calls.setdefault(tc["index"], {"id": "", "name": "", "arguments": ""})
                        if tc.get("id"):
                            entry["id"] = tc["id"]
                        function = tc.get("function")
                        if function:
                            entry["name"] += function.get("name") or ""
                            entry["arguments"] += function.get("arguments") or ""
                            streamed += len(function.get("arguments") or "")
                    if delta.get("content"):
                        first = True
                        streamed += len(delta["content"])
                        yield delta["content"]
        finally:
            if not metered:
                # Closed before the usage chunk (a draft discarded, a reply cut short, a stall): the provider still
                # bills the prompt it read and what it generated, so the call's cost counts an estimate of both.
                self._estimate_usage(request, streamed)
            with contextlib.suppress(Exception):
                await stream.close()

    def _estimate_usage(self, request: dict[str, Any], streamed_chars: int) -> None:
        prompt_chars = len(json.dumps(request["messages"])) + len(json.dumps(request.get("tools") or []))
        self.usage["prompt_tokens"] += -(-prompt_chars // CHARS_PER_TOKEN)
        self.usage["completion_tokens"] += -(-streamed_chars // CHARS_PER_TOKEN)
        self.usage["estimated"] += 1

    async def _run_tools(
        self, ctx: CallContext, calls: list[dict[str, str]], actions: list[Action], *, filler: bool
    ) -> AsyncIterator[str]:
        """Run a round's tool calls concurrently; a filler if they take a while and nothing has been said."""
        from calls.agent.tools import arun_tool

        tasks = [asyncio.ensure_future(arun_tool(ctx, c["name"], c["arguments"])) for c in calls]
        try:
            _done, pending = await asyncio.wait(tasks, timeout=FILLER_AFTER_S)
            if pending and filler:
                yield FILLER
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        for c, result in zip(calls, results, strict=True):
            ctx.history.append({"role": "tool", "tool_call_id": c["id"], "content": result.to_content()})
            if result.ok:
                self._memory.remember(c["name"], result.result)
                action = action_from_tool(result.result)
                if action is not None:
                    actions.append(action)

    # ------------------------------------------------------------------ falling back
    def _take_over(self, ctx: CallContext, reason: str) -> str:
        from calls.agent.policy import RuleBrain

        log.warning("call %s: language model failed (%s); the rule policy takes over", ctx.call_id, reason)
        ctx.note(f"cloud brain failed ({reason}); rule policy took over")
        metrics.provider_error("brain", self.name)
        metrics.provider_fallback("brain", self.name, RuleBrain.name)
        self.fallback = RuleBrain()
        return seed_rule_state(ctx, self._memory)


def _create_stream(client, request: dict[str, Any]):
    """`client.chat.completions.create(**request)` (streamed), without the SDK's pass over the request that walks
    every message and every tool's JSON schema through its typed-dict annotations (3-5 ms of the event loop's CPU
    per request with our tools and a call's history, for a body that is plain JSON already: nothing to rename, no
    dates or files to encode), and with each streamed chunk left as the JSON object it came as: the SDK would build
    a ChatCompletionChunk model (choices, deltas, tool calls) out of every token. Errors are the SDK's as before."""
    from openai import AsyncStream
    from openai.types.chat import ChatCompletion

    return client.post(
        "/chat/completions",
        body=request,
        cast_to=ChatCompletion,
        options={"security": {"bearer_auth": True}},  # what `create` asks for
        stream=True,
        stream_cls=AsyncStream[object],  # `object`: chunks as parsed JSON (dicts)
    )


def _action_words(ctx: CallContext, action: Action) -> str:
    if isinstance(action, EndCall) and ctx.direction == "outbound":
        return OUTBOUND_GOODBYE
    return ACTION_WORDS[type(action)]


class _Draft(Anticipation):
    """The first completion of a reply, asked for on a stable interim transcript. Only the model's answer is kept
    (its text and the tool calls it wants); the call's history is untouched and no tool runs: if the caller's final
    words match, `_converse` takes the answer as its first round and runs the tools then, as it always does."""

    def __init__(self, brain: OpenAIBrain, ctx: CallContext, caller_text: str):
        self.caller_text = caller_text
        self._brain = brain
        self._history_then = _snapshot(ctx.history)
        self._history = [*ctx.history, {"role": "user", "content": caller_text}]
        self.pieces: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.error: BaseException | None = None
        self.done = False
        self._more = asyncio.Event()
        self._task = asyncio.ensure_future(self._run(ctx))

    async def _run(self, ctx: CallContext) -> None:
        from calls.agent.tools import registry as tools

        try:
            system = await self._brain._system_prompt(ctx)
            async for piece in self._brain._stream(system, self._history, tools.openai_tools(), True, self.calls):
                self.pieces.append(piece)
                self._more.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - raised again if the draft is used: the usual fallback follows
            self.error = exc
        finally:
            self.done = True
            self._more.set()

    async def settled(self) -> None:
        """Until the model has answered the draft (or failed to)."""
        await asyncio.wait({self._task})

    async def replay(self, calls: dict[int, dict[str, str]]) -> AsyncIterator[str]:
        """The draft's text as it came (and still comes), then its tool calls into `calls`, or its error raised."""
        sent = 0
        while True:
            while sent < len(self.pieces):
                yield self.pieces[sent]
                sent += 1
            if self.done:
                break
            self._more.clear()
            await self._more.wait()
        if self.error is not None:
            raise self.error
        calls.update(self.calls)

    def respond(self, ctx: CallContext) -> AsyncIterator[ReplyPiece]:
        if _snapshot(ctx.history) != self._history_then:
            # The history moved on since (a reply cut short rewrites what was heard): the draft answers a past.
            self.discard()
            return self._brain._respond(ctx, self.caller_text)
        return self._brain._respond(ctx, self.caller_text, draft=self)

    def discard(self) -> None:
        self._task.cancel()


def _snapshot(history: list[dict]) -> list[dict]:
    return [dict(message) for message in history]


def _recent(history: list[dict]) -> list[dict]:
    """The last HISTORY_MESSAGES messages, cut at a caller's message so no tool result loses its call."""
    if len(history) <= HISTORY_MESSAGES:
        return history
    start = len(history) - HISTORY_MESSAGES
    while start < len(history) and history[start].get("role") != "user":
        start += 1
    return history[start:] if start < len(history) else history[-1:]


def _reason(exc: BaseException) -> str:
    import openai

    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIStatusError):
        return f"API error {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "API unreachable"
    if isinstance(exc, BrainFailed):
        return str(exc)
    return type(exc).__name__
