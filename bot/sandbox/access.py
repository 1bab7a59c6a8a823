"""Only the sandbox page itself may use the page's API.

Any web page the person has open can send requests to 127.0.0.1 (a form, `fetch` with
`no-cors`), and a DNS-rebinding host (`evil.example` made to resolve to 127.0.0.1) can even read
the answers, page included. So a request is accepted only when its Host header names the address
the sandbox is bound to (a rebinding page's requests name its own host), its Origin, when the
browser sends one, is the page's own, and, for the API, it carries the token the page received
when it loaded: a per-run secret another origin cannot read.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

TOKEN_HEADER = "X-Sandbox-Token"
TOKEN_ENVIRON_KEY = "HTTP_X_SANDBOX_TOKEN"  # the header as WSGI names it
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})
_NOT_IN_A_HOST = frozenset("@/\\?# \t")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _names_the_sandbox(name: str, bound_host: str) -> bool:
    bound = bound_host.lower().strip("[]")
    if name == bound:
        return True
    if bound in LOOPBACK_NAMES:
        return name in LOOPBACK_NAMES
    if bound in ALL_INTERFACES:
        # Bound to every interface, any of the machine's addresses may be typed; a rebinding
        # attack needs a DNS name, so addresses and `localhost` are safe, other names are not.
        return name == "localhost" or _is_ip_address(name)
    return False


def host_refusal(host_header: str | None, bound_host: str, bound_port: int) -> str | None:
    """Why the Host header does not name the sandbox's address, or None if it does."""
    where = f"{bound_host}:{bound_port}"
    if not host_header:
        return f"the request names no host; open the sandbox at {where}"
    if _NOT_IN_A_HOST & set(host_header):
        return f"the request's host is not the sandbox's address ({where})"
    try:
        parts = urlsplit("//" + host_header)
        name, port = parts.hostname, parts.port or 80
    except ValueError:
        return f"the request's host is not the sandbox's address ({where})"
    if name is None or port != bound_port or not _names_the_sandbox(name, bound_host):
        return f"the request's host is not the sandbox's address ({where})"
    return None


def origin_refusal(origin: str | None, host_header: str) -> str | None:
    """Why a request from another page's origin is refused, or None when it comes from the
    sandbox page (or the browser sent no Origin: a navigation or a same-origin GET)."""
    if origin is None:
        return None
    if origin.lower() != "http://" + host_header.lower():
        return "requests from other web pages are refused; use the sandbox page itself"
    return None


def token_refusal(given: str | None, token: str) -> str | None:
    """Why the request's page token is wrong, or None when it is the page's own."""
    if not given:
        return "the request carries no page token; reload the sandbox page"
    if not hmac.compare_digest(given.encode(), token.encode()):
        return "the page token is not this sandbox's (it restarted?); reload the sandbox page"
    return None
