"""The systems under test, one module each, behind the interface in ``common.System``."""
