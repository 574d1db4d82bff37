"""accounts routes, mounted at the root: /api/auth/*, /api/users/*, /.well-known/jwks.json."""

from django.urls import path

from .api import auth, jwks, users

app_name = "accounts"

urlpatterns = [
    path("api/auth/register", auth.RegisterView.as_view(), name="register"),
    path("api/auth/login", auth.LoginView.as_view(), name="login"),
    path("api/auth/refresh", auth.RefreshView.as_view(), name="refresh"),
    path("api/auth/logout", auth.LogoutView.as_view(), name="logout"),
    path("api/auth/password-reset", auth.PasswordResetView.as_view(), name="password-reset"),
    path(
        "api/auth/password-reset/confirm",
        auth.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("api/auth/jwks", jwks.JWKSView.as_view(), name="jwks"),
    path(".well-known/jwks.json", jwks.JWKSView.as_view(), name="well-known-jwks"),
    path("api/users/me", users.MeView.as_view(), name="me"),
    path("api/users/me/password", users.PasswordChangeView.as_view(), name="me-password"),
]
