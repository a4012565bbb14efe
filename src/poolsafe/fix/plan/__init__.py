"""What a fix is (`api.FixPlan`: node replacements, inserts, imports) and the formatting
helpers (`layout`); no knowledge of rules."""
