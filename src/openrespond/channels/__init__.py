"""Delivery: channel capabilities, drivers and the worker that runs them."""
