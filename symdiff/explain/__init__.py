"""explain: a gradient program -> what a reader sees.

Takes: a gradient program. Returns: closed-form formulas and the chain rule in words
(``chain_rule``), LaTeX and Markdown (``display``).
"""
