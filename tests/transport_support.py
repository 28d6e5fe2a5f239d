"""A transport double for ``HeroClient(transport=...)``: Hero's answers from a script, every
send recorded; nothing leaves the process."""

from __future__ import annotations

from collections.abc import Mapping

from hero_async import RawResponse, Timeouts


class ScriptedTransport:
    """Answers from a script (a RawResponse, or an exception to raise), records each send as
    ``(method, url, headers, data, timeouts)``."""

    def __init__(self, *answers: RawResponse | Exception) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, Mapping[str, str], bytes | None, Timeouts]] = []
        self.closed = False

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | None,
        params: list[tuple[str, str]] | None,
        timeouts: Timeouts,
    ) -> RawResponse:
        self.sent.append((method, url, headers, data, timeouts))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def aclose(self) -> None:
        self.closed = True
