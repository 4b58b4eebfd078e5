"""vendorkit's benchmark suite: ``python -m benchmarks [--quick]`` writes ``BENCHMARKS.md``.

Every figure comes from one run on one machine, against the built-in sandbox served over
real localhost HTTP by a separate process. Modules:

* :mod:`benchmarks.run`         the orchestrator and command line (items 1-7 of issue 7);
* :mod:`benchmarks.server`      the sandbox server process and its control channel;
* :mod:`benchmarks.serve`       the server process's entry point;
* :mod:`benchmarks.contenders`  one contender per fresh child process (timing, peak RSS);
* :mod:`benchmarks.floor`       the floor: stdlib HTTP + ``pl.read_json`` + one CTAS;
* :mod:`benchmarks.peers`       requests + pandas, and dlt's ``rest_api`` source;
* :mod:`benchmarks.harness`     subprocess measurement, medians, machine and versions;
* :mod:`benchmarks.report`      renders ``BENCHMARKS.md`` from the results.

The benchmark-only dependencies (pandas, requests, dlt) live in the ``bench`` extra and
``requirements/bench.lock``; ``make bench`` installs them.
"""
