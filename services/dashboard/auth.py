"""Who a request is: a session cookie (people, in the browser) or a bearer token (API clients, the CLI);
what it may do: the role matrix (``accounts.MATRIX``), checked per endpoint by ``Require``.

Sessions are server-side: the cookie holds a random id (HttpOnly, SameSite=Strict, Secure unless turned off
for local development over plain HTTP), the store its digest, its CSRF token and when it ends. A request on a
session is refused if it comes from another origin (``Origin``, ``Sec-Fetch-Site``), and a state-changing
one also unless it echoes the session's CSRF token in ``X-CSRF-Token`` (the page reads it from the
``*_csrf`` cookie or from ``/api/me``). A bearer token carries no ambient authority, so it needs neither.

Failed logins are counted per account and per client address over a window; past either limit logins are
refused (429) until the window has passed. Every refusal (401, 403, 429) is logged with the path, the
account (when known), the role and the reason; never a password, token or session id.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import HTTPException, Request, status

from services.bus.logs import get_logger
from services.dashboard.accounts import Account, Permission, Principal, digest
from services.dashboard.settings import DashboardSettings
from services.dashboard.users import Session, UserStore

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})
LIMITER_KEYS_MAX = 100_000

log = get_logger("dashboard.auth")


class LoginLimiter:
    """Failed logins per account and per client address within a sliding window (in memory, per process)."""

    def __init__(
        self,
        *,
        per_account: int,
        per_address: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def retry_after(self, username: str, address: str) -> float | None:
        """Seconds until a login for ``username`` from ``address`` is accepted again, or None if it may be
        tried now.
        """
        now = self.clock()
        with self._lock:
            waits = [
                self.window - (now - times[0])
                for key, limit in (
                    (f"account:{username}", self.per_account),
                    (f"address:{address}", self.per_address),
                )
                if len(times := self._recent(key, now)) >= limit
            ]
        return max(waits) if waits else None

    def failed(self, username: str, address: str) -> None:
        """Count one failed login for the account and for the address."""
        now = self.clock()
        with self._lock:
            if len(self._failures) > LIMITER_KEYS_MAX:
                for key in list(self._failures):
                    self._recent(key, now)
            for key in (f"account:{username}", f"address:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        """Forget the account's failures (the address's still count)."""
        with self._lock:
            self._failures.pop(f"account:{username}", None)


def client_address(request: Request) -> str:
    """The peer address of the request (the proxy's, behind one)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Cookies:
    """The names of the session and CSRF cookies: ``__Host-`` prefixed when they are Secure."""

    session: str
    csrf: str

    @classmethod
    def of(cls, settings: DashboardSettings) -> Cookies:
        """The names for ``settings`` (the prefix is only allowed on Secure cookies)."""
        prefix = "__Host-" if settings.secure_cookies else ""
        return cls(f"{prefix}bus_session", f"{prefix}bus_csrf")


class Authenticator:
    """Logs people in and out, and tells who every request is (or refuses it)."""

    def __init__(
        self, settings: DashboardSettings, store: UserStore, limiter: LoginLimiter | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.cookies = Cookies.of(settings)
        self.limiter = limiter or LoginLimiter(
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
            window=settings.login_window_seconds,
        )

    # refusals

    @staticmethod
    def refuse(
        request: Request,
        code: int,
        reason: str,
        *,
        principal: Principal | None = None,
        fields: dict[str, str] | None = None,
    ) -> HTTPException:
        """The HTTP error for a refusal, logged first (who, what, why; never a secret)."""
        who = {"username": principal.username, "role": principal.role.value} if principal else {}
        log.warning(
            "refused",
            status=code,
            method=request.method,
            path=request.url.path,
            address=client_address(request),
            reason=reason,
            **who,
            **(fields or {}),
        )
        headers = {"WWW-Authenticate": 'Bearer realm="bus"'} if code == status.HTTP_401_UNAUTHORIZED else None
        return HTTPException(code, detail=reason, headers=headers)

    # origins

    def origin(self, request: Request) -> str:
        """The front door's own origin: the configured public one, or the one the request was addressed to."""
        if self.settings.public_origin:
            return self.settings.public_origin.rstrip("/")
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

    def cross_origin(self, request: Request) -> str | None:
        """Why the request comes from another origin than this front door's, or None if it does not say so."""
        origin = request.headers.get("origin")
        if origin is not None and origin != self.origin(request):
            return "cross-origin request"
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in TRUSTED_FETCH_SITES:
            return "cross-site request"
        return None

    # who asks

    def authenticate(self, request: Request) -> Principal:
        """The principal the request proves (bearer token, else session cookie); 401 if none, 403 if a
        session is used from another origin or changes state without its CSRF token.
        """
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise self.refuse(
                    request, status.HTTP_401_UNAUTHORIZED, "authorization must be a bearer token"
                )
            principal = self.store.token_principal(secret.strip())
            if principal is None:
                raise self.refuse(request, status.HTTP_401_UNAUTHORIZED, "unknown, revoked or disabled token")
            return principal
        session_id = request.cookies.get(self.cookies.session)
        if not session_id:
            raise self.refuse(request, status.HTTP_401_UNAUTHORIZED, "log in or give a bearer token")
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        session = self.store.session(session_id, idle=idle)
        if session is None:
            raise self.refuse(request, status.HTTP_401_UNAUTHORIZED, "the session has ended; log in again")
        self.check_session_request(request, session)
        request.state.session = session
        return session.principal

    def check_session_request(self, request: Request, session: Session) -> None:
        """403 if a request on ``session`` comes from another origin, or changes state without echoing the
        session's CSRF token.
        """
        why = self.cross_origin(request)
        if why is not None:
            raise self.refuse(request, status.HTTP_403_FORBIDDEN, why, principal=session.principal)
        if request.method not in SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER, "")
            if not given or digest(given) != digest(session.csrf_token):
                raise self.refuse(
                    request,
                    status.HTTP_403_FORBIDDEN,
                    "missing or wrong CSRF token",
                    principal=session.principal,
                )

    # logging in and out

    def login(self, request: Request, username: str, password: str) -> tuple[str, Session]:
        """Check a person's password and open a session: its id (for the cookie) and the session. 429 past
        the failure limits, 403 from another origin, 401 for any wrong account, password or disabled account
        (one answer for all, so it tells nothing about which accounts exist).
        """
        address = client_address(request)
        why = self.cross_origin(request)
        if why is not None:
            raise self.refuse(request, status.HTTP_403_FORBIDDEN, why)
        wait = self.limiter.retry_after(username, address)
        if wait is not None:
            error = self.refuse(
                request,
                status.HTTP_429_TOO_MANY_REQUESTS,
                "too many failed logins; wait",
                fields=self.named(username),
            )
            error.headers = {"Retry-After": str(max(1, round(wait)))}
            raise error
        account = self.store.check_password(username, password)
        if account is None:
            self.limiter.failed(username, address)
            raise self.refuse(
                request, status.HTTP_401_UNAUTHORIZED, "login failed", fields=self.named(username)
            )
        self.limiter.succeeded(username)
        return self.open(request, account)

    def named(self, username: str) -> dict[str, str]:
        """How a login's account is named in the log: its username if it exists, else a short digest (a
        password typed into the username field is never written down).
        """
        if self.store.get(username) is not None:
            return {"account": username}
        return {"unknown_account_sha256": digest(username)[:12]}

    def open(self, request: Request, account: Account) -> tuple[str, Session]:
        """A new session for ``account``, logged."""
        session_id, session = self.store.open_session(
            account, lifetime=timedelta(hours=self.settings.session_hours)
        )
        log.info("login", account=account.username, role=account.role.value, address=client_address(request))
        return session_id, session

    def logout(self, request: Request, principal: Principal) -> bool:
        """End the request's session, if it came with one (a token is revoked with ``bus users revoke``)."""
        session_id = request.cookies.get(self.cookies.session)
        if principal.via != "session" or not session_id:
            return False
        self.store.close_session(session_id)
        log.info("logout", account=principal.username, address=client_address(request))
        return True


class Require:
    """The dependency of an endpoint that needs ``permission``: the principal, or 401 / 403 (logged)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> Principal:
        """The request's principal if its role is granted the permission; else 401 or 403, logged."""
        auth: Authenticator = request.app.state.auth
        principal = auth.authenticate(request)
        if not principal.may(self.permission):
            raise auth.refuse(
                request,
                status.HTTP_403_FORBIDDEN,
                f"the {principal.role.value} role may not see this",
                principal=principal,
                fields={"permission": self.permission.value},
            )
        return principal
