"""Pulumi entry point. Thin on purpose: settings -> estate, all in stacks/."""

from stacks.estate import main

main()
