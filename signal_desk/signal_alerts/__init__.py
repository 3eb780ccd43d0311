"""Signal alerts: when an hourly run sees a watch-list signal reach a higher level (not seen -> seen ->
corroborated), each opted-in recipient and webhook of the watch list hears it once (docs/alerts.md).

- `changes`: compares mart_signal_status with `signal_levels`, records each change as one `alerts` row
  per recipient and channel (due now, or held for the quiet period) in the transaction that moves
  `signal_levels` on, and releases held alerts as one when their quiet period ends.
- `message`: what an alert says (subject, plain text, minimal HTML, the webhook's JSON), in words.
- `delivery`: hands each due alert over (email through the reports' SMTP settings, or the webhook),
  with the intent recorded before and the outcome after (`ledger`).
"""
