"""Calendar capture (issue 25): every enrolled teammate's Google Calendar, read with the same credentials as
their mail, kept only where an investor attends. The API client and the sync (full within a bounded window,
then incremental by syncToken, 410 → full resync and a diff) live here beside the store of meetings (one per
iCalUID and occurrence across teammates, each teammate's response kept) and its SQL (db_*.py).

Sits between review/ (above: meeting cards are proposals) and capture/ (below: the same matcher as mail);
may import capture/, gmail/, config.py, google/ and privacy/, never review/ or anything above it
(../README.md, "Layout").
"""
