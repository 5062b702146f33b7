"""Tooling that writes test fixtures (tests/fixtures, tests/web vectors); not part of the product package."""
