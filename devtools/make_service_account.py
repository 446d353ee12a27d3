"""Write a Google-format service-account JSON key (chmod 600) and its public key PEM.

    python -m devtools.make_service_account OUT_DIR [--email sa@project.iam.gserviceaccount.com] [--token-uri URI]

For the emulator, the demo and tests: the real key comes from the Google Cloud console.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def make_service_account(out_dir: str, client_email: str = "crm-sync@venture-crm.iam.gserviceaccount.com",
                         token_uri: str = "https://oauth2.googleapis.com/token") -> tuple[str, str]:
    """(path of the JSON key, path of the public key PEM)."""
    os.makedirs(out_dir, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": client_email.split("@")[1].split(".")[0],
            "private_key_id": secrets.token_hex(20), "private_key": pem, "client_email": client_email,
            "client_id": str(secrets.randbelow(10 ** 20)), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri}
    key_path = os.path.join(out_dir, "gmail-service-account.json")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(info, handle, indent=2)
    os.chmod(key_path, 0o600)
    public_path = os.path.join(out_dir, "gmail-service-account.pub.pem")
    with open(public_path, "wb") as handle:
        handle.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_path, public_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--email", default="crm-sync@venture-crm.iam.gserviceaccount.com")
    parser.add_argument("--token-uri", default="https://oauth2.googleapis.com/token")
    args = parser.parse_args(argv)
    for path in make_service_account(args.out_dir, args.email, args.token_uri):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
