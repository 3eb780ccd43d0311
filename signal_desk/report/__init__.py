"""Watch-list reports: build (marts -> report model), chart, render (HTML + plain text), mail, ledger.

The flow that ties them together is `flows/report.py`.
"""
