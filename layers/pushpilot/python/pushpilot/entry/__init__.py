"""The handlers' edge: settings, the guard around every handler, and wiring (adapters for ports)."""
