"""The trading service: orders, executions and risk limits; the order saga."""

from __future__ import annotations

from services.trading.app import Trading, Upstreams, build_trading
from services.trading.config import TradingConfig

__all__ = ["Trading", "TradingConfig", "Upstreams", "build_trading"]
