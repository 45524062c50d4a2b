"""Batch work: a spec, melody or score file per job, done in worker processes or on a
Ray cluster, with a report of every input (`partimento batch`, `composer.batch`).

jobs.py finds the jobs and does one; templates.py writes a spec for a bare tune;
report.py keeps the report; runner.py runs the jobs; command.py is the command line's.
(The package is `batches` because `composer.batch` is the public function.)
"""
