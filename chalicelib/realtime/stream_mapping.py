"""The inbox stream's event source mapping: what Lambda hands the ``deliver`` function, and how often it retries.

app.py passes the batch to Chalice's decorator, the merged template and the
local poller read the rest. They live apart from `delivery` so that reading
them (every function's ``import app``) does not import the posting machinery.
"""

# Lambda takes up to 10,000 (and 6 MB); under load one batch holds several messages per user: one counts update for them all.
STREAM_BATCH_SIZE = 3000
STREAM_BATCH_WINDOW_SECONDS = 0
STREAM_MAX_RETRY_ATTEMPTS = 5
STREAM_MAX_RECORD_AGE_SECONDS = 3600
