"""Domain errors: one family, each with a stable machine-readable code.

The API maps ``code`` to an RFC 9457 problem ``type``; clients and tests match on the code,
never on the message, so messages may improve without breaking anyone.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every rule violation raised by the command side.

    ``details`` carries structured context (e.g. the existing filing for a duplicate) so the
    API can return it without parsing the message.
    """

    code: ClassVar[str] = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class InvalidValueError(DomainError):
    """A value object refused its input (the subclass code names which kind)."""

    code = "invalid_value"


class UsccInvalidError(InvalidValueError):
    code = "uscc_invalid"


class UsccNotLegalPersonError(InvalidValueError):
    code = "uscc_not_legal_person"


class PatentNumberInvalidError(InvalidValueError):
    code = "patent_number_invalid"


class RegionCodeInvalidError(InvalidValueError):
    code = "region_code_invalid"


class MoneyInvalidError(InvalidValueError):
    code = "money_invalid"


class YearInvalidError(InvalidValueError):
    code = "year_invalid"


class DigestInvalidError(InvalidValueError):
    code = "digest_invalid"


class CategoryInvalidError(InvalidValueError):
    code = "category_invalid"


class TextInvalidError(InvalidValueError):
    code = "text_invalid"


class DateInvalidError(InvalidValueError):
    code = "date_invalid"


class DisputeOutcomeInvalidError(InvalidValueError):
    code = "dispute_outcome_invalid"


class ActorNotPermittedError(DomainError):
    """The acting principal's role may not issue this command."""

    code = "actor_not_permitted"


class NotFoundError(DomainError):
    code = "not_found"


class FilerNotFoundError(NotFoundError):
    code = "filer_not_found"


class ProductNotFoundError(NotFoundError):
    code = "product_not_found"


class FilerAlreadyRegisteredError(DomainError):
    code = "filer_already_registered"


class FilerNotApprovedError(DomainError):
    code = "filer_not_approved"


class FilerNotVerifiedError(DomainError):
    code = "filer_not_verified"


class FilerAlreadyVerifiedError(DomainError):
    code = "filer_already_verified"


class FilerNotPendingReviewError(DomainError):
    code = "filer_not_pending_review"


class DuplicateProductError(DomainError):
    code = "duplicate_product"


class NoValidPatentError(DomainError):
    code = "no_valid_patent"


class DuplicatePatentError(DomainError):
    code = "duplicate_patent"


class LicenceReferenceMissingError(DomainError):
    code = "licence_reference_missing"


class ProductNotPendingReviewError(DomainError):
    code = "product_not_pending_review"


class ProductWithdrawnError(DomainError):
    code = "product_withdrawn"


class FilingNumberNotAllowedError(DomainError):
    """A filing number for a product that may not take one: never approved, or numbered
    already (filing number rule v1: one number per approved product, never reused)."""

    code = "filing_number_not_allowed"


class ProductNotOwnedError(DomainError):
    """A filer acted on a product filed by another filer."""

    code = "product_not_owned"


class DataYearNotNewerError(DomainError):
    code = "data_year_not_newer"


class RevisionNotAllowedError(DomainError):
    code = "revision_not_allowed"


class DisputeAlreadyOpenError(DomainError):
    code = "dispute_already_open"


class DisputeNotFoundError(DomainError):
    code = "dispute_not_found"


class InstitutionNotEligibleError(DomainError):
    code = "institution_not_eligible"


class ReasonRequiredError(DomainError):
    code = "reason_required"


class DisputeOpenError(DomainError):
    """A filing with an open ownership dispute cannot be approved."""

    code = "dispute_open"


class CandidatesOpenError(DomainError):
    """A filing with near-duplicate candidates not yet decided cannot be approved.

    ``details["candidates"]`` lists each open candidate with its screening reasons: record
    "distinct product" with a reason for each, or reject the filing as a duplicate of one.
    """

    code = "candidates_open"


class NotACandidateError(DomainError):
    """A "distinct product" decision names a filing that is not a candidate of this one."""

    code = "not_a_candidate"


class DuplicateOfInvalidError(DomainError):
    """A rejection as a duplicate names no other filing of the ledger."""

    code = "duplicate_of_invalid"


class ExportsExceedSalesError(DomainError):
    code = "exports_exceed_sales"


class FilingIdTakenError(DomainError):
    """A client-supplied filing id is already used by another aggregate."""

    code = "filing_id_taken"


class IdNotAllowedError(InvalidValueError):
    """A client-chosen id is name-based (UUID version 3 or 5), nil or max: never allowed.

    The ledger derives the ids of filers, key reservations, conversion records, rounds, opt-ins,
    decisions and the benchmark table as uuid5, so a client id of that version could squat a
    record the ledger has yet to create (domain.values.ClientId).
    """

    code = "id_not_allowed"


class IdConflictError(DomainError):
    """The id a command needs is held by a record of another kind.

    A derived id (a round's, a filer's, a conversion record's...) was taken by a record of
    another type before the guard on client-chosen ids existed, or by a forged write. The
    command refuses loudly instead of treating the holder as the record it expected.
    ``details`` name the id and, for platform roles only, the kind that holds it.
    """

    code = "id_conflict"


class ConcurrentUpdateError(DomainError):
    """Another command changed the same aggregate first; re-read and retry."""

    code = "concurrent_update"


class VersionMismatchError(DomainError):
    """The caller acted on a version of the record that is no longer the current one.

    Raised when a command carries the version the caller last read (HTTP ``If-Match``) and the
    record has moved on since: nothing is written; re-read and decide again.
    """

    code = "version_mismatch"


# --- annual certification (domain/certification*.py, domain/benchmarks.py, domain/objection.py) -
class CertificationDatesInvalidError(InvalidValueError):
    """A round's deadlines or windows are not in order (or not dates)."""

    code = "certification_dates_invalid"


class BenchmarksInvalidError(InvalidValueError):
    """A benchmark table is incomplete, names an unknown indicator or has a bad threshold."""

    code = "benchmarks_invalid"


class PatentCountInvalidError(InvalidValueError):
    """A count of patents is out of range.

    An opt-in's ``filer_valid_patents`` below the patents its product declares or above
    ``domain.ranges.PATENT_COUNT_MAX``, or a filing declaring more patents than that.
    """

    code = "patent_count_invalid"


class CertificationRoundNotFoundError(NotFoundError):
    code = "certification_round_not_found"


class BenchmarksNotFoundError(NotFoundError):
    """No benchmark table has been set, or not the version asked for."""

    code = "benchmarks_not_found"


class CertificationNotFoundError(NotFoundError):
    """The product has no certification decision in that round."""

    code = "certification_not_found"


class ObjectionNotFoundError(NotFoundError):
    code = "objection_not_found"


class CertificationRoundExistsError(DomainError):
    code = "certification_round_exists"


class CertificationRoundStateError(DomainError):
    """The round is not at the stage the command needs (e.g. publishing before evaluating)."""

    code = "certification_round_state"


class EvaluationTooEarlyError(DomainError):
    """Evaluation starts only once the round's review deadline has passed."""

    code = "evaluation_too_early"


class OptInClosedError(DomainError):
    """Opting in is possible from the round's opening to its filing deadline."""

    code = "opt_in_closed"


class AlreadyOptedInError(DomainError):
    code = "already_opted_in"


class ObjectionWindowClosedError(DomainError):
    """Objections are filed only during the published list's objection window."""

    code = "objection_window_closed"


class ProductNotCertifiedError(DomainError):
    """The product is not (or no longer) certified in that round."""

    code = "product_not_certified"


class ObjectionNotOpenError(DomainError):
    """The objection was already dismissed or upheld."""

    code = "objection_not_open"


class ObjectionIdTakenError(DomainError):
    """A client-supplied objection id is already used."""

    code = "objection_id_taken"


# --- annex rule v1 (audit.offline.annex_rule, docs/annex-rules.md)
# ------------------------------------
class KindUsccMismatchError(InvalidValueError):
    """The filer's kind does not fit its USCC's organisation type (e.g. 91 as a university)."""

    code = "kind_uscc_mismatch"


class RegionUsccMismatchError(DomainError):
    """The filer's region is not its USCC's and no reviewer confirmed a move (409 at approval)."""

    code = "region_uscc_mismatch"


class RegionMoveNotNeededError(DomainError):
    """A move confirmation for a region that already matches the USCC: nothing to confirm."""

    code = "region_move_not_needed"


class NoMarketReturnsError(InvalidValueError):
    """Sales of zero in the data year: the annex asks for good market returns already."""

    code = "no_market_returns"


class DataYearInFutureError(InvalidValueError):
    """A data year after the current year: its figures cannot exist yet."""

    code = "data_year_in_future"


class NoValidPatentLeftError(DomainError):
    """Every declared patent was lost to an upheld ownership claim (409 at approval)."""

    code = "no_valid_patent_left"


class CorrectionNotAllowedError(DomainError):
    """A correction (a resubmission's name, kind, region, contact; a revision's category)
    under a rule that does not record it."""

    code = "correction_not_allowed"


class PeriodInvalidError(InvalidValueError):
    """A statistics period that is not ``YYYY-MM`` (2020-2099)."""

    code = "period_invalid"


class StatisticsAlreadyPublishedError(DomainError):
    """The period's statistics were published already: a publication is never replaced."""

    code = "statistics_already_published"


class PublicationInvalidError(InvalidValueError):
    """A publication's cells or rules are not of the published shape."""

    code = "publication_invalid"


class DisputeLimitError(DomainError):
    """The claimant already has an open ownership claim on this filing (dispute rule v1)."""

    code = "dispute_limit_reached"


class EvidenceRequiredError(InvalidValueError):
    """An ownership dispute without the digest of any evidence (dispute rule v1)."""

    code = "evidence_required"


class DisputeNotPendingError(DomainError):
    """Accepting a dispute that is not open, or accepted already."""

    code = "dispute_not_pending"
