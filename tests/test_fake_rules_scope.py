"""FakeHero's scope table, called directly (tests/MUTATION.md).

``scope_for`` runs when the fake's route table is built at import, which mutation testing
cannot reach; these calls pin what the fake demands of a key's scopes, route by route.
"""

from __future__ import annotations

import pytest

from hero_async.testing._rules import scope_for


@pytest.mark.parametrize(
    ("template", "scope"),
    [
        ("/v1/booking_links", "booking_links"),
        ("/v1/booking_links/{id}", "booking_links"),
        ("/v1/patients/register_pds", "booking_links"),
        ("/v1/messages", "messaging"),
        ("/v1/batch_message/{id}/send", "messaging"),
        ("/v1/appointments/{id}", "booking"),
        ("/v1/slots", "booking"),
        ("/v1/patients/{id}", None),  # only register_pds under /v1/patients needs a scope
        ("/v1/booking_linksX", None),  # a prefix must end at a path segment
        ("/v1/messagesmith", None),
        ("/v1/me", None),
        ("/v1/access_token", None),
        ("/v1", None),
    ],
)
def test_scope_for_each_route(template: str, scope: str | None) -> None:
    assert scope_for(template) == scope
