"""Imports: identities from an HR export or a directory, as records or as YAML for a PR."""
