"""`poolsafe server`: a language server (over stdio, on pygls) that reports findings
as diagnostics while the code is edited, offers their fixes and suppressions as code
actions, and the rule documentation on hover."""
