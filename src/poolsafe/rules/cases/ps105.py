from poolsafe.rules.base import Case

VALID: list[Case] = []
INVALID: list[Case] = []
