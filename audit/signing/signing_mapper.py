"""eventsourcing Mapper and EventStore that sign every save and verify every event read.

Writing: the ordinary mapper produces each event's canonical state; ``SigningEventStore``
hands all events of one ``save()`` to ``SigningMapper.to_stored_events``, which seals them
under one signature (audit.offline.event_signature). Reading: each envelope is verified on the
*stored* bytes first, and only then decoded and upcast (``class_version`` upcasters run after
verification, so stored bytes are never rewritten and old events stay verifiable).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    EventStore,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
    Transcoder,
)

from audit.offline.event_signature import (
    EventSigner,
    EventVerifier,
    UnsignedEvent,
    event_identity,
    verify_event,
)
from audit.offline.log_leaf import MAX_LOG_LEAF_SIZE, log_leaf_data


class SigningMapper(Mapper[UUID]):
    """Signs on write, verifies on read. Compression and encryption are not used.

    They would change what is stored without changing what the auditor can rebuild; the
    canonical state must be what is signed and hashed.
    """

    def __init__(
        self,
        transcoder: Transcoder,
        *,
        signer: EventSigner,
        trusted_keys: Callable[[], Mapping[str, Ed25519PublicKey]],
    ) -> None:
        super().__init__(transcoder=transcoder)
        self.signer = signer
        self._trusted_keys = trusted_keys

    def to_stored_events(
        self, domain_events: Sequence[DomainEventProtocol[UUID]]
    ) -> list[StoredEvent]:
        """Seal the events of one atomic save under one signature."""
        plain = [super(SigningMapper, self).to_stored_event(e) for e in domain_events]
        envelopes = self.signer.seal_save(
            [
                UnsignedEvent(as_uuid(s.originator_id), s.originator_version, s.topic, s.state)
                for s in plain
            ]
        )
        return [
            StoredEvent(
                originator_id=s.originator_id,
                originator_version=s.originator_version,
                topic=s.topic,
                state=envelope,
            )
            for s, envelope in zip(plain, envelopes, strict=True)
        ]

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        return self.to_stored_events([domain_event])[0]

    def batch_reader(self) -> Callable[[StoredEvent], DomainEventProtocol[UUID]]:
        """``to_domain_event`` for one batch of events read together (a follower's round).

        Same checks and errors, under the keys trusted when the batch began; each key is parsed
        once and each save's signature checked once for all its events (EventVerifier).
        """
        verifier = EventVerifier(self._trusted_keys())

        def read(stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
            identity = event_identity(
                as_uuid(stored_event.originator_id).bytes,
                stored_event.originator_version,
                stored_event.topic,
            )
            return self._decoded(stored_event, verifier.verify(identity, stored_event.state)[1])

        return read

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Verify, then decode.

        Raises:
            audit.offline.errors.EventTamperedError: a stored byte changed after signing.
            audit.offline.errors.UnknownSigningKeyError: the signing key is not trusted.
            audit.offline.errors.MalformedEventError: the stored state is not an envelope.
        """
        envelope = verify_event(
            as_uuid(stored_event.originator_id),
            stored_event.originator_version,
            stored_event.topic,
            stored_event.state,
            self._trusted_keys(),
        )
        return self._decoded(stored_event, envelope.state)

    def _decoded(self, stored_event: StoredEvent, state: bytes) -> DomainEventProtocol[UUID]:
        """Decode ``stored_event`` with ``state``, the verified payload of its envelope."""
        return super().to_domain_event(
            StoredEvent(
                originator_id=stored_event.originator_id,
                originator_version=stored_event.originator_version,
                topic=stored_event.topic,
                state=state,
            )
        )


class LogEntryTooLargeError(ValueError):
    """A save holds an event whose log leaf would exceed ``MAX_LOG_LEAF_SIZE``: nothing is
    stored (api.problems: 413 ``event_too_large``)."""

    def __init__(self, topic: str, version: int, size: int) -> None:
        name = topic.rsplit(".", 1)[-1]
        super().__init__(
            f"the {name} event (version {version}) would be a log entry of {size:,} bytes; the "
            f"log's entries hold at most {MAX_LOG_LEAF_SIZE:,} (c2sp.org/tlog-tiles entry "
            "bundles): record less in one command, e.g. fewer patents in one filing"
        )
        self.topic = topic
        self.version = version
        self.size = size


class SigningEventStore(EventStore[UUID]):
    """EventStore whose ``put`` seals all events of a save together (one signature).

    Every event becomes a leaf of the log and an entry of its tiles, whose length prefix is a
    uint16: a save with a longer leaf is refused whole before anything is stored.
    """

    mapper: SigningMapper

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        if not domain_events:
            return super().put(domain_events, **kwargs)
        stored_events = self.mapper.to_stored_events(domain_events)
        for stored in stored_events:
            size = len(
                log_leaf_data(
                    as_uuid(stored.originator_id), stored.originator_version, stored.topic,
                    stored.state,
                )
            )  # fmt: skip
            if size > MAX_LOG_LEAF_SIZE:
                raise LogEntryTooLargeError(stored.topic, stored.originator_version, size)
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        if not notification_ids:
            return []
        return [
            Recording(
                domain_event,
                Notification(
                    originator_id=stored.originator_id,
                    originator_version=stored.originator_version,
                    topic=stored.topic,
                    state=stored.state,
                    id=notification_id,
                ),
            )
            for domain_event, stored, notification_id in zip(
                domain_events, stored_events, notification_ids, strict=True
            )
        ]


def as_uuid(originator_id: UUID | str) -> UUID:
    """A stored event's originator id as a UUID (eventsourcing gives UUID or str by store)."""
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
