"""Tests of Section IV: the translation, the set I and the dual (22)."""
