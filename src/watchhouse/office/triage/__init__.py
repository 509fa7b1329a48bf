"""Alert triage: audited reads, status, assignment, verdicts, suppression rules and clustering."""
