"""Random programs for symdiff: generators (generators.py), the cases they draw (cases.py), the
checks run on each (checks.py) and the forked-child runner that isolates them (isolation.py).
The tests are in tests/test_random_programs.py."""
