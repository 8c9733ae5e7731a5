"""pii-edge for Python origins: open what the CloudFront edge sealed, reveal protected
requests, and refuse requests that did not come through the edge.

Everything runs in pii-core (Rust) through a native extension; this package adds types,
documentation and the web-framework middleware (:mod:`pii_edge.middleware`).

>>> import pii_edge
>>> keys = pii_edge.ReceiptKeys.from_jwks('{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}')
>>> keys.kids
['kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k']
"""

from ._native import (
    RECEIPT_HEADER,
    BatchOpener,
    Binding,
    Location,
    Opened,
    Policies,
    Revealed,
    RevealedField,
    Uninspectable,
    InvalidKeys,
    LocationError,
    Malformed,
    NoKey,
    OpenError,
    PiiEdgeError,
    PlaintextFound,
    PolicyError,
    PrivateKeyring,
    Receipt,
    ReceiptError,
    ReceiptKeys,
    Rewrapper,
    Tampered,
    UnsupportedVersion,
    WrongLocation,
    WrongPolicy,
    WrongZone,
    audit,
    classify,
    is_envelope,
    subject_tokens,
    verify_receipt,
)

__all__ = [
    "RECEIPT_HEADER",
    "BatchOpener",
    "Binding",
    "Location",
    "Opened",
    "Policies",
    "Revealed",
    "RevealedField",
    "Uninspectable",
    "InvalidKeys",
    "LocationError",
    "Malformed",
    "NoKey",
    "OpenError",
    "PiiEdgeError",
    "PlaintextFound",
    "PolicyError",
    "PrivateKeyring",
    "Receipt",
    "ReceiptError",
    "ReceiptKeys",
    "Rewrapper",
    "Tampered",
    "UnsupportedVersion",
    "WrongLocation",
    "WrongPolicy",
    "WrongZone",
    "audit",
    "classify",
    "is_envelope",
    "subject_tokens",
    "verify_receipt",
]
