"""The register and its people: users, units, suppliers, categories, contracts, audit."""
