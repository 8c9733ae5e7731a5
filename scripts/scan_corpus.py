#!/usr/bin/env python3
"""Labelled corpus for measuring `pii-edge scan` (edge-fn/cli/tests/scan_quality.rs).

Writes OUT/corpus.ndjson (one request log record per line) and OUT/labels.jsonl (one line per
personal value: request number from 1, location in the Location contract's text form,
detector, for JWTs the claim, and `context`: false when the field's name says nothing).

Positives come from Faker's EU locales. The ground truth is independent of the scanner: a
generated value is labelled only when python-stdnum (check digits of IBANs, cards, national
ids) or Google's Python libphonenumber (`phonenumbers`) says it is valid; values they reject
are kept as hard negatives in the same fields. Other hard negatives are hand-written: order,
invoice and tracking numbers that pass Luhn (some with card prefixes), ISO dates that are not
birth dates, UUIDs, version strings, product and company names, numbers near id lengths.

Field names vary the way real APIs name fields: the scheme's own word (`pesel`), a generic one
(`nationalId`), a short or foreign word for "number" or "identifier" (`nr`, `ident`, `doc_no`,
`codice`, `numero`, `ph`, `born`), or a name that says nothing (`value`, `label`). Values in a
field whose name says nothing are labelled with `context: false`: names and birth dates there
are expected to be missed (context types need context), national ids only found where their
check is distinctive (docs/scan.md). Decoys are unlabelled: numbers of national-id lengths under
names that say nothing, Unix timestamps, short numbers under `nr`/`numero` inside an order.

Usage: scan_corpus.py OUT_DIR [--requests N] [--seed S]
"""

import argparse
import base64
import datetime
import ipaddress
import json
import os
import random
import uuid

import phonenumbers
from faker import Faker
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.at import vnr
from stdnum.be import nn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.hr import oib
from stdnum.it import codicefiscale
from stdnum.iso7064 import mod_11_10
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.se import personnummer
from stdnum.fi import hetu
from stdnum.ro import cnp
from stdnum.ee import ik

LOCALES = ["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "sv_SE", "pl_PL", "hr_HR", "nl_BE", "de_AT",
           "pt_PT", "fi_FI", "da_DK", "cs_CZ", "el_GR", "ro_RO", "en_IE", "et_EE"]
REGIONS = ["DE", "FR", "IT", "ES", "NL", "PL", "BE", "AT", "SE", "PT", "CZ", "GR", "HU", "RO", "DK",
           "FI", "IE", "SK", "BG", "HR", "LT", "SI", "LV", "EE", "CY", "LU", "MT", "NO", "IS", "LI",
           "CH", "GB"]

EMAIL_FIELDS = ["email", "e_mail", "mail", "contactEmail", "courriel", "correo", "emailAddress"]
PHONE_FIELDS = ["phone", "telefon", "telephone", "mobile", "handy", "telefono", "cellulare",
                "telefoon", "puhelin", "phoneNumber", "mobilePhone", "telefonnummer", "ph", "tel",
                "ph_no", "mob", "numero", "nr", "numer"]
NAME_FIELDS = ["firstName", "lastName", "fullName", "vorname", "nachname", "prenom", "nombre",
               "apellido", "cognome", "achternaam", "imie", "nazwisko", "fornamn", "efternamn",
               "surname", "givenName"]
BIRTH_FIELDS = ["dateOfBirth", "birthDate", "dob", "geburtsdatum", "date_de_naissance",
                "fechaNacimiento", "dataNascita", "geboortedatum", "fodelsedatum", "dataUrodzenia",
                "birthday", "born", "bornOn", "geboren", "nato_il", "fodd", "urodzony", "nacido"]
NEUTRAL_FIELDS = ["value", "label", "field1", "data", "info"]


def normalized(path):
    out = "$"
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += "['" + step.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return "json:" + out


def valid_phone(value, region):
    for r in [region] + REGIONS:
        try:
            n = phonenumbers.parse(value, r)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n):
            return True
    return False


def de_tax_id(rng):
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(9)]
        number = "".join(map(str, digits))
        number += mod_11_10.calc_check_digit(number)
        if idnr.is_valid(number):
            return number


def national_ids(rng, fakers):
    """(scheme, value, validator) for every scheme."""
    return [
        ("de-tax-id", de_tax_id(rng), idnr.is_valid),
        ("fr-nir", fakers["fr_FR"].ssn(), nir.is_valid),
        ("es-dni", fakers["es_ES"].nif(), dni.is_valid),
        ("es-nie", fakers["es_ES"].nie(), nie.is_valid),
        ("it-codice-fiscale", fakers["it_IT"].ssn(), codicefiscale.is_valid),
        ("nl-bsn", fakers["nl_NL"].ssn(), bsn.is_valid),
        ("se-personnummer", fakers["sv_SE"].ssn(), personnummer.is_valid),
        ("pl-pesel", fakers["pl_PL"].pesel(), pesel.is_valid),
        ("hr-oib", fakers["hr_HR"].ssn(), oib.is_valid),
        ("be-national-number", fakers["nl_BE"].ssn(), nn.is_valid),
        ("at-svnr", fakers["de_AT"].ssn(), vnr.is_valid),
        ("fi-hetu", fakers["fi_FI"].ssn(), hetu.is_valid),
        ("ro-cnp", fakers["ro_RO"].ssn(), cnp.is_valid),
        ("ee-isikukood", fakers["et_EE"].ssn(), ik.is_valid),
    ]


ID_FIELDS = {
    "de-tax-id": ["steuerId", "steuerIdentifikationsnummer", "idnr"],
    "fr-nir": ["nir", "numeroSecuriteSociale", "insee"],
    "es-dni": ["dni", "nif"],
    "es-nie": ["nie", "nieNumber"],
    "it-codice-fiscale": ["codiceFiscale", "codFiscale"],
    "nl-bsn": ["bsn", "burgerservicenummer"],
    "se-personnummer": ["personnummer", "personnr"],
    "pl-pesel": ["pesel", "numerPesel"],
    "hr-oib": ["oib"],
    "be-national-number": ["rijksregisternummer", "numeroRegistreNational", "insz"],
    "at-svnr": ["svnr", "sozialversicherungsnummer"],
    "fi-hetu": ["henkilotunnus", "hetu"],
    "ro-cnp": ["cnp", "codNumericPersonal"],
    "ee-isikukood": ["isikukood"],
}
GENERIC_ID_FIELDS = ["nationalId", "taxId", "ssn", "personalIdNumber"]
# Words for "number" or "identifier" that name no scheme (en, de, fr, es, it, pl, hr, cs).
SHORT_ID_FIELDS = ["nr", "ident", "doc_no", "codice", "numero", "idNr", "broj", "cislo", "docNumber",
                   "numer", "identifiant"]


def corrupt(value, validator, rng):
    """The value with one digit changed so that the validator rejects it."""
    chars = list(value)
    positions = [i for i, c in enumerate(chars) if c.isdigit()]
    for _ in range(50):
        i = rng.choice(positions)
        chars2 = chars[:]
        chars2[i] = str((int(chars[i]) + rng.randint(1, 9)) % 10)
        candidate = "".join(chars2)
        if not validator(candidate):
            return candidate
    return None


def luhn_order_id(rng, length, prefix=""):
    """A reference number that passes Luhn by construction (a realistic worst case)."""
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


def jwt(claims):
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'RS256', 'typ': 'JWT'})}.{enc(claims)}.c2lnbmF0dXJl"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    Faker.seed(args.seed)
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(args.seed + i)
    # The card provider with every scheme (some locales define fewer).
    cards = Faker("en_US")
    cards.seed_instance(args.seed)
    os.makedirs(args.out, exist_ok=True)
    corpus = open(os.path.join(args.out, "corpus.ndjson"), "w")
    labels = open(os.path.join(args.out, "labels.jsonl"), "w")

    def reseed(n, part):
        # Every request (and its negatives) from its own seeds: some Faker providers draw
        # dates up to "now", which shifts the random stream from run to run; reseeding keeps
        # that drift inside the one value that caused it.
        base = args.seed * 1_000_003 + n * 7 + part
        rng.seed(base)
        for i, fk in enumerate(fakers.values()):
            fk.seed_instance(base * 31 + i)
        cards.seed_instance(base * 31 + 99)

    for n in range(1, args.requests + 1):
        reseed(n, 0)
        loc = rng.choice(LOCALES)
        f = fakers[loc]
        region = loc.split("_")[1]
        body = {"customer": {}, "order": {}}
        cust, order = body["customer"], body["order"]
        found = []  # (location, detector, claim, whether the field name gives context)

        def put(obj, objname, field, value, label):
            obj[field] = value
            if label:
                found.append((normalized([objname, field] if objname else [field]), label,
                              None, field not in NEUTRAL_FIELDS))

        # Positives.
        if rng.random() < 0.6:
            put(cust, "customer", rng.choice(EMAIL_FIELDS), f.email(), "email")
        if rng.random() < 0.6:
            value = f.phone_number()
            if rng.random() < 0.3:
                try:
                    value = phonenumbers.format_number(phonenumbers.parse(value, region),
                                                       phonenumbers.PhoneNumberFormat.INTERNATIONAL)
                except phonenumbers.NumberParseException:
                    pass
            put(cust, "customer", rng.choice(PHONE_FIELDS), value,
                "phone" if valid_phone(value, region) else None)
        if rng.random() < 0.4:
            value = f.iban()
            if rng.random() < 0.3:
                value = " ".join(value[i:i + 4] for i in range(0, len(value), 4))
            put(cust, "customer", rng.choice(["iban", "bankAccount", "kontonummer", "IBAN"]), value,
                "iban" if std_iban.is_valid(value) else None)
        if rng.random() < 0.3:
            kind = rng.choice(["visa", "mastercard", "amex", "discover", "diners", "maestro", "jcb15",
                               "jcb16"])
            value = cards.credit_card_number(card_type=kind)
            # Faker also draws from prefixes no scheme issues (0604 Maestro): not cards.
            ok = luhn.is_valid(value) and not value.startswith("0")
            put(body, None, rng.choice(["cardNumber", "pan", "kartennummer", "numeroCarte", "ccNumber",
                                        "number", "value", "data"]),
                value, "card" if ok else None)
        if rng.random() < 0.3:
            value = rng.choice([f.ipv4_public(), f.ipv4_private(), f.ipv6()])
            addr = ipaddress.ip_address(value)
            put(body, None, rng.choice(["ip", "clientIp", "ipAddress", "remoteAddr"]), value,
                None if addr.is_loopback or addr.is_unspecified else "ip-address")
        if rng.random() < 0.5:
            # Fixed bounds: relative ones ("18 years ago") would change the corpus every day.
            dob = f.date_between_dates(datetime.date(1935, 1, 1), datetime.date(2007, 12, 31))
            value = dob.isoformat() if rng.random() < 0.7 else dob.strftime("%d.%m.%Y")
            field = rng.choice(BIRTH_FIELDS if rng.random() < 0.9 else NEUTRAL_FIELDS)
            if field not in cust:
                put(cust, "customer", field, value, "date-of-birth")
        if rng.random() < 0.6:
            field = rng.choice(NAME_FIELDS if rng.random() < 0.9 else NEUTRAL_FIELDS)
            value = rng.choice([f.first_name(), f.last_name(), f.name()])
            if field not in cust:
                put(cust, "customer", field, value, "name")

        if rng.random() < 0.5:
            scheme, value, validator = rng.choice(national_ids(rng, fakers))
            r = rng.random()
            if r < 0.5:
                field = rng.choice(ID_FIELDS[scheme])
            elif r < 0.65:
                field = rng.choice(GENERIC_ID_FIELDS)
            elif r < 0.94:
                field = rng.choice(SHORT_ID_FIELDS)
            else:
                field = rng.choice(NEUTRAL_FIELDS)
            if field not in cust:
                put(cust, "customer", field, value, "national-id:" + scheme if validator(value) else None)

        # Hard negatives.
        reseed(n, 1)
        order["orderId"] = luhn_order_id(rng, rng.randint(12, 19), rng.choice(["", "4", "51", "37", "6011"]))
        order["invoiceNumber"] = luhn_order_id(rng, 16, rng.choice(["", "4", "55"]))
        order["trackingNumber"] = luhn_order_id(rng, rng.choice([12, 15, 18]))
        order["createdAt"] = f.date_between_dates(datetime.date(1966, 1, 1), datetime.date(2026, 1, 1)).isoformat()
        order["deliveryDate"] = f.date_between_dates(datetime.date(1996, 1, 1), datetime.date(2026, 2, 1)).strftime(
            rng.choice(["%Y-%m-%d", "%d.%m.%Y"]))
        order["id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        order["appVersion"] = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}.{rng.randint(1, 254)}"
        order["items"] = [{"name": f.catch_phrase(), "sku": f"SKU-{rng.randint(10000, 99999)}",
                           "quantity": rng.randint(1, 9), "priceCents": rng.randint(100, 99999999)}]
        order["companyName"] = f.company()
        order["amountCents"] = rng.randint(10**8, 10**11)
        order["postalCode"] = f.postcode()
        order["note"] = f.sentence()
        order["nr"] = str(rng.randint(10**5, 10**11))
        order["ts"] = str(rng.randint(1_500_000_000, 1_800_000_000))
        if rng.random() < 0.3:
            # A number of a national id's length under a name that says nothing: unlabelled,
            # whatever check digits it happens to pass (the false positives it causes are real).
            order["x1"] = "".join(str(rng.randint(0, 9)) for _ in range(rng.choice([9, 10, 11, 12, 13, 15])))
        if rng.random() < 0.4:
            # A value in a validated field that fails its check: not personal data to report.
            kind = rng.choice(["iban", "card", "id", "email", "phone"])
            if kind == "iban":
                bad = corrupt(f.iban(), std_iban.is_valid, rng)
                if bad:
                    cust.setdefault("iban", bad)
            elif kind == "card":
                bad = corrupt(cards.credit_card_number(card_type="visa"), luhn.is_valid, rng)
                if bad:
                    body.setdefault("cardNumber", bad)
            elif kind == "id":
                scheme, value, validator = rng.choice(national_ids(rng, fakers))
                bad = corrupt(value, validator, rng)
                if bad:
                    cust.setdefault(rng.choice(ID_FIELDS[scheme]), bad)
            elif kind == "email":
                cust.setdefault("email", rng.choice(["erika@localhost", "erika at example.de",
                                                      "@example.de", "erika@", "n/a"]))
            else:
                cust.setdefault("phone", rng.choice(["12", "0000", "+49 1", "n/a", "+999 123 456"]))

        headers = [["content-type", "application/json"], ["user-agent", "Mozilla/5.0"]]
        query = f"ref={rng.randint(1, 999)}&session={uuid.UUID(int=rng.getrandbits(128)).hex}"
        if rng.random() < 0.2:
            email = f.email()
            query += "&email=" + email.replace("@", "%40")
            found.append(("query:email", "email", None, True))
        if rng.random() < 0.2:
            ip = f.ipv4_public()
            headers.append(["x-forwarded-for", ip])
            found.append(("header:x-forwarded-for", "ip-address", None, True))
        if rng.random() < 0.2:
            claims = {"sub": str(rng.randint(1, 10**6)), "email": f.email(), "name": f.name(),
                      "iat": 1700000000, "scope": "openid profile"}
            if rng.random() < 0.3:
                claims["phone_number"] = "+4930" + str(rng.randint(1000000, 9999999))
            headers.append(["authorization", "Bearer " + jwt(claims)])
            for c in ["email", "name", "phone_number"]:
                if c in claims:
                    found.append(("header:authorization", "jwt-claim", c, True))
        if rng.random() < 0.1:
            # A JWT without personal claims.
            headers.append(["x-service-token", jwt({"sub": "svc", "scope": "read"})])

        record = {"method": "POST", "path": f"/api/v1/customers/{rng.randint(1, 10**6)}",
                  "query": query, "headers": headers, "body": json.dumps(body, ensure_ascii=False)}
        corpus.write(json.dumps(record, ensure_ascii=False) + "\n")
        for location, detector, claim, context in found:
            line = {"request": n, "location": location, "detector": detector, "context": context}
            if claim:
                line["claim"] = claim
            labels.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
