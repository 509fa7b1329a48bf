"""The public report portal's office side: reports, campaigns, decisions, appeals, contact crypto."""
