"""A local stand-in for OpenAI's chat completions endpoint: `POST /v1/chat/completions` with `stream: true`, answered
as server-sent events in the wire format the official `openai` client parses (text deltas, tool calls streamed
in pieces per index, `finish_reason`, a usage chunk when `stream_options.include_usage`, `data: [DONE]`).

What the "model" answers is scripted: queue `Step`s (or functions of the request returning a Step) with
`then(...)`; with the queue empty, `default(request)` answers. Every request body is kept in `requests`.
Used by the brain tests, the end-to-end socket test and `bench/calls.py --providers fakes`. No Django here.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from calls.tests.fake_server import served_in_thread


@dataclass
class Step:
    """One model response."""

    text: str = ""
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)  # (name, arguments)
    status: int = 200  # anything else: an API error with this HTTP status
    first_token_ms: int | None = None  # overrides the server's default latency
    stall: bool = False  # send the headers, then nothing (a hung stream)


Script = Step | Callable[[dict], Step]


def say(text: str) -> Step:
    return Step(text=text)


def call(name: str, **arguments) -> Step:
    return Step(tool_calls=[(name, arguments)])


class FakeOpenAI:
    def __init__(
        self,
        *,
        api_key: str = "test-openai-key",
        first_token_ms: int = 0,
        token_ms: int = 0,
        default: Callable[[dict], Step] | None = None,
    ):
        self.api_key = api_key
        self.first_token_ms = first_token_ms
        self.token_ms = token_ms  # between streamed pieces
        self.default = default or (lambda request: Step(text="Okay."))
        self.script: deque[Script] = deque()
        self.requests: list[dict] = []
        self.usage_sent: list[dict] = []  # the usage chunk of each streamed completion, as sent
        self._runner: web.AppRunner | None = None
        self.port = 0

    def then(self, *steps: Script) -> FakeOpenAI:
        self.script.extend(steps)
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def in_thread(self):
        """Serve from a thread with its own event loop (for code that runs its own loop, or another process)."""
        return served_in_thread(self, "fake-openai")

    # ------------------------------------------------------------------ the endpoint
    async def _completions(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        self.requests.append(body)
        if not body.get("stream"):
            return _error(400, "this fake only streams", "invalid_request_error")
        step = self.script.popleft() if self.script else self.default
        if callable(step):
            step = step(body)
        if step.status != 200:
            return _error(step.status, "The server had an error while processing your request.", "server_error")
        if body.get("tool_choice") == "none":
            step = Step(text=step.text or "Let me keep this simple.", first_token_ms=step.first_token_ms)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        model = body.get("model", "gpt-4o")

        async def send(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> None:
            chunk = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": []
                if delta is None
                else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if usage is not None:
                chunk["usage"] = usage
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": ""})
        if step.stall:
            await asyncio.sleep(3600)
        wait = self.first_token_ms if step.first_token_ms is None else step.first_token_ms
        if wait:
            await asyncio.sleep(wait / 1000)
        completion = 0
        for piece in _pieces(step.text):
            await send({"content": piece})
            completion += 1
            if self.token_ms:
                await asyncio.sleep(self.token_ms / 1000)
        # Tool calls: the first piece of each carries id and name; the arguments come in pieces, interleaved
        # across calls, so a client must put them together by index.
        calls = [
            (i, f"call_{uuid.uuid4().hex[:10]}", name, json.dumps(args))
            for i, (name, args) in enumerate(step.tool_calls)
        ]
        for index, call_id, name, _ in calls:
            await send(
                {
                    "tool_calls": [
                        {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                    ]
                }
            )
        longest = max((len(a) for *_, a in calls), default=0)
        for start in range(0, longest, 7):
            for index, _, _, arguments in calls:
                if start < len(arguments):
                    piece = arguments[start : start + 7]
                    await send({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                    completion += 1
        await send({}, finish="tool_calls" if calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt = sum(len(json.dumps(m)) for m in body.get("messages", [])) // 4
            usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
            self.usage_sent.append(usage)
            await send(None, usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _pieces(text: str) -> list[str]:
    """Roughly token-sized pieces: words with their leading space."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words) if w or i == 0] if text else []


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": None}}, status=status)


def tool_messages(request: dict) -> list[dict]:
    """The tool results a request carries, newest last, with their content parsed."""
    out = []
    for message in request.get("messages", []):
        if message.get("role") == "tool":
            out.append({**message, "content": json.loads(message["content"])})
    return out


def last_tool_result(request: dict, name: str | None = None) -> dict:
    """The newest tool result in a request (of the tool `name`, found through the assistant's tool calls)."""
    names: dict[str, str] = {}
    for message in request.get("messages", []):
        for tc in message.get("tool_calls") or []:
            names[tc["id"]] = tc["function"]["name"]
    for message in reversed(tool_messages(request)):
        if name is None or names.get(message["tool_call_id"]) == name:
            return message["content"]
    raise LookupError(f"no {name or 'tool'} result in the request")
