"""``make verify``: check a deployed stack from the outside, against what the program itself declares.

Expectations come from the offline recording of the stack (:mod:`verify.expect`), addresses and name
servers from ``pulumi stack output --json`` (:mod:`verify.outputs`). The checks (:mod:`verify.dnscheck`,
:mod:`verify.web`) go through one bounded network layer (:mod:`verify.net`) and report one row per host and
check (:mod:`verify.report`). Nothing here is imported by the program (``__main__.py`` -> ``stacks`` ->
``components``): dnspython and cryptography are development and verify dependencies only.
"""
