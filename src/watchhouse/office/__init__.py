"""The office: where alerts are worked, evidence is kept and every access is accounted for."""
