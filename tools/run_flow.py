"""The whole compress-and-evaluate flow in one command.

(synthetic data if none is given) -> I3D teacher -> float 3D MobileNet -> KD
-> QAT -> KD+QAT -> int8 evaluation of each -> export (with the deploy extra)
-> benchmark -> ``<work_dir>/report.md``; see ``--help`` and README.md.
The same as ``python -m qd_plugin.flow`` and ``qd-run-flow``.

Example::

    python tools/run_flow.py --quick
"""
from qd_plugin.flow.cli import main, parse_args, preset_settings  # noqa: F401

if __name__ == '__main__':
    main()
