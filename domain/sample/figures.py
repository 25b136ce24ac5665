"""Arithmetic on economic figures: exact splits of the published totals, and scaling."""

from __future__ import annotations

from collections.abc import Sequence

from domain.declarations import EconomicFigures


def scaled(figures: EconomicFigures | None, per_mille: int) -> EconomicFigures:
    if figures is None:
        raise ValueError("no figures to scale")
    return EconomicFigures.of_fen(
        sales=figures.sales.fen * per_mille // 1_000,
        exports=figures.exports.fen * per_mille // 1_000,
        profit=figures.profit.fen * per_mille // 1_000,
        ip_spending=figures.ip_spending.fen * per_mille // 1_000,
    )


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    weight_sum = sum(weights)
    parts = [total * weight // weight_sum for weight in weights]
    by_remainder = sorted(
        range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i)
    )
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def allocate_capped(total: int, weights: Sequence[int], caps: Sequence[int]) -> list[int]:
    """Like :func:`allocate`, but no part exceeds its cap (exports never exceed sales)."""
    parts = [min(part, cap) for part, cap in zip(allocate(total, weights), caps, strict=True)]
    missing = total - sum(parts)
    for i in sorted(range(len(parts)), key=lambda i: -weights[i]):
        if missing == 0:
            break
        if weights[i] == 0:
            continue
        extra = min(missing, caps[i] - parts[i])
        parts[i] += extra
        missing -= extra
    if missing:
        raise ValueError(f"cannot place {total} under the caps: {missing} left over")
    return parts
