"""Both signature schemes: respond.io's test vector, Standard Webhooks, and verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC

import pytest

from openrespond.webhooks.signing import (
    SignatureError,
    new_key,
    respondio_signature,
    sign_headers,
    standard_signature,
    verify,
)


def test_respondio_test_vector() -> None:
    body = b'{"event":"message","data":"test"}'
    assert respondio_signature("secret", body) == "UtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0+xIrI="


def test_standard_webhooks_signature_uses_the_decoded_whsec_key() -> None:
    raw = b"0123456789abcdef0123456789abcdef"
    key = "whsec_" + base64.b64encode(raw).decode()
    body = b'{"a":1}'
    expected = base64.b64encode(
        hmac.new(raw, b"msg_1.1700000000." + body, hashlib.sha256).digest()
    ).decode()
    assert standard_signature(key, "msg_1", 1700000000, body) == "v1," + expected
    # respond.io's scheme uses the key exactly as shown
    assert (
        respondio_signature(key, body)
        == base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    )


def test_generated_keys_are_random_whsec_keys() -> None:
    a, b = new_key(), new_key()
    assert a != b
    assert a.startswith("whsec_")
    assert len(base64.b64decode(a[6:])) == 24


def test_verify_accepts_both_schemes_and_rejects_tampering() -> None:
    key, body = new_key(), b'{"event_id":"evt_1"}'
    headers = sign_headers(key, "evt_1", body, timestamp=1_700_000_000)
    assert verify(key, headers, body, now=1_700_000_010) == "standard"
    legacy = {"X-Webhook-Signature": headers["X-Webhook-Signature"]}
    assert verify(key, legacy, body) == "respondio"
    with pytest.raises(SignatureError, match="does not match"):
        verify(key, headers, body + b" ", now=1_700_000_010)
    with pytest.raises(SignatureError, match="too far"):
        verify(key, headers, body, now=1_700_000_000 + 3600)
    with pytest.raises(SignatureError, match="does not match"):
        verify(new_key(), legacy, body)
    with pytest.raises(SignatureError, match="no signature"):
        verify(key, {}, body)
    # a receiver holding several valid signatures (key rotation) accepts any of them
    both = dict(headers)
    both["webhook-signature"] = "v1,bm90LWl0 " + headers["webhook-signature"]
    assert verify(key, both, body, now=1_700_000_010) == "standard"


def test_the_standard_webhooks_library_verifies_what_we_sign_and_we_verify_what_it_signs() -> None:
    """Interoperability with the reference implementation (the ``standardwebhooks``
    package), for generated ``whsec_`` keys and for keys a receiver chose."""
    import time
    from datetime import datetime

    from standardwebhooks import Webhook

    body = '{"event_id":"evt_1","event_type":"contact.created","contact":{"firstName":"Zoë"}}'
    for key, secret in (
        (new_key(), None),
        ("a-key-the-receiver-already-has", b"a-key-the-receiver-already-has"),
    ):
        reference = Webhook(secret if secret is not None else key)
        headers = sign_headers(key, "msg_1", body.encode())
        assert reference.verify(body.encode(), headers) == json.loads(body)
        now = int(time.time())
        theirs = {
            "webhook-id": "msg_2",
            "webhook-timestamp": str(now),
            "webhook-signature": reference.sign("msg_2", datetime.fromtimestamp(now, tz=UTC), body),
        }
        assert verify(key, theirs, body.encode()) == "standard"
