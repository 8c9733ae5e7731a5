"""Type stubs of the native extension (pii-core through PyO3). See pii_edge's README."""

from typing import Any, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple, Union

HeaderPairs = Union[Iterable[Tuple[Union[str, bytes], Union[str, bytes]]], Mapping[str, str]]
Body = Union[bytes, bytearray, memoryview, str]
Kind = Literal["text", "string", "number", "bool", "null", "object", "array"]

RECEIPT_HEADER: str

class PiiEdgeError(Exception):
    """Base class of every error of pii_edge."""

class InvalidKeys(PiiEdgeError):
    """A key or key set was refused; the message names the key by position, never its material."""

class OpenError(PiiEdgeError):
    """An envelope did not open. Raised by ``reveal`` with ``location`` (the text form)."""
    location: str

class Malformed(OpenError): ...
class UnsupportedVersion(OpenError): ...
class WrongZone(OpenError): ...
class WrongPolicy(OpenError): ...
class WrongLocation(OpenError): ...
class NoKey(OpenError): ...
class Tampered(OpenError): ...

class PlaintextFound(PiiEdgeError):
    """Strict opening: ``location`` holds plaintext where the policy requires an envelope."""
    location: str

class Uninspectable(PiiEdgeError):
    """Strict opening: the request cannot be inspected as the edge would."""

class LocationError(PiiEdgeError):
    """Not a location in its one text form."""

class PolicyError(PiiEdgeError):
    """A policy did not load (file, line and column in the message)."""

class ReceiptError(PiiEdgeError):
    """No valid, fresh receipt. ``code``: missing, repeated, malformed, unknown-key,
    bad-signature, unsupported-version, expired, from-the-future, method, target, body, headers."""
    code: str

class Location:
    """Where a value is in a request: ``json:$['user']['email']``, ``header:x-national-id``,
    ``query:email#1``, ``form:card_number``, ``cookie:session``. ``str()`` prints the text form."""
    def __init__(self, text: str) -> None: ...
    @staticmethod
    def parse(text: str) -> "Location": ...
    @staticmethod
    def json(path: Sequence[Union[str, int]]) -> "Location": ...
    @staticmethod
    def field(part: Literal["header", "query", "form", "cookie"], name: str, index: int = 0) -> "Location": ...
    @property
    def part(self) -> Literal["json", "header", "query", "form", "cookie"]: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def index(self) -> Optional[int]: ...
    @property
    def path(self) -> Optional[List[Union[str, int]]]: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Binding:
    """Policy, zone and location a value was sealed for (authenticated)."""
    @property
    def policy(self) -> str: ...
    @property
    def zone(self) -> str: ...
    @property
    def location(self) -> Location: ...

class Opened:
    """An opened value; ``repr`` hides it."""
    @property
    def value(self) -> Any: ...
    @property
    def kind(self) -> Kind: ...
    @property
    def binding(self) -> Binding: ...

class RevealedField:
    @property
    def binding(self) -> Binding: ...
    @property
    def kind(self) -> Kind: ...

class Revealed:
    """A request with its envelopes opened."""
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def headers(self) -> List[Tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def fields(self) -> List[RevealedField]: ...
    @property
    def opened(self) -> int: ...
    def json(self) -> Any: ...

class Policies:
    """Policies compiled for strict opening."""
    @staticmethod
    def from_files(paths: Sequence[str]) -> "Policies": ...
    @staticmethod
    def from_yaml(text: str, source: str = "<yaml>") -> "Policies": ...
    @property
    def names(self) -> List[str]: ...

class PrivateKeyring:
    """The private X25519 keys of one region (wiped from memory when dropped)."""
    @staticmethod
    def from_jwks(text: str) -> "PrivateKeyring": ...
    @staticmethod
    def from_file(path: str) -> "PrivateKeyring": ...
    @property
    def zones(self) -> List[str]: ...
    def open(self, envelope: str) -> Opened: ...
    def open_expecting(self, envelope: str, policy: str, zone: str, location: Union[Location, str]) -> Opened: ...
    def reveal(
        self,
        method: str,
        path: str,
        headers: Optional[HeaderPairs] = None,
        body: Optional[Body] = None,
        query: Optional[str] = None,
        policy: Optional[str] = None,
        zone: Optional[str] = None,
        strict: Optional[Policies] = None,
        subject_keys: Any = None,
    ) -> Revealed:
        """``subject_keys``: an object with ``key_by_id(subject, key_id)`` (``SubjectKeys``); then
        fields at rest (``pr1.``) open too, and one of an erased subject raises ``Erased``."""
    def reveal_body(
        self,
        body: Body,
        content_type: str = "application/json",
        policy: Optional[str] = None,
        zone: Optional[str] = None,
    ) -> Revealed: ...

class ReceiptKeys:
    """The edge's public receipt keys (Ed25519 JWK or JWK Set)."""
    @staticmethod
    def from_jwks(text: str) -> "ReceiptKeys": ...
    @staticmethod
    def from_file(path: str) -> "ReceiptKeys": ...
    @property
    def kids(self) -> List[str]: ...

class Receipt:
    """What the edge checked on a request."""
    @property
    def kid(self) -> str: ...
    @property
    def issued_at(self) -> int: ...
    @property
    def request_id(self) -> Optional[str]: ...
    @property
    def policy(self) -> Optional[str]: ...
    @property
    def zone(self) -> Optional[str]: ...
    @property
    def locations(self) -> List[str]: ...
    @property
    def more_locations(self) -> int: ...
    @property
    def bound_headers(self) -> List[str]: ...
    @property
    def body_bound(self) -> bool: ...

def verify_receipt(
    method: str,
    path: str,
    headers: HeaderPairs,
    body: bytes,
    keys: ReceiptKeys,
    max_age: int = 300,
    now: Optional[int] = None,
) -> Receipt: ...

def is_envelope(text: str) -> bool:
    """Whether ``text`` has the form of an envelope (syntax only; opens nothing)."""

# Bulk operations over a column (docs/bulk.md). Values are lists of str or None; results are
# lists of the same length; one bad value is one status, never an exception for the batch.

Values = Sequence[Optional[str]]

def classify(values: Values) -> List[Optional[Literal["envelope", "token", "at-rest", "plaintext", "malformed"]]]:
    """Each value's class, read without a key (None for None)."""

def audit(
    values: Values, field: str = ""
) -> List[Tuple[str, Optional[str], Optional[str], Optional[str], Optional[str], int]]:
    """Counts ``(class, zone, policy, kids, detector, count)`` of a column, without a key."""

def subject_tokens(
    token_keys: str, domain: str, value: str, normalize: Optional[Sequence[str]] = None
) -> List[str]:
    """The tokens of ``value`` under every key of ``domain`` in the file ``token_keys``, newest first."""

class BatchOpener:
    """Opens columns of envelopes, unwrapping each data key once for the fields that share it."""
    def __init__(self, keyring: PrivateKeyring) -> None: ...
    @staticmethod
    def from_file(path: str) -> "BatchOpener": ...
    def open(self, values: Values) -> Tuple[List[Optional[str]], List[str]]:
        """``(texts, statuses)``: ``ok``, ``null``, or the error's name."""

class Rewrapper:
    """Rewraps columns of envelopes to other public keys; plaintext never leaves the call."""
    @staticmethod
    def from_files(private_keys: str, public_keys: str, zone: Optional[str] = None) -> "Rewrapper": ...
    def rewrap(self, values: Values) -> Tuple[List[Optional[str]], List[str]]:
        """``(values, statuses)``: ``rewrapped``, ``current``, ``plaintext``, ``token``,
        ``at-rest``, ``null`` or the error's name; a value not rewrapped is returned as it was."""
# --- erasure (docs/erasure.md, docs/at-rest.md) ---

class Erased(OpenError):
    """The data subject was erased: the key of this field is destroyed."""

class WrongKey(OpenError):
    """The field at rest names another subject key than the one given."""

class InvalidSubject(PiiEdgeError):
    """A subject id must be 1 to 255 bytes of UTF-8 without control characters."""

class InvalidDomain(PiiEdgeError):
    """A token domain must be 1 to 64 bytes of a-z, 0-9 and -, parts joined by single dots."""

class Untokenizable(PiiEdgeError):
    """The value cannot be normalized with the steps given (not text, no digit, not an e-mail)."""

class SubjectKey:
    """One data subject's 256-bit key, unwrapped in memory; ``repr`` shows subject and key id."""
    @staticmethod
    def generate(subject: str, created: Optional[int] = None) -> SubjectKey: ...
    @staticmethod
    def unwrap(keys: PrivateKeyring, wrapped: str) -> SubjectKey: ...
    def wrap(self, keys: PrivateKeyring, zone: str) -> str: ...
    def token(self, domain: str, value: Union[str, bytes], normalize: Sequence[str] = ...) -> str:
        """The per-subject token ``ts1.<domain>.…`` of ``value`` (docs/at-rest.md §7)."""
    @property
    def subject(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    @property
    def created(self) -> int: ...

class ErasureSigner:
    """Signs erasure receipts with an Ed25519 private JWK."""
    @staticmethod
    def from_jwk(text: str) -> ErasureSigner: ...
    @staticmethod
    def from_file(path: str) -> ErasureSigner: ...
    @property
    def public_jwk(self) -> str: ...
    @property
    def kid(self) -> str: ...
    def sign(self, by: str, subject: str, key_id: str, erased_at: Optional[int] = None) -> str: ...

def rewrap(keys: PrivateKeyring, envelope: str, key: SubjectKey) -> str:
    """The edge's envelope (``pe2.``) sealed under the subject key (``pr1.``)."""

def rewrap_with_token(
    keys: PrivateKeyring, envelope: str, key: SubjectKey, domain: str, normalize: Sequence[str] = ...
) -> Tuple[str, str]:
    """``rewrap`` and the per-subject token of the same value: ``(field, token)``."""

def open_at_rest(key: SubjectKey, text: str) -> Opened:
    """Opens a field at rest with its subject key."""

def at_rest_header(text: str) -> Tuple[str, str]:
    """``(subject, key_id)`` from a field's clear header (authenticates nothing)."""

def is_at_rest(text: str) -> bool:
    """Whether ``text`` has the form of a field at rest (syntax only)."""

def verify_erasure(receipt: str, keys: ReceiptKeys) -> Dict[str, Any]:
    """Verifies an erasure receipt with public keys only: by, subject, key_id, erased_at, signed_by."""
