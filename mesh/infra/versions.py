"""The pinned version of every external tool, in one table."""

from __future__ import annotations

CONSUL = "1.22.2"
KAFKA = "4.3.1"
BUF = "1.75.0"
GRPCURL = "1.9.3"
SOCKET_IO_CLIENT = "4.8.4"
