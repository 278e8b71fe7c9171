from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mesh.config import ConfigError, load_section, read_toml


@dataclass(frozen=True)
class Sample:
    port: int = 1
    ratio: float = 0.5
    enabled: bool = False
    name: str = "x"
    ports: tuple[int, ...] = (1, 2)
    path: Path | None = None


def test_defaults_toml_env_and_overrides_in_order(tmp_path: Path) -> None:
    toml_file = tmp_path / "c.toml"
    toml_file.write_text('[sample]\nport = 10\nname = "from-toml"\nports = [7, 8]\n')
    toml = read_toml(toml_file)
    assert load_section(Sample, "sample", environ={}) == Sample()
    got = load_section(Sample, "sample", environ={"TRADEMESH_SAMPLE_PORT": "20"}, toml=toml)
    assert (got.port, got.name, got.ports) == (20, "from-toml", (7, 8))
    got = load_section(
        Sample, "sample", environ={"TRADEMESH_SAMPLE_PORT": "20"}, toml=toml, overrides={"port": 30}
    )
    assert got.port == 30


def test_env_values_are_converted() -> None:
    env = {
        "TRADEMESH_SAMPLE_RATIO": "0.25",
        "TRADEMESH_SAMPLE_ENABLED": "yes",
        "TRADEMESH_SAMPLE_PORTS": "3, 4,5",
        "TRADEMESH_SAMPLE_PATH": "/tmp/x",
    }
    got = load_section(Sample, "sample", environ=env)
    assert got == Sample(ratio=0.25, enabled=True, ports=(3, 4, 5), path=Path("/tmp/x"))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TRADEMESH_SAMPLE_PORT", "eighty"),
        ("TRADEMESH_SAMPLE_ENABLED", "maybe"),
        ("TRADEMESH_SAMPLE_PORTS", "1,x"),
        ("TRADEMESH_SAMPLE_RATIO", "fast"),
    ],
)
def test_bad_env_value_names_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_section(Sample, "sample", environ={key: value})
    assert info.value.key == key
    assert value.split(",")[-1] in str(info.value)


def test_unknown_toml_key_and_bad_file_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        load_section(Sample, "sample", environ={}, toml={"sample": {"prot": 1}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[sample\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_toml(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        read_toml(tmp_path / "missing.toml")


@dataclass(frozen=True)
class Checked:
    ttl_seconds: int = 10

    def __post_init__(self) -> None:
        if self.ttl_seconds <= 0:
            raise ValueError(f"Checked.ttl_seconds must be positive, got {self.ttl_seconds}")


def test_a_dataclass_check_is_reported_with_the_key_that_set_the_value() -> None:
    with pytest.raises(ConfigError) as info:
        load_section(Checked, "cache", environ={"TRADEMESH_CACHE_TTL_SECONDS": "-1"})
    assert info.value.key == "TRADEMESH_CACHE_TTL_SECONDS"
    with pytest.raises(ConfigError) as info:
        load_section(Checked, "cache", environ={}, toml={"cache": {"ttl_seconds": 0}})
    assert info.value.key == "[cache] ttl_seconds"
