"""lower: adjoint programs -> lines of code.

Takes: the statements of a gradient program. Returns: ``schedule``: value-numbered lines (every
subexpression computed once, one operation per line, dead code dropped), in blocks.
"""
