"""The Gmail API: the REST client (list, get, history, attachments, profile, threads), its multipart
batches, and the pure building of Gmail search queries for investor addresses and domains.

Uses google/ and config.py (and the core's address policy, for the public-mail list); may import
any room below it (../README.md). Hands back Gmail's JSON resources as they come; parsing them is
mail/, storing them capture/.
"""
