"""The audit log: hash-chained entries with signed RFC 9162 Merkle checkpoints (see ADR 0004)."""
