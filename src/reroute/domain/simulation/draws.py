"""The simulation's chance: whether a store rejects an item, and with which reason.

Each draw is a hash of the seed and of what is drawn for (order, item, facility), not the next
number of one random stream: the same placement under two rule sets meets the same store's
answer, so their difference is the rules' and not luck's, and a seed always gives one answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_SCALE = float(1 << 64)


class Draws:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def uniform(self, *about: str) -> float:
        """A number in [0, 1), the same for the same seed and the same words."""
        text = "\x1f".join((str(self.seed), *about)).encode()
        digest = hashlib.blake2b(text, digest_size=8).digest()
        return int.from_bytes(digest, "big") / _SCALE

    def rejects(self, rate: float, order_id: str, item_id: str, facility_id: str) -> bool:
        return self.uniform("reject", order_id, item_id, facility_id) < rate

    def choose(
        self, weighted: Sequence[tuple[str, float]], order_id: str, item_id: str, facility_id: str
    ) -> str:
        """One of the weighted choices (a reason, by how often the store gives it)."""
        total = sum(w for _, w in weighted)
        point = self.uniform("reason", order_id, item_id, facility_id) * total
        for choice, weight in weighted:
            point -= weight
            if point < 0:
                return choice
        return weighted[-1][0]
