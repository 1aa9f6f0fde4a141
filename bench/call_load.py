"""How fast does the call loop answer Twilio under load?

N concurrent emulated calls (100 by default) against one `hotline serve` on SQLite, side by side in the same run
with a bare Litestar route returning constant TwiML, served the same way (uvicorn, one process) and driven by
the same number of concurrent clients.

Prints recording-webhook p50/p99 for both, and the turn overhead: time from the recording webhook to the
reply being playable, minus the responder's own (simulated) delay. Targets: webhook p99 under 5x the bare
route's p99 and under 100 ms; turn overhead p95 under 300 ms; zero failed webhooks; zero chunks lost.

    python bench/call_load.py [--calls 100] [--chunks 2] [--delay 2.0] [--burst]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from service.emulator import CallEmulator, CallReport, CallScript, MediaServer, twilio_signature, wav_seconds

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "0" * 32
TOKEN = "bench-token-not-secret"
HOTLINE = str(Path(sys.executable).parent / "hotline")
BARE_APP = """
from litestar import Litestar, post
from litestar.response import Response
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Redirect method="POST">http://x/</Redirect></Response>'
@post("/twilio/recording/{call_id:str}/")
async def recording(call_id: str) -> Response[str]:
    return Response(TWIML, media_type="application/xml", status_code=200)
app = Litestar([recording], logging_config=None)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
        except httpx.HTTPError:
            time.sleep(0.2)
        else:
            return
    raise SystemExit(f"server at {url} did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def bare_route(calls: int, per_call: int, *, realtime: bool, seconds: float) -> list[float]:
    """Latency of the bare constant-TwiML route, driven with the same concurrency and arrival pattern."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bare_app.py").write_text(BARE_APP)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--no-access-log",
             "--log-level", "warning"],
            cwd=tmp,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/twilio/recording/bench/"
            wait_ready(url)
            params = {
                "CallSid": "CA" + "1" * 32,
                "RecordingSid": "RE" + "1" * 32,
                "RecordingUrl": "http://x/",
                "Digits": "",
            }
            headers = {"X-Twilio-Signature": twilio_signature(TOKEN, url, params)}

            rng = random.Random(7)
            starts = [rng.uniform(0, seconds) if realtime else 0.0 for _ in range(calls)]

            def one_client(n: int) -> list[float]:
                out = []
                time.sleep(starts[n])
                with httpx.Client(timeout=15) as client:
                    for _ in range(per_call):
                        time.sleep(seconds if realtime else 0.0)
                        began = time.perf_counter()
                        client.post(url, data=params, headers=headers).raise_for_status()
                        out.append(time.perf_counter() - began)
                return out

            with ThreadPoolExecutor(calls) as pool:
                return [x for batch in pool.map(one_client, range(calls)) for x in batch]
        finally:
            server.terminate()
            server.wait(10)


def loop_run(calls: int, chunks: int, delay: float, workdir: Path, *, realtime: bool) -> tuple[list[CallReport], Path]:
    """Emulated calls against a real `hotline serve`."""
    port = free_port()
    with MediaServer(ACCOUNT_SID, TOKEN) as media:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
            "HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "HOTLINE_TWILIO_AUTH_TOKEN": TOKEN,
            "HOTLINE_TWILIO_MEDIA_HOSTS": media.host_port,
            "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HOTLINE_SIMULATED_DELAY_S": str(delay),
            "HOTLINE_LOG_LEVEL": "WARNING",
        }
        subprocess.run([HOTLINE, "keys", "init"], cwd=workdir, env=env, check=True, capture_output=True)
        subprocess.run([HOTLINE, "db", "upgrade"], cwd=workdir, env=env, check=True, capture_output=True)
        server = subprocess.Popen([HOTLINE, "serve", "--port", str(port)], cwd=workdir, env=env)
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz")
            audio = (ROOT / "tests" / "data" / "caller_en_1.wav").read_bytes()

            seconds = wav_seconds(audio)
            rng = random.Random(7)

            def one_call(_n: int) -> CallReport:
                emulator = CallEmulator(f"http://127.0.0.1:{port}", ACCOUNT_SID, TOKEN, media)
                # Real time: callers speak for as long as the audio lasts and calls start spread over one chunk,
                # as concurrent calls do; burst: every chunk of every call arrives at once (the worst case).
                script = CallScript(
                    audio=[audio], chunks=chunks, pause_scale=1.0, speak_scale=1.0 if realtime else 0.0,
                    start_delay_s=rng.uniform(0, seconds) if realtime else 0.0,
                )  # fmt: skip
                try:
                    return emulator.run(script)
                finally:
                    emulator.client.close()

            with ThreadPoolExecutor(calls) as pool:
                reports = list(pool.map(one_call, range(calls)))
            time.sleep(1.0)  # let the last background stores commit
        finally:
            server.terminate()
            server.wait(30)
    return reports, workdir / "var" / "hotline.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=2)
    parser.add_argument("--delay", type=float, default=2.0, help="simulated responder delay (s)")
    parser.add_argument(
        "--burst", action="store_true", help="all chunks at once instead of callers speaking in real time"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hotline-load-") as tmp:
        reports, db = loop_run(args.calls, args.chunks, args.delay, Path(tmp), realtime=not args.burst)
        with sqlite3.connect(db) as connection:
            stored = connection.execute(
                "SELECT count(*) FROM recording_chunks WHERE storage_state = 'stored'"
            ).fetchone()[0]
            server_side = [
                row[0] * 86400 - args.delay
                for row in connection.execute(
                    "SELECT julianday(response_ready_at) - julianday(recorded_at) FROM recording_chunks"
                    " WHERE response_ready_at IS NOT NULL"
                )
            ]
    seconds = wav_seconds((ROOT / "tests" / "data" / "caller_en_1.wav").read_bytes())
    bare = bare_route(args.calls, args.chunks, realtime=not args.burst, seconds=seconds)

    webhook = [x for r in reports for x in r.recording_webhook_s]
    overhead = [x - args.delay for r in reports for x in r.turn_s]
    failed = sum(len(r.failed_webhooks) for r in reports)
    dropped = sum(r.dropped for r in reports)
    recorded = sum(r.chunks_recorded for r in reports)
    mode = "burst: every chunk at once" if args.burst else "callers speaking in real time"
    print(f"{args.calls} concurrent calls x {args.chunks} chunks ({mode}), simulated AI delay {args.delay:.1f} s")
    print(f"{'':32}{'p50 ms':>10}{'p99 ms':>10}{'n':>8}")
    for label, values in (("recording webhook (hotline)", webhook), ("bare constant-TwiML route", bare)):
        p50, p99 = percentile(values, 0.5) * 1e3, percentile(values, 0.99) * 1e3
        print(f"{label:32}{p50:10.1f}{p99:10.1f}{len(values):8}")
    ratio = percentile(webhook, 0.99) / percentile(bare, 0.99)
    print(f"webhook p99 / bare p99: {ratio:.2f}   (target < 5, and p99 < 100 ms)")
    print(f"turn overhead p50 {percentile(overhead, .5) * 1e3:.0f} ms, p95 {percentile(overhead, .95) * 1e3:.0f} ms"
          f"   (target p95 < 300 ms; n={len(overhead)})")  # fmt: skip
    print(f"failed webhooks: {failed}   dropped calls: {dropped}   chunks recorded: {recorded}   stored: {stored}"
          f"   lost: {recorded - stored}")  # fmt: skip
    p50, p95 = percentile(server_side, 0.5) * 1e3, percentile(server_side, 0.95) * 1e3
    print(f"server side, chunk registered -> reply stored, minus AI delay: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    turns = [t for r in reports for t in r.turn_s]
    print(f"median turn (reply playable after the recording webhook): {statistics.median(turns):.2f} s")


if __name__ == "__main__":
    main()
