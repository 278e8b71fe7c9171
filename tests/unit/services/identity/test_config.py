"""The [identity] config section: env, DATABASE_URL fallback, checks naming their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.config import ConfigError
from services.identity import IdentityConfig
from services.identity.store import Role


def test_defaults_and_environment() -> None:
    config = IdentityConfig.load(
        environ={
            "TRADEMESH_IDENTITY_SQLITE_PATH": "/tmp/x.sqlite3",
            "TRADEMESH_IDENTITY_DEFAULT_ROLES": "viewer,trader",
            "TRADEMESH_IDENTITY_MAX_FAILED_LOGINS": "7",
        }
    )
    assert config.database_url is None
    assert config.sqlite_path == Path("/tmp/x.sqlite3")
    assert config.default_role_set == {Role.VIEWER, Role.TRADER}
    assert config.max_failed_logins == 7
    assert IdentityConfig.load(environ={}).default_role_set == {Role.VIEWER}


def test_plain_database_url_is_the_fallback() -> None:
    url = "postgresql://u:secret@db/identity"
    assert IdentityConfig.load(environ={"DATABASE_URL": url}).database_url == url
    own = IdentityConfig.load(
        environ={"DATABASE_URL": url, "TRADEMESH_IDENTITY_DATABASE_URL": "postgresql://own/x"}
    )
    assert own.database_url == "postgresql://own/x"
    from_toml = IdentityConfig.load(
        environ={"DATABASE_URL": url}, toml={"identity": {"database_url": ""}}
    )
    assert from_toml.database_url is None


def test_secrets_stay_out_of_repr() -> None:
    config = IdentityConfig(
        database_url="postgresql://u:db-secret@h/d",
        admin_email="root@example.com",
        admin_password="admin-secret",
    )
    assert "db-secret" not in repr(config)
    assert "admin-secret" not in repr(config)


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"TRADEMESH_IDENTITY_ADMIN_EMAIL": "a@b.c"}, "TRADEMESH_IDENTITY_ADMIN_PASSWORD"),
        ({"TRADEMESH_IDENTITY_DEFAULT_ROLES": "viewer,admin"}, "TRADEMESH_IDENTITY_DEFAULT_ROLES"),
        ({"TRADEMESH_IDENTITY_DEFAULT_ROLES": "king"}, "TRADEMESH_IDENTITY_DEFAULT_ROLES"),
        ({"TRADEMESH_IDENTITY_MAX_FAILED_LOGINS": "0"}, "TRADEMESH_IDENTITY_MAX_FAILED_LOGINS"),
        ({"TRADEMESH_IDENTITY_LOCKOUT_SECONDS": "-1"}, "TRADEMESH_IDENTITY_LOCKOUT_SECONDS"),
        ({"TRADEMESH_IDENTITY_MAX_LOCKOUT_SECONDS": "1"}, "TRADEMESH_IDENTITY_MAX_LOCKOUT_SECONDS"),
        ({"TRADEMESH_IDENTITY_PASSWORD_MEMORY_KIB": "4"}, "TRADEMESH_IDENTITY_PASSWORD_MEMORY_KIB"),
        (
            {
                "TRADEMESH_IDENTITY_ADMIN_EMAIL": "root",
                "TRADEMESH_IDENTITY_ADMIN_PASSWORD": "x" * 9,
            },
            "TRADEMESH_IDENTITY_ADMIN_EMAIL",
        ),
        (
            {
                "TRADEMESH_IDENTITY_ADMIN_EMAIL": "a@b.c",
                "TRADEMESH_IDENTITY_ADMIN_PASSWORD": "short",
            },
            "TRADEMESH_IDENTITY_ADMIN_PASSWORD",
        ),
    ],
)
def test_bad_values_name_their_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        IdentityConfig.load(environ=environ)
    assert info.value.key == key
    assert "short" not in str(info.value)
