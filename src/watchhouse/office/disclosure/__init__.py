"""Disclosure requests: an authority asks for user data; two people decide, the office keeps the record."""
