"""Pure parsing of one Gmail message resource into the CRM's flat dict: the MIME part tree, bodies and
attachments (parser.py), charsets, RFC 2047 words, addresses, dates and Message-IDs (headers.py), HTML to
text and the split of new text from quoted history and signatures (html_text.py). No network, no
database, never raises.

May import: the standard library only.
"""
