"""The log's witness client (c2sp.org/tlog-witness): submit each new checkpoint, keep the
cosignatures.

After a checkpoint is signed, every witness of the configured policy (audit.offline.cosignature,
a C2SP tlog-policy with witness URLs) gets ``POST <url>/add-checkpoint``: ``old <size it
holds>``, the consistency proof from that size, an empty line, the signed checkpoint. Answers:

* 200 — cosignature lines; the witness's own (its name and key id) is verified against its
  policy key and stored (audit.log.witness_store); lines by anyone else are ignored;
* 409 — the witness holds another size (``text/x.tlog.size`` body): the log takes it and
  submits again at once with a proof from that size (once per round). A size beyond the log's
  is a fork or a confused witness: an error, never "fixed" by the log;
* 404 (unknown log), 403 (log signature refused), 422 (proof refused), anything else, a
  time-out or no connection: the failure is recorded and the witness is left alone for a
  back-off that doubles per consecutive failure (``BACKOFF_BASE`` to ``BACKOFF_CAP`` s).

Witnesses are asked in parallel, each with its own time-out, so a slow one delays no other,
and the whole runs in its own loop (api.witness_follower), never in the sequencer's.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

import urllib3

from audit.log.log_store import CheckpointRecord
from audit.log.transparency_log import TransparencyLog
from audit.log.witness_store import StoredCosignature, WitnessState, WitnessStore
from audit.offline.canonical import format_timestamp
from audit.offline.cosignature import PolicyWitness, WitnessPolicy, verified_cosignatures
from audit.offline.errors import VerificationError

logger = logging.getLogger("ppl.witnessing")

BACKOFF_BASE: Final = 1.0  # seconds after the first failure
BACKOFF_CAP: Final = 300.0  # never more than this between attempts
MAX_RESPONSE_BYTES: Final = 65_536
SIZE_MEDIA_TYPE: Final = "text/x.tlog.size"
CLOCK_SKEW: Final = 60  # seconds a cosignature may be stamped ahead of the log's clock
_SIZE: Final = re.compile(r"(0|[1-9][0-9]{0,19})\n?")  # a 409's body: the witness's size
_REASONS: Final = {
    403: "refused the log's signature (does it trust this log key?)",
    404: "does not know this log's origin",
    422: "refused the consistency proof",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one witness did in one round: ``cosigned``, ``skipped`` (up to date or backing
    off) or ``failed`` (``detail`` says why)."""

    witness: str
    status: str
    tree_size: int
    detail: str = ""


class WitnessReply(Exception):  # noqa: N818 (a reply, raised to leave the attempt)
    """A witness's answer that is not a cosignature; the message is the recorded error."""


class OvertakenError(Exception):
    """The witness holds a newer checkpoint of this log than the one this round submits:
    another server process witnessed it meanwhile. Nothing to do, nothing failed."""


class Witnessing:
    """Submits the log's latest checkpoint to each witness of the policy that has a URL."""

    def __init__(
        self,
        log: TransparencyLog,
        store: WitnessStore,
        policy: WitnessPolicy,
        *,
        timeout: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self.log = log
        self.store = store
        self.policy = policy
        self.timeout = timeout
        self.clock = clock
        self.http = http if http is not None else urllib3.PoolManager(maxsize=4)

    @property
    def targets(self) -> list[PolicyWitness]:
        return [witness for witness in self.policy.witnesses if witness.url]

    def round(self) -> list[Outcome]:
        """Submit the latest checkpoint to every witness that has not cosigned it yet."""
        latest = self.log.store.latest_checkpoint()
        targets = self.targets
        if latest is None or not targets:
            return []
        if len(targets) == 1:  # no thread to start for the common case
            return [self.witness(targets[0], latest)]
        with ThreadPoolExecutor(max_workers=len(targets)) as pool:
            return list(pool.map(lambda witness: self.witness(witness, latest), targets))

    def witness(self, witness: PolicyWitness, checkpoint: CheckpointRecord) -> Outcome:
        label = witness.key.label
        state = self.store.state(label)
        now = self.clock()
        if state.cosigned_size >= checkpoint.tree_size:
            return Outcome(label, "skipped", checkpoint.tree_size, "up to date")
        if state.next_attempt is not None and now < datetime.fromisoformat(state.next_attempt):
            return Outcome(
                label, "skipped", checkpoint.tree_size, f"backing off: {state.last_error}"
            )
        attempted = format_timestamp(now)
        try:
            state = self._submit(witness, checkpoint, state, retry_conflict=True)
        except OvertakenError as overtaken:  # another server process witnessed a newer one
            return Outcome(label, "skipped", checkpoint.tree_size, str(overtaken))
        except Exception as error:  # noqa: BLE001 (any failure is this witness's, recorded)
            reply = (
                error
                if isinstance(error, WitnessReply)
                else WitnessReply(f"{type(error).__name__}: {error}")
            )
            failures = state.failures + 1
            delay = min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_CAP)
            self.store.save_state(
                replace(
                    state,
                    failures=failures,
                    next_attempt=format_timestamp(now + timedelta(seconds=delay)),
                    last_error=str(reply),
                    last_attempt=attempted,
                )
            )
            logger.warning("witness %s, checkpoint %d: %s", label, checkpoint.tree_size, reply)
            return Outcome(label, "failed", checkpoint.tree_size, str(reply))
        self.store.save_state(
            replace(state, failures=0, next_attempt=None, last_error=None, last_attempt=attempted)
        )
        return Outcome(label, "cosigned", checkpoint.tree_size)

    def _submit(
        self,
        witness: PolicyWitness,
        checkpoint: CheckpointRecord,
        state: WitnessState,
        *,
        retry_conflict: bool,
    ) -> WitnessState:
        """One add-checkpoint; the witness's new state. Raises WitnessReply otherwise."""
        old = state.known_size
        size = checkpoint.tree_size
        if old > size:
            latest = self.log.store.latest_checkpoint()
            if latest is not None and latest.tree_size >= old:
                raise OvertakenError(
                    f"holds tree size {old}: a newer checkpoint of this log, witnessed by "
                    "another process meanwhile"
                )
            raise WitnessReply(
                f"holds tree size {old}, beyond the log's {size}: a fork, or another log under "
                "this origin — an operator must look"
            )
        proof = [] if old in (0, size) else self.log.consistency_proof(old, size).proof
        body = (
            f"old {old}\n"
            + "".join(base64.b64encode(node).decode("ascii") + "\n" for node in proof)
            + "\n"
            + checkpoint.signed_note
        )
        status, media_type, text = self._post(witness, body)
        if status == 409 and media_type == SIZE_MEDIA_TYPE and _SIZE.fullmatch(text):
            held = int(text.strip())
            state = replace(state, known_size=held)
            if retry_conflict and held != old:
                return self._submit(witness, checkpoint, state, retry_conflict=False)
            raise WitnessReply(f"HTTP 409: holds tree size {held}")
        if status != 200:
            reason = _REASONS.get(status, "answered")
            raise WitnessReply(f"HTTP {status}: {reason}: {text[:200].strip()!r}")
        line = self._own_cosignature(witness, checkpoint, text)
        received = format_timestamp(self.clock())
        self.store.add_cosignature(
            StoredCosignature(
                size, witness.key.label, line.line, line.timestamp, received, checkpoint.root
            )
        )
        self.log.note_cosigned(size)
        return replace(state, known_size=size, cosigned_size=size, cosigned_at=received)

    def _own_cosignature(
        self, witness: PolicyWitness, checkpoint: CheckpointRecord, text: str
    ) -> _Line:
        lines = [line + "\n" for line in text.split("\n") if line.startswith("\u2014 ")]
        note = checkpoint.signed_note + "".join(lines)
        now = int(self.clock().timestamp())
        ignored: list[str] = []
        try:
            _, valid = verified_cosignatures(note, [witness.key], now=now, ignored=ignored)
        except VerificationError as exc:
            raise WitnessReply(f"HTTP 200, but its cosignature does not hold: {exc}") from exc
        if ignored:
            raise WitnessReply(f"HTTP 200, but its cosignature does not count: {ignored[0]}")
        if not valid:
            raise WitnessReply("HTTP 200 without a cosignature by the witness's policy key")
        if valid[0].timestamp > now + CLOCK_SKEW:
            # Served on every published checkpoint, a line stamped ahead of the log's clock
            # would not count for a reader whose clock is slower: refuse it here.
            raise WitnessReply(
                f"HTTP 200, but its cosignature is stamped {valid[0].timestamp - now} s ahead "
                f"of the log's clock (at most {CLOCK_SKEW} s)"
            )
        return _Line(valid[0].line, valid[0].timestamp)

    def _post(self, witness: PolicyWitness, body: str) -> tuple[int, str, str]:
        """POST add-checkpoint; (status, media type, body text). Transport failures raise."""
        url = f"{(witness.url or '').rstrip('/')}/add-checkpoint"
        try:
            response = self.http.request(
                "POST",
                url,
                body=body.encode("utf-8"),
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=urllib3.Timeout(total=self.timeout),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: a subclass
            raise WitnessReply(f"unreachable: {_reason(exc)}") from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise WitnessReply(f"no answer within {self.timeout:g} s") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise WitnessReply(f"unreachable: {type(exc).__name__}") from exc
        try:
            data = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib3.exceptions.HTTPError as exc:
            raise WitnessReply(f"answer cut off: {type(exc).__name__}") from exc
        finally:
            response.release_conn()
        if len(data) > MAX_RESPONSE_BYTES:
            raise WitnessReply(f"answer longer than {MAX_RESPONSE_BYTES} bytes")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return response.status, media_type, data.decode("utf-8", errors="replace")


def _reason(error: Exception) -> str:
    """The OS's words for a failed connection ("Connection refused"), without the URL."""
    cause = error.__context__ or error.__cause__
    return str(getattr(cause, "strerror", None) or type(error).__name__)


@dataclass(frozen=True, slots=True)
class _Line:
    line: str
    timestamp: int
