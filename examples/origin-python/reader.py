"""A second service of the region: reads the ``user.created`` queue (JSON lines) and counts
sign-ups per e-mail domain. It opens each ``pr1.`` e-mail with the subject key store, as any
service of the region can; a message of an erased user fails with ``Erased`` and is counted as
such. Prints one JSON object per message (``{"id": 1, "domain": "example.de"}`` or
``{"id": 1, "error": "Erased"}``), never an address.

Run: ``python reader.py QUEUE`` with ``PII_EDGE_KEYS_FILE``, ``PII_EDGE_ZONE`` and
``SUBJECT_KEYS_DB`` as for app.py.
"""

import json
import os
import sys

import pii_edge
from subjects import subject_keys


def main(queue: str) -> None:
    keyring = pii_edge.PrivateKeyring.from_file(os.environ["PII_EDGE_KEYS_FILE"])
    keys = subject_keys(keyring, os.environ.get("PII_EDGE_ZONE", "eu-central"))
    with open(queue, encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            try:
                address = keys.open(message["email"]).value
                print(json.dumps({"id": message["id"], "domain": address.rsplit("@", 1)[-1]}))
            except pii_edge.OpenError as e:
                print(json.dumps({"id": message["id"], "error": type(e).__name__}))


if __name__ == "__main__":
    main(sys.argv[1])
