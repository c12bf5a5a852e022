"""Identity providers pushing to accesshive: the SCIM 2.0 service provider and its records."""
