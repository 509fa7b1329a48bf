"""Sealed evidence: content-addressed bytes on disk, ISO/IEC 27037 metadata, append-only custody."""
