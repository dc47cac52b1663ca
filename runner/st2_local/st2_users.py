"""Who calls the local st2 API and what they may do: tokens per st2 user, RBAC roles.

As StackStorm v3.9.0: the requester of a call is the st2 user of its token (``X-Auth-Token``),
never a value in the body; with RBAC off (st2's noop backend) every user holds every role and
is an admin; with ``rbac_enabled`` a user holds the roles in ``roles``.
"""

from __future__ import annotations

import secrets
import threading
from typing import Dict, List, Optional

ADMIN_ROLES = ("admin", "system_admin")


class St2Users:
    """Tokens and roles of the local st2 API's users (thread-safe)."""

    def __init__(self, rbac_enabled: bool = False) -> None:
        self.rbac_enabled = rbac_enabled
        self.tokens: Dict[str, str] = {}  # token -> st2 user
        self.roles: Dict[str, List[str]] = {}  # st2 user -> RBAC roles (used when rbac_enabled)
        self._users_lock = threading.Lock()

    def token_for(self, user: str) -> str:
        """A token of ``user`` (one per user, reused)."""
        with self._users_lock:
            for token, owner in self.tokens.items():
                if owner == user:
                    return token
            token = "tok-" + secrets.token_hex(16)
            self.tokens[token] = user
            return token

    def user_of(self, token: Optional[str]) -> Optional[str]:
        """The st2 user a token belongs to (None: no token, or not one of ours)."""
        with self._users_lock:
            return self.tokens.get(token or "")

    def user_has_role(self, user: str, role: str) -> bool:
        """st2's RBAC utils: without an RBAC backend (noop), every user holds every role."""
        if not self.rbac_enabled:
            return True
        return role in self.roles.get(user, [])

    def is_admin(self, user: str) -> bool:
        if not self.rbac_enabled:
            return True  # the noop backend makes everyone an admin
        return any(role in ADMIN_ROLES for role in self.roles.get(user, []))

    def roles_of(self, user: str) -> List[str]:
        return list(self.roles.get(user, []))
