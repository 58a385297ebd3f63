"""REST API of the RIS front desk (HIS orders, registration, scheduling); described at /api/schema/."""
