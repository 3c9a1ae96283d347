"""Accounts: people, the org tree, roles and their scopes, sign-in."""
