"""RFC 6962 hashing and inclusion proofs against the transparency-dev vectors.

The vectors in ../shared/vectors/rfc6962/inclusion were copied unchanged from
transparency-dev/merkle testdata (commit 417fb0c); each file says whether it must verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.offline.errors import VerificationError
from audit.offline.rfc6962 import (
    EMPTY_ROOT,
    inclusion_paths,
    leaf_hash,
    root_from_inclusion_proof,
    tree_root,
    verify_inclusion,
)
from tests.audit.test_consistency import reference_mth

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "rfc6962"
REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 read literally: leaves hashed here, the tree by the shared reference."""
    return reference_mth([hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves])


def test_roots_reproduce_the_rfc_reference_values():
    assert tree_root([]) == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    # From ../shared/vectors/README.md: root of the 8 reference leaves.
    assert tree_root([leaf_hash(d) for d in REFERENCE_LEAVES]).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=40))
def test_every_leaf_path_leads_to_the_root(leaves):
    hashes = [leaf_hash(d) for d in leaves]
    root, paths = inclusion_paths(hashes)
    assert root == tree_root(hashes) == _reference_root(leaves)
    for index, path in enumerate(paths):
        verify_inclusion(index, len(hashes), hashes[index], path, root)


def _inclusion_files() -> list[Path]:
    return sorted((VECTORS / "inclusion").rglob("*.json"))


def test_all_inclusion_vectors_are_present():
    assert len(_inclusion_files()) > 50


@pytest.mark.parametrize("path", _inclusion_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_inclusion_vector(path):
    vector = json.loads(path.read_text())

    def b64(value):
        return base64.b64decode(value) if value is not None else b""

    arguments = (
        vector["leafIdx"],
        vector["treeSize"],
        b64(vector["leafHash"]),
        [b64(h) for h in vector["proof"] or []],
        b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(VerificationError):
            verify_inclusion(*arguments)
    else:
        verify_inclusion(*arguments)
        assert root_from_inclusion_proof(*arguments[:4]) == arguments[4]
