"""The replay's product-key reservation rules (K1-K4, E5; docs/replay-rules.md): the handlers of
ProductKeyReserved, ProductKeyMigrated and ProductKeyReassigned, split from audit/offline/replay.py
(one concern per module). Standard library only, like the rest of audit/offline."""

from __future__ import annotations

from audit.offline.product_key import (
    EmptyKeyPartError,
    KeyRule,
    product_key,
)
from audit.offline.replay_base import (
    PRODUCT,
    REASSIGNED,
    RESERVATION,
    RESERVED,
    WITHDRAWN,
    Fields,
    _Aggregate,
    _Head,
)


class KeyRules:
    """The product-key reservation handlers (K1-K4, E5), mixed into ``ReplayChecker``, which
    provides the state: the filing whose key events are still due (``_unbound``, under rules
    up to ``_unbound_rule``), the v1-only filing a first v2 key event may follow, and the
    newest key rule in force."""

    _unbound: _Head | None
    _unbound_rule: int
    _v2_may_follow: _Head | None
    _key_rule_in_force: int

    def _find(self, head: _Head, aggregate_id: str, kind: str, role: str) -> _Aggregate:
        raise NotImplementedError  # ReplayChecker's

    def _key_reserved(self, head: _Head, fields: Fields) -> _Aggregate:
        key, filer_uscc, product_id, rule = fields  # K1
        holder = self._bind(head, product_id, key, filer_uscc, rule)
        return _Aggregate(
            RESERVATION, 1, RESERVED, owner_uscc=filer_uscc, canonical_key=key, holder=holder,
            key_rule=rule,
        )  # fmt: skip

    def _key_migrated(self, head: _Head, fields: Fields) -> _Aggregate:
        key, filer_uscc, product_id, rule = fields  # K3
        if rule < KeyRule.V2:
            raise head.fail(f"key_rule {rule}: a migration reserves under v2 or later")
        product = self._find(head, product_id, PRODUCT, "product_id")
        if product.owner_uscc != filer_uscc:
            raise head.fail(
                f"product {product_id} was filed by {product.owner_uscc}: the key belongs to "
                f"{filer_uscc}"
            )
        self._require_key(head, product_id, product, key, rule)
        self._key_rule_in_force = max(self._key_rule_in_force, rule)
        return _Aggregate(
            RESERVATION, 1, RESERVED, owner_uscc=filer_uscc, canonical_key=key,
            holder=product_id, key_rule=rule,
        )  # fmt: skip

    def _key_reassigned(self, head: _Head, fields: Fields, reservation: _Aggregate) -> None:
        previous_id, product_id = fields
        head.require_acts_for(reservation.owner_uscc)  # K2
        if previous_id != reservation.holder:
            raise head.fail(
                f"previous_product_id {previous_id}: the key is held by {reservation.holder}"
            )
        previous = self._find(head, previous_id, PRODUCT, "previous_product_id")
        if previous.status != WITHDRAWN:
            raise head.fail(
                f"reassigning the key while its holder {previous_id} is {previous.status}: "
                "want withdrawn"
            )
        reservation.holder = self._bind(
            head, product_id, reservation.canonical_key, reservation.owner_uscc,
            reservation.key_rule,
        )  # fmt: skip
        reservation.status = REASSIGNED

    def _bind(self, head: _Head, product_id: str, key: str, filer_uscc: str, rule: int) -> str:
        """Check the event binds the ProductFiled just before it, for this key and filer.

        A filing's save holds one key event per rule in force, in rule order (E5): the v1
        event, then the v2 one once v2 is in force. The first v2 key event of the log may
        follow a filing bound under v1 only, and puts v2 in force (K4).
        """
        product = self._find(head, product_id, PRODUCT, "product_id")
        unbound = self._unbound
        if unbound is None and rule >= KeyRule.V2:
            unbound = self._v2_may_follow
        if unbound is None or unbound.originator_id != product_id:
            raise head.fail(
                f"product_id {product_id} is not the filing saved with this event (want the "
                "ProductFiled just before it)"
            )
        bound_so_far = self._unbound_rule if self._unbound is not None else int(KeyRule.V1)
        if rule != bound_so_far + 1:
            raise head.fail(
                f"key_rule {rule}: a filing's key events come one per rule in force, in rule "
                f"order (want v{bound_so_far + 1})"
            )
        self._require_key(head, product_id, product, key, rule)
        if product.owner_uscc != filer_uscc:
            raise head.fail(
                f"product {product_id} was filed by {product.owner_uscc}: the key belongs to "
                f"{filer_uscc}"
            )
        self._key_rule_in_force = max(self._key_rule_in_force, rule)
        self._v2_may_follow = None
        if rule < self._key_rule_in_force:
            self._unbound, self._unbound_rule = unbound, rule  # E5: newer rules' events follow
        else:
            self._unbound, self._unbound_rule = None, 0
            if rule == KeyRule.V1:
                self._v2_may_follow = unbound
        return product_id

    @staticmethod
    def _require_key(
        head: _Head, product_id: str, product: _Aggregate, key: str, rule: int
    ) -> None:
        """K1: the key is the filing's key under the reservation's rule, re-derived here."""
        if rule == KeyRule.V1:
            if product.canonical_key != key:
                raise head.fail(
                    f"product {product_id} has canonical_key {product.canonical_key!r}: "
                    f"want {key!r}"
                )
            return
        try:
            derived = product_key(KeyRule(rule), product.name, product.model)
        except EmptyKeyPartError as exc:
            raise head.fail(f"product {product_id} has no key under rule v{rule}: {exc}") from None
        if derived != key:
            raise head.fail(
                f"key {key!r} under key rule v{rule}: product {product_id}'s name and model "
                f"give {derived!r}"
            )
