"""The shipped configs, installed as the package data ``emoboost.configs`` (one copy: this folder, see README.md)."""
