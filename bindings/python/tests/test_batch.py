"""The batch API over columns (pii_core::batch): classify, audit, BatchOpener, Rewrapper,
subject_tokens. Envelopes are fresh `pii-edge apply` output; new keys from `pii-edge keygen`."""

import json
import subprocess

import pytest

import pii_edge
from conftest import KEYS, apply, pii_edge_bin


def sealed_fields():
    body = json.loads(apply("signup-json.json")["request"]["body"])
    return body["user"]["email"], body["user"]["address"]


def test_batch_open_matches_open_value_by_value(keyring):
    email, address = sealed_fields()
    flipped = email[:-5] + ("A" if email[-5] != "A" else "B") + email[-4:]
    column = [email, None, "pe2.!!", address, "erika@example.de", "pe9.AAAA", flipped, email]
    opener = pii_edge.BatchOpener(keyring)
    values, statuses = opener.open(column)
    assert statuses[:6] == ["ok", "null", "Malformed", "ok", "Malformed", "UnsupportedVersion"]
    assert statuses[6] in ("Tampered", "Malformed") and statuses[7] == "ok"
    assert values[0] == values[7] == "erika@example.de"
    assert json.loads(values[3]) == keyring.open(address).value
    assert values[1] is values[2] is values[6] is None
    assert "erika" not in repr(opener)


def test_classify_and_audit(keyring):
    email, address = sealed_fields()
    token = "tk1.email." + "A" * 43
    column = [email, address, token, "erika@example.de", "hello", "pe2.AAAA", None]
    assert pii_edge.classify(column) == ["envelope", "envelope", "token", "plaintext", "plaintext", "malformed", None]
    counts = {row[:5]: row[5] for row in pii_edge.audit(column, "email")}
    kids = {k[3] for k in counts if k[0] == "envelope"}
    assert len(kids) == 1
    kid = kids.pop()
    kids_of_zone = [k["kid"] for k in json.loads(KEYS.joinpath("public.jwks").read_text())["keys"]]
    assert len(kid.split(",")) == 2  # the two regions of eu-central
    assert all(any(k.startswith(p) for k in kids_of_zone) for p in kid.split(","))
    assert counts[("envelope", "eu-central", "signup", kid, None)] == 2
    assert counts[("plaintext", None, None, None, "email")] == 1
    assert counts[("plaintext", None, None, None, None)] == 1
    assert counts[("token", None, None, None, None)] == 1
    assert counts[("malformed", None, None, None, None)] == 1
    assert counts[("null", None, None, None, None)] == 1
    assert "erika" not in repr(pii_edge.audit(column, "email"))


def test_rewrap_to_a_rotated_key_then_open_with_it_alone(tmp_path):
    email, address = sealed_fields()
    subprocess.run([pii_edge_bin(), "keygen", "--zone", "eu-central", "--region", "eu-central-1",
                    "--out", str(tmp_path)], check=True, capture_output=True)
    # Target: the new key of eu-central-1 (newest), and the unchanged key of eu-central-2.
    old_public = json.loads(KEYS.joinpath("public.jwks").read_text())["keys"]
    new_public = json.loads(tmp_path.joinpath("public.jwks").read_text())["keys"]
    target = tmp_path / "target.jwks"
    target.write_text(json.dumps({"keys": old_public + new_public}))
    job = pii_edge.Rewrapper.from_files(str(KEYS / "private.jwks"), str(target))
    column = [email, address, None, "plain", "pe2.AAAA"]
    values, statuses = job.rewrap(column)
    assert statuses == ["rewrapped", "rewrapped", "null", "plaintext", "Malformed"]
    assert values[2:] == [None, "plain", "pe2.AAAA"], "values not rewrapped stay as they were"
    new = pii_edge.PrivateKeyring.from_file(str(tmp_path / "private.jwks"))
    assert new.open(values[0]).value == "erika@example.de"
    was = pii_edge.PrivateKeyring.from_file(str(KEYS / "private.jwks")).open(email).binding
    now = new.open(values[0]).binding
    assert (now.policy, now.zone, str(now.location)) == (was.policy, was.zone, str(was.location))
    assert str(new.open(values[1]).binding.location) == "json:$['user']['address']"
    # Run again: nothing to do.
    again, statuses = job.rewrap(values[:2])
    assert statuses == ["current", "current"] and again == values[:2]
    # A move to a zone the target keys do not have is refused when the job is made.
    with pytest.raises(pii_edge.InvalidKeys):
        pii_edge.Rewrapper.from_files(str(KEYS / "private.jwks"), str(target), zone="us-east")


def test_subject_tokens():
    tokens = pii_edge.subject_tokens(str(KEYS / "tokens.jwks"), "email", " Erika@Example.de", ["trim", "casefold"])
    assert tokens and all(t.startswith("tk1.email.") for t in tokens)
    assert tokens == pii_edge.subject_tokens(str(KEYS / "tokens.jwks"), "email", "erika@example.de", ["trim", "casefold"])
    with pytest.raises(ValueError):
        pii_edge.subject_tokens(str(KEYS / "tokens.jwks"), "nope", "x")
    with pytest.raises(FileNotFoundError):
        pii_edge.subject_tokens("/nonexistent/tokens.jwks", "email", "x")


def test_erasure_check_verdicts(keyring, tmp_path):
    """The native check behind pii_edge.spark.verify_erased, with a SQLite key store: the
    forgotten subject's field is `Erased`, another subject's opens, an envelope left in the
    subject's row is an offender, a field whose key the store lacks is one too."""
    from pii_edge.erasure import SqliteKeyStore, SubjectKeys

    email, address = sealed_fields()
    store = SqliteKeyStore(str(tmp_path / "keys.db"))
    subjects = SubjectKeys(store, keyring, "eu-central")
    ann, bob = subjects.rewrap("ann", email), subjects.rewrap("bob", address)
    stray = SubjectKeys(SqliteKeyStore(str(tmp_path / "other.db")), keyring, "eu-central").rewrap("carl", email)
    subjects.forget("ann", by="test")
    check = pii_edge.ErasureCheck.from_file(str(KEYS / "private.jwks"), "ann")
    column = [ann, bob, stray, email, "erika@example.de", None]
    asked = check.unknown_key_ids(column)
    assert sorted(asked) == sorted({pii_edge.at_rest_header(v)[1] for v in (ann, bob, stray)})
    for key_id in asked:
        record = store.get(key_id)
        check.set_key(key_id, record and record.wrapped, bool(record and record.erased_at))
    assert check.unknown_key_ids(column) == []
    statuses, mine, offenders = check.check(column, [True, False, False, True, True, True])
    assert statuses == ["Erased", "ok", "NoKey", "opens", "plaintext", "null"]
    assert mine == [True, False, False, True, True, True]
    assert offenders == [False, False, True, True, True, False]
    assert check.check(column)[0][3:5] == ["envelope", "plaintext"]
    with pytest.raises(ValueError):
        check.check(column, [True])
    assert "erika" not in repr(check)
