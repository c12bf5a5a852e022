"""The audit trail: verifying its hash chain, exporting it for SIEM tools, forwarding it."""
