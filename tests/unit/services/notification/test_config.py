"""The `[notification]` settings: defaults, the DATABASE_URL fallback, bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.config import ConfigError
from services.notification import NotificationConfig


def test_defaults_use_sqlite_under_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEMESH_STATE_DIR", str(tmp_path))
    config = NotificationConfig.load(environ={})
    assert config.database_url is None
    assert config.sqlite_path == tmp_path / "notification" / "notification.sqlite3"
    assert config.default_page_size == 50


def test_database_url_falls_back_to_the_shared_one() -> None:
    shared = {"DATABASE_URL": "postgresql://db/shared"}
    assert NotificationConfig.load(environ=shared).database_url == "postgresql://db/shared"
    own = {**shared, "TRADEMESH_NOTIFICATION_DATABASE_URL": "postgresql://db/own"}
    assert NotificationConfig.load(environ=own).database_url == "postgresql://db/own"
    # Set but empty on purpose: SQLite, whatever DATABASE_URL says.
    empty = {**shared, "TRADEMESH_NOTIFICATION_DATABASE_URL": ""}
    assert not NotificationConfig.load(environ=empty).database_url


def test_the_url_is_not_shown_in_the_repr() -> None:
    config = NotificationConfig(database_url="postgresql://user:secret@db/x")
    assert "secret" not in repr(config)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TRADEMESH_NOTIFICATION_STREAM_BUFFER_SIZE", "0"),
        ("TRADEMESH_NOTIFICATION_DEFAULT_PAGE_SIZE", "5000"),
        ("TRADEMESH_NOTIFICATION_MAX_STREAMS_PER_USER", "many"),
        ("TRADEMESH_NOTIFICATION_RETENTION_DAYS", "0"),
        ("TRADEMESH_NOTIFICATION_DATABASE_URL", "mysql://user:secret@db/feed"),
    ],
)
def test_bad_values_name_their_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        NotificationConfig.load(environ={key: value})
    assert key in str(raised.value)
    assert "secret" not in str(raised.value)
