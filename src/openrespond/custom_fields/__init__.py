"""Custom-field definitions and the checking of contact values against them."""
