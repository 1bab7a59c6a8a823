"""File uploads: ``files.getUploadURLExternal``, the upload, ``files.completeUploadExternal``;
and files people share (a modal's ``file_input``), downloaded from ``url_private_download``
with the bot token as Slack serves them.

Completing an upload into a conversation shares the files there as Slack does: one message in
the conversation's history (the ``initial_comment`` as its text, the files in ``files``), so
``conversations.history`` shows it and a sender that lost the answer can find its file.
"""

from __future__ import annotations

from email.message import Message
from typing import Any

from bot.simulated_slack.web_api.clocks import real_time
from bot.simulated_slack.web_api.faults import Faults
from bot.simulated_slack.web_api.protocol import ApiError, Call, Reply
from bot.simulated_slack.web_api.state import Upload


class FilesMethods(Faults):
    """Uploads: a URL per file, the POST of its bytes, then completion into a channel."""

    def share_file(
        self, user_id: str, name: str, data: bytes, filetype: str = "csv"
    ) -> dict[str, Any]:
        """A file `user_id` uploads (into a modal's ``file_input``): the file object a
        view_submission's state carries, with its ``url_private_download``."""
        with self._lock:
            file_id = f"F{next(self._id_counter):010d}"
            self._user_files[file_id] = (name, data)
        url = f"{self.base_url}/files-pri/{self.team_id}-{file_id}/{name}"
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "filetype": filetype,
            "size": len(data),
            "user": user_id,
            "url_private": url,
            "url_private_download": f"{url}?download=1",
        }

    def _handle_file_download(self, path: str, headers: Message) -> Reply:
        """GET of a shared file: needs the bot token and ``files:read``, like Slack (which
        answers a login page, not a 401, to a request without them)."""
        at = real_time()
        key, _, _name = path.partition("/")
        file_id = key.rsplit("-", 1)[-1]
        auth = headers.get("Authorization") or ""
        params: dict[str, Any] = {"file": file_id}
        with self._lock:
            found = self._user_files.get(file_id)
            if auth != f"Bearer {self.bot_token}" or "files:read" not in self.scopes:
                self._record(Call("files.download", params, at, False, "not_authed", 200, None))
                page = b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>"
                return Reply(200, page, {"Content-Type": "text/html"})
            if found is None:
                self._record(Call("files.download", params, at, False, "file_not_found", 404, None))
                return Reply(404, b"file not found", {"Content-Type": "text/plain"})
            self._record(Call("files.download", params, at, True, None, 200, None))
        return Reply(200, found[1], {"Content-Type": "application/octet-stream"})

    def _handle_upload(self, file_id: str, body: bytes) -> Reply:
        at = real_time()
        params = {"file_id": file_id, "size": len(body)}
        fault = self._take_fault("upload")
        if fault is not None:
            reply, payload = self._fault_reply(fault)
            self._record(Call("upload", params, at, False, payload["error"], fault.status, payload))
            return reply
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                self._record(Call("upload", params, at, False, "file_not_found", 404, None))
                return Reply(404, b"file not found", {"Content-Type": "text/plain"})
            upload.data = body
            self._record(Call("upload", params, at, True, None, 200, None))
        return Reply(200, f"OK - {len(body)}".encode(), {"Content-Type": "text/plain"})

    def _files_get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments", errors=["length must be an integer"]) from None
        if not isinstance(filename, str) or not filename:
            raise ApiError("invalid_arguments", errors=["missing required field: filename"])
        file_id = f"F{next(self._id_counter):010d}"
        extra = {k: params[k] for k in ("alt_txt", "snippet_type") if k in params}
        self._uploads[file_id] = Upload(file_id, filename, length, extra=extra)
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise ApiError("invalid_arguments", errors=["files must be a non-empty JSON array"])
        channel = params.get("channel_id")
        if not channel and params.get("channels"):
            channel = str(params["channels"]).split(",")[0]
        if channel:
            channel = self._postable_channel(channel, "files.completeUploadExternal")
        result: list[dict[str, Any]] = []
        completed: list[dict[str, Any]] = []
        for item in files:
            file_id = item.get("id") if isinstance(item, dict) else None
            upload = self._uploads.get(file_id) if isinstance(file_id, str) else None
            if upload is None:
                raise ApiError("file_not_found")
            if upload.data is None:
                raise ApiError("file_upload_not_completed")
            title = item.get("title") or upload.filename
            result.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": title,
                    "size": len(upload.data),
                    "channels": [channel] if channel else [],
                }
            )
            completed.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": title,
                    "bytes": upload.data,
                    "length": upload.length,
                    "channel": channel or None,
                    "initial_comment": params.get("initial_comment"),
                    "thread_ts": params.get("thread_ts"),
                }
            )
        self._completed.extend(completed)
        if channel:
            self._share_in(channel, params, result)
        return {"files": result}

    def _share_in(self, channel: str, params: dict[str, Any], files: list[dict[str, Any]]) -> None:
        """The message sharing `files` in `channel` (a thread reply with ``thread_ts``)."""
        ts = self._next_ts()
        message = self._message_object(
            {"text": params.get("initial_comment") or "", "thread_ts": params.get("thread_ts")}, ts
        )
        message["upload"] = True
        message["files"] = [
            {key: item[key] for key in ("id", "name", "title", "size")} for item in files
        ]
        self._messages[(channel, ts)] = {**message, "channel": channel}
