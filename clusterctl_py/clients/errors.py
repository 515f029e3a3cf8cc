"""What the clients raise when an API call does not work.

SDK exceptions stop here: the clients translate them into these, chained
with `from`, and never subclass them. A message names the API and what to do;
it carries the API's error code and request id where the API gives them
(Hetzner: `code`, `correlation_id`; Kubernetes: status, reason and the
`Status` message), never a response body, which can hold a Secret.
"""

from __future__ import annotations

from clusterctl_py.errors import EXIT_BAD_INPUT, ClusterctlError


class ClientError(ClusterctlError):
    """An API call failed after the client's one retry policy gave up."""

    def __init__(self, message: str, *, api: str, code: str | None = None, request_id: str | None = None):
        self.api = api
        self.code = code
        self.request_id = request_id
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{api}: {message}{suffix}")


class Unauthorized(ClientError):
    """The credentials are not accepted (a wrong, revoked or expired token or certificate)."""


class Forbidden(ClientError):
    """The credentials are accepted but may not do this (a read-only token, missing RBAC verbs)."""


class NotFound(ClientError):
    """The object asked for by name or id does not exist."""


class Unavailable(ClientError):
    """The API could not be reached or kept failing (refused or dropped connections, 5xx, timeouts, rate limits)."""


class Conflict(ClientError):
    """The object changed since it was read (its resourceVersion no longer matches)."""


class BadCredentials(ClientError):
    """The credentials given cannot be used at all (a kubeconfig that does not parse or names no
    usable context): bad input, so nothing was asked of any API."""

    exit_code = EXIT_BAD_INPUT
