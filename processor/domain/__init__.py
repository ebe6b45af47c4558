"""Pure domain logic: records, pricing, attribution, budgets. No I/O imports here."""
