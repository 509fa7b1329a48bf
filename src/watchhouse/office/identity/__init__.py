"""The identity vault: encrypted pseudonym -> identifier mappings, revealed only with purpose and case."""
