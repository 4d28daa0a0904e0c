"""BANT answers that pass the default qualification gate, for leads a test moves to SQL or beyond."""

QUALIFIED = {"budget": "approved", "authority": "decision_maker", "need": "high", "purchase_timeline": "quarter"}
