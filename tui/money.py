"""Money as the dashboard shows it: the run's currency and two decimals, everywhere alike."""

from __future__ import annotations


def money(x: float, currency: str = "$") -> str:
    """`$0.11`, `€1,204.50`, `0.11 EUR`; a cost too small for a cent shows as `<$0.01`, never
    as a zero that was not spent."""
    if 0 < x < 0.005:
        return "<" + money(0.01, currency)
    amount = f"{x:,.2f}"
    return f"{amount} {currency}" if currency.isalpha() else f"{currency}{amount}"
