"""Between the feed's records and the notification.v1 messages: one table for the kind enum."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.notification.v1 import notification_pb2 as pb

from services.notification.models import Kind, Notification

KINDS: dict[Kind, pb.NotificationKind.ValueType] = {
    Kind.ORDER_UPDATED: pb.NOTIFICATION_KIND_ORDER_UPDATED,
    Kind.TRADE_EXECUTED: pb.NOTIFICATION_KIND_TRADE_EXECUTED,
    Kind.SESSION_REVOKED: pb.NOTIFICATION_KIND_SESSION_REVOKED,
    Kind.SYSTEM: pb.NOTIFICATION_KIND_SYSTEM,
}


def timestamp(microseconds: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMicroseconds(microseconds)
    return stamp


def notification_message(notification: Notification) -> pb.Notification:
    message = pb.Notification(
        notification_id=notification.notification_id,
        user_id=notification.user_id,
        kind=KINDS[notification.kind],
        title=notification.title,
        body=notification.body,
        attributes=dict(notification.attributes),
        create_time=timestamp(notification.created_us),
    )
    if notification.read_us is not None:
        message.read_time.CopyFrom(timestamp(notification.read_us))
    return message
