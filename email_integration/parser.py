"""The seed's parser entry point, `email_integration.parser.parse(gmail_message) -> dict` (no network,
no database); the parser itself is mail/parser.py."""
from .mail.parser import parse

__all__ = ["parse"]
