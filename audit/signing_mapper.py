"""eventsourcing Mapper that signs every stored event and verifies every event read.

Writing: the ordinary mapper produces the canonical state; this one wraps it in a signed
envelope (audit.event_signature). Reading: the envelope is verified on the *stored* bytes first,
and only then decoded and upcast (``class_version`` upcasters run after verification, so
stored bytes are never rewritten and old events stay verifiable).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from audit.event_signature import EventSigner, verify_event


class SigningMapper(Mapper[UUID]):
    """Signs on write, verifies on read. Compression and encryption are refused.

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

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        plain = super().to_stored_event(domain_event)
        originator_id = _as_uuid(plain.originator_id)
        return StoredEvent(
            originator_id=plain.originator_id,
            originator_version=plain.originator_version,
            topic=plain.topic,
            state=self.signer.seal(
                originator_id, plain.originator_version, plain.topic, plain.state
            ),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Verify, then decode.

        Raises:
            audit.errors.EventTamperedError: a stored byte changed after signing.
            audit.errors.UnknownSigningKeyError: the signing key is not trusted.
            audit.errors.MalformedEventError: the stored state is not an envelope.
        """
        envelope = verify_event(
            _as_uuid(stored_event.originator_id),
            stored_event.originator_version,
            stored_event.topic,
            stored_event.state,
            self._trusted_keys(),
        )
        return super().to_domain_event(
            StoredEvent(
                originator_id=stored_event.originator_id,
                originator_version=stored_event.originator_version,
                topic=stored_event.topic,
                state=envelope.state,
            )
        )


def _as_uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
