"""Envelope encryption: round trips, and every kind of tampering is refused with a message naming the object."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.crypto import HEADER_BYTES, MAGIC, ObjectIdentity, new_data_key, seal, unseal
from compliance.errors import DecryptionError

identities = st.builds(
    ObjectIdentity,
    purpose=st.sampled_from(["recording", "reply", "caller-number"]),
    call_id=st.uuids().map(str),
    chunk_number=st.none() | st.integers(min_value=1, max_value=10_000),
    data_key_id=st.none() | st.integers(min_value=1, max_value=2**40),
)


@given(identity=identities, plaintext=st.binary(max_size=4096))
def test_round_trip(identity: ObjectIdentity, plaintext: bytes) -> None:
    key = new_data_key()
    blob = seal(key, identity, plaintext)
    assert unseal(key, identity, blob) == plaintext
    # Short strings may occur in random ciphertext by chance; longer ones never do.
    assert len(plaintext) < 16 or plaintext not in blob


def test_nonce_and_key_are_fresh_each_time() -> None:
    identity = ObjectIdentity("recording", "call-1", 1, 7)
    key = new_data_key()
    assert len(key) == 32
    blobs = {seal(key, identity, b"same audio") for _ in range(50)}
    assert len(blobs) == 50
    assert len({b[len(MAGIC) : HEADER_BYTES] for b in blobs}) == 50
    assert new_data_key() != new_data_key()


@settings(max_examples=200)
@given(identity=identities, plaintext=st.binary(min_size=1, max_size=512), data=st.data())
def test_any_flipped_bit_is_detected(identity: ObjectIdentity, plaintext: bytes, data: st.DataObject) -> None:
    key = new_data_key()
    blob = bytearray(seal(key, identity, plaintext))
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    blob[position] ^= 1 << bit
    with pytest.raises(DecryptionError, match=identity.call_id):
        unseal(key, identity, bytes(blob))


@given(identity=identities, plaintext=st.binary(min_size=1, max_size=512), data=st.data())
def test_truncation_is_detected(identity: ObjectIdentity, plaintext: bytes, data: st.DataObject) -> None:
    key = new_data_key()
    blob = seal(key, identity, plaintext)
    cut = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    with pytest.raises(DecryptionError, match="not decrypted"):
        unseal(key, identity, blob[:cut])


@given(a=identities, b=identities)
def test_blob_moved_to_another_identity_is_refused(a: ObjectIdentity, b: ObjectIdentity) -> None:
    key = new_data_key()
    blob = seal(key, a, b"audio of chunk a")
    if a == b:
        assert unseal(key, b, blob) == b"audio of chunk a"
    else:
        with pytest.raises(DecryptionError):
            unseal(key, b, blob)


def test_reordered_chunk_is_refused_and_named() -> None:
    key = new_data_key()
    chunk_two = ObjectIdentity("recording", "call-9", 2, 11)
    blob = seal(key, chunk_two, b"second chunk")
    with pytest.raises(DecryptionError, match=r"recording of call call-9 chunk 3 \(data key 11\)"):
        unseal(key, ObjectIdentity("recording", "call-9", 3, 11), blob)


def test_wrong_key_is_refused() -> None:
    identity = ObjectIdentity("reply", "call-2", 1, 3)
    blob = seal(new_data_key(), identity, b"reply audio")
    with pytest.raises(DecryptionError, match="failed authentication"):
        unseal(new_data_key(), identity, blob)
