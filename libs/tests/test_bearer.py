"""msh_auth.bearer: every verifier's one reading of the Authorization header and one answer
for each way it can fail."""

from __future__ import annotations

import pytest

from msh_auth import InvalidToken, Principal, RevocationUnavailable, authenticate, require_staff
from msh_common.errors import ServiceError

ALICE = Principal(user_id="u1", roles=("customer",), claims={})


def verify(token: str) -> Principal:
    """Stands for a key set: accepts "good", and fails in each way a verifier can."""
    failures = {
        "forged": InvalidToken("bad signature"),
        "stale": RevocationUnavailable("revocation list too old"),
        "nokeys": ConnectionError("mainapp unreachable"),
    }
    if token in failures:
        raise failures[token]
    return ALICE


def refusal(header: str | None) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        authenticate(header, verify)
    return caught.value


def test_a_valid_bearer_token_is_its_principal_and_anonymous_is_allowed_when_optional():
    assert authenticate("Bearer good", verify) is ALICE
    assert authenticate("bearer   good ", verify) is ALICE
    assert authenticate(None, verify, required=False) is None


def test_no_header_is_not_authenticated_with_a_bare_challenge():
    error = refusal(None)
    assert (error.status_code, error.code) == (401, "not_authenticated")
    assert error.headers == {"WWW-Authenticate": 'Bearer realm="microservicehub"'}


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "token x", "Bearer é"]
)
def test_another_scheme_or_no_token_is_an_invalid_request(header):
    error = refusal(header)
    assert (error.status_code, error.code) == (401, "invalid_token")
    assert error.headers is not None
    assert error.headers["WWW-Authenticate"].startswith(
        'Bearer realm="microservicehub", error="invalid_request"'
    )


def test_a_bad_token_is_invalid_token_and_verification_trouble_is_503():
    forged = refusal("Bearer forged")
    assert (forged.status_code, forged.code) == (401, "invalid_token")
    assert forged.headers is not None
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]
    stale = refusal("Bearer stale")
    assert (stale.status_code, stale.code) == (503, "auth_unavailable")
    assert stale.headers == {"Retry-After": str(RevocationUnavailable.retry_after)}
    no_keys = refusal("Bearer nokeys")
    assert (no_keys.status_code, no_keys.code) == (503, "auth_unavailable")


def test_staff_is_required_by_role():
    staff = Principal(user_id="u2", roles=("staff",), claims={})
    assert require_staff(staff) is staff
    with pytest.raises(ServiceError) as caught:
        require_staff(ALICE)
    assert (caught.value.status_code, caught.value.code) == (403, "permission_denied")
