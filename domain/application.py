"""The command side: ``PatentLedger``, an eventsourcing Application.

Each command reads the aggregates it needs, lets them check their rules, and saves every new
event in one atomic ``save()`` (commands on an existing record return its new version: the
API's ETag). Events are signed by the mapper the composition root gives the
application (audit.signing.signing_mapper); this module does not know how.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification

from domain import filing_numbering
from domain.actor import Actor, Role
from domain.base import LedgerAggregate
from domain.certification_commands import Certification
from domain.command_inputs import (
    annex_figures as _check_annex_figures,
)
from domain.command_inputs import (
    check_owns as _check_owns,
)
from domain.command_inputs import (
    digests as _digests,
)
from domain.command_inputs import (
    expect_version as _expect,
)
from domain.command_inputs import (
    iso_date as _iso_date,
)
from domain.command_inputs import (
    patent_records as _patent_records,
)
from domain.command_inputs import (
    published_cell as _published_cell,
)
from domain.command_inputs import (
    published_count as _published_count,
)
from domain.command_inputs import (
    reason_text as _reason,
)
from domain.conversion import PatentConversion, conversion_record_id
from domain.declarations import Contact, EconomicFigures, PatentDeclaration
from domain.errors import (
    ActorNotPermittedError,
    CategoryInvalidError,
    ConcurrentUpdateError,
    CorrectionNotAllowedError,
    DisputeOutcomeInvalidError,
    DomainError,
    DuplicateOfInvalidError,
    DuplicateProductError,
    FilerAlreadyRegisteredError,
    FilerNotFoundError,
    FilingIdTakenError,
    IdConflictError,
    InstitutionNotEligibleError,
    NotACandidateError,
    NotFoundError,
    NoValidPatentError,
    PeriodInvalidError,
    ProductNotFoundError,
    PublicationInvalidError,
    StatisticsAlreadyPublishedError,
)
from domain.filer import Filer, FilerCorrections, check_kind, filer_id_for
from domain.filing_number import FilingNumberSeries
from domain.filing_number_migration import FilingNumberMigration, FilingNumberReport
from domain.key_migration import (
    KeyMigrationReport,
)
from domain.key_migration_command import KeyMigration
from domain.product import DisputeOutcome, Product, ProductStatus, new_product
from domain.reservation import ProductKeyReservation
from domain.screening_feed import Screening, ScreeningCandidate, ScreeningFeed, declaration_of
from domain.statistics_publication import PERIOD, StatisticsPublication, publication_id_for
from domain.values import (
    AnnexRule,
    ClientId,
    ConversionCategory,
    FilerKind,
    KeyRule,
    Money,
    PatentNumber,
    RegionCode,
    ScreeningRule,
    Sha256Digest,
    Uscc,
    Year,
    annex_rule_in_force,
    clean_text,
    dispute_rule_in_force,
    parse_product_category,
    product_key,
    product_key_id,
    product_keys,
    screening_rule_in_force,
)

TAggregate = TypeVar("TAggregate", bound=LedgerAggregate)


# USCC registration authorities of institutions that report stock-patent conversion:
# 1 = 机构编制 (public institutions: universities, institutes, hospitals), 5 = 民政 (private
# non-enterprise units). Enterprises (9) file products instead.
_INSTITUTION_AUTHORITIES = frozenset({"1", "5"})


Receipt: TypeAlias = object
"""What a command's caller asks to be stored with the command's events, in their transaction:
the API's Idempotency-Key record (api.receipts). Opaque to the domain: a command hands it to
``save``, and eventsourcing forwards ``save``'s keyword arguments to the recorder's
``insert_events``. Passed explicitly, command by command, so nothing travels by context."""


class PatentLedger(Application[UUID]):
    """Filers, product filings, reviews, revisions, disputes and conversion feedback.

    The annual certification's commands: ``certification``, a service around the ledger
    (domain/certification_commands.py).
    """

    name = "PatentLedger"
    env = {  # noqa: RUF012 (eventsourcing reads this class attribute by convention)
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._screening = ScreeningFeed()
        self.certification = Certification(self)

    # --- reading ----------------------------------------------------------------------------
    def _get(
        self,
        cls: type[TAggregate],
        aggregate_id: UUID,
        error: type[NotFoundError],
        expected_version: int | None = None,
    ) -> TAggregate:
        """The ``cls`` record ``aggregate_id``, at ``expected_version`` if one is given.

        ``expected_version`` is the version the caller read (the API's If-Match): every
        command on an existing record passes it here, so none acts on a record that moved on.

        Raises:
            NotFoundError: ``error``, when no ``cls`` record has the id.
            VersionMismatchError: the record is at another version (``expect_version``).
        """
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise error(f"no {cls.__name__.lower()} {aggregate_id}", id=str(aggregate_id)) from None
        if not isinstance(aggregate, cls):
            # Same words as an unknown id: a caller must not learn that the id names another kind
            raise error(f"no {cls.__name__.lower()} {aggregate_id}", id=str(aggregate_id))
        _expect(aggregate, expected_version)
        return aggregate

    def _find(
        self, cls: type[TAggregate], aggregate_id: UUID, *, actor: Actor | None = None
    ) -> TAggregate | None:
        """The ``cls`` record under a derived id, or ``None`` when the id holds nothing.

        Typed because a derived id (a round's, a filer's, a conversion record's...) may be held
        by a record of another kind: a client-chosen id taken before ``ClientId`` refused
        name-based UUIDs, or a forged write. Used as the record expected, the holder would
        answer 500 (a missing attribute) or be skipped as if it were that record.

        Raises:
            IdConflictError: another kind of record holds the id; its kind is named to
                platform actors (no scope) only, so a filer learns no more than the 409 says.
        """
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, cls):
            raise _id_conflict(aggregate_id, cls, type(found), actor)
        return found

    def _log(self, topics: Sequence[str], page: int = 1_000) -> Iterator[Notification]:
        """Every stored event of ``topics``, in log order, read ``page`` events at a time.

        For the commands that must see every record of a kind as it stands when they run (the
        certification's evaluation and publication, the key migration): the read models
        follow the log a moment behind, and the domain does not import projections/.
        """
        start = 1
        while batch := self.recorder.select_notifications(start=start, limit=page, topics=topics):
            yield from batch
            start = batch[-1].id + 1

    def get_filer(self, filer_id: UUID, expected_version: int | None = None) -> Filer:
        return self._get(Filer, filer_id, FilerNotFoundError, expected_version)

    def get_filer_by_uscc(self, uscc: str) -> Filer:
        return self.get_filer(filer_id_for(Uscc.parse(uscc).value))

    def get_product(self, product_id: UUID, expected_version: int | None = None) -> Product:
        return self._get(Product, product_id, ProductNotFoundError, expected_version)

    def get_reservation(
        self, name: str, model: str, rule: KeyRule = KeyRule.V1
    ) -> ProductKeyReservation | None:
        """The reservation of the product's key under ``rule``, or ``None``."""
        key = product_key(rule, name, model)
        return self._find(ProductKeyReservation, product_key_id(key, rule))

    def get_conversion(self, institution_uscc: str, patent_number: str) -> PatentConversion:
        record_id = conversion_record_id(
            Uscc.parse(institution_uscc).value, PatentNumber.parse(patent_number).value
        )
        return self._get(PatentConversion, record_id, NotFoundError)

    # --- writing ----------------------------------------------------------------------------
    def _save(self, *aggregates: Any, receipt: Receipt | None = None) -> None:
        """Save atomically; a lost race on an existing aggregate is a typed, retryable error.

        ``receipt`` goes to the recorder with the events (see ``Receipt``).
        """
        try:
            self.save(*aggregates, receipt=receipt)
        except IntegrityError as exc:
            raise ConcurrentUpdateError(
                "another command changed the same record first; re-read and retry"
            ) from exc

    def _save_change(
        self, record: LedgerAggregate, *also: LedgerAggregate, receipt: Receipt | None = None
    ) -> int:
        """Save a command's change to ``record`` (with ``also``, in the same save) and answer
        the version it brought the record to: the API's ETag, which the caller's next command
        on the record sends back as its expected version (``_get``).
        """
        self._save(record, *also, receipt=receipt)
        return int(record.version)

    def _save_new(
        self,
        record: LedgerAggregate,
        taken: DomainError,
        *,
        actor: Actor,
        receipt: Receipt | None = None,
    ) -> None:
        """Save a record created under an id derived from its natural key (a filer's USCC, a
        round's year, a period...); the store refuses a second creation under that id.

        Raises:
            IdConflictError: the save was refused and a record of another kind holds the id
                (``_find``), its kind named to platform actors only.
            DomainError: ``taken``, when the save was refused because such a record exists.
        """
        try:
            self._save(record, receipt=receipt)
        except ConcurrentUpdateError:
            self._find(type(record), record.id, actor=actor)
            raise taken from None

    # --- filers -----------------------------------------------------------------------------
    def register_filer(
        self,
        actor: Actor,
        *,
        uscc: str,
        name: str,
        kind: str,
        region_code: str,
        contact: Contact,
        proof_digests: Sequence[str],
        pledge_digest: str,
        receipt: Receipt | None = None,
    ) -> UUID:
        """Register a filer (pending review). The filer itself or a platform reviewer may."""
        actor.require(Role.FILER, Role.REVIEWER)
        code = Uscc.parse(uscc)
        if actor.role is Role.FILER and actor.scope != code.value:
            raise ActorNotPermittedError(
                f"filer {actor.scope} cannot register {code.value}", actor=actor.id
            )
        annex = annex_rule_in_force()
        filer_kind = FilerKind.parse(kind).value
        if annex is not AnnexRule.NONE:
            check_kind(filer_kind, code.value)
        filer = Filer(
            uscc=code.value,
            name=clean_text(name, field="name", max_length=200),
            kind=filer_kind,
            region_code=RegionCode.parse(region_code).value,
            contact=contact.as_record(),
            proof_digests=_digests(proof_digests),
            pledge_digest=Sha256Digest.parse(pledge_digest).hex,
            actor=actor.as_record(),
            annex_rule=int(annex),
        )
        taken = FilerAlreadyRegisteredError(
            f"filer {code.value} is already registered", filer_id=str(filer.id)
        )
        self._save_new(filer, taken, actor=actor, receipt=receipt)
        return filer.id

    def verify_filer_real_name(
        self,
        actor: Actor,
        filer_id: UUID,
        reference: str,
        *,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """Record the outcome of the platform's real-name verification (实名认证)."""
        actor.require(Role.SYSTEM, Role.REVIEWER)
        filer = self.get_filer(filer_id, expected_version)
        filer.verify_real_name(
            clean_text(reference, field="reference", max_length=200), actor.as_record()
        )
        return self._save_change(filer, receipt=receipt)

    def approve_filer(
        self,
        actor: Actor,
        filer_id: UUID,
        *,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """Approve a verified filer; under annex rule v1 its region is its USCC's, or a
        reviewer confirmed the move (``confirm_filer_move``)."""
        actor.require(Role.REVIEWER)
        filer = self.get_filer(filer_id, expected_version)
        filer.approve(actor.as_record(), annex_rule=annex_rule_in_force())
        return self._save_change(filer, receipt=receipt)

    def confirm_filer_move(
        self,
        actor: Actor,
        filer_id: UUID,
        reason: str,
        *,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """A reviewer confirms that a filer pending review moved away from the region inside
        its USCC (a USCC never changes when its holder moves), with the evidence as reason."""
        actor.require(Role.REVIEWER)
        filer = self.get_filer(filer_id, expected_version)
        filer.confirm_move(_reason(reason), actor.as_record())
        return self._save_change(filer, receipt=receipt)

    def reject_filer(
        self,
        actor: Actor,
        filer_id: UUID,
        reason: str,
        *,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        actor.require(Role.REVIEWER)
        filer = self.get_filer(filer_id, expected_version)
        filer.reject(_reason(reason), actor.as_record())
        return self._save_change(filer, receipt=receipt)

    def resubmit_filer(
        self,
        actor: Actor,
        filer_id: UUID,
        proof_digests: Sequence[str],
        pledge_digest: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        region_code: str | None = None,
        contact: Contact | None = None,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """A rejected filer resubmits; it may correct its name, kind, region and contact."""
        actor.require(Role.FILER)
        filer = self.get_filer(filer_id, expected_version)
        _check_acts_for(actor, filer.uscc)
        corrections = FilerCorrections(
            name=None if name is None else clean_text(name, field="name", max_length=200),
            kind=None if kind is None else FilerKind.parse(kind).value,
            region_code=None if region_code is None else RegionCode.parse(region_code).value,
            contact=None if contact is None else contact.as_record(),
        )
        annex = annex_rule_in_force()
        if annex is AnnexRule.NONE and corrections != FilerCorrections():
            raise CorrectionNotAllowedError(
                "corrections on resubmission need annex rule v1", field="corrections"
            )
        filer.resubmit(
            _digests(proof_digests),
            Sha256Digest.parse(pledge_digest).hex,
            actor.as_record(),
            annex_rule=annex,
            corrections=corrections,
        )
        return self._save_change(filer, receipt=receipt)

    # --- product filings --------------------------------------------------------------------
    def file_product(
        self,
        actor: Actor,
        *,
        filer_id: UUID,
        name: str,
        model: str,
        variants: Sequence[str],
        category: str,
        finer_code: str | None,
        patents: Sequence[PatentDeclaration],
        data_year: int,
        figures: EconomicFigures,
        proof_digests: Sequence[str],
        product_id: UUID | None = None,
        receipt: Receipt | None = None,
    ) -> UUID:
        """File a product (pending review), reserving its canonical key in the same save.

        ``product_id`` is the client's choice of id, if any (the HTTP field ``filing_id``).
        Raises ``duplicate_product`` naming the product that holds the key when the same
        product (same normalized name + model) is already filed by anyone, and
        ``filing_id_taken`` when ``product_id`` is already used.
        """
        actor.require(Role.FILER)
        filer = self.get_filer(filer_id)
        _check_acts_for(actor, filer.uscc)
        filer.check_may_file()
        clean_name = clean_text(name, field="name", max_length=200)
        clean_model = clean_text(model, field="model", max_length=200) if model.strip() else ""
        annex = annex_rule_in_force()
        industry, finer = parse_product_category(category, finer_code, annex)
        year = Year.of(data_year, field="data_year").value
        _check_annex_figures(annex, year, figures)
        keys = product_keys(clean_name, clean_model)
        # "filing_id": the request field a client chose the id in (docs/names.md)
        product_id = ClientId.or_new(product_id, field="filing_id")
        record: dict[str, Any] = {
            "filer_id": str(filer.id),
            "filer_uscc": filer.uscc,
            "name": clean_name,
            "model": clean_model,
            "variants": [clean_text(v, field="variants", max_length=200) for v in variants],
            "category": industry,
            "finer_code": finer,
            "patents": _patent_records(patents),
            "data_year": year,
            "figures": figures.as_record(),
            "proof_digests": _digests(proof_digests),
            "canonical_key": keys[KeyRule.V1],
            "actor": actor.as_record(),
        }
        screening = screening_rule_in_force()
        declaration = declaration_of(filer.uscc, clean_name, clean_model, record["patents"])
        found = (
            {}
            if screening is ScreeningRule.NONE
            else self._screening.candidates_for(self.recorder, self.mapper, declaration)
        )
        record["screening_rule"] = int(screening)
        record["annex_rule"] = int(annex)
        record["candidates"] = [
            {"product_id": other, "reasons": [str(reason) for reason in reasons]}
            for other, reasons in found.items()
        ]
        # Read the reservations before saving, not after a refused save: on PostgreSQL a
        # refused insert still spends notification ids, and a duplicate attempt is common.
        reservations = [
            self._reservation_for(rule, key, product_id, filer.uscc, actor)
            for rule, key in keys.items()
        ]
        try:
            recordings = self.save(
                new_product(product_id, **record), *reservations, receipt=receipt
            )
        except IntegrityError:
            # Lost a race: either the product id is taken, or another product took a key. The
            # id first: a re-filing of the filer's own withdrawn product under a taken id is
            # refused for the id (as the replay refuses it), not for the key it would take over.
            if self._holds_record(product_id):
                raise FilingIdTakenError(
                    f"filing id {product_id} is already used", filing_id=str(product_id)
                ) from None
            for rule, key in keys.items():
                self._raise_duplicate_if_reserved(rule, key, product_id)
            raise ConcurrentUpdateError(
                "another command changed the same record first; re-read and retry"
            ) from None
        self._screening.saved(product_id, recordings[0].notification.id, declaration)
        return product_id

    @staticmethod
    def _new_reservation(
        rule: KeyRule, key: str, product_id: UUID, filer_uscc: str, actor: Actor
    ) -> ProductKeyReservation:
        return ProductKeyReservation(
            canonical_key=key,
            product_id=str(product_id),
            filer_uscc=filer_uscc,
            actor=actor.as_record(),
            key_rule=int(rule),
        )

    def _reservation_for(
        self, rule: KeyRule, key: str, product_id: UUID, filer_uscc: str, actor: Actor
    ) -> ProductKeyReservation:
        """The reservation of ``key`` under ``rule`` for a new filing, or a duplicate refusal.

        A key held by a withdrawn filing of the same filer moves to the new filing; held by
        anything else, the product is already filed.
        """
        reservation_id = product_key_id(key, rule)
        if not self.recorder.select_events(reservation_id, limit=1):
            # The common case, a product not filed yet: one indexed query, no aggregate read.
            return self._new_reservation(rule, key, product_id, filer_uscc, actor)
        existing = self._find(ProductKeyReservation, reservation_id, actor=actor)
        if existing is None:
            return self._new_reservation(rule, key, product_id, filer_uscc, actor)
        holder = self.get_product(existing.product_id)
        if holder.status is ProductStatus.WITHDRAWN and existing.filer_uscc == filer_uscc:
            existing.reassign(str(product_id), actor.as_record())
            return existing
        raise _duplicate(rule, key, holder)

    def _raise_duplicate_if_reserved(self, rule: KeyRule, key: str, product_id: UUID) -> None:
        existing = self._find(ProductKeyReservation, product_key_id(key, rule))
        if existing is not None and existing.product_id != product_id:
            raise _duplicate(rule, key, self.get_product(existing.product_id))

    def migrate_product_keys(self, actor: Actor) -> KeyMigrationReport:
        """Reserve the key rule v2 key of every existing product, through new events
        (domain.key_migration_command)."""
        return KeyMigration(self).run(actor)

    def approve_product(
        self,
        actor: Actor,
        product_id: UUID,
        *,
        distinct: Mapping[str, str] | None = None,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """Approve a filing; ``distinct`` records "distinct product" decisions with reasons.

        Under the screening rule in force, every near-duplicate candidate of the filing
        (``screening_of``) needs a decision, now or on an earlier approval of the filing.

        Raises:
            CandidatesOpenError: candidates without a decision (listed with their reasons).
            NotACandidateError: a decision names a filing that is not a candidate.
        """
        actor.require(Role.REVIEWER)
        decisions = _decisions(distinct or {})
        rule = screening_rule_in_force()
        for attempt in range(filing_numbering.ATTEMPTS):
            product = self.get_product(product_id, expected_version)
            candidates: dict[str, tuple[str, ...]] = {}
            if rule is not ScreeningRule.NONE:
                candidates = dict(self._candidates_of(product_id))
            product.approve(
                actor.as_record(), screening_rule=rule, candidates=candidates, distinct=decisions
            )
            series = self._number(product, actor)
            if series is None:
                return self._save_change(product, receipt=receipt)
            try:
                return self._save_change(product, series, receipt=receipt)
            except ConcurrentUpdateError:
                # Another approval took this number of the series first: number again, on
                # the series as it is now. A change to the product itself shows on the next
                # attempt (its If-Match, or "not pending review"), as it would have.
                if attempt + 1 == filing_numbering.ATTEMPTS or not self._series_moved(series):
                    raise
        raise ConcurrentUpdateError("unreachable: the last attempt returns or raises")

    def _number(self, product: Product, actor: Actor) -> FilingNumberSeries | None:
        """The product's filing number, when rule v1 numbers it now (domain.filing_numbering)."""
        return filing_numbering.number(self, product, actor)

    def number_product(self, actor: Actor, product_id: UUID) -> str | None:
        """Give one approved product that lacks a filing number its number (the migration's
        step; domain.filing_numbering)."""
        return filing_numbering.number_product(self, actor, product_id)

    def _series_moved(self, series: FilingNumberSeries) -> bool:
        return filing_numbering.series_moved(self, series)

    def migrate_filing_numbers(self, actor: Actor) -> FilingNumberReport:
        """Number the approved products that lack a filing number, in order of first
        approval, through new events (domain.filing_number_migration)."""
        return FilingNumberMigration(self).run(actor)

    def screening_of(self, product_id: UUID) -> Screening:
        """The filing's near-duplicate candidates and the decisions recorded on them."""
        product = self.get_product(product_id)
        candidates = self._candidates_of(product_id)
        return Screening(
            product_id=product_id,
            screening_rule=screening_rule_in_force(),
            candidates=tuple(
                ScreeningCandidate(
                    product_id=UUID(other),
                    reasons=tuple(str(reason) for reason in reasons),
                    distinct_reason=product.distinct_from.get(other),
                )
                for other, reasons in candidates.items()
            ),
            duplicate_of=None if product.duplicate_of is None else UUID(product.duplicate_of),
        )

    def warm_screening(self, stop: threading.Event) -> None:
        """Index every filing recorded so far for near-duplicate screening (until ``stop``).

        A service calls it on a thread as it starts (api.screening_warmup), so its first
        filing does not read the whole store. Signatures are verified as on every read.
        """
        self._screening.warm(self.recorder, self.mapper, stop)

    @property
    def screening_indexed(self) -> int:
        """How many filings the screening index holds (for /ready, tests and benchmarks)."""
        return self._screening.indexed

    def _candidates_of(self, product_id: UUID) -> dict[str, tuple[str, ...]]:
        found = self._screening.candidates_of(self.recorder, self.mapper, product_id)
        if found is None:
            raise ProductNotFoundError(f"no product {product_id}", id=str(product_id))
        return {other: tuple(str(reason) for reason in reasons) for other, reasons in found.items()}

    def _holds_record(self, aggregate_id: UUID) -> bool:
        """Whether any record, of any kind, is stored under ``aggregate_id``."""
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def _is_product(self, aggregate_id: UUID) -> bool:
        try:
            return isinstance(self.repository.get(aggregate_id), Product)
        except AggregateNotFoundError:
            return False

    def reject_product(
        self,
        actor: Actor,
        product_id: UUID,
        reason: str,
        *,
        duplicate_of: UUID | None = None,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """Reject a filing; ``duplicate_of`` names the filing it duplicates, if that is why.

        Raises:
            DuplicateOfInvalidError: ``duplicate_of`` is the filing itself or no filing.
        """
        actor.require(Role.REVIEWER)
        product = self.get_product(product_id, expected_version)
        if duplicate_of is not None and (
            duplicate_of == product_id or not self._is_product(duplicate_of)
        ):
            raise DuplicateOfInvalidError(
                f"duplicate_of {duplicate_of}: want another filing of the ledger",
                duplicate_of=str(duplicate_of),
            )
        product.reject(
            _reason(reason),
            actor.as_record(),
            duplicate_of=None if duplicate_of is None else str(duplicate_of),
        )
        return self._save_change(product, receipt=receipt)

    def revise_product(
        self,
        actor: Actor,
        product_id: UUID,
        *,
        data_year: int,
        figures: EconomicFigures,
        patents: Sequence[PatentDeclaration],
        proof_digests: Sequence[str],
        category: str | None = None,
        finer_code: str | None = None,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """Update the filing to a strictly newer data year; it goes back to review. From
        annex rule v1 the revision may also (re)classify the filing: ``category`` (with its
        ``finer_code``) replaces the filing's; ``None`` keeps it."""
        actor.require(Role.FILER)
        product = self.get_product(product_id, expected_version)
        _check_owns(actor, product)
        annex = annex_rule_in_force()
        year = Year.of(data_year, field="data_year").value
        _check_annex_figures(annex, year, figures)
        classified: tuple[str, str | None] | None = None
        if category is not None:
            if annex is AnnexRule.NONE:
                raise CorrectionNotAllowedError(
                    "a revision's category needs annex rule v1", field="category"
                )
            classified = parse_product_category(category, finer_code, annex)
        elif finer_code is not None:
            raise CategoryInvalidError(
                "a finer code is revised with its category", value=finer_code
            )
        product.revise(
            year,
            figures.as_record(),
            _patent_records(patents),
            _digests(proof_digests),
            actor.as_record(),
            annex_rule=annex,
            category=classified,
        )
        return self._save_change(product, receipt=receipt)

    def withdraw_product(
        self,
        actor: Actor,
        product_id: UUID,
        reason: str,
        *,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """The filer withdraws its filing, or the platform withdraws it (e.g. patents lapsed)."""
        actor.require(Role.FILER, Role.REVIEWER)
        product = self.get_product(product_id, expected_version)
        if actor.role is Role.FILER:
            _check_owns(actor, product)
        product.withdraw(_reason(reason), actor.as_record())
        return self._save_change(product, receipt=receipt)

    def raise_dispute(
        self,
        actor: Actor,
        product_id: UUID,
        *,
        patent_numbers: Sequence[str],
        claimant: str,
        description: str,
        evidence_digests: Sequence[str] = (),
        dispute_id: str | None = None,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> str:
        """Record an ownership dispute (权属纠纷) over some of the product's patents.

        Under dispute rule v1 it needs the digests of its evidence; a filer holds one open
        claim per filing; a filer's claim blocks only once a reviewer accepts it
        (``accept_dispute``)."""
        actor.require(Role.REVIEWER, Role.FILER)
        product = self.get_product(product_id, expected_version)
        declared = {patent["number"] for patent in product.patents}
        numbers = [PatentNumber.parse(number).value for number in patent_numbers]
        if not numbers or not set(numbers) <= declared:
            raise NoValidPatentError(
                "a dispute names one or more patents the product declares",
                declared=sorted(declared),
            )
        identifier = dispute_id or uuid4().hex
        product.raise_dispute(
            clean_text(identifier, field="dispute_id", max_length=64),
            sorted(set(numbers)),
            clean_text(claimant, field="claimant", max_length=200),
            clean_text(description, field="description", max_length=2000),
            actor.as_record(),
            dispute_rule=dispute_rule_in_force(),
            evidence_digests=_digests(evidence_digests),
        )
        self._save(product, receipt=receipt)
        return identifier

    def accept_dispute(
        self,
        actor: Actor,
        product_id: UUID,
        dispute_id: str,
        *,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """A reviewer accepts a filer's ownership claim for examination: it blocks from now."""
        actor.require(Role.REVIEWER)
        product = self.get_product(product_id, expected_version)
        product.accept_dispute(dispute_id, actor.as_record())
        return self._save_change(product, receipt=receipt)

    def resolve_dispute(
        self,
        actor: Actor,
        product_id: UUID,
        dispute_id: str,
        outcome: str,
        note: str,
        *,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        actor.require(Role.REVIEWER)
        product = self.get_product(product_id, expected_version)
        try:
            parsed = DisputeOutcome(outcome)
        except ValueError:
            raise DisputeOutcomeInvalidError(
                f"dispute outcome {outcome!r}: want one of "
                + ", ".join(o.value for o in DisputeOutcome)
            ) from None
        product.resolve_dispute(
            dispute_id,
            parsed.value,
            clean_text(note, field="note", max_length=2000),
            actor.as_record(),
            annex_rule=annex_rule_in_force(),
        )
        return self._save_change(product, receipt=receipt)

    # --- statistics publications (按月向地方公布) ------------------------------------------------
    def publish_statistics(
        self,
        actor: Actor,
        *,
        period: str,
        tree_size: int,
        rules: Mapping[str, int],
        counts: Sequence[Mapping[str, Any]],
        cells: Sequence[Mapping[str, Any]],
    ) -> UUID:
        """Record the period's disclosure-controlled statistics (projections.disclosure
        computed them from the first ``tree_size`` events). Once per period."""
        actor.require(Role.SYSTEM, Role.REVIEWER)
        if not isinstance(period, str) or not PERIOD.fullmatch(period):
            raise PeriodInvalidError(f"period {period!r}: want YYYY-MM", field="period")
        if isinstance(tree_size, bool) or not isinstance(tree_size, int) or tree_size < 0:
            raise PublicationInvalidError(f"tree_size {tree_size!r}: want a count of events")
        # Replay rule M1: a publication counts events before it. The store's last notification
        # id bounds that count (exactly on SQLite; on PostgreSQL refused inserts leave gaps, and
        # the publisher passes the read models' count of events applied, never more).
        stored = self.recorder.max_notification_id() or 0
        if tree_size > stored:
            raise PublicationInvalidError(
                f"tree_size {tree_size}: the ledger holds at most {stored} events"
            )
        publication = StatisticsPublication(
            period=period,
            tree_size=tree_size,
            rules={name: int(value) for name, value in rules.items()},
            counts=[_published_count(count) for count in counts],
            cells=[_published_cell(cell) for cell in cells],
            actor=actor.as_record(),
        )
        taken = StatisticsAlreadyPublishedError(
            f"the statistics of {period} are published already", period=period
        )
        self._save_new(publication, taken, actor=actor)
        return publication.id

    def get_publication(self, period: str) -> StatisticsPublication:
        if not PERIOD.fullmatch(period):
            raise PeriodInvalidError(f"period {period!r}: want YYYY-MM", field="period")
        return self._get(StatisticsPublication, publication_id_for(period), NotFoundError)

    # --- conversion feedback ----------------------------------------------------------------
    def report_conversion(
        self,
        actor: Actor,
        *,
        institution_uscc: str,
        patent_number: str,
        category: str,
        counterparty: str,
        occurred_on: str,
        amount_fen: int | None = None,
        receipt: Receipt | None = None,
    ) -> UUID:
        """Append a conversion outcome for an institution's patent; history is kept.

        ``amount_fen`` is ``None`` or 0..``MONEY_MAX_FEN`` fen (domain.ranges): every report
        adds it to the conversion statistics' sums.

        Raises:
            MoneyInvalidError: ``amount_fen`` out of range (``details["field"]`` is
                ``amount_fen``, with ``minimum`` and ``maximum``).
        """
        actor.require(Role.INSTITUTION)
        uscc = Uscc.parse(institution_uscc)
        _check_acts_for(actor, uscc.value)
        if uscc.registration_authority not in _INSTITUTION_AUTHORITIES:
            raise InstitutionNotEligibleError(
                f"USCC {uscc.value} is not a public institution or private non-enterprise unit",
                registration_authority=uscc.registration_authority,
            )
        number = PatentNumber.parse(patent_number)
        record = self._find(
            PatentConversion, conversion_record_id(uscc.value, number.value), actor=actor
        )
        if record is None:
            record = PatentConversion(
                institution_uscc=uscc.value,
                patent_number=number.value,
                region_code=RegionCode.parse(uscc.region_code_part).value,
                actor=actor.as_record(),
            )
        record.report(
            ConversionCategory.parse(category).value,
            clean_text(counterparty, field="counterparty", max_length=200),
            _iso_date(occurred_on),
            None if amount_fen is None else Money.of(amount_fen, field="amount_fen").fen,
            actor.as_record(),
        )
        self._save(record, receipt=receipt)
        return record.id


def _id_conflict(
    aggregate_id: UUID, wanted: type, holder: type, actor: Actor | None
) -> IdConflictError:
    """The refusal of a command whose derived id is held by a record of another kind.

    Platform actors (no scope) are told which kind holds it; anyone else only that the id is
    taken, which the 409 says anyway, so a filer cannot probe what exists.
    """
    what = _kind(wanted)
    if actor is None or actor.scope is not None:
        return IdConflictError(
            f"the id of this {what}, {aggregate_id}, is held by another record",
            id=str(aggregate_id),
            wanted=what,
        )
    return IdConflictError(
        f"the id of this {what}, {aggregate_id}, is held by a {_kind(holder)}",
        id=str(aggregate_id),
        wanted=what,
        held_by=_kind(holder),
    )


def _kind(cls: type) -> str:
    """A record kind as it reads in a message: ``CertificationRound`` -> ``certification_round``."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in cls.__name__).lstrip("_")


def _check_acts_for(actor: Actor, uscc: str) -> None:
    if actor.role in (Role.FILER, Role.INSTITUTION) and actor.scope != uscc:
        raise ActorNotPermittedError(
            f"actor {actor.id} acts for {actor.scope}, not for {uscc}", actor=actor.id
        )


def _duplicate(rule: KeyRule, key: str, holder: Product) -> DuplicateProductError:
    return DuplicateProductError(
        f"this product is already filed as {holder.id} by {holder.filer_uscc} "
        f"(same key under key rule v{int(rule)})",
        existing_product_id=str(holder.id),
        existing_filer_uscc=holder.filer_uscc,
        existing_status=holder.status.value,
        canonical_key=key,
        key_rule=int(rule),
    )


def _decisions(distinct: Mapping[str, str]) -> dict[str, str]:
    """The "distinct product" decisions, keyed by the canonical text of each candidate's id."""
    decisions: dict[str, str] = {}
    for raw_id, reason in distinct.items():
        try:
            candidate_id = str(UUID(str(raw_id)))
        except ValueError:
            raise NotACandidateError(
                f"distinct: {str(raw_id)[:80]!r} is not a filing id", product_id=str(raw_id)[:80]
            ) from None
        decisions[candidate_id] = _reason(reason)
    return decisions
