"""A faithful local implementation of Zero's account service (for development and tests)."""
