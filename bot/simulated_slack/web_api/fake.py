"""The simulated Slack Web API server: :class:`FakeSlack`, assembled from its parts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from email.message import Message
from types import TracebackType
from typing import Any, ClassVar, Self

from bot.simulated_slack.web_api.chat import ChatMethods
from bot.simulated_slack.web_api.clocks import real_time
from bot.simulated_slack.web_api.conversations import ConversationsMethods
from bot.simulated_slack.web_api.faults import Faults
from bot.simulated_slack.web_api.files import FilesMethods
from bot.simulated_slack.web_api.http_server import Server, decode_json_params, parse_params
from bot.simulated_slack.web_api.protocol import ApiError, Call, Reply, json_reply
from bot.simulated_slack.web_api.recording import RecordedCalls
from bot.simulated_slack.web_api.responses import ResponseUrls
from bot.simulated_slack.web_api.scopes import needed_scopes
from bot.simulated_slack.web_api.users import UsersMethods
from bot.simulated_slack.web_api.views import ViewsMethods

MethodHandler = Callable[[Any, dict[str, Any]], dict[str, Any]]


class FakeSlack(
    RecordedCalls,
    ResponseUrls,
    UsersMethods,
    ConversationsMethods,
    ChatMethods,
    ViewsMethods,
    FilesMethods,
    Faults,
):
    """A fake Slack Web API server. See the package docstring (:mod:`bot.simulated_slack.web_api`);
    the constructor's arguments are :class:`~bot.simulated_slack.web_api.state.Workspace`'s."""

    #: each Web API method's handler (one module per family), called with the fake and params
    _methods: ClassVar[Mapping[str, MethodHandler]] = {
        "auth.test": UsersMethods._auth_test,
        "users.info": UsersMethods._users_info,
        "users.list": UsersMethods._users_list,
        "users.lookupByEmail": UsersMethods._users_lookup_by_email,
        "users.profile.get": UsersMethods._users_profile_get,
        "team.profile.get": UsersMethods._team_profile_get,
        "conversations.open": ConversationsMethods._conversations_open,
        "conversations.members": ConversationsMethods._conversations_members,
        "conversations.info": ConversationsMethods._conversations_info,
        "conversations.join": ConversationsMethods._conversations_join,
        "conversations.history": ConversationsMethods._conversations_history,
        "chat.postMessage": ChatMethods._chat_post_message,
        "chat.postEphemeral": ChatMethods._chat_post_ephemeral,
        "chat.update": ChatMethods._chat_update,
        "chat.delete": ChatMethods._chat_delete,
        "reactions.add": ChatMethods._reactions_add,
        "views.open": ViewsMethods._views_open,
        "views.push": ViewsMethods._views_push,
        "views.update": ViewsMethods._views_update,
        "views.publish": ViewsMethods._views_publish,
        "files.getUploadURLExternal": FilesMethods._files_get_upload_url,
        "files.completeUploadExternal": FilesMethods._files_complete_upload,
    }

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeSlack:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- HTTP entry point

    def _handle(self, verb: str, raw_path: str, headers: Message, body: bytes) -> Reply:
        path, _, query = raw_path.partition("?")
        if path.startswith("/api/"):
            return self._handle_api(path[len("/api/") :], query, headers, body)
        if path.startswith("/upload/") and verb == "POST":
            return self._handle_upload(path[len("/upload/") :], body)
        if path.startswith("/files-pri/") and verb == "GET":
            return self._handle_file_download(path[len("/files-pri/") :], headers)
        if path.startswith("/response/") and verb == "POST":
            return self._handle_response_url(path[len("/response/") :], headers, body)
        return Reply(404, b"not found", {"Content-Type": "text/plain"})

    def _handle_api(self, method: str, query: str, headers: Message, body: bytes) -> Reply:
        at = real_time()
        try:
            params = parse_params(query, headers, body)
        except (json.JSONDecodeError, UnicodeDecodeError, ApiError):
            payload = {"ok": False, "error": "invalid_json"}
            self._record(
                Call(
                    method,
                    {"_raw": body.decode("utf-8", "replace")},
                    at,
                    False,
                    "invalid_json",
                    200,
                    payload,
                )
            )
            return json_reply(200, payload)

        token: str | None = None
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :].strip()
        body_token = params.pop("token", None)
        if not token and isinstance(body_token, str):
            token = body_token
        params = decode_json_params(params)

        delay = self.latency.get(method, 0.0)
        if delay > 0:
            threading.Event().wait(delay)  # not time.sleep: freezegun must not shorten it
        self._wait_if_held(method)

        fault = self._take_fault(method)
        if fault is not None:
            reply, payload = self._fault_reply(fault)
            self._record(Call(method, params, at, False, payload["error"], fault.status, payload))
            return reply

        headers_out = {"X-OAuth-Scopes": ",".join(sorted(self.scopes))}
        with self._lock:
            handler = self._methods.get(method)
            retry_after: int | None = None
            if handler is None:
                payload = {"ok": False, "error": "unknown_method"}
            elif not token:
                payload = {"ok": False, "error": "not_authed"}
            elif token != self.bot_token:
                payload = {"ok": False, "error": "invalid_auth"}
            else:
                retry_after = self._rate_limited(method, params)
                needed = self._needed_scopes(method, params)
                if retry_after is not None:
                    payload = {"ok": False, "error": "ratelimited"}
                elif needed and not self.scopes.intersection(needed):
                    payload = {
                        "ok": False,
                        "error": "missing_scope",
                        "needed": ",".join(needed),
                        "provided": ",".join(sorted(self.scopes)),
                    }
                    headers_out["X-Accepted-OAuth-Scopes"] = ",".join(needed)
                else:
                    try:
                        payload = {"ok": True, **handler(self, params)}
                    except ApiError as exc:
                        payload = {"ok": False, "error": exc.error, **exc.extra}
            ok = bool(payload.get("ok"))
            error = None if ok else str(payload.get("error"))
            status = 429 if retry_after is not None else 200
            hang = self._take_lost(method) if retry_after is None else None
            self._record(Call(method, params, at, ok, error, status, payload, hang is None))
        if retry_after is not None:
            headers_out["Retry-After"] = str(retry_after)
        reply = json_reply(status, payload, headers_out)
        if hang is not None:
            reply.lost, reply.hang = True, hang
        return reply

    def _needed_scopes(self, method: str, params: dict[str, Any]) -> tuple[str, ...]:
        """The scopes of which ``method`` needs one (empty: none needed)."""
        channel = params.get("channel")
        kind = self._kind_of(channel) if isinstance(channel, str) else None
        return needed_scopes(method, kind)
