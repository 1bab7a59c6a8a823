"""Queries over the recorded calls: what the app asked of Slack, and waiting for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.simulated_slack.web_api.clocks import real_monotonic
from bot.simulated_slack.web_api.protocol import Call, summarise, text_of
from bot.simulated_slack.web_api.state import Workspace


class RecordedCalls(Workspace):
    """Every request is recorded as a :class:`Call`; these read them."""

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls (all, including failed ones), oldest first."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def reset_calls(self) -> None:
        """Forget recorded calls and warnings (state such as messages/views is kept)."""
        with self._lock:
            self._calls.clear()
            self.warnings.clear()

    def _matching(self, method: str, predicate: Callable[[Call], bool] | None) -> list[Call]:
        return [
            c for c in self._calls if c.method == method and (predicate is None or predicate(c))
        ]

    def _timeout_message(self, what: str, timeout: float) -> str:
        lines = [f"timed out after {timeout:.1f}s waiting for {what}; recorded calls:"]
        recent = self._calls[-60:]
        if len(self._calls) > len(recent):
            lines.append(f"  … {len(self._calls) - len(recent)} earlier calls omitted")
        for c in recent:
            state = "ok" if c.ok else f"{c.status} {c.error}"
            lines.append(f"  - {c.method} [{state}] {summarise(c.params)}")
        if not self._calls:
            lines.append("  (none)")
        return "\n".join(lines)

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 30.0,
    ) -> Call:
        """Wait until a call of ``method`` matching ``predicate`` was recorded; return the first.

        Raises AssertionError listing the recorded calls on timeout. Failed calls match too;
        use ``lambda c: c.ok`` to wait for a successful one.
        """
        return self.wait_for_count(method, 1, predicate, timeout)[0]

    def wait_for_count(
        self,
        method: str,
        n: int,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 30.0,
    ) -> list[Call]:
        """Wait until at least ``n`` matching calls were recorded; return all matching calls."""
        deadline = real_monotonic() + timeout
        with self._cond:
            while True:
                found = self._matching(method, predicate)
                if len(found) >= n:
                    return found
                remaining = deadline - real_monotonic()
                if remaining <= 0:
                    what = f"{n} x {method}" + (" matching predicate" if predicate else "")
                    what += f" (got {len(found)})"
                    raise AssertionError(self._timeout_message(what, timeout))
                self._cond.wait(min(remaining, 0.25))

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Params of successful ``chat.postMessage`` calls, in order.

        ``channel`` matches either the channel as sent or as resolved (a user id → ``D<id>``).
        """
        result = []
        for c in self.calls("chat.postMessage"):
            if not c.ok:
                continue
            resolved = (c.response or {}).get("channel")
            if channel is None or channel in (c.params.get("channel"), resolved):
                result.append(c.params)
        return result

    @staticmethod
    def message_text(params: dict[str, Any]) -> str:
        """``text`` plus the texts of section blocks (text and fields), newline-joined."""
        parts: list[str] = []
        text = params.get("text")
        if isinstance(text, str) and text:
            parts.append(text)
        blocks = params.get("blocks")
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, dict) or block.get("type") != "section":
                continue
            section_text = text_of(block.get("text"))
            if section_text:
                parts.append(section_text)
            for item in block.get("fields") or []:
                field_text = text_of(item)
                if field_text:
                    parts.append(field_text)
        return "\n".join(parts)

    def dm_texts(self, user_id: str) -> list[str]:
        """Texts of messages posted to the user's DM (``D<user_id>`` or the user id)."""
        targets = {self.dm_channel(user_id), user_id}
        return [self.message_text(p) for p in self.messages() if p.get("channel") in targets]

    def ephemerals(self, user_id: str) -> list[dict[str, Any]]:
        """Params of successful ``chat.postEphemeral`` calls addressed to ``user_id``."""
        return [
            c.params
            for c in self.calls("chat.postEphemeral")
            if c.ok and c.params.get("user") == user_id
        ]

    def opened_views(self) -> list[dict[str, Any]]:
        """The views (as returned, with ``id``/``hash``) of successful ``views.open`` calls."""
        return [
            c.response["view"]
            for c in self.calls("views.open")
            if c.ok and c.response is not None and "view" in c.response
        ]

    def responses(self, token: str | None = None) -> list[dict[str, Any]]:
        """Bodies POSTed to response URLs (optionally for one token)."""
        return [
            c.params
            for c in self.calls("response_url")
            if c.ok and (token is None or c.params.get("_token") == token)
        ]
