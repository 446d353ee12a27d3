"""A Gmail API v1 emulator for tests, the demo and benchmarks (development only, never shipped).

`start_emulator(mailboxes_dir, **options)` runs one in-process (devtools.gmail_emulator.server);
`python -m devtools.gmail_emulator` runs one from the command line (contracts §6).
"""
