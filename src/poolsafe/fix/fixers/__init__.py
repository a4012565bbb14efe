"""Building fix plans: checkout regions, try/finally and `with` rewrites, release
suggestions (`edits`), and the PS20x/PS21x fixers."""
