"""The Gmail API: the REST client (list, get, history, attachments, profile, threads), its multipart
batches, and the pure building of Gmail search queries for investor addresses and domains.

May import: google/ and config.py (and the core's address policy, for the public-mail list). Hands
back Gmail's JSON resources as they come; parsing them is mail/, storing them capture/.
"""
