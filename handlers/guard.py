"""Every request answered: one wrapper for listeners, one deadline for modal submissions.

`listener` wraps a Bolt listener (command, click, event): when it fails, the person is told
("temporarily unavailable" when the database is down or locked, "something went wrong"
otherwise) through the command's response_url, the clicked message's response_url or a DM,
and nothing reaches Bolt's "listener failed" log unless it is a real bug.

`submission` turns `work(Submission) -> Answer` into a view_submission listener that always
acknowledges within Slack's 3 seconds: the work runs with a deadline (SUBMIT_DEADLINE); if it
answers in time the ack carries its answer (inline errors, an updated view, or closing the
modal). If not, the ack replaces the modal with a "still saving" notice, the work goes on, and
the person is then told its outcome in that modal (views.update), or by DM when that fails, so
what they read matches what was stored.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy import exc as sa_exc

from bot.edge import ViewSubmission
from bot.i18n import N_, Translator, translator
from bot.services import Services
from bot.views import common, kit
from handlers import payloads
from handlers.context import services_of
from handlers.replies import AlreadyReported, reply_dm

log = logging.getLogger(__name__)
SUBMIT_DEADLINE = 2.0  # seconds of work before the ack goes out anyway (Slack waits 3)
# SQLSTATE classes of a database that is down, restarting or refusing us for now.
UNAVAILABLE_SQLSTATES = ("08", "57P", "53", "40001", "40P01")
STILL_SAVING = N_("Still saving… This is taking longer than usual. I'll show the result here.")


def is_unavailable(error: BaseException) -> bool:
    """The database is down, unreachable, locked or its connection was killed."""
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        state = str(getattr(error.orig, "sqlstate", "") or "")
        return state.startswith(UNAVAILABLE_SQLSTATES)
    return False


def failure_message(error: BaseException, _: Translator) -> dict[str, Any]:
    return common.unavailable(_) if is_unavailable(error) else common.try_again(_)


def log_failure(error: BaseException, payload_type: str | None) -> None:
    """Unavailability is expected and said once, without data; anything else is a bug."""
    if is_unavailable(error):
        log.warning(
            "database unavailable",
            extra={"payload_type": payload_type, "error": type(error).__name__},
        )
    else:
        log.error("listener failed", exc_info=error, extra={"payload_type": payload_type})


def user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
    return user_id if isinstance(user_id, str) and user_id else None


def _payload_type(body: dict[str, Any]) -> str | None:
    return str(body.get("type") or body.get("command") or "") or None


def tell(
    services: Services, body: dict[str, Any], respond: Respond | None, message: dict[str, Any]
) -> None:
    """A reply only the person who acted sees: ephemeral where the request allows one (a
    command, a button in a message), otherwise a DM. Best effort, never raises."""
    user_id = user_of(body)
    if user_id is None:
        return
    if respond is not None and (body.get("response_url") or "command" in body):
        try:
            respond(**message, response_type="ephemeral", replace_original=False)
            return
        except Exception:  # noqa: BLE001 - fall back to a DM
            log.warning("reply through response_url failed")
    reply_dm(services, user_id, message)


def answer_failure(
    services: Services, body: dict[str, Any], respond: Respond | None, error: BaseException
) -> None:
    log_failure(error, _payload_type(body))
    user_id = user_of(body)
    if user_id is None or body.get("type") in ("view_closed", "event_callback"):
        return  # nobody is waiting for an answer
    tell(services, body, respond, failure_message(error, services.translator_for(user_id)))


def _copy_identity(wrapper: Callable[..., Any], inner: Callable[..., Any]) -> None:
    # Not functools.wraps: Bolt reads argument names through __wrapped__, and the wrapper's
    # own arguments are the ones Bolt must fill in.
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, name, getattr(inner, name))


def listener(inner: Callable[..., None]) -> Callable[..., None]:
    """Decorates a command, action or event listener: any failure is answered (see module)."""
    wanted = list(inspect.signature(inner).parameters)

    def wrapper(
        ack: Ack,
        body: dict[str, Any],
        payload: dict[str, Any],
        context: BoltContext,
        respond: Respond | None,
        client: WebClient,
    ) -> None:
        given: dict[str, Any] = {
            "ack": ack,
            "body": body,
            "payload": payload,
            "command": payload,
            "event": payload,
            "action": payload,
            "context": context,
            "respond": respond,
            "client": client,
        }
        try:
            inner(**{name: given[name] for name in wanted})
        except AlreadyReported:
            return
        except Exception as error:  # noqa: BLE001 - answered and logged here, once
            if ack.response is None:  # it failed before acknowledging: Slack must not wait
                ack()
            answer_failure(services_of(context), body, respond, error)

    _copy_identity(wrapper, inner)
    return wrapper


# Modal submissions ------------------------------------------------------------------------


@dataclass
class Answer:
    """What a submission's work tells the person.

    `errors` (block id -> translated text) keep the modal open with inline errors; `view`
    replaces the modal; neither closes it. `done` is said instead when the modal already shows
    "still saving". `after` runs once the person has been answered (delivery, App Home).
    """

    errors: dict[str, str] | None = None
    view: dict[str, Any] | None = None
    done: str | None = None
    after: Callable[[], None] | None = None

    def ack_arguments(self) -> dict[str, Any]:
        if self.errors:
            return {"response_action": "errors", "errors": self.errors}
        if self.view is not None:
            return {"response_action": "update", "view": self.view}
        return {}


@dataclass
class Submission:
    """A view_submission as the work sees it: the envelope the edge validated (typed)."""

    services: Services
    envelope: ViewSubmission
    _translator: Translator | None = field(default=None, repr=False)

    @property
    def user_id(self) -> str:
        return self.envelope.user.id

    @property
    def _(self) -> Translator:
        """The person's translator (asks Slack for their locale the first time)."""
        if self._translator is None:
            self._translator = self.services.translator_for(self.user_id)
        return self._translator

    @property
    def known_translator(self) -> Translator:
        """Without waiting on Slack: the person's if already known, else the default."""
        return self._translator or translator(self.services.settings.default_locale)

    @property
    def view(self) -> dict[str, Any]:
        """The submitted view as Slack sent it (its blocks, for answers that re-render it)."""
        return self.envelope.view.model_dump()

    @property
    def view_id(self) -> str:
        return self.envelope.view.id

    @property
    def values(self) -> payloads.Values:
        state = self.envelope.view.state
        return state.values if state is not None else {}

    @property
    def metadata(self) -> dict[str, Any]:
        return payloads.private_metadata(self.envelope.view.private_metadata)


class _AckOnce:
    """Bolt's ack, sent exactly once by whichever comes first: the answer or the deadline."""

    def __init__(self, ack: Ack) -> None:
        self._ack = ack
        self._lock = threading.Lock()
        self.sent = False

    def send(self, **arguments: Any) -> bool:
        with self._lock:
            if self.sent:
                return False
            self._ack(**arguments)
            self.sent = True
            return True


def still_saving_modal(_: Translator) -> dict[str, Any]:
    return kit.notice_modal(
        title=_("Saving"), text="⏳ " + _(STILL_SAVING), close=_("Close"), callback_id="saving"
    )


def outcome_modal(text: str, _: Translator) -> dict[str, Any]:
    return kit.notice_modal(
        title=_("Mentoring"), text=text, close=_("Close"), callback_id="outcome"
    )


def _first_input(view: dict[str, Any]) -> str | None:
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def _failure_answer(sub: Submission, error: BaseException) -> Answer:
    """Inline at the form's first field (the typed values stay), or as a notice."""
    _ = sub.known_translator
    text = failure_message(error, _)["text"]
    block = _first_input(sub.view)
    if block is not None:
        return Answer(errors={block: text}, done=text)
    return Answer(view=outcome_modal(text, _), done=text)


def failed_before_listener(
    services: Services, body: dict[str, Any], respond: Respond | None, error: BaseException
) -> dict[str, Any] | None:
    """A listener middleware that could not decide (the database is down) answers like a
    listener would: a form keeps its values with the failure at its first field (returned:
    the body of the ack); a click or command is told off the request thread (None)."""
    log_failure(error, _payload_type(body))
    user_id = user_of(body)
    if user_id is None or body.get("type") in ("view_closed", "event_callback"):
        return None
    _ = services.translator_for(user_id)
    text = failure_message(error, _)["text"]
    if body.get("type") == "view_submission":
        block = _first_input(body.get("view") or {})
        if block is not None:
            return {"response_action": "errors", "errors": {block: text}}
        return {"response_action": "update", "view": outcome_modal(text, _)}
    pool = services.listener_executor
    if pool is not None:
        pool.submit(tell, services, body, respond, failure_message(error, _))
    else:
        tell(services, body, respond, failure_message(error, _))
    return None


def _late_outcome(sub: Submission, answer: Answer) -> None:
    """The modal says "still saving": replace it with what happened (or DM it)."""
    _ = sub.known_translator
    if answer.errors:
        problems = "\n".join(f"• {kit.escape(text)}" for text in answer.errors.values())
        text = _("Nothing was changed. Please open the form again and fix this:") + "\n" + problems
        view = outcome_modal(text, _)
    elif answer.view is not None:
        view, text = answer.view, answer.done or _("Done.")
    else:
        text = "✅ " + (answer.done or _("Saved."))
        view = outcome_modal(text, _)
    try:
        sub.services.client.views_update(view_id=sub.view_id, view=view)
    except Exception:  # noqa: BLE001 - closed meanwhile, or Slack is slow: a DM instead
        log.warning("could not show the outcome in the modal")
        reply_dm(sub.services, sub.user_id, kit.message(text))


def submission(work: Callable[[Submission], Answer]) -> Callable[..., None]:
    """A view_submission listener running `work` under the ack deadline (see module)."""

    def wrapper(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        services = services_of(context)
        sub = Submission(services, payloads.submission_of(context, body))
        once = _AckOnce(ack)

        def hold() -> None:
            once.send(response_action="update", view=still_saving_modal(sub.known_translator))

        timer = threading.Timer(SUBMIT_DEADLINE, hold)
        timer.daemon = True
        timer.start()
        try:
            answer = work(sub)
        except AlreadyReported:
            answer = Answer()
        except Exception as error:  # noqa: BLE001 - answered and logged here, once
            log_failure(error, "view_submission")
            answer = _failure_answer(sub, error)
        finally:
            timer.cancel()
        if not once.send(**answer.ack_arguments()):
            _late_outcome(sub, answer)
        if answer.after is not None:
            try:
                answer.after()
            except Exception as error:  # noqa: BLE001 - stored and answered already
                log_failure(error, "view_submission")

    _copy_identity(wrapper, work)
    return wrapper
