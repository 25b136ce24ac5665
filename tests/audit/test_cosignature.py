"""Witness cosignatures (c2sp.org/tlog-cosignature) and the tlog-policy quorum, offline.

Cosignatures here are made by a small signer written from the spec in this file, Ed25519 and
ML-DSA-44, never by the module under test.
"""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey

from audit.offline.checkpoint import Checkpoint, sign_checkpoint
from audit.offline.cosignature import (
    MAX_CLOCK_SKEW,
    CosignerKey,
    WitnessPolicy,
    append_cosignatures,
    verified_cosignatures,
)
from audit.offline.errors import (
    InvalidCosignatureError,
    KeyConfigurationError,
    MalformedCheckpointError,
    WitnessQuorumError,
)
from audit.offline.note import NoteSigner
from audit.offline.verifier import exit_code

NOW = 1_780_000_000
LOG = NoteSigner("example.test/log", Ed25519PrivateKey.generate())
CHECKPOINT = Checkpoint("example.test/log", 7, hashlib.sha256(b"root").digest())
NOTE = sign_checkpoint(CHECKPOINT, LOG)
BODY = NOTE.split("\n\n")[0] + "\n"


class Witness:
    """A cosigner per the spec: Ed25519 (type 0x04) or ML-DSA-44 (type 0x06)."""

    def __init__(self, name: str, *, mldsa: bool = False) -> None:
        self.name = name
        self.mldsa = mldsa
        self.key = MLDSA44PrivateKey.generate() if mldsa else Ed25519PrivateKey.generate()
        public = self.key.public_key().public_bytes_raw()
        self.type = 6 if mldsa else 4
        digest = hashlib.sha256(name.encode() + b"\n" + bytes([self.type]) + public).digest()
        self.key_id = digest[:4]
        self.vkey = (
            f"{name}+{self.key_id.hex()}+{base64.b64encode(bytes([self.type]) + public).decode()}"
        )

    def line(
        self, timestamp: int = NOW, body: str = BODY, checkpoint: Checkpoint = CHECKPOINT
    ) -> str:
        if self.mldsa:
            message = (
                b"subtree/v1\n\x00" + bytes([len(self.name)]) + self.name.encode()
                + timestamp.to_bytes(8, "big") + bytes([len(checkpoint.origin)])
                + checkpoint.origin.encode() + (0).to_bytes(8, "big")
                + checkpoint.size.to_bytes(8, "big") + checkpoint.root
            )  # fmt: skip
        else:
            message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
        signature = self.key.sign(message)
        blob = self.key_id + timestamp.to_bytes(8, "big") + signature
        return f"\u2014 {self.name} {base64.b64encode(blob).decode()}\n"


A, B, C = Witness("w.test/a"), Witness("w.test/b"), Witness("w.test/c")


def _cosigned(*lines: str) -> str:
    return append_cosignatures(NOTE, lines)


def test_an_ed25519_cosignature_verifies_and_gives_its_timestamp():
    checkpoint, found = verified_cosignatures(
        _cosigned(A.line()), [CosignerKey.from_vkey(A.vkey)], now=NOW
    )
    assert checkpoint == CHECKPOINT
    assert [(c.witness.label, c.timestamp) for c in found] == [(f"w.test/a+{A.key_id.hex()}", NOW)]
    assert found[0].line == A.line()


def test_an_mldsa44_cosignature_verifies():
    witness = Witness("w.test/pq", mldsa=True)
    _, found = verified_cosignatures(
        _cosigned(witness.line()), [CosignerKey.from_vkey(witness.vkey)], now=NOW
    )
    assert [c.witness.algorithm for c in found] == [6]


def test_lines_of_unknown_keys_are_ignored_and_the_logs_own_line_too():
    _, found = verified_cosignatures(_cosigned(B.line()), [CosignerKey.from_vkey(A.vkey)], now=NOW)
    assert found == []


def test_a_line_with_a_witness_name_and_another_key_id_is_ignored():
    impostor = Witness("w.test/a")  # same name, another key: another key id
    _, found = verified_cosignatures(
        _cosigned(impostor.line()), [CosignerKey.from_vkey(A.vkey)], now=NOW
    )
    assert found == []


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (A.line(body=BODY.replace("\n7\n", "\n8\n")), "does not verify"),  # signed another tree
        (A.line(timestamp=2**63), r"at most 2\^63 - 1"),
    ],
)
def test_a_policy_witnesss_bad_line_fails_naming_the_witness(line, reason):
    with pytest.raises(InvalidCosignatureError, match=reason) as raised:
        verified_cosignatures(_cosigned(line), [CosignerKey.from_vkey(A.vkey)], now=NOW)
    assert raised.value.witness == f"w.test/a+{A.key_id.hex()}"
    assert raised.value.tree_size == 7
    assert exit_code(raised.value) == 24


@pytest.mark.parametrize(
    ("timestamp", "why"),
    [(0, "timestamp 0"), (NOW + MAX_CLOCK_SKEW + 1, "301 s in the future")],
)
def test_a_zero_or_future_timestamp_does_not_count_and_says_why(timestamp, why):
    ignored: list[str] = []
    _, found = verified_cosignatures(
        _cosigned(A.line(timestamp=timestamp)), [CosignerKey.from_vkey(A.vkey)], now=NOW,
        ignored=ignored,
    )  # fmt: skip
    assert found == []
    assert len(ignored) == 1
    assert why in ignored[0]
    policy = WitnessPolicy.k_of_n([A.vkey])
    with pytest.raises(WitnessQuorumError, match=f"not counted: w.test/a.*{why}"):
        policy.require(_cosigned(A.line(timestamp=timestamp)), now=NOW)


def test_one_witness_clock_cannot_make_a_met_quorum_unverifiable():
    # 1 of 2: a valid line, and one stamped far ahead by a faulty (or hostile) witness
    policy = WitnessPolicy.k_of_n([A.vkey, B.vkey], 1)
    ahead = B.line(timestamp=NOW + 10 * MAX_CLOCK_SKEW)
    (counted,) = policy.require(_cosigned(A.line(), ahead), now=NOW)
    assert counted.witness.name == "w.test/a"


def test_a_cosignature_within_the_clock_skew_is_accepted():
    line = A.line(timestamp=NOW + MAX_CLOCK_SKEW)
    _, found = verified_cosignatures(_cosigned(line), [CosignerKey.from_vkey(A.vkey)], now=NOW)
    assert len(found) == 1


def test_a_truncated_cosignature_is_invalid():
    blob = base64.b64decode(A.line().split(" ")[2])[:-1]
    line = f"\u2014 w.test/a {base64.b64encode(blob).decode()}\n"
    with pytest.raises(InvalidCosignatureError, match="has 71 bytes, want 72"):
        verified_cosignatures(_cosigned(line), [CosignerKey.from_vkey(A.vkey)], now=NOW)


MALFORMED_WITNESS_KEYS = [
    ("no-plus-signs", "want <name>"),
    (A.vkey.replace(A.key_id.hex(), "00000000"), "but the name, type and key give"),
    (A.vkey.replace(f"+{A.key_id.hex()}+", "+xyz+"), "want 8 hex"),
    (A.vkey[:-4] + "!!!!", "not standard base64"),
    (LOG.verifier_key_string(), "signature type 0x01"),  # a log key is not a cosigner key
    (f"w+00000000+{base64.b64encode(bytes([4]) + bytes(31)).decode()}", "want 32 bytes"),
    (f"+00000000+{base64.b64encode(bytes([4]) + bytes(32)).decode()}", "empty key name"),
]


# ids name the problem: the keys are random, and pytest-xdist needs the same ids in each worker
@pytest.mark.parametrize(
    ("vkey", "problem"), MALFORMED_WITNESS_KEYS, ids=[p for _, p in MALFORMED_WITNESS_KEYS]
)
def test_malformed_witness_keys_are_refused(vkey, problem):
    with pytest.raises(KeyConfigurationError, match=problem):
        CosignerKey.from_vkey(vkey)


def test_a_vkey_round_trips():
    assert CosignerKey.from_vkey(A.vkey).vkey() == A.vkey


def test_k_of_n_requires_k_valid_cosignatures():
    policy = WitnessPolicy.k_of_n([A.vkey, B.vkey, C.vkey], 2)
    assert len(policy.require(_cosigned(A.line(), C.line()), now=NOW)) == 2
    with pytest.raises(WitnessQuorumError, match=r"valid cosignatures by w.test/a\+") as raised:
        policy.require(_cosigned(A.line()), now=NOW)
    assert raised.value.tree_size == 7
    assert exit_code(raised.value) == 24
    assert "2 of [" in raised.value.required


def test_all_witnesses_by_default_and_the_threshold_bounds():
    policy = WitnessPolicy.k_of_n([A.vkey, B.vkey])
    with pytest.raises(WitnessQuorumError):
        policy.require(_cosigned(A.line()), now=NOW)
    for bad in (0, 3):
        with pytest.raises(KeyConfigurationError, match=r"want 1\.\.2"):
            WitnessPolicy.k_of_n([A.vkey, B.vkey], bad)
    for threshold in (1, 0):
        with pytest.raises(KeyConfigurationError, match="needs at least one --witness"):
            WitnessPolicy.k_of_n([], threshold)
    with pytest.raises(KeyConfigurationError, match="same public key"):
        WitnessPolicy.k_of_n([A.vkey, A.vkey])
    assert not WitnessPolicy.k_of_n([]).requires_witnesses


def test_a_tlog_policy_file_with_nested_groups():
    text = f"""
    # two organisations: 2 of X, any of Y
    log {LOG.verifier_key_string()} https://log.example
    witness X1 {A.vkey} https://x1.example
    witness X2 {B.vkey}
    group X 2 X1 X2
    witness Y1\t{C.vkey}
    group Y any Y1
    group XY all X Y
    quorum XY
    """
    policy = WitnessPolicy.parse(text)
    assert [w.url for w in policy.witnesses] == ["https://x1.example", None, None]
    assert policy.logs == ((LOG.verifier_key_string(), "https://log.example"),)
    assert policy.require(_cosigned(A.line(), B.line(), C.line()), now=NOW)
    with pytest.raises(WitnessQuorumError):
        policy.require(_cosigned(A.line(), C.line()), now=NOW)  # X needs both
    with pytest.raises(WitnessQuorumError):
        policy.require(_cosigned(A.line(), B.line()), now=NOW)  # Y needs one
    assert policy.describe().startswith("2 of [2 of [w.test/a+")


def test_quorum_none_requires_nothing():
    policy = WitnessPolicy.parse(f"witness a {A.vkey}\nquorum none\n")
    assert not policy.requires_witnesses
    assert policy.require(NOTE, now=NOW) == []


MALFORMED_POLICIES = [
    (f"witness a {A.vkey}\n", "got 0 quorum lines"),
    (f"witness a {A.vkey}\nquorum a\nquorum a\n", "got 2 quorum lines"),
    ("quorum a\n", "quorum 'a' is not defined"),
    (f"witness a {A.vkey}\nwitness a {B.vkey}\nquorum a\n", "already defined"),
    (f"witness none {A.vkey}\nquorum none\n", "reserved"),
    (f"witness a {A.vkey}\ngroup g 1 a b\nquorum g\n", "member 'b' is not defined"),
    (f"witness a {A.vkey}\ngroup g 1 a a\nquorum g\n", "listed twice"),
    (f"witness a {A.vkey}\ngroup g 2 a\nquorum g\n", "want any, all or 1..1"),
    (f"witness a {A.vkey}\ngroup g 01 a\nquorum g\n", "want any, all or 1..1"),
    (f"witness a {A.vkey}\ngroup g g\nquorum g\n", "want 'log"),
    (f"witness a {A.vkey}\nwitness b {A.vkey}\nquorum a\n", "same public key"),
    (f"witness a {A.vkey}\nquorum a\nfrobnicate\n", "line 3: want 'log"),
    (f"witness a {A.vkey}\x0b\nquorum a\n", "control character"),
    ("witness a not-a-vkey\nquorum a\n", "witness key"),
    (f"witness\u00a0a {A.vkey}\nquorum a\n", "want 'log"),  # only space and tab separate
    (f"log garbage\nwitness a {A.vkey}\nquorum a\n", "verifier key"),
    (
        f"log {LOG.verifier_key_string()}\nlog {LOG.verifier_key_string()} https://x\n"
        f"witness a {A.vkey}\nquorum a\n",
        "listed twice",
    ),
    (
        "".join(f"witness w{n} {Witness(f'w.test/{n}').vkey}\n" for n in range(65)) + "quorum w0\n",
        "65 witnesses, want at most 64",
    ),
]


@pytest.mark.parametrize(
    ("text", "problem"), MALFORMED_POLICIES, ids=[p for _, p in MALFORMED_POLICIES]
)
def test_malformed_policies_name_their_line(text, problem):
    with pytest.raises(KeyConfigurationError, match=problem):
        WitnessPolicy.parse(text)


def test_append_cosignatures_accepts_only_signature_lines():
    with pytest.raises(MalformedCheckpointError):
        append_cosignatures(NOTE, ["not a signature line\n"])
    with pytest.raises(MalformedCheckpointError):
        append_cosignatures(NOTE, ["\u2014 a b\n\u2014 c d\n"])


def test_cosignatures_over_real_time_verify_with_the_default_clock():
    line = A.line(timestamp=int(time.time()))
    policy = WitnessPolicy.k_of_n([A.vkey])
    assert policy.require(_cosigned(line), now=int(time.time()))


def test_an_mldsa_cosigner_name_longer_than_a_u8_field_is_refused():
    long = Witness("w.test/" + "x" * 260, mldsa=True)
    with pytest.raises(KeyConfigurationError, match="at most 255 bytes"):
        CosignerKey.from_vkey(long.vkey)


def test_an_mldsa_cosignature_of_a_checkpoint_with_a_too_long_origin_is_malformed():
    witness = Witness("w.test/pq", mldsa=True)
    origin = "o" * 256
    signer = NoteSigner(origin, Ed25519PrivateKey.generate())
    checkpoint = Checkpoint(origin, 7, hashlib.sha256(b"root").digest())
    note = sign_checkpoint(checkpoint, signer)
    line = Witness("w.test/ed").line(body=note.split("\n\n")[0] + "\n", checkpoint=checkpoint)
    key = CosignerKey.from_vkey(witness.vkey)
    blob = base64.b64decode(line.split(" ")[2])
    raw = key.key_id.to_bytes(4, "big") + blob[4:12] + bytes(2420)
    forged = f"\u2014 w.test/pq {base64.b64encode(raw).decode()}\n"
    with pytest.raises(MalformedCheckpointError, match="origin of 256 bytes"):
        verified_cosignatures(append_cosignatures(note, [forged]), [key], now=NOW)
