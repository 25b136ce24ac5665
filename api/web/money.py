"""Money as people read it: 万元 (10^4 yuan) and 亿元 (10^8 yuan), from integer fen.

Why integers: amounts are integer fen everywhere in the ledger (no floats in anything signed),
and a rounded display must not drift from them; the division is exact integer arithmetic,
rounded half up to two decimals. Sums past 2^63 arrive as digit strings (api.wire) and are
accepted as such.
"""

from __future__ import annotations

from typing import Final

FEN_PER_WAN: Final = 100 * 10_000  # 1 万元 = 10,000 yuan = 1,000,000 fen
FEN_PER_YI: Final = 100 * 100_000_000  # 1 亿元 = 10^8 yuan
FEN_PER_MILLION: Final = 100 * 1_000_000
FEN_PER_BILLION: Final = 100 * 1_000_000_000


def _scaled(fen: int, unit: int) -> str:
    """``fen / unit`` to two decimals, rounded half up, with thousands separators."""
    hundredths, remainder = divmod(abs(fen) * 100, unit)
    if remainder * 2 >= unit:
        hundredths += 1
    whole, cents = divmod(hundredths, 100)
    sign = "-" if fen < 0 else ""
    return f"{sign}{whole:,}.{cents:02d}"


def money(fen: int | str | None, lang: str = "zh") -> str:
    """An amount for a page; "—" for none.

    Chinese: below 1 亿元 in 万元, from 1 亿元 up in 亿元, as the notices' tables print them.
    English: the same cut, in the units English readers use — millions below 100 million yuan,
    billions from there.
    """
    if fen is None:
        return "—"
    amount = int(fen)
    large = abs(amount) >= FEN_PER_YI
    if lang == "zh":
        if large:
            return f"{_scaled(amount, FEN_PER_YI)} 亿元"
        return f"{_scaled(amount, FEN_PER_WAN)} 万元"
    if large:
        return f"CNY {_scaled(amount, FEN_PER_BILLION)} bn"
    return f"CNY {_scaled(amount, FEN_PER_MILLION)} m"


def wan_yuan(fen: int | str | None) -> str | None:
    """The amount in 万元 as a plain decimal string (chart data), or None."""
    if fen is None:
        return None
    return _scaled(int(fen), FEN_PER_WAN).replace(",", "")
