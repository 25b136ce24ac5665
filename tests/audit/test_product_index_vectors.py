"""Known-answer vectors of the product index v1 (tests/testdata/product_index_vectors.json).

A small log written out event by event — filings, their key reservations under both rules, a
withdrawal and re-filing (the key reassigned), a revision dropping a patent, an upheld claim
removing one, a filing number, two filings from before rule 2 that rule 2 calls one product —
and, for an implementation written from docs/product-index.md, every entry of both maps (key,
path, value bytes), the roots and the index note's text. The file was produced once by this
module (``python -m tests.audit.test_product_index_vectors`` writes it); the test checks the
reference builder still gives it byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from audit.offline.index_note import IndexNote, MapHead, format_index_note
from audit.offline.logged_event import LoggedEvent
from audit.offline.product_index import MAPS, IndexBuilder
from audit.offline.product_key import KeyRule, product_key
from audit.offline.sparse_map import map_root_of_digests, value_digest

VECTORS = Path(__file__).resolve().parents[1] / "testdata" / "product_index_vectors.json"
TOPIC = "domain.product:Product."
RESERVATION = "domain.reservation:ProductKeyReservation."
ORIGIN = "example.org/patent-product-ledger"
LOG_ROOT = hashlib.sha256(b"a log root").digest()


def _id(number: int) -> UUID:
    return UUID(int=number)


def _filed(name: str, model: str, filer: str, patents: list[str]) -> dict[str, Any]:
    return {
        "name": name, "model": model, "filer_uscc": filer, "data_year": 2024,
        "canonical_key": product_key(KeyRule.V1, name, model),
        "patents": [{"number": n, "relation": "owner"} for n in patents],
    }  # fmt: skip


def _reserved(name: str, model: str, rule: int, product: int, filer: str) -> dict[str, Any]:
    return {
        "canonical_key": product_key(KeyRule(rule), name, model), "key_rule": rule,
        "product_id": _id(product), "filer_uscc": filer,
    }  # fmt: skip


A, B = "91310115000000001X", "91310115000000002Y"


def vector_log() -> list[LoggedEvent]:
    """(aggregate number, version, topic, state) of each event, in log order."""
    script: list[tuple[int, int, str, dict[str, Any]]] = [
        # two filings from before key rule 2 (rule-1 reservations only): one product under 2
        (1, 1, TOPIC + "ProductFiled", _filed("控制阀", "KV-1", A, ["202110000001.0"])),
        (101, 1, RESERVATION + "ProductKeyReserved",
         {k: v for k, v in _reserved("控制阀", "KV-1", 1, 1, A).items() if k != "key_rule"}),
        (2, 1, TOPIC + "ProductFiled", _filed("控制閥", "KV-1", B, ["202110000002.9"])),
        (102, 1, RESERVATION + "ProductKeyReserved", _reserved("控制閥", "KV-1", 1, 2, B)),
        # a filing under both rules, approved with its number, revised, a claim upheld
        (3, 1, TOPIC + "ProductFiled",
         _filed("智能温控阀", "TV-100", A, ["202110000001.0", "202110000003.7"])),
        (103, 1, RESERVATION + "ProductKeyReserved", _reserved("智能温控阀", "TV-100", 1, 3, A)),
        (104, 1, RESERVATION + "ProductKeyReserved", _reserved("智能温控阀", "TV-100", 2, 3, A)),
        (3, 2, TOPIC + "FilingApproved", {}),
        (3, 3, TOPIC + "FilingNumberAssigned", {"filing_number": "2024-310115-00001"}),
        (3, 4, TOPIC + "ProductRevised",
         {"data_year": 2025, "patents": [{"number": "202110000003.7"},
                                         {"number": "202110000004.5"}]}),
        (3, 5, TOPIC + "FilingApproved", {}),
        (3, 6, TOPIC + "OwnershipDisputeRaised", {}),
        (3, 7, TOPIC + "OwnershipDisputeResolved",
         {"removed_patents": ["202110000004.5"], "returned_to_review": False}),
        # withdrawn and filed again by its filer: the keys move to the re-filing
        (4, 1, TOPIC + "ProductFiled", _filed("温度传感器", "TS-9", B, ["202110000002.9"])),
        (105, 1, RESERVATION + "ProductKeyReserved", _reserved("温度传感器", "TS-9", 1, 4, B)),
        (106, 1, RESERVATION + "ProductKeyReserved", _reserved("温度传感器", "TS-9", 2, 4, B)),
        (4, 2, TOPIC + "ProductWithdrawn", {}),
        (5, 1, TOPIC + "ProductFiled", _filed("温度传感器", "ＴＳ－９", B, ["202110000002.9"])),
        (105, 2, RESERVATION + "ProductKeyReassigned",
         {"previous_product_id": _id(4), "product_id": _id(5)}),
        (106, 2, RESERVATION + "ProductKeyReassigned",
         {"previous_product_id": _id(4), "product_id": _id(5)}),
    ]  # fmt: skip
    return [
        LoggedEvent(leaf, _id(aggregate), version, topic, state)
        for leaf, (aggregate, version, topic, state) in enumerate(script)
    ]


def compute() -> dict[str, Any]:
    builder = IndexBuilder()
    events = vector_log()
    for event in events:
        builder.apply(event)
    maps: dict[str, Any] = {}
    heads: dict[bytes, MapHead] = {}
    for map_id in MAPS:
        entries = sorted(builder.entries(map_id), key=lambda entry: entry[1])
        digests = {path: value_digest(value) for _, path, value in entries}
        root = map_root_of_digests(digests)
        heads[map_id] = MapHead(len(entries), root)
        maps[map_id.decode()] = {
            "root": root.hex(),
            "entries": [
                {"key": key.decode("utf-8"), "path": path.hex(), "value": value.decode("utf-8")}
                for key, path, value in entries
            ],
        }
    note = IndexNote(ORIGIN, len(events), LOG_ROOT, heads)
    return {
        "log": [
            {
                "leaf_index": e.leaf_index, "originator_id": str(e.originator_id),
                "version": e.version, "topic": e.topic,
                "state": json.loads(json.dumps(e.state, default=str)),
            }
            for e in events
        ],
        "maps": maps,
        "index_note": {
            "origin": ORIGIN, "tree_size": len(events),
            "log_root": base64.b64encode(LOG_ROOT).decode(), "text": format_index_note(note),
        },
    }  # fmt: skip


def test_the_reference_gives_the_vectors_byte_for_byte():
    stored = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert compute() == stored


def test_the_vectors_cover_what_the_spec_describes():
    stored = json.loads(VECTORS.read_text(encoding="utf-8"))
    values = [json.loads(e["value"]) for e in stored["maps"]["product-keys"]["entries"]]
    assert any(v["holder"] is None and len(v["filings"]) == 2 for v in values)  # before v2
    assert any(v["reservation"] and len(v["reservation"]["leaves"]) == 2 for v in values)
    patents = [json.loads(e["value"]) for e in stored["maps"]["patents"]["entries"]]
    assert any(p["lost"] for p in patents)
    assert any(p["formerly"] for p in patents)
    assert stored["index_note"]["text"].startswith("ppl-product-index/v1\n")


if __name__ == "__main__":
    VECTORS.write_text(
        json.dumps(compute(), ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8"
    )
    sys.stderr.write(f"wrote {VECTORS}\n")
