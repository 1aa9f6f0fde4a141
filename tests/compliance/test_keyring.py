"""The local keyring file: creation, permissions, rotation, retirement, and clear refusals."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from compliance.crypto import new_data_key
from compliance.errors import KeyringError, KeyringMissingError, KeyUnavailableError
from compliance.keys import Keyring, KeyringProvider


def test_created_with_mode_0600_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keyring.json"
    ring = Keyring.create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = Keyring.load(path)
    assert loaded.kek_id == ring.kek_id
    assert loaded.version(1).material == ring.version(1).material
    assert loaded.pepper == ring.pepper
    assert loaded.signing_key.public_key().public_bytes_raw() == ring.signing_key.public_key().public_bytes_raw()


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path)
    with pytest.raises(KeyringError, match="refusing to overwrite"):
        Keyring.create(path)


def test_missing_keyring_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(KeyringMissingError, match="Run `hotline keys init`"):
        Keyring.load(tmp_path / "nowhere.json")


def test_world_readable_keyring_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path)
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        Keyring.load(path)


def test_damaged_keyring_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path)
    path.write_text('{"format": 1, "keks": []}')
    path.chmod(0o600)
    with pytest.raises(KeyringError, match="damaged"):
        Keyring.load(path)


def test_rotation_keeps_old_versions_readable_until_retired(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.create(path)
    provider = KeyringProvider(ring)
    key = new_data_key()
    old = provider.wrap(key, {})
    assert old.kek_version == 1
    ring.add_version()
    new = provider.wrap(key, {})
    assert new.kek_version == 2
    assert provider.unwrap(old, {}) == key
    reloaded = KeyringProvider(Keyring.load(path))
    assert reloaded.unwrap(old, {}) == key
    assert reloaded.keyring.active_version == 2
    reloaded.keyring.retire(1)
    with pytest.raises(KeyUnavailableError, match="retired"):
        KeyringProvider(Keyring.load(path)).unwrap(old, {})
    assert KeyringProvider(Keyring.load(path)).unwrap(new, {}) == key


def test_active_version_cannot_be_retired(tmp_path: Path) -> None:
    ring = Keyring.create(tmp_path / "keyring.json")
    with pytest.raises(KeyringError, match="active"):
        ring.retire(1)


def test_key_from_another_keyring_is_named(tmp_path: Path) -> None:
    mine = KeyringProvider(Keyring.create(tmp_path / "a.json"))
    theirs = KeyringProvider(Keyring.create(tmp_path / "b.json"))
    wrapped = theirs.wrap(new_data_key(), {})
    with pytest.raises(KeyUnavailableError, match=theirs.keyring.kek_id):
        mine.unwrap(wrapped, {})


def test_no_temporary_files_left_behind(tmp_path: Path) -> None:
    ring = Keyring.create(tmp_path / "keyring.json")
    ring.add_version()
    assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"]
