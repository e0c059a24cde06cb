from __future__ import annotations

from pathlib import Path

import pytest

from collab.errors import SettingsError
from collab.settings import DEMO_LAYOUT, load_settings


def test_defaults_need_a_secret_outside_demo() -> None:
    with pytest.raises(SettingsError, match="COLLAB_SECRET"):
        load_settings(environ={})


def test_demo_defaults_are_valid_and_include_the_demo_layout() -> None:
    settings = load_settings(environ={}, overrides={"server": {"demo": True}})
    assert settings.layout("Sales", "Invoices") == DEMO_LAYOUT
    assert settings.base_url == "http://127.0.0.1:8080"


def test_environment_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "collab.toml"
    config.write_text(
        '[server]\nport = 9000\nsecret = "from-the-file-0123456789"\n[filemaker]\nurl = "https://fms.example.com"\n'
    )
    env = {
        "COLLAB_PORT": "9100",
        "COLLAB_ALLOWED_ORIGINS": "null, https://a.example.com",
        "COLLAB_DATA_DIR": "/srv/c",
    }
    settings = load_settings(config, environ=env)
    assert settings.server.port == 9100
    assert settings.server.secret == "from-the-file-0123456789"
    assert settings.server.allowed_origins == ["null", "https://a.example.com"]
    assert settings.store_path == Path("/srv/c/collab.db")


def test_unknown_key_is_refused_by_name(tmp_path: Path) -> None:
    config = tmp_path / "collab.toml"
    config.write_text("[server]\nprot = 1\n")
    with pytest.raises(SettingsError, match="prot"):
        load_settings(config, environ={})


def test_wrong_type_names_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "collab.toml"
    config.write_text('[server]\nport = "eighty"\n')
    with pytest.raises(SettingsError, match=r"server\.port"):
        load_settings(config, environ={})


def test_bad_port_in_environment_is_a_sentence() -> None:
    with pytest.raises(SettingsError, match="COLLAB_PORT must be a port number"):
        load_settings(environ={"COLLAB_PORT": "abc"})


def test_missing_filemaker_url_points_at_demo() -> None:
    with pytest.raises(SettingsError, match="--demo"):
        load_settings(environ={"COLLAB_SECRET": "x" * 32})


def test_layout_checks(tmp_path: Path) -> None:
    config = tmp_path / "collab.toml"
    config.write_text(
        '[server]\ndemo = true\n[[layouts]]\ndatabase = "A"\nlayout = "L"\nkey_field = "K"\n'
        'fields = ["K", "Notes"]\ntext_fields = ["Body"]\n'
    )
    with pytest.raises(SettingsError, match="text_fields"):
        load_settings(config, environ={})


def test_missing_config_file_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
