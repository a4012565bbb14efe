"""Applying fixes: the fix loop (`apply`: lint, plan, apply, re-lint), one file's fixes
one at a time for an editor's quick fixes (`quick`), suppression comments
(`suppressions`) and atomic writes (`writer`)."""
