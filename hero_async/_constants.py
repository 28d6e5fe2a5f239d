"""Every tunable default in one place, each with the reason for its value."""

from __future__ import annotations

ENVIRONMENTS: dict[str, str] = {
    # REFERENCE.md §2. Separate keys are issued for each.
    "production": "https://api.herohealth.net",
    "staging": "https://api.staging.htech.app",
}
DEFAULT_ENVIRONMENT = "production"

ENV_API_KEY = "HERO_API_KEY"
ENV_PRACTICE_GROUP_ID = "HERO_PRACTICE_GROUP_ID"
ENV_ENVIRONMENT = "HERO_ENVIRONMENT"

# Total time for one attempt. Hero publishes no SLA figure; 30 s outlasts a slow PDS trace.
DEFAULT_TIMEOUT = 30.0
# Connecting should be fast; failing early here is what makes a POST safely retryable.
DEFAULT_CONNECT_TIMEOUT = 5.0

# One pool per client. 100 matches aiohttp's own default and keeps a bulk job well inside
# what one partner key should open; raise it together with your rate limit, not alone.
DEFAULT_MAX_CONNECTIONS = 100
# Keep idle connections long enough to span the gaps of a rate-limited bulk job.
KEEPALIVE_SECONDS = 30.0

# Attempts after the first. Only requests that are provably safe to resend are retried.
DEFAULT_MAX_RETRIES = 3
BACKOFF_BASE_SECONDS = 0.5  # first jittered delay is at most this
BACKOFF_MAX_SECONDS = 8.0  # no single backoff delay exceeds this
# Hero documents no Retry-After at all; cap what we obey so a bogus header cannot stall a job.
MAX_RETRY_AFTER_SECONDS = 120.0
DEFAULT_RETRY_AFTER_SECONDS = 1.0  # 429 without Retry-After: pause the client this long

# POST /v1/access_token: "expires after 30 minutes" (REFERENCE.md §4); no expiry field returned.
TOKEN_LIFETIME_SECONDS = 30 * 60
# Never hand an Element a token that dies before the user has finished with it.
TOKEN_MIN_REMAINING_SECONDS = 5 * 60
# Token entries for groups nobody asks for again are pruned once the cache grows past this.
TOKEN_CACHE_PRUNE_AT = 1024

# Responses larger than this are refused rather than read into memory (a misrouted download).
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

USER_AGENT = "hero-async"

# Hero documents no request-id header (UNVERIFIED); the first of these present is reported.
REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-correlation-id")

# Bulk jobs: when at least half of a practice group's last BREAKER_WINDOW invitations (and at
# least BREAKER_MIN_CALLS of them) met 5xx / timeouts / unknown outcomes, stop sending to it for
# the cool-down, so one struggling practice system is not hammered while the other groups carry
# on. A group with 10-20 % flaky requests stays open to traffic: most of its invitations succeed.
BREAKER_WINDOW = 50
BREAKER_MIN_CALLS = 20
BREAKER_FAILURE_RATE = 0.5
BREAKER_COOLDOWN_SECONDS = 30.0
# How long a job waits out one group's outage (cool-downs and probes) before reporting the rest
# of that group failed (retryable) with CircuitOpen.
DEFAULT_MAX_OUTAGE_SECONDS = 600.0
# While a group's probe is in flight, its other invitations look again after this long.
BREAKER_PROBE_WAIT_SECONDS = 1.0

# Adaptive rate (the client learns the key's limit from 429s; see _ratelimit). Starts are
# counted over this window to know what we were sending when Hero said 429.
ADAPTIVE_WINDOW_SECONDS = 1.0
# A 429 episode cuts the rate to this fraction of what was sent; many 429s in one episode
# (we were far above the limit, e.g. the first burst of a job) cut deeper, to converge fast.
ADAPTIVE_CUT = 0.8
ADAPTIVE_PLATEAU = 0.95  # where the regrown rate flattens, relative to the rate cut from
ADAPTIVE_DEEP_CUT = 0.5
ADAPTIVE_DEEP_CUT_429S = 3
# 429s this close after the first (or during its pause) answer requests already in flight.
ADAPTIVE_EPISODE_SECONDS = 0.5
# CUBIC's curve, relative to the remembered rate: back at it ~3 s after a cut, then ~5 s
# nearly flat before probing above -- about one 429 per 8 s of sending at the limit.
ADAPTIVE_CUBIC_SCALE = 0.0074
ADAPTIVE_MIN_RATE = 0.5  # requests/s: never learn a rate so low that a job looks stalled
# Bulk runs: a 429 means Hero did not act, so it is retried (with the pause) for this long
# rather than a number of times; only then does the invitation fail (retryable).
BULK_THROTTLE_BUDGET_SECONDS = 600.0
