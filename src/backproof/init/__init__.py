"""``backproof init``: a commented config for an existing application, from what it declares."""
