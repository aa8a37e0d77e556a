"""The synthetic estate as a Pulumi program for the CLI path: `bench/cli.py` runs it as it runs `__main__.py`.

    python -m bench.cli --stack prod bench/synthetic_main.py 10    # ten copies of each datacenter

The one argument is the number of copies (default :data:`bench.synthetic.COPIES`). The collector is set up as
``__main__.py`` sets it up, for the reasons given there, so the two are measured alike.
"""

import gc
import sys

_collecting = gc.isenabled()
gc.disable()
from bench.synthetic import COPIES, build  # noqa: E402 - imported with the collector off, as in __main__.py
from stacks.settings import load_settings  # noqa: E402

gc.freeze()
if _collecting:
    gc.enable()

build(load_settings(), int(sys.argv[1]) if len(sys.argv) > 1 else COPIES)
