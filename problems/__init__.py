"""The shipped problem files (TOML), installed as the package data rdconvex.problem_files."""
