"""API errors specific to accounts; the shared handler renders them in the one error shape."""

from __future__ import annotations

from rest_framework.exceptions import AuthenticationFailed


class InvalidCredentials(AuthenticationFailed):
    """Wrong e-mail, wrong password or inactive account: one answer, so none can be told apart."""

    default_detail = "Incorrect e-mail address or password."
    default_code = "invalid_credentials"

    def __init__(self) -> None:
        # A {"detail", "code"} body is how the shared handler learns a specific code.
        super().__init__({"detail": self.default_detail, "code": self.default_code})
