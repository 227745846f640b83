"""Spend control: reserve before dispatch, settle with metered cost, never pass the total cap.

A job is dispatched only if its reservation fits under the total cap (counting what is spent
and what is already reserved) and under its cycle's cap. While it runs, the controller cancels
it before its metered cost (wall time × the host's rate) can outgrow the reservation — one poll
interval ahead, so that the next poll cannot find it over. Spend is therefore bounded by the
sum of reservations, which is bounded by the caps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Caps:
    total: float = math.inf
    per_cycle: float = math.inf
    per_job: float = math.inf


MIN_HOLD_S = 30.0  # a reservation covers at least this much wall time: the host's lease must
# outlast start-up and the first polls (seconds over SSH) before the controller can extend it


def reservation(predicted_cost: float, caps: Caps, margin: float = 0.5, price_per_hour: float = 0.0) -> float:  # fmt: skip
    """What to hold for a job: its predicted cost with a margin (and at least MIN_HOLD_S of the
    host's time), never above the per-job cap."""
    return min(
        max(predicted_cost * (1.0 + margin), metered(MIN_HOLD_S, price_per_hour)), caps.per_job
    )


def fits(amount: float, spent: float, reserved: float, cycle_committed: float, caps: Caps) -> bool:
    """May a reservation of `amount` be made now? (`cycle_committed`: spent + reserved this cycle)"""
    eps = 1e-12
    return spent + reserved + amount <= caps.total + eps and cycle_committed + amount <= caps.per_cycle + eps  # fmt: skip


def metered(wall_s: float, price_per_hour: float) -> float:
    return wall_s / 3600.0 * price_per_hour


LEASE_MARGIN_S = 2.0  # the host checks its lease every 0.1 s; the rest is slack for a busy host
TOP_UP_AHEAD_S = LEASE_MARGIN_S + 5.0  # grow a reservation this long before it (and the lease) ends


def lease_s(reserved: float, price_per_hour: float) -> float | None:
    """Wall seconds a job may run on its host for `reserved` (None on a free host): the host
    stops it there by itself, so the reservation holds even if the controller never polls again."""
    if price_per_hour <= 0:
        return None
    return max(reserved / price_per_hour * 3600.0 - LEASE_MARGIN_S, 0.1)


def can_run(amount: float, price_per_hour: float, poll_s: float) -> bool:
    """Whether a reservation covers the shortest time the controller can watch a job: two polls
    (one to notice, one for the cancel to land). Below that, it could not keep the job under."""
    return price_per_hour == 0 or metered(2 * poll_s, price_per_hour) < amount


def must_cancel(wall_s: float, price_per_hour: float, reserved: float, poll_s: float) -> bool:
    """True when the next poll could find the job over its reservation: cancel it now.
    `poll_s`: the interval between two observations of the job (the controller passes the
    longest it has seen, not the configured one, so a slow poll cannot outrun the cap)."""
    return price_per_hour > 0 and metered(wall_s + 2 * poll_s, price_per_hour) >= reserved
