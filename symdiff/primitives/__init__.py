"""primitives: what symdiff knows how to differentiate.

Takes: a Python callable or operator met in the user's code. Returns: the SymPy expression that
stands for it. ``scalar`` is the table of math/numpy/builtin scalar functions, ``numpy_calls`` and
``builtin_calls`` the calls handled structurally, ``arrays`` the array operations with their
adjoints, ``sympy_functions`` the SymPy classes SymPy lacks, ``faithful`` Python's IEEE arithmetic,
``user_rules`` ``symdiff.register``; ``nodes`` and ``signs`` build SymPy nodes cheaply and safely.
"""
