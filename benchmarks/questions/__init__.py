"""The question benchmark (issue 17): owners' questions at sandbox scale 100, each answered by a scripted
plan of one or two cs_mcp tool calls and checked against the exact answer computed from the raw sandbox.

    when.py        the fixed `now` and the date windows questions speak of (shared by both sides)
    answers.py     the exact answers, from the raw sandbox data only (never cs_mcp's tools)
    expect.py      how an answer read from tool results is compared with the exact one
    questions.py   the questions: text, plan (tool calls as the contract between engineers names them)
                   and the extractor that reads the answer from the results' structured content
    run.py         the harness: runs every plan through an in-process cs_mcp server and reports

    python -m benchmarks.questions.run [--scale 100] [--only q01 ...]
"""
