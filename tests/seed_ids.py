"""Fixed ids of the sandbox's default seed (runtime/sandbox/seed/, shared/sandbox-seed.md).

Users: ADMIN (Asha, the API caller), RAVI and MEERA (sales). Leads: PRIYA (of Acme Corp, in
Newsletter, Hot Leads), ARJUN, KAVYA, ROHAN, NEHA. Accounts: ACME and INITECH (type Company),
NORTHWIND (Partners). Lists: NEWSLETTER (static), HOT_LEADS (dynamic). MISSING names nothing.
"""

ADMIN = "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e01"
RAVI = "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e02"
MEERA = "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e03"
PRIYA = "5b0a1e2c-7d3f-4c8e-a1b2-000000000201"
ARJUN = "5b0a1e2c-7d3f-4c8e-a1b2-000000000202"
KAVYA = "5b0a1e2c-7d3f-4c8e-a1b2-000000000203"
ROHAN = "5b0a1e2c-7d3f-4c8e-a1b2-000000000204"
NEHA = "5b0a1e2c-7d3f-4c8e-a1b2-000000000205"
ACME = "9c1d7e2a-5b3f-4e8a-9d10-000000000101"
INITECH = "9c1d7e2a-5b3f-4e8a-9d10-000000000102"
NORTHWIND = "9c1d7e2a-5b3f-4e8a-9d10-000000000103"
NEWSLETTER = "a7c4e1f0-3b2d-4e6a-8f91-000000000301"
HOT_LEADS = "a7c4e1f0-3b2d-4e6a-8f91-000000000302"
MISSING = "00000000-0000-4000-8000-000000000000"
