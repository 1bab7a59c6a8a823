"""Web API methods ``views.open/push/update/publish``: modals, triggers and App Home."""

from __future__ import annotations

from typing import Any

from bot.simulated_slack.web_api import clocks
from bot.simulated_slack.web_api.block_kit import block_kit_error, validate_view
from bot.simulated_slack.web_api.protocol import ApiError
from bot.simulated_slack.web_api.state import Workspace


class ViewsMethods(Workspace):
    """Modals (opened with a trigger valid once within 3 seconds) and App Home views."""

    def replace_view(self, view_id: str | None, view: dict[str, Any]) -> dict[str, Any]:
        """What Slack's client does with a view_submission answer: `update` replaces the view
        `view_id` (its id, root and previous view are kept); `push` (view_id None) stores a
        new one. The view is validated like views.update; returns the stored view."""
        problem = validate_view(view, expected_type="modal")
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        with self._lock:
            current = self._views.get(view_id) if view_id else None
            if current is None:
                return self._store_view(view)
            return self._store_view(
                view,
                view_id=current["id"],
                root_view_id=current["root_view_id"],
                previous_view_id=current["previous_view_id"],
            )

    def _use_trigger(self, params: dict[str, Any]) -> str:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        trigger = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise ApiError("expired_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if clocks.trigger_clock() - trigger.issued_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        return str(trigger_id)

    def _checked_view(self, params: dict[str, Any], expected_type: str | None) -> dict[str, Any]:
        view = params.get("view")
        if view is None:
            raise ApiError("invalid_arguments", errors=["missing required field: view"])
        problem = validate_view(view, expected_type=expected_type)
        if problem is not None:
            code, errors = problem
            raise block_kit_error(code, errors)
        assert isinstance(view, dict)
        return view

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(params, "modal")
        trigger_id = self._use_trigger(params)
        self._triggers[trigger_id].used = True
        return {"view": self._store_view(view)}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(params, "modal")
        trigger_id = self._use_trigger(params)
        self._triggers[trigger_id].used = True
        return {"view": self._store_view(view)}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        current: dict[str, Any] | None = None
        if view_id:
            current = self._views.get(str(view_id))
        elif external_id:
            current = next(
                (v for v in self._views.values() if v.get("external_id") == external_id), None
            )
        else:
            raise ApiError("invalid_arguments", errors=["must provide view_id or external_id"])
        if current is None:
            raise ApiError("not_found")
        view = self._checked_view(params, str(current["type"]))
        if params.get("hash") and params["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        if not view.get("external_id") and current.get("external_id"):
            view = {**view, "external_id": current["external_id"]}  # keep the lookup key
        return {
            "view": self._store_view(
                view,
                view_id=current["id"],
                root_view_id=current["root_view_id"],
                previous_view_id=current["previous_view_id"],
            )
        }

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise ApiError("invalid_arguments", errors=["missing required field: user_id"])
        known = self._users.get(user_id)
        if known is not None and known["deleted"]:
            raise ApiError("user_not_found")
        view = self._checked_view(params, "home")
        existing_id = self._homes.get(user_id)
        sent_hash = params.get("hash")
        if existing_id is not None and sent_hash and sent_hash != self._views[existing_id]["hash"]:
            raise ApiError("hash_conflict")
        stored = self._store_view(view, view_id=existing_id)
        self._homes[user_id] = stored["id"]
        return {"view": stored}
