"""`make run`: web (daphne), Celery worker and Celery beat on the embedded default, in one terminal.

Ctrl-C stops all three; if one of them dies, the others are stopped too. `make run` turns DEBUG on, so the web
process listens on loopback only (HOST, default 127.0.0.1) unless ALLOW_DEBUG_ON_NETWORK=true.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")


def _processes() -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "-m", "bartsvoice.web", "-b", HOST, "-p", PORT, "bartsvoice.asgi:application"],
        "worker": [python, "-m", "celery", "-A", "bartsvoice", "worker", "--pool", "threads", "-c", "2", "-l", "info"],
        "beat": [python, "-m", "celery", "-A", "bartsvoice", "beat", "-l", "info"],
    }


def main() -> int:
    from bartsvoice.bind_guard import bind_refusal
    from bartsvoice.env import env_bool

    refusal = bind_refusal([HOST], debug=env_bool("DEBUG", False), allowed=env_bool("ALLOW_DEBUG_ON_NETWORK", False))
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    (BASE_DIR / "var" / "broker").mkdir(parents=True, exist_ok=True)
    (BASE_DIR / "var" / "broker-control").mkdir(parents=True, exist_ok=True)
    # Fixed argv lists built above, no shell, no user input.
    children = {name: subprocess.Popen(cmd, cwd=BASE_DIR) for name, cmd in _processes().items()}  # noqa: S603
    print(
        f"\nbartsvoice is starting at http://{HOST}:{PORT}/admin/  (softphone: http://{HOST}:{PORT}/calls/softphone/)\n"
        "Demo logins were printed above by seed_demo. Ctrl-C stops web, worker and beat.\n",
        flush=True,
    )
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, proc in children.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping the others.", file=sys.stderr)
                exit_code = proc.returncode or 1
                stopping = True
                break
        time.sleep(0.5)
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
