"""Pulumi entry point. Thin on purpose: settings -> estate, all in stacks/.

The garbage-collector settings below are the program's own, so `pulumi preview` and `pulumi up` get them
(docs/performance.md measures them as the CLI runs this file). Importing the estate's modules loads the
provider SDKs: some 800,000 objects (classes, functions, type hints) that all live until the process exits.
With the collector on, each full collection rescans all of them to find nothing: during the imports (about
a quarter of their cost), again while the estate is declared, and once more at exit. So the collector is
off while the imports run; then :func:`gc.freeze` moves everything they made into the permanent generation,
which collections never scan, and the collector comes back on for the program's own objects, whose cycles
(resources and outputs refer to each other) it still collects. Nothing is freed later than it would be:
the frozen objects are module state, alive until exit either way.
"""

import gc

_collecting = gc.isenabled()
gc.disable()
from stacks.estate import main  # noqa: E402 - imported with the collector off, on purpose (above)

gc.freeze()
if _collecting:
    gc.enable()

main()
