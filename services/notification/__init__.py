"""The notification service: each user's feed, built from trade, order, portfolio and session
events, listed, marked read and streamed."""

from __future__ import annotations

from services.notification.app import Notifications, build_notifications
from services.notification.config import NotificationConfig
from services.notification.feed import Feed
from services.notification.hub import FellBehind, Hub, Watcher
from services.notification.models import Kind, Notification, Page
from services.notification.render import TEMPLATES, BadEvent, render
from services.notification.servicer import NotificationServicer
from services.notification.store import NotificationStore, NotYours

__all__ = [
    "TEMPLATES",
    "BadEvent",
    "Feed",
    "FellBehind",
    "Hub",
    "Kind",
    "NotYours",
    "Notification",
    "NotificationConfig",
    "NotificationServicer",
    "NotificationStore",
    "Notifications",
    "Page",
    "Watcher",
    "build_notifications",
    "render",
]
