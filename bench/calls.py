"""Concurrent simulated phone calls over real WebSockets against daphne; prints latency and capacity figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_calls REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/calls.py --calls 50 --providers instant

By default it starts daphne itself (migrating the database first), pinned to core 0 with `taskset`,
and pins itself to core 1, so the figures are those of one daphne process on one core. Each call
streams 20 ms µ-law frames continuously in real time (as Twilio does), lets the agent greet, then
speaks `--turns` caller turns, and once barges in over the agent.

With `--providers fakes` the server uses the cloud stack (Deepgram listen + speak, OpenAI) against the local fakes
of the test suite (calls/tests/fake_deepgram.py, fake_openai.py), run in a process of their own on the load
generator's core, at realistic latencies (`--fake-latency realistic`: STT final 300 ms after the end of speech or a
Finalize, LLM first token 400 ms, TTS first audio 200 ms) or none (`--fake-latency zero`, for the greeting).

Figures (p50/p95/p99, ms), all measured on the caller's side of the socket unless said otherwise:
- greeting: `start` sent -> first agent audio received;
- response (reply latency): the caller's last speech frame sent -> first agent audio frame received;
- with fakes, response minus the fakes' nominal latency (turn detection + our own code);
- overhead: response minus the end-of-turn wait and the time spent inside STT/brain/TTS (read from the Turn rows
  the server wrote), i.e. what our own code adds;
- barge-in: onset of caller speech over the agent -> `clear` received;
- silence inside a reply: per agent reply (the greeting, each answer, the answer after the barge-in), the
  longest stretch between its first and last audio in which the caller heard nothing (the simulated phone's
  play clock ran dry before the next audio arrived);
- CPU (% of one core) and memory (RSS MiB) of the daphne process, per call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _line(name: str, values: list[float], unit: str = "ms") -> str:
    if not values:
        return f"{name:<28} (no samples)"
    return (
        f"{name:<28} n={len(values):<5} p50={_pct(values, 50):8.1f} p95={_pct(values, 95):8.1f} "
        f"p99={_pct(values, 99):8.1f} max={max(values):8.1f} {unit}"
    )


def _setup_django():
    import django

    django.setup()


def _prepare_calls(n: int, caller: str) -> list[tuple[str, str]]:
    from calls.models import Call
    from calls.services import start_call
    from calls.stream_tokens import mint_stream_token
    from crm.services import find_customer_by_phone

    customer = find_customer_by_phone(caller)
    out = []
    for _ in range(n):
        sid = f"CA{uuid.uuid4().hex}"
        start_call(
            call_sid=sid,
            from_number=caller,
            to_number="+13125550100",
            direction=Call.Direction.INBOUND,
            transport=Call.Transport.TWILIO,
            customer=customer,
        )
        out.append((sid, mint_stream_token(call_sid=sid, ttl=600)))
    return out


def _trim(ulaw: bytes) -> bytes:
    """Cut leading and trailing non-speech (as the server's VAD classifies it), so "end of caller audio"
    is the end of the speech itself and the endpointing wait starts exactly there."""
    from calls.voice.vad import SpeechDetector

    detector = SpeechDetector()
    frames = [ulaw[i : i + 160] for i in range(0, len(ulaw) - 159, 160)]
    voiced = [i for i, frame in enumerate(frames) if detector.is_speech_frame(frame)]
    return b"".join(frames[voiced[0] : voiced[-1] + 1]) if voiced else ulaw


def _speech_clips() -> dict[str, bytes]:
    from calls.voice.providers.espeak import synthesize_ulaw

    return {
        "question": _trim(synthesize_ulaw("What time do you open on Saturday?")),
        "barge": _trim(synthesize_ulaw("Wait, sorry, one more question about that please.")),
    }


QUIET_S = 2.5  # nothing heard for this long after the played end: the reply is over (longer than any gap seen)


def longest_silence(media: list[tuple[float, int]], start: float, end: float) -> float:
    """Longest silence (s) between the first and the last audio received in [start, end), on the play clock of
    a phone that plays each chunk as soon as it arrives and the previous one has played."""
    play_end = 0.0
    longest = 0.0
    for arrived, size in media:
        if not start <= arrived < end:
            continue
        if play_end and arrived > play_end:
            longest = max(longest, arrived - play_end)
        play_end = max(arrived, play_end) + size / 8000
    return longest


class CallResult:
    def __init__(self):
        self.greeting_ms: float | None = None
        self.response_ms: list[float] = []
        self.barge_ms: list[float] = []
        self.reply_silence_ms: list[tuple[str, float]] = []  # per reply (kind, longest silence inside it)
        self.error = ""
        self.call_sid = ""
        self.seconds = 0.0  # connected (streaming audio) for this long


async def _one_call(url: str, sid: str, token: str, clips: dict[str, bytes], turns: int, barge: bool) -> CallResult:
    from calls.voice.transports.twilio_client import TwilioStreamClient

    result = CallResult()
    result.call_sid = sid
    client = TwilioStreamClient(url, call_sid=sid, token=token)
    began = time.monotonic()
    try:
        await client.connect(send_start=False)
        client.start_pump()
        t_start = await client.start()
        first = await client.wait_for_media_after(t_start, timeout=15)
        if first is None:
            result.error = "no greeting"
            return result
        result.greeting_ms = (first - t_start) * 1000
        await client.wait_agent_quiet(timeout=30, settle=QUIET_S)
        silence = longest_silence(client.heard.media, t_start, time.monotonic()) * 1000
        result.reply_silence_ms.append(("greeting", silence))
        for _ in range(turns):
            client.end_agent_turn()
            _, last = await client.say(clips["question"])
            reply = await client.wait_for_media_after(last, timeout=30)
            if reply is None:
                result.error = "no reply"
                return result
            result.response_ms.append((reply - last) * 1000)
            await client.wait_agent_quiet(timeout=60, settle=QUIET_S)
            silence = longest_silence(client.heard.media, last, time.monotonic()) * 1000
            result.reply_silence_ms.append(("answer", silence))
        if barge:
            client.end_agent_turn()
            _, last = await client.say(clips["question"])
            reply = await client.wait_for_media_after(last, timeout=30)
            if reply is not None:
                await asyncio.sleep(0.3)  # the agent is talking now
                clears_before = len(client.heard.clears)
                onset = time.monotonic()
                speaking = asyncio.ensure_future(client.say(clips["barge"]))
                deadline = time.monotonic() + 5
                while len(client.heard.clears) == clears_before and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                if len(client.heard.clears) > clears_before:
                    result.barge_ms.append((client.heard.clears[-1] - onset) * 1000)
                _, last = await speaking
                await client.wait_agent_quiet(timeout=60, settle=QUIET_S)
                silence = longest_silence(client.heard.media, last, time.monotonic()) * 1000
                result.reply_silence_ms.append(("after barge-in", silence))
        await client.stop()
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        await client.stop_pump()
        await client.close()
        result.seconds = time.monotonic() - began
    return result


async def _run_calls(url, prepared, clips, turns, barge, ramp_s):
    tasks = []
    for i, (sid, token) in enumerate(prepared):
        tasks.append(asyncio.ensure_future(_one_call(url, sid, token, clips, turns, barge)))
        if ramp_s:
            await asyncio.sleep(ramp_s / max(1, len(prepared)))
        if i % 50 == 49:
            await asyncio.sleep(0)
    return await asyncio.gather(*tasks)


def _server_turn_figures(call_sids: list[str]) -> dict[str, tuple[float, float]]:
    """Per answered caller turn (by index): (time inside STT/brain/TTS, time from the caller's last speech to the
    start of the answer as the server saw it)."""
    from calls.models import Turn

    rows = Turn.objects.filter(
        call__call_sid__in=call_sids, role="agent", stt_ms__isnull=False, provider_ms__isnull=False
    ).values_list("call__call_sid", "index", "provider_ms", "stt_ms")
    return {f"{sid}:{index}": (float(ms), float(stt)) for sid, index, ms, stt in rows}


FAKE_LATENCY = {  # ms: STT final after end of speech / Finalize, LLM first token, TTS first audio
    "realistic": {"stt": 300, "llm": 400, "tts": 200},
    "zero": {"stt": 0, "llm": 0, "tts": 0},
}
BENCH_ANSWER = "We're open Saturday from eight to one. Anything else I can help with?"


def _serve_fakes(clips: dict[str, tuple[bytes, str]], latency: dict[str, int], core: int | None, conn) -> None:
    """In a process of its own: the Deepgram and OpenAI fakes, until the parent closes the pipe."""
    import asyncio as aio

    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    from calls.tests.fake_deepgram import FakeDeepgram
    from calls.tests.fake_openai import FakeOpenAI, say

    async def main():
        deepgram = FakeDeepgram(finalize_ms=latency["stt"], tts_first_audio_ms=latency["tts"])
        for audio, text in clips.values():
            deepgram.teach(audio, text)
        openai = FakeOpenAI(first_token_ms=latency["llm"], default=lambda request: say(BENCH_ANSWER))
        await deepgram.start()
        await openai.start()
        conn.send((deepgram.base_url, deepgram.api_key, openai.base_url, openai.api_key))
        loop = aio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # returns (or raises) when the parent is done

    with contextlib.suppress(EOFError, KeyboardInterrupt):
        aio.run(main())


def _start_fakes(clips, latency: dict[str, int], core: int | None):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_fakes, args=(clips, latency, core, child), daemon=True)
    proc.start()
    if not parent.poll(60):
        proc.kill()
        raise SystemExit("the fakes did not start")
    deepgram_url, deepgram_key, openai_url, openai_key = parent.recv()
    env = {
        "VOICE_STT": "deepgram", "VOICE_TTS": "deepgram", "VOICE_BRAIN": "openai",
        "DEEPGRAM_API_KEY": deepgram_key, "DEEPGRAM_BASE_URL": deepgram_url,
        "OPENAI_API_KEY": openai_key, "OPENAI_BASE_URL": openai_url,
    }  # fmt: skip
    return proc, parent, env


def _start_server(
    port: int, providers: str, core: int | None, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    env = dict(os.environ)
    if providers == "instant":
        env.update(VOICE_STT="instant", VOICE_TTS="instant", VOICE_BRAIN="instant")
    elif providers == "offline":
        env.update(VOICE_STT="sphinx", VOICE_TTS="espeak", VOICE_BRAIN="rules")
    env.update(extra_env or {})
    env.setdefault("METRICS_TOKEN", METRICS_TOKEN)  # read back at the end: how many replies were anticipated
    env.setdefault("VOICE_REPROMPT_SECONDS", "60")  # calls wait their turn to connect: no reprompt over them
    env["LOG_LEVEL"] = "WARNING"
    cmd = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--access-log", os.devnull]
    cmd.append("bartsvoice.asgi:application")
    if core is not None:
        cmd = ["taskset", "-c", str(core), *cmd]
    import socket

    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is taken: pass --port")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("daphne did not start")


METRICS_TOKEN = "bench-calls"  # noqa: S105 - the bench's own server, on 127.0.0.1


def _anticipated(port: int) -> dict[str, int]:
    """The server's count of replies started on interim words, by result (from its /metrics)."""
    import re
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http to 127.0.0.1
            text = response.read().decode()
    except OSError:
        return {}
    found = re.findall(r'^bartsvoice_anticipated_replies_total\{result="(\w+)"\} ([0-9.]+)$', text, re.M)
    return {result: int(float(value)) for result, value in found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--providers", choices=("instant", "offline", "fakes"), default="instant")
    parser.add_argument("--fake-latency", choices=tuple(FAKE_LATENCY), default="realistic")
    parser.add_argument("--no-barge", action="store_true")
    parser.add_argument(
        "--no-anticipate",
        action="store_true",
        help="answer only final words (VOICE_ANTICIPATE=0): the figure before preemptive replies",
    )
    parser.add_argument("--url", help="media-stream URL of a running server (default: start one)")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--server-core", type=int, default=0, help="core for daphne (-1: no pinning)")
    parser.add_argument("--client-core", type=int, default=1, help="core for this load generator (-1: none)")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which calls start")
    parser.add_argument("--caller", default="+13125550142")
    args = parser.parse_args()

    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL (and DATABASE_URL): tokens minted here must be seen by the server.")
    if args.client_core >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_core})
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    server = None
    fakes = None
    url = args.url
    clips = _speech_clips()
    latency = FAKE_LATENCY[args.fake_latency]
    extra_env: dict[str, str] = {"VOICE_ANTICIPATE": "0"} if args.no_anticipate else {}
    if args.providers == "fakes":
        texts = {
            "question": "What time do you open on Saturday?",
            "barge": "Wait, sorry, one more question about that please.",
        }
        fakes = _start_fakes(
            {k: (clips[k], texts[k]) for k in clips}, latency, None if args.client_core < 0 else args.client_core
        )
        extra_env.update(fakes[2])
    if not url:
        server = _start_server(args.port, args.providers, None if args.server_core < 0 else args.server_core, extra_env)
        url = f"ws://127.0.0.1:{args.port}/ws/media-stream/"
    import psutil

    try:
        proc = psutil.Process(server.pid) if server else None
        prepared = _prepare_calls(args.calls, args.caller)
        me = psutil.Process()
        my_cpu0 = me.cpu_times()
        rss0 = proc.memory_info().rss if proc else 0
        cpu0 = proc.cpu_times() if proc else None
        t0 = time.monotonic()
        results = asyncio.run(_run_calls(url, prepared, clips, args.turns, not args.no_barge, args.ramp))
        wall = time.monotonic() - t0
        my_cpu1 = me.cpu_times()
        rss1 = proc.memory_info().rss if proc else 0
        cpu1 = proc.cpu_times() if proc else None
        anticipated = _anticipated(args.port) if server else {}
    finally:
        if server:
            server.terminate()
            server.wait(10)
        if fakes:
            fakes[1].close()
            fakes[0].join(5)
            if fakes[0].is_alive():
                fakes[0].kill()

    ok = [r for r in results if not r.error]
    errors = [r.error for r in results if r.error]
    provider = _server_turn_figures([r.call_sid for r in ok])
    endpoint = settings.VOICE_ENDPOINT_SILENCE_MS
    response, provider_ms, overhead, waited = [], [], [], []
    nominal = latency["stt"] + latency["llm"] + latency["tts"] if args.providers == "fakes" else None
    for r in ok:
        # Agent reply k (k = 1, 2, ...) is turn index 2k: greeting 0, caller 1, agent 2, caller 3, ...
        for k, ms in enumerate(r.response_ms, start=1):
            figures = provider.get(f"{r.call_sid}:{2 * k}")
            if figures is None:
                continue
            inside, stt_ms = figures
            response.append(ms)
            provider_ms.append(inside)
            if nominal is not None:
                # The turn ended on Deepgram's speech_final: the server's wait from the caller's last speech to the
                # answer (stt_ms) is the end-of-turn silence plus the STT final; the LLM and TTS waits are `inside`.
                waited.append(stt_ms)
                overhead.append(ms - stt_ms - inside)
            else:
                overhead.append(ms - endpoint - inside)
    label = f"{args.providers}" + (f" ({args.fake_latency} latency)" if args.providers == "fakes" else "")
    print(f"\nbench/calls.py: {args.calls} concurrent calls, providers={label}, turns={args.turns}")
    print(f"completed {len(ok)}/{len(results)} calls in {wall:.1f} s; errors: {len(errors)}")
    for err in sorted(set(errors))[:5]:
        print(f"  error: {err} (x{errors.count(err)})")
    print(_line("greeting", [r.greeting_ms for r in ok if r.greeting_ms is not None]))
    print(_line("response (end of speech->audio)", response))
    if nominal is not None:
        print(_line(f"response - fakes' {nominal} ms", [ms - nominal for ms in response]))
        print(_line("  end of turn + STT (server)", waited))
        print(_line("  inside brain+TTS (server)", provider_ms))
    else:
        print(_line("  inside STT+brain+TTS", provider_ms))
    print(_line("overhead (ours)", overhead))
    if anticipated:
        print(
            f"replies started on interim words: {anticipated.get('started', 0)}, used "
            f"{anticipated.get('used', 0)}, discarded {anticipated.get('discarded', 0)}"
        )
    print(_line("barge-in (onset->clear)", [ms for r in ok for ms in r.barge_ms]))
    silences = [ms for r in ok for _, ms in r.reply_silence_ms]
    print(_line("silence inside a reply", silences))
    over = [kind for r in ok for kind, ms in r.reply_silence_ms if ms > 100]
    print(
        f"replies with a silence over 100 ms: {len(over)}/{len(silences)} "
        f"({', '.join(f'{over.count(k)} {k}' for k in dict.fromkeys(over)) or 'none'}); "
        f"calls with one: {sum(1 for r in ok if any(ms > 100 for _, ms in r.reply_silence_ms))}/{len(ok)}"
    )
    mine = (my_cpu1.user + my_cpu1.system) - (my_cpu0.user + my_cpu0.system)
    print(f"load generator CPU: {100 * mine / wall:.1f}% of one core (figures are unreliable near 100%)")
    if cpu0 is not None:
        busy = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        print(
            f"daphne CPU: {100 * busy / wall:.1f}% of one core over the run "
            f"({100 * busy / wall / max(1, args.calls):.2f}% per call; {1000 * busy / max(1, args.calls):.0f} ms CPU "
            f"per call, {100 * busy / max(1e-9, sum(r.seconds for r in results)):.2f}% of a core per connected "
            f"call); RSS {rss1 / 2**20:.0f} MiB (+{(rss1 - rss0) / 2**20 / max(1, args.calls):.2f} MiB per call)"
        )


if __name__ == "__main__":
    main()
