"""How close does the encrypted store come to raw AES-GCM on 30-second chunks?

Encrypt+store and load+decrypt of ~480 KB chunks through the vault on the local backend (data key made and
wrapped, row recorded in SQLite, blob fsync'd and renamed; then looked up, unwrapped, read, authenticated and
checksummed), printed side by side with raw AESGCM on the same bytes in the same run.
Target: the store path reaches at least half of raw AES-GCM throughput.

    python bench/crypto_store.py [--chunks 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from compliance.crypto import ObjectIdentity
from compliance.keys import Keyring
from service.db import all_metadata, make_engine, transaction
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.storage import LocalStore

AUDIO = Path(__file__).resolve().parent.parent / "tests" / "data" / "caller_full_30s.wav"


def throughput(label: str, chunks: int, size: int, fn: Callable[[int], object], rounds: int) -> float:
    """Best-of-rounds MB/s of calling fn(i) for i in range(chunks)."""
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(chunks):
            fn(i)
        rates.append(chunks * size / (time.perf_counter() - start) / 1e6)
    best = max(rates)
    print(f"{label:<44} {best:9.1f} MB/s   (median {statistics.median(rates):.1f}, {chunks} x {size} B)")
    return best


def build(tmp: Path) -> Runtime:
    keyring = tmp / "keyring.json"
    Keyring.create(keyring)
    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    all_metadata().create_all(engine)
    engine.dispose()
    settings = Settings(_env_file=None, database_url=url, storage_url=f"file://{tmp / 'store'}", keyring=keyring)
    return build_runtime(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    audio = AUDIO.read_bytes()
    size = len(audio)

    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        runtime = build(Path(tmp))
        key = AESGCM.generate_key(bit_length=256)
        aead = AESGCM(key)
        nonce = os.urandom(12)
        sealed_raw = aead.encrypt(nonce, audio, b"aad")

        raw_enc = throughput(
            "raw AESGCM encrypt", args.chunks, size, lambda _i: aead.encrypt(os.urandom(12), audio, b"aad"), args.rounds
        )
        raw_dec = throughput(
            "raw AESGCM decrypt",
            args.chunks,
            size,
            lambda _i: aead.decrypt(nonce, sealed_raw, b"aad"),
            args.rounds,
        )

        floor_store = LocalStore(Path(tmp) / "floor")
        durable = throughput(
            "raw AESGCM encrypt + fsync'd atomic write",
            args.chunks,
            size,
            lambda i: floor_store.put(f"floor/{i}.bin", aead.encrypt(os.urandom(12), audio, b"aad")),
            args.rounds,
        )

        stored: list[tuple[ObjectIdentity, str, int, str]] = []
        round_no = {"n": 0}

        def put(i: int) -> None:
            identity = ObjectIdentity("recording", f"bench-call-{round_no['n']}", i + 1)
            storage_key = f"calls/{identity.call_id}/chunk-{i + 1:04d}.wav.bin"
            with transaction(runtime.sessions) as session:
                obj = runtime.vault.put(session, identity, storage_key, audio)
            stored.append((identity, storage_key, obj.data_key_id, obj.plaintext_sha256))
            if i == args.chunks - 1:
                round_no["n"] += 1

        def get(i: int) -> None:
            identity, storage_key, data_key_id, sha = stored[i]
            with transaction(runtime.sessions) as session:
                assert runtime.vault.get(session, identity, storage_key, data_key_id, sha) == audio

        store = throughput("vault put (key+wrap+row+seal+fsync write)", args.chunks, size, put, args.rounds)
        load = throughput("vault get (row+unwrap+read+open+sha256)", args.chunks, size, get, args.rounds)
        runtime.close()

    print()
    print(f"store path / raw encrypt: {store / raw_enc:.2f}   (target >= 0.50)")
    print(f"load path  / raw decrypt: {load / raw_dec:.2f}   (target >= 0.50)")
    print(f"store path / raw encrypt + durable write: {store / durable:.2f}")


if __name__ == "__main__":
    main()
