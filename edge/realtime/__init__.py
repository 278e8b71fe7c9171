"""Socket.IO rooms over gRPC server streams: the room table from the contracts' `room`
option, one shared upstream stream per room, numbered events with replay."""

from __future__ import annotations

from edge.realtime.buffer import EventBuffer, Replay
from edge.realtime.config import RealtimeConfig, load_realtime_config
from edge.realtime.hub import Joined, RoomHub
from edge.realtime.memory import tune_gc
from edge.realtime.metrics import RealtimeMetrics
from edge.realtime.rooms import RoomPattern, RoomTable, RoomTableError, RoomTarget
from edge.realtime.server import SESSION_REVOKED, Authenticator, Realtime, RevocationHook
from edge.realtime.stream import EVENT, ROOM_ERROR, ROOM_STATUS, Refused

__all__ = [
    "EVENT",
    "ROOM_ERROR",
    "ROOM_STATUS",
    "SESSION_REVOKED",
    "Authenticator",
    "EventBuffer",
    "Joined",
    "Realtime",
    "RealtimeConfig",
    "RealtimeMetrics",
    "Refused",
    "Replay",
    "RevocationHook",
    "RoomHub",
    "RoomPattern",
    "RoomTable",
    "RoomTableError",
    "RoomTarget",
    "load_realtime_config",
    "tune_gc",
]
