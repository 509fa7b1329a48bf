"""Case exports for other tools (STIX 2.1, MISP) and for people (HTML incident report)."""
