"""Pure domain model: events, findings, alerts, detectors, taxonomy. No I/O lives here."""
