"""The caller's feed: list a page, mark read, watch for new notifications."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from mesh import paging as mesh_paging
from mesh.context import Principal
from mesh.errors import FieldViolation, InvalidArgument, NotFound, Unauthenticated
from services.notification import paging
from services.notification.hub import Hub, Watcher
from services.notification.models import Page
from services.notification.store import NotificationStore, NotYours

MAX_PAGE_SIZE = 1000
MAX_MARK_IDS = 500
_SHOWN_IDS = 5


def _user(principal: Principal | None) -> str:
    if principal is None:
        raise Unauthenticated("a signed-in user is required")
    return principal.user_id


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])


def _ids(values: Sequence[str]) -> list[str]:
    ids: list[str] = []
    for index, value in enumerate(values):
        try:
            ids.append(str(uuid.UUID(value)))
        except ValueError:
            raise _invalid(f"notification_ids[{index}]", "must be a UUID") from None
    if len(set(ids)) != len(ids):
        raise _invalid("notification_ids", "must be distinct")
    if len(ids) > MAX_MARK_IDS:
        raise _invalid("notification_ids", f"at most {MAX_MARK_IDS} ids")
    return ids


class Feed:
    def __init__(
        self,
        store: NotificationStore,
        hub: Hub,
        *,
        default_page_size: int = 50,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._hub = hub
        self._default_page_size = default_page_size
        self._now = now

    async def list(
        self,
        principal: Principal | None,
        *,
        page_size: int = 0,
        page_token: str = "",
        unread_only: bool = False,
    ) -> Page:
        """One page of the caller's notifications, newest first."""
        user_id = _user(principal)
        size = mesh_paging.page_size(
            page_size, default=self._default_page_size, maximum=MAX_PAGE_SIZE, refuse_over=True
        )
        after = paging.decode(page_token, unread_only=unread_only)
        listing = await self._store.list(
            user_id,
            limit=size,
            unread_only=unread_only,
            after=after,
        )
        token = ""
        if listing.has_more and listing.notifications:
            last = listing.notifications[-1]
            token = paging.encode(paging.Cursor(last.created_us, last.notification_id, unread_only))
        return Page(listing.notifications, token, listing.unread_count)

    async def mark_read(
        self, principal: Principal | None, notification_ids: Sequence[str], *, mark_all: bool
    ) -> int:
        """Mark the given (or all) of the caller's notifications read; how many were unread.

        An id that is not one of the caller's notifications fails the whole call with
        NOT_FOUND and marks nothing, whether it names another user's or none at all.
        """
        user_id = _user(principal)
        if bool(notification_ids) == mark_all:
            raise _invalid("notification_ids", "set exactly one of notification_ids and all")
        now_us = round(self._now() * 1_000_000)
        if mark_all:
            return await self._store.mark_all_read(user_id, now_us=now_us)
        try:
            return await self._store.mark_read(user_id, _ids(notification_ids), now_us=now_us)
        except NotYours as exc:
            # A few ids name the problem; all 500 could overflow the status trailer.
            shown = ", ".join(exc.ids[:_SHOWN_IDS])
            if len(exc.ids) > _SHOWN_IDS:
                shown += f" and {len(exc.ids) - _SHOWN_IDS} more"
            raise NotFound(
                f"no notification {shown} of yours; nothing was marked",
                reason="NOTIFICATION_NOT_FOUND",
                metadata={"missing_count": str(len(exc.ids))},
            ) from None

    @contextmanager
    def watch(self, principal: Principal | None) -> Iterator[Watcher]:
        """The caller's new notifications, for the duration of the block."""
        with self._hub.watch(_user(principal)) as watcher:
            yield watcher
