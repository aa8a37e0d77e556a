"""Checks of the repository's own machinery (workflows, CI scripts); not part of the Pulumi program."""
