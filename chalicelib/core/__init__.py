"""The toolbox every package may use, and which uses none of them.

Its face is its modules: `errors`, `ids`, `clock`, `config`, `auth`,
`logs`, `metrics`, `cursors`, `backoff`, `json_text`.
"""
