"""Cases: numbered, marked (TLP 2.0), need-to-know, with a transition table and an append-only record."""
