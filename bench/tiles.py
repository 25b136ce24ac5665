"""Tiles over HTTP, and how long a new checkpoint waits for its witness cosignature.

Question (issue #18): how fast does ``ppl serve`` answer C2SP tlog-tiles requests, and how
long after a checkpoint is signed does it carry a local witness's cosignature?

**Tiles.** A SQLite ledger with a few thousand events (approved filers, three events each),
sequenced and served by ``api.app.create_app`` under uvicorn on a loopback port, its
background loops on. One client with a keep-alive connection (urllib3) fetches hash tiles —
full level-0 tiles, partial tiles of the latest checkpoint, level-1 tiles, at random — and,
as the baseline in the same rounds, the JSON inclusion proof of a random leaf
(``GET /v1/log/proofs/inclusion``, what a client without tiles asks per entry). Rounds
alternate their order. Printed: requests/s (median of the rounds) and p99 latency of each;
the ratio of the last line is tiles/s over proofs/s (target 1.0: a tile — 256 hashes, enough
for a proof of any of 256 leaves — costs no more than one proof).

**Witnessing.** The same server's policy names a witness process written from the C2SP spec
(``tests/witness_peer/spec_witness.py``) on loopback. Each probe stores one event; the
service's loops sequence it, sign a checkpoint and submit it. The figure is the time from the
checkpoint's signature (``ppl_log_checkpoints.created_at``) to its cosignature's arrival
(``ppl_log_cosignatures.received_at``), both written by the service; the event → checkpoint
time is printed beside it, and one ``add-checkpoint`` round trip measured alone.

Run: ``.venv/bin/python -m bench.tiles`` (under a minute) or ``--full`` (more events and
rounds). Last line: ``ratio: <tiles/s ÷ proofs/s> (target 1.0)``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import urllib3

from api.app import create_app
from api.bootstrap import load_log_signer, open_ledger, open_transparency_log
from api.settings import Settings
from audit.log.tiles import TilePath, format_tile_path
from bench.common import machine_info, median
from tests.domain.factories import approved_filer, uscc
from tests.served import serve
from tests.witness_peer.peer import SpecWitness

TARGET = 1.0


def _settings(root: Path, **env: str) -> Settings:
    return Settings.from_environment(
        {
            "PPL_DATA_DIR": str(root / "data"),
            "PPL_DATABASE_URL": f"sqlite:///{root / 'ledger.sqlite3'}",
            "PPL_STATS_PUBLISH": "off",
            "PPL_RATE_EXPENSIVE_PER_ADDRESS": "1000000/minute",
            "PPL_RATE_WRITES_PER_ADDRESS": "1000000/minute",
            **env,
        }
    )


def _fill(settings: Settings, filers: int) -> int:
    ledger = open_ledger(settings)
    try:
        for number in range(filers):
            approved_filer(ledger, uscc(10_000 + number))
        log = open_transparency_log(ledger, settings)
        size = log.sequence()
        log.store.close()
    finally:
        ledger.close()
    assert size is not None  # noqa: S101
    return size.tree_size


def _tile_paths(size: int) -> list[str]:
    tiles = [TilePath(0, n) for n in range(size // 256)]
    if size % 256:
        tiles.append(TilePath(0, size // 256, size % 256))
    if 256 <= size < 65_536:
        tiles.append(TilePath(1, 0, size // 256))  # the partial level-1 tile
    return ["/tlog/" + format_tile_path(tile) for tile in tiles]


def _timed(http: urllib3.PoolManager, base: str, paths: Sequence[str]) -> list[float]:
    times = []
    for path in paths:
        start = time.perf_counter()
        response = http.request("GET", base + path, retries=False)
        times.append(time.perf_counter() - start)
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status} {response.data[:200]!r}")
    return times


def _p99(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def measure_tiles(base: str, size: int, rounds: int, per_round: int) -> tuple[list[float], ...]:
    http = urllib3.PoolManager(maxsize=1)
    rng = random.Random(18)
    tiles = _tile_paths(size)
    tile_rates: list[float] = []
    proof_rates: list[float] = []
    tile_times: list[float] = []
    proof_times: list[float] = []
    for number in range(rounds):
        tile_batch = [rng.choice(tiles) for _ in range(per_round)]
        proof_batch = [
            f"/v1/log/proofs/inclusion?leaf_index={rng.randrange(size)}" for _ in range(per_round)
        ]
        order: list[tuple[list[str], list[float], list[float]]] = [
            (tile_batch, tile_rates, tile_times),
            (proof_batch, proof_rates, proof_times),
        ]
        if number % 2:
            order.reverse()
        for batch, rates, times in order:
            elapsed = _timed(http, base, batch)
            rates.append(len(batch) / sum(elapsed))
            times.extend(elapsed)
    return tile_rates, proof_rates, tile_times, proof_times


def measure_witnessing(app_state: Any, probes: int) -> tuple[list[float], list[float]]:
    """(checkpoint → cosignature, event → checkpoint) seconds, one pair per probe."""
    ledger, log = app_state.ledger, app_state.log
    cosign: list[float] = []
    sequence: list[float] = []
    for number in range(probes):
        stored_at = time.time()
        approved_filer(ledger, uscc(90_000 + number))
        stored = ledger.recorder.max_notification_id()  # SQLite: ids are 1, 2, 3, … — no gaps
        deadline = time.monotonic() + 30
        while True:
            latest = log.store.latest_checkpoint()
            if latest is not None and latest.tree_size >= stored:
                cosignatures = log.witnesses.cosignatures(latest.tree_size, latest.root)
                if cosignatures:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("no cosigned checkpoint within 30 s")
            time.sleep(0.002)
        signed = datetime.fromisoformat(latest.created_at).timestamp()
        received = datetime.fromisoformat(cosignatures[0].received_at).timestamp()
        cosign.append(received - signed)
        sequence.append(max(signed - stored_at, 0.0))
    return cosign, sequence


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="more events and rounds")
    args = parser.parse_args(argv)
    filers, rounds, per_round, probes = (3000, 15, 400, 60) if args.full else (700, 7, 150, 15)
    info = machine_info()
    print(f"machine: {info}")
    with tempfile.TemporaryDirectory(prefix="ppl-bench-tiles-") as scratch:
        root = Path(scratch)
        base_settings = _settings(root)
        started = time.perf_counter()
        size = _fill(base_settings, filers)
        print(f"store: SQLite, {size} events sequenced in {time.perf_counter() - started:.1f} s")
        log_vkey = load_log_signer(base_settings).verifier_key_string()
        witness = SpecWitness(root / "witness", "witness.bench/w1", [log_vkey]).start()
        policy = root / "policy"
        policy.write_text(f"{witness.policy_line()}\nquorum witness.bench-w1\n")
        settings = _settings(
            root, PPL_WITNESS_POLICY=str(policy), PPL_SEQUENCE_INTERVAL="0.05",
            PPL_PROJECTION_INTERVAL="0",
        )  # fmt: skip
        app = create_app(settings)
        try:
            with serve(app) as base:
                tile_rates, proof_rates, tile_times, proof_times = measure_tiles(
                    base, size, rounds, per_round
                )
                cosign, sequence = measure_witnessing(app.state, probes)
        finally:
            witness.stop()
    tiles_per_s, proofs_per_s = median(tile_rates), median(proof_rates)
    print(
        f"tiles:  {tiles_per_s:8.0f} requests/s (median of {rounds} rounds), "
        f"p99 {_ms(_p99(tile_times))}"
    )
    print(
        f"proofs: {proofs_per_s:8.0f} requests/s (median of {rounds} rounds), "
        f"p99 {_ms(_p99(proof_times))}  (baseline)"
    )
    print(
        f"checkpoint → cosigned (local witness, {probes} checkpoints): median "
        f"{_ms(statistics.median(cosign))}, p99 {_ms(_p99(cosign))}; event → checkpoint: median "
        f"{_ms(statistics.median(sequence))} (sequence interval 50 ms)"
    )
    ratio = tiles_per_s / proofs_per_s
    print(f"ratio: {ratio:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
