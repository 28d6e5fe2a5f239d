"""The adaptive limiter before its first 429: every start is counted (the rate a first 429 is
cut from), yet a long job does not keep one float per request it ever sent."""

from __future__ import annotations

from hero_async import LocalRateLimiter
from hero_async import _constants as C


async def test_starts_before_any_429_stay_within_one_window() -> None:
    now = [0.0]
    limiter = LocalRateLimiter(adaptive=True, clock=lambda: now[0])
    for i in range(20_000):  # 1,000 starts per second for 20 s, never gated
        now[0] = i / 1000
        await limiter.acquire()
    assert limiter.rate is None  # nothing learned: requests are not spaced
    learned = limiter._learned  # the window itself: what the memory bound is about
    assert learned is not None
    assert len(learned._starts) <= 1000 * C.ADAPTIVE_WINDOW_SECONDS + 65
    limiter.pause(1.0)  # the first 429 is cut from the last window's rate, as before
    assert limiter.rate is not None
    assert limiter.rate < 1000
