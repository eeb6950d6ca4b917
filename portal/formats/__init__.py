"""Heard's own date and time formats per language (FORMAT_MODULE_PATH); Django's formats for
the language fill in everything a module here does not set."""
