"""Stand-in for ``st2tests.mocks.datastore`` and the constants of ``st2common.constants.keyvalue``.

Mirrors StackStorm's ``MockDatastoreService`` (same constructor, same method signatures, same
key namespacing) with three deliberate differences, each one making the stand-in behave like
a *production* datastore where st2's own mock is more lenient. A test that passes here passes
under st2's mock too; the reverse is not always true, which is the point:

- values are stored as ``str(value)``, as ``BaseDatastoreService.set_value`` does before
  sending them to the API (st2's mock keeps the Python object);
- a ``scope`` other than ``system`` raises ``ValueError``, as the production service does
  (st2's mock ignores the scope);
- ``ttl`` expires keys (st2's mock only logs that it cannot). Tests must therefore not rely on
  a key with a ttl *staying* or *going*: under st2's mock it never goes.

``encrypt``/``decrypt`` are recorded (``KeyValuePair.secret``) but values are kept in clear,
exactly like st2's mock.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

__all__ = [
    "DATASTORE_KEY_SEPARATOR",
    "SYSTEM_SCOPE",
    "USER_SCOPE",
    "KeyValuePair",
    "MockDatastoreService",
]

# st2common.constants.keyvalue
SYSTEM_SCOPE = "system"
USER_SCOPE = "user"
DATASTORE_KEY_SEPARATOR = ":"


class KeyValuePair:
    """The attributes of st2client's ``KeyValuePair`` that packs read (``name``, ``value``...)."""

    def __init__(
        self,
        name: str,
        value: str,
        scope: str = SYSTEM_SCOPE,
        secret: bool = False,
        ttl: Optional[int] = None,
        expires_at: Optional[float] = None,
    ) -> None:
        self.id = name
        self.name = name
        self.value = value
        self.scope = scope
        self.secret = secret
        self.ttl = ttl
        self._expires_at = expires_at

    def expired(self, now: float) -> bool:
        return self._expires_at is not None and now >= self._expires_at

    def __repr__(self) -> str:  # never print a secret value
        shown = "********" if self.secret else self.value
        return f"<KeyValuePair name={self.name!r} value={shown!r}>"


class MockDatastoreService:
    """In-memory datastore with the public API of st2's ``MockDatastoreService``."""

    DATASTORE_NAME_SEPARATOR = DATASTORE_KEY_SEPARATOR

    def __init__(self, logger: Any, pack_name: str, class_name: str, api_username: Optional[str] = None) -> None:
        self._pack_name = pack_name
        self._class_name = class_name
        self._username = api_username or "admin"
        self._logger = logger
        # Key is the full key name (with the pack/class prefix when local=True).
        self._datastore_items: Dict[str, KeyValuePair] = {}
        # time.monotonic: a wall-clock jump must not expire (or revive) keys.
        self._clock: Callable[[], float] = time.monotonic

    # General methods

    def get_user_info(self) -> Dict[str, Any]:
        return {
            "username": self._username,
            "rbac": {"is_admin": True, "enabled": True, "roles": ["admin"]},
            "authentication": {"method": "authentication token", "location": "header"},
        }

    # Datastore management (argument order as in st2tests.mocks.datastore)

    def list_values(
        self, local: bool = True, limit: Optional[int] = None, prefix: Optional[str] = None, offset: int = 0
    ) -> List[KeyValuePair]:
        self._expire()
        key_prefix = self._get_full_key_prefix(local=local, prefix=prefix)
        items = [kvp for name, kvp in self._datastore_items.items() if not key_prefix or name.startswith(key_prefix)]
        offset = offset or 0
        end = offset + limit if limit else None
        return items[offset:end]

    def get_value(self, name: str, local: bool = True, scope: str = SYSTEM_SCOPE, decrypt: bool = False) -> Any:
        _check_scope(scope)
        self._expire()
        kvp = self._datastore_items.get(self._get_full_key_name(name=name, local=local))
        return None if kvp is None else kvp.value

    def set_value(
        self,
        name: str,
        value: Any,
        ttl: Optional[int] = None,
        local: bool = True,
        scope: str = SYSTEM_SCOPE,
        encrypt: bool = False,
    ) -> bool:
        _check_scope(scope)
        full_name = self._get_full_key_name(name=name, local=local)
        expires_at = self._clock() + ttl if ttl else None
        self._datastore_items[full_name] = KeyValuePair(
            name=full_name, value=str(value), scope=scope, secret=bool(encrypt), ttl=ttl or None, expires_at=expires_at
        )
        return True

    def delete_value(self, name: str, local: bool = True, scope: str = SYSTEM_SCOPE) -> bool:
        _check_scope(scope)
        self._expire()
        return self._datastore_items.pop(self._get_full_key_name(name=name, local=local), None) is not None

    # Key naming, as st2common.services.datastore.BaseDatastoreService

    def _get_full_key_name(self, name: str, local: bool) -> str:
        return self._get_local_key_name_prefix() + name if local else name

    def _get_full_key_prefix(self, local: bool, prefix: Optional[str] = None) -> Optional[str]:
        if local:
            return self._get_local_key_name_prefix() + (prefix or "")
        return prefix

    def _get_local_key_name_prefix(self) -> str:
        return self._get_datastore_key_prefix() + self.DATASTORE_NAME_SEPARATOR

    def _get_datastore_key_prefix(self) -> str:
        return f"{self._pack_name}.{self._class_name}"

    def _expire(self) -> None:
        now = self._clock()
        for name in [name for name, kvp in self._datastore_items.items() if kvp.expired(now)]:
            del self._datastore_items[name]


def _check_scope(scope: str) -> None:
    # The production service refuses other scopes for pack code; so does the stand-in.
    if scope != SYSTEM_SCOPE:
        raise ValueError(f"Scope {scope} is unsupported.")
