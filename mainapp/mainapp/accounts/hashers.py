"""Password hashing: Argon2id with the parameters OWASP recommends (m = 19 MiB, t = 2, p = 1).

Django's defaults (100 MiB, parallelism 8) make each hash cost ~100 MiB and both cores for over
100 ms here: logins queue behind one another (the 50-user load run's login p95 was 2.3 s). These
cost ~20 ms and 19 MiB (README, "Security"). The algorithm's name is Django's, so existing
hashes still verify, and Django re-hashes each with these parameters on its next successful
login (``must_update`` sees other parameters in the stored hash).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
