"""`python -m fil_learn`: the `fil-learn` command, for callers that hold an interpreter path."""

from fil_learn.cli import main

main()
